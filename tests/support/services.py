"""Real shared-state services for tests, on loopback: PostgreSQL, moto (S3 + KMS), OpenBao (transit).

Each `start_*` launches the real server from the binaries the project installs
(scripts/setup.sh), bound to 127.0.0.1 on a free port, waits until it answers and
returns a handle whose `stop()` ends the whole process group. A service that
cannot start raises `ServiceUnavailable` with the exact reason and the fix; the
fixtures turn that into a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.loopback import free_port

__all__ = ["MotoServer", "OpenBao", "Postgres", "ServiceUnavailable", "postgres_bin_dir",
           "start_moto", "start_openbao", "start_postgres"]

REGION = "us-east-1"


class ServiceUnavailable(RuntimeError):
    """A test service could not start; the message names what is missing and how to install it."""


def _wait(what: str, probe: Callable[[], bool], proc: subprocess.Popen, log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(f"{what} exited with {proc.returncode}: {_tail(log)}")
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.1)
    _stop_group(proc)
    raise ServiceUnavailable(f"{what} did not answer within {timeout_s:.0f}s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return " | ".join(lines[-3:]) or "(empty log)"


def _stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _venv_tool(name: str) -> Path:
    tool = Path(sys.prefix) / "bin" / name
    if not tool.is_file():
        raise ServiceUnavailable(f"{tool} is missing: run ./scripts/setup.sh (it installs the dev extras)")
    return tool


# ── PostgreSQL ───────────────────────────────────────────────────────────────


def postgres_bin_dir() -> Path:
    """The server binaries (initdb, pg_ctl, postgres), newest first: Debian keeps them off PATH."""
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if installed:
        return installed[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServiceUnavailable("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin or on PATH: "
                             "run ./scripts/setup.sh (apt-get install postgresql)")


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    data_dir: Path
    bin_dir: Path
    _proc: subprocess.Popen

    def url(self, database: str = "postgres", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"sslmode": "disable", **params}.items())
        return f"postgres://{self.user}:{self.password}@{self.host}:{self.port}/{database}?{query}"

    def env(self) -> dict[str, str]:
        return {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGPASSWORD": self.password}

    def psql(self, sql: str, database: str = "postgres") -> str:
        proc = subprocess.run([str(self.bin_dir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database,
                               "-c", sql], env={**os.environ, **self.env()}, capture_output=True, text=True,
                              timeout=60, check=False)
        if proc.returncode:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def state_rows(self, database: str, table: str = "pulumi_state") -> dict[str, str]:
        """The DIY backend's rows, key -> decoded object: it stores each object base64'd in a JSON `data` field."""
        import base64

        out = self.psql(f"SELECT key || ' ' || COALESCE(data->>'data', data::text) FROM {table} ORDER BY key", database=database)
        rows = dict(line.split(" ", 1) for line in out.splitlines() if line)
        return {key: base64.b64decode(value).decode(errors="replace") for key, value in rows.items()}

    def dump(self, database: str) -> str:
        """Every row of the database as text (the canary sweep reads this)."""
        proc = subprocess.run([str(self.bin_dir / "pg_dump"), "--data-only", "-d", database],
                              env={**os.environ, **self.env()}, capture_output=True, text=True, timeout=120, check=True)
        return proc.stdout

    def stop(self) -> None:
        _stop_group(self._proc)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _demote() -> tuple[list[str], int | None]:
    """initdb and postgres refuse to run as root: run them as `postgres` (or `nobody`) then."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"], entry.pw_uid
    raise ServiceUnavailable("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")


def start_postgres() -> Postgres:
    """A fresh cluster in a temp dir: password auth (scram) over TCP on 127.0.0.1, no unix socket in /run."""
    bin_dir = postgres_bin_dir()
    prefix, uid = _demote()
    base = Path(tempfile.mkdtemp(prefix="orchestra-pg-"))
    data, log = base / "data", base / "server.log"
    password = secrets.token_hex(16)
    pwfile = base / "pwfile"
    pwfile.write_text(password)
    if uid is not None:
        for path in (base, pwfile):
            os.chown(path, uid, -1)
    init = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "orchestra", "--pwfile", str(pwfile),
                           "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"], capture_output=True, text=True,
                          timeout=120, check=False)
    pwfile.unlink()
    if init.returncode:
        shutil.rmtree(base, ignore_errors=True)
        raise ServiceUnavailable(f"initdb failed ({init.returncode}): {init.stderr.strip()[-400:]}")
    port = free_port()
    with open(log, "w") as handle:
        if uid is not None:
            os.chown(log, uid, -1)
        proc = subprocess.Popen([*prefix, str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                                 "-k", str(base), "-c", "fsync=off", "-c", "max_connections=200"],
                                stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0)
    server = Postgres("127.0.0.1", port, "orchestra", password, data, bin_dir, proc)

    def ready() -> bool:
        server.psql("SELECT 1")
        return True

    _wait("PostgreSQL", ready, proc, log)
    return server


