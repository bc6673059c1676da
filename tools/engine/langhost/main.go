// Command pulumi-language-python is Orchestra's Python language host for the Pulumi engine.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// is not served by the Go module proxy this project can reach, so this small host implements
// the parts of the LanguageRuntime protocol that running Python programs needs:
//
//   - Run: starts `python -u pulumi-language-python-exec ...` (the launcher shipped in the
//     pulumi/sdk/v3 module, copied next to this binary) in the project's virtualenv;
//   - GetRequiredPackages: reports the resource plugins of installed Python packages
//     (their pulumi-plugin.json), as the upstream host does;
//   - InstallDependencies: creates the configured virtualenv and installs requirements.txt;
//   - GetPluginInfo / Handshake.
//
// Runtime options honoured (Pulumi.yaml runtime.options): virtualenv, toolchain (pip/uv).
// PULUMI_PYTHON_CMD selects the interpreter when no virtualenv is configured.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// langhostVersion is set at build time with -ldflags "-X main.langhostVersion=...".
var langhostVersion = "3.274.1"

// Exit code with which pulumi-language-python-exec says "the user has already been shown the error".
const bailExitCode = 32

const execScriptName = "pulumi-language-python-exec"

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	execScript    string
}

func main() {
	h := &host{}
	// The engine passes the address of its own gRPC server as the last positional argument;
	// it may also pass logging/tracing flags, which this host ignores.
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			h.engineAddress = a
		}
	}
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		h.execScript = filepath.Join(filepath.Dir(exe), execScriptName)
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: could not start the Python language host: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "fatal: Python language host stopped: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: langhostVersion}, nil
}

// pythonEnv describes the interpreter a program runs with.
type pythonEnv struct {
	python     string // interpreter to execute
	virtualenv string // absolute virtualenv directory, "" when none is configured
}

func optionString(info *pulumirpc.ProgramInfo, key string) string {
	if info == nil || info.GetOptions() == nil {
		return ""
	}
	v, ok := info.GetOptions().GetFields()[key]
	if !ok {
		return ""
	}
	return strings.TrimSpace(v.GetStringValue())
}

func rootDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetRootDirectory() != "" {
		return info.GetRootDirectory()
	}
	return fallback
}

func resolvePython(info *pulumirpc.ProgramInfo, fallbackRoot string) pythonEnv {
	venv := optionString(info, "virtualenv")
	if venv == "" && optionString(info, "toolchain") == "uv" {
		venv = ".venv"
	}
	if venv != "" {
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(rootDir(info, fallbackRoot), venv)
		}
		venv = filepath.Clean(venv)
		return pythonEnv{python: filepath.Join(venv, "bin", "python"), virtualenv: venv}
	}
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return pythonEnv{python: cmd}
	}
	return pythonEnv{python: "python3"}
}

