"""What `up local` does before the pipeline: master key, sandbox keys, the emulators.

The `local` stack runs against the bundled emulators, so a fresh checkout needs
no real key: a random master key per checkout (never a default one) guards the
`local` store, and sandbox keys of valid format are generated into it.
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from automation.errors import SandboxFailed
from automation.project import required_specs, stack_file

LOCAL_STACK = "local"
STACK_TEMPLATE = Path(__file__).parent / "Pulumi.local.template.yaml"
LIVE_NAMES = frozenset({"LAMBDA_API_KEY"})   # the only API the sandbox emulates
VERIFICATION_NOTE = "sandbox: live verification against the emulator only"


@dataclass(frozen=True)
class LocalSetup:
    lambda_url: str
    backend_url: str
    master_key_file: Path | None      # None when the caller supplied ORCHESTRA_MASTER_KEY(_FILE)
    generated: tuple[str, ...]        # names of sandbox keys created in this run


def sandbox_key(name: str) -> str:
    """A random key in the format its real service uses (secrets_bridge/formats.py), marked sandbox."""
    def alnum(n: int) -> str:
        return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))

    return {
        "LAMBDA_API_KEY": lambda: f"secret_sandbox{secrets.token_hex(4)}.{alnum(32)}",
        "OPENAI_API_KEY": lambda: f"sk-proj-sandbox{alnum(20)}T3BlbkFJ{alnum(20)}",
        "GITHUB_TOKEN": lambda: f"ghp_{alnum(36)}",
        "VERCEL_TOKEN": lambda: alnum(24),
    }.get(name, lambda: f"sandbox{alnum(32)}")()


def ensure_stack_file(root: Path) -> Path:
    """Pulumi.local.yaml from the template when missing; an existing one (ports changed by hand,
    this checkout's salt and ciphertext) is left exactly as it is."""
    path = root / f"Pulumi.{LOCAL_STACK}.yaml"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return path
    with os.fdopen(fd, "wb") as handle:
        handle.write(STACK_TEMPLATE.read_bytes())
    return path


def ensure_master_key(root: Path) -> Path | None:
    """Use the caller's master key, else a random one kept in .orchestra/local-master-key (0600)."""
    if os.environ.get("ORCHESTRA_MASTER_KEY") or os.environ.get("ORCHESTRA_MASTER_KEY_FILE"):
        return None
    path = root / ".orchestra" / "local-master-key"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    os.environ["ORCHESTRA_MASTER_KEY_FILE"] = str(path)
    return path


def ensure_sandbox_keys(root: Path, env: str) -> tuple[str, ...]:
    """Generate the keys the local stack needs that no source provides yet."""
    from secrets_bridge.formats import check_format
    from secrets_bridge.store import SecretStore

    store = SecretStore.open(env)
    missing = [spec.name for spec in required_specs(root, LOCAL_STACK)
               if not any(os.environ.get(n) for n in spec.env_names) and store.get(spec.name) is None]
    generated = {name: sandbox_key(name) for name in missing}
    for name, value in generated.items():
        verdict = check_format(name, value)
        if verdict.status == "error":
            raise SandboxFailed(f"generated sandbox {name} fails its format rule ({verdict.message}): fix automation/sandbox/local_stack.py")
    if generated:
        store.set_many(generated)
    return tuple(generated)


def _sandbox_ports(root: Path) -> tuple[int, int]:
    """The ports Pulumi.local.yaml points the program at, so emulators and program agree."""
    config = stack_file(root, LOCAL_STACK).get("config") or {}
    lambda_url = urlsplit(str(config.get("orchestra:lambda_api_url", "http://127.0.0.1:18787")))
    return lambda_url.port or 18787, int(config.get("orchestra:backend_port", 18788))


def prepare(root: Path, env: str) -> LocalSetup:
    """Master key, sandbox keys, emulators running and accepting the local Lambda key."""
    from automation.sandbox.manager import start_sandbox
    from secrets_bridge.resolver import resolve_all

    ensure_stack_file(root)
    key_file = ensure_master_key(root)
    generated = ensure_sandbox_keys(root, env)
    lambda_key = resolve_all(env, names=["LAMBDA_API_KEY"])["LAMBDA_API_KEY"].value
    lambda_port, backend_port = _sandbox_ports(root)
    # A slow boot makes interrupted and long-running updates reproducible (demos, tests).
    boot_seconds = float(os.environ.get("ORCHESTRA_SANDBOX_BOOT_SECONDS", "2"))
    from automation.sandbox.issued_keys import issued

    accepted = [lambda_key, *(k for k in issued(root) if k != lambda_key)] if lambda_key else []
    info = start_sandbox(root, lambda_api_keys=accepted, lambda_port=lambda_port,
                         backend_port=backend_port, boot_seconds=boot_seconds)
    # Live verification and the program's Lambda client both follow this override.
    os.environ["ORCHESTRA_LAMBDA_API_URL"] = info.lambda_url
    return LocalSetup(lambda_url=info.lambda_url, backend_url=info.backend_url, master_key_file=key_file,
                      generated=generated)


def teardown(root: Path) -> None:
    from automation.sandbox.manager import stop_sandbox

    stop_sandbox(root)