# ── moto (S3 + KMS) ──────────────────────────────────────────────────────────


@dataclass
class MotoServer:
    endpoint: str
    _proc: subprocess.Popen
    _dir: Path
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = REGION

    def env(self) -> dict[str, str]:
        """What the engine (AWS SDK v2) and boto3 read: endpoint, static credentials, region."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region}

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)

    def create_bucket(self, name: str) -> str:
        self.client("s3").create_bucket(Bucket=name)
        return name

    def bucket_url(self, bucket: str) -> str:
        """The engine's s3:// backend URL for a bucket on this server (path-style, as moto serves it)."""
        return f"s3://{bucket}?region={self.region}&endpoint={self.endpoint}&use_path_style=true"

    def bucket_text(self, bucket: str) -> tuple[list[str], str]:
        """(keys, every object's body as text): the canary sweep reads this."""
        s3 = self.client("s3")
        keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for obj in page.get("Contents", [])]
        bodies = [s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode(errors="replace") for key in keys]
        return keys, "\n".join(bodies)

    def create_key(self, alias: str) -> str:
        """A symmetric KMS key with `alias/<alias>`; returns the engine's awskms:// secrets provider URL."""
        kms = self.client("kms")
        key_id = kms.create_key(Description=f"orchestra tests {alias}")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key_id)
        return f"awskms://alias/{alias}?region={self.region}"

    def stop(self) -> None:
        _stop_group(self._proc)
        shutil.rmtree(self._dir, ignore_errors=True)


def start_moto() -> MotoServer:
    tool = _venv_tool("moto_server")
    base = Path(tempfile.mkdtemp(prefix="orchestra-moto-"))
    log = base / "server.log"
    port = free_port()
    with open(log, "w") as handle:
        proc = subprocess.Popen([str(tool), "-H", "127.0.0.1", "-p", str(port)], stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, process_group=0)
    server = MotoServer(f"http://127.0.0.1:{port}", proc, base)
    _wait("moto server", lambda: httpx.get(f"{server.endpoint}/moto-api/", timeout=2).status_code == 200, proc, log)
    return server


# ── OpenBao (transit) ────────────────────────────────────────────────────────


@dataclass
class OpenBao:
    url: str
    token: str
    _proc: subprocess.Popen
    _dir: Path
    keys: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"VAULT_SERVER_URL": self.url, "VAULT_SERVER_TOKEN": self.token}

    def api(self, method: str, path: str, json: dict | None = None) -> httpx.Response:
        response = httpx.request(method, f"{self.url}/v1/{path}", headers={"X-Vault-Token": self.token}, json=json, timeout=10)
        response.raise_for_status()
        return response

    def create_key(self, name: str) -> str:
        """A transit key; returns the engine's hashivault:// secrets provider URL."""
        self.api("POST", f"transit/keys/{name}", {})
        self.keys.append(name)
        return f"hashivault://{name}"

    def stop(self) -> None:
        _stop_group(self._proc)
        shutil.rmtree(self._dir, ignore_errors=True)


def start_openbao() -> OpenBao:
    """`bao server -dev` (in memory, unsealed) with the transit engine enabled at transit/."""
    tool = _venv_tool("bao")
    base = Path(tempfile.mkdtemp(prefix="orchestra-bao-"))
    log = base / "server.log"
    port, token = free_port(), f"root-{secrets.token_hex(12)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    # The dev server writes its token to ~/.vault-token unless told where; keep it in the temp dir.
    env["HOME"] = str(base)
    with open(log, "w") as handle:
        proc = subprocess.Popen([str(tool), "server", "-dev", f"-dev-root-token-id={token}",
                                 f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"],
                                stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, process_group=0)
    server = OpenBao(f"http://127.0.0.1:{port}", token, proc, base)
    _wait("OpenBao dev server", lambda: httpx.get(f"{server.url}/v1/sys/health", timeout=2).status_code == 200, proc, log)
    server.api("POST", "sys/mounts/transit", {"type": "transit"})
    return server