// environ returns the environment for a Python child process.
func (p pythonEnv) environ(extra ...string) []string {
	env := make([]string, 0, len(os.Environ())+len(extra)+2)
	for _, kv := range os.Environ() {
		if p.virtualenv != "" && (strings.HasPrefix(kv, "PYTHONHOME=") || strings.HasPrefix(kv, "PATH=") ||
			strings.HasPrefix(kv, "VIRTUAL_ENV=")) {
			continue
		}
		env = append(env, kv)
	}
	if p.virtualenv != "" {
		env = append(env,
			"VIRTUAL_ENV="+p.virtualenv,
			"PATH="+filepath.Join(p.virtualenv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return append(env, extra...)
}

func (p pythonEnv) check() error {
	if p.virtualenv == "" {
		return nil
	}
	if _, err := os.Stat(p.python); err != nil {
		return fmt.Errorf("the 'virtualenv' option in Pulumi.yaml is set to %q, but %q does not exist; "+
			"create it with: python3 -m venv %s && %s -m pip install -r requirements.txt",
			p.virtualenv, p.python, p.virtualenv, p.python)
	}
	return nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	pwd := req.GetPwd()
	if info != nil && info.GetProgramDirectory() != "" {
		pwd = info.GetProgramDirectory()
	}
	py := resolvePython(info, pwd)
	if err := py.check(); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	if _, err := os.Stat(h.execScript); err != nil {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("the Python program launcher %s is missing next to the language host: %v",
				h.execScript, err),
		}, nil
	}

	program := req.GetProgram()
	if info != nil && info.GetEntryPoint() != "" {
		program = info.GetEntryPoint()
	}
	if program == "" {
		program = "."
	}

	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()

	args := []string{
		"-u", h.execScript,
		"--monitor", req.GetMonitorAddress(),
		"--engine", engine,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", pwd,
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
	}
	if org := req.GetOrganization(); org != "" {
		args = append(args, "--organization", org)
	}
	if root := rootDir(info, ""); root != "" {
		args = append(args, "--root_directory", root)
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{} // the launcher expects a JSON object, never null
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, py.python, args...)
	cmd.Dir = pwd
	cmd.Env = py.environ(
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
	)
	cmd.Stdin = nil
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == bailExitCode {
				return &pulumiRunBail, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run %s): %v", py.python, err),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

var pulumiRunBail = pulumirpc.RunResponse{Bail: true}

// listPluginsScript prints the pulumi-plugin.json documents of all installed distributions.
const listPluginsScript = `
import json, sys
from importlib import metadata
found = []
for dist in metadata.distributions():
    for f in dist.files or ():
        if f.name != "pulumi-plugin.json":
            continue
        try:
            with open(dist.locate_file(f), encoding="utf-8") as fh:
                found.append(json.load(fh))
        except (OSError, ValueError):
            pass
json.dump(found, sys.stdout)
`

type pluginJSON struct {
	Resource         bool            `json:"resource"`
	Name             string          `json:"name"`
	Version          string          `json:"version"`
	Server           string          `json:"server"`
	Parameterization json.RawMessage `json:"parameterization"`
}

func (h *host) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	info := req.GetInfo()
	py := resolvePython(info, rootDir(info, "."))
	if err := py.check(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py.python, "-c", listPluginsScript)
	cmd.Env = py.environ()
	if d := rootDir(info, ""); d != "" {
		cmd.Dir = d
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing installed Pulumi packages with %s failed: %v: %s",
			py.python, err, strings.TrimSpace(stderr.String()))
	}
	var docs []pluginJSON
	if err := json.Unmarshal(out, &docs); err != nil {
		return nil, fmt.Errorf("listing installed Pulumi packages: bad output: %v", err)
	}
	seen := map[string]bool{}
	var pkgs []*pulumirpc.PackageDependency
	for _, d := range docs {
		// Parameterized packages need their base provider plus parameter; the engine loads
		// those on demand when the program registers a resource.
		if !d.Resource || d.Name == "" || len(d.Parameterization) > 0 {
			continue
		}
		v := d.Version
		if v != "" && !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		key := d.Name + "@" + v
		if seen[key] {
			continue
		}
		seen[key] = true
		pkgs = append(pkgs, &pulumirpc.PackageDependency{
			Kind: "resource", Name: d.Name, Version: v, Server: d.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	dir := req.GetDirectory()
	py := resolvePython(info, rootDir(info, dir))
	out := &streamWriter{send: func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	}}
	errOut := &streamWriter{send: func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	}}
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(server.Context(), name, args...)
		cmd.Dir = rootDir(info, dir)
		cmd.Env = py.environ()
		cmd.Stdout, cmd.Stderr = out, errOut
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return nil
	}
	if py.virtualenv == "" {
		fmt.Fprintln(errOut, "no 'virtualenv' runtime option in Pulumi.yaml: not installing dependencies")
		return nil
	}
	if _, err := os.Stat(py.python); err != nil {
		base := os.Getenv("PULUMI_PYTHON_CMD")
		if base == "" {
			base = "python3"
		}
		if err := run(base, "-m", "venv", py.virtualenv); err != nil {
			return err
		}
	}
	reqs := filepath.Join(rootDir(info, dir), "requirements.txt")
	if _, err := os.Stat(reqs); err == nil {
		return run(py.python, "-m", "pip", "install", "-r", reqs)
	}
	return nil
}

type streamWriter struct {
	send func([]byte) error
}

func (w *streamWriter) Write(p []byte) (int, error) {
	b := make([]byte, len(p))
	copy(b, p)
	if err := w.send(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = (*streamWriter)(nil)
