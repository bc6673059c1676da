"""`setup` under a real pseudo-terminal, answered like a person would (pexpect)."""

from __future__ import annotations

import io
import socket
import stat
import sys

import pexpect

from tests.support.secrets_project import CANARIES, assert_no_canary

OLD_PORTKEY = "pk-AlreadyStoredValue"
DOTENV = """\
# GITHUB_TOKEN is needed for CI
MY_GITHUB_TOKEN_BACKUP=x
export GITHUB_TOKEN=old-token
APP_MODE=dev
"""


def spawn_setup(project, extra_env=None) -> tuple[pexpect.spawn, io.StringIO]:
    transcript = io.StringIO()
    child = pexpect.spawn(sys.executable, ["-m", "secrets_bridge", "setup"], cwd=str(project.root),
                          env={**project.env, **(extra_env or {})}, encoding="utf-8", timeout=60)
    child.logfile_read = transcript
    return child, transcript


def answer_key(child, name, value):
    child.expect(rf"{name} \(hidden; Enter to keep as is\): ")
    child.sendline(value)


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_setup_stores_checked_keys_and_merges_dotenv_on_yes(project):
    project.seed({"PORTKEY_API_KEY": OLD_PORTKEY})
    dotenv = project.root / ".env"
    dotenv.write_text(DOTENV)
    dotenv.chmod(0o644)
    child, transcript = spawn_setup(project)

    answer_key(child, "LAMBDA_API_KEY", CANARIES["LAMBDA_API_KEY"])
    answer_key(child, "GITHUB_TOKEN", "ghp_tooShort")
    child.expect("rejected: .*not followed by exactly 36")
    answer_key(child, "GITHUB_TOKEN", CANARIES["GITHUB_TOKEN"])
    answer_key(child, "VERCEL_TOKEN", "odd-vercel-value")
    child.expect(r"keep anyway\? \[y/N\]: ")
    child.sendline("n")
    answer_key(child, "VERCEL_TOKEN", CANARIES["VERCEL_TOKEN"])
    answer_key(child, "OPENAI_API_KEY", "")            # skipped
    child.expect("now: set, from store:.secrets.production.json")
    answer_key(child, "PORTKEY_API_KEY", "")           # kept as stored
    child.expect("stored LAMBDA_API_KEY, GITHUB_TOKEN, VERCEL_TOKEN")
    child.expect(r"Verify keys now\? \[Y/n\]: ")
    child.sendline("n")
    child.expect(r"Also write plaintext keys to .env\? \[y/N\]: ")
    child.sendline("y")
    assert finish(child) == 0

    store = project.store()
    assert {name: store.get(name) for name in store.names()} == {
        "LAMBDA_API_KEY": CANARIES["LAMBDA_API_KEY"], "GITHUB_TOKEN": CANARIES["GITHUB_TOKEN"],
        "VERCEL_TOKEN": CANARIES["VERCEL_TOKEN"], "PORTKEY_API_KEY": OLD_PORTKEY}

    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    lines = dotenv.read_text().splitlines()
    assert lines[:2] == ["# GITHUB_TOKEN is needed for CI", "MY_GITHUB_TOKEN_BACKUP=x"]
    assert lines[2] == f"export GITHUB_TOKEN={CANARIES['GITHUB_TOKEN']}"
    assert lines[3] == "APP_MODE=dev"
    assert sorted(lines[4:]) == sorted(f"{name}={value}" for name, value in [
        ("LAMBDA_API_KEY", CANARIES["LAMBDA_API_KEY"]), ("VERCEL_TOKEN", CANARIES["VERCEL_TOKEN"]),
        ("PORTKEY_API_KEY", OLD_PORTKEY)])

    assert_no_canary(transcript.getvalue(), [*CANARIES.values(), OLD_PORTKEY, "odd-vercel-value", "ghp_tooShort"])


def test_setup_verifies_on_request_and_leaves_dotenv_alone_by_default(project):
    project.empty_store()
    with socket.socket() as sock:  # a port nobody listens on: every live check is "unknown"
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    urls = {f"ORCHESTRA_{api}_API_URL": closed for api in ("LAMBDA", "GITHUB", "VERCEL", "OPENAI", "PORTKEY")}
    child, transcript = spawn_setup(project, urls)
    answer_key(child, "LAMBDA_API_KEY", "")
    answer_key(child, "GITHUB_TOKEN", CANARIES["GITHUB_TOKEN"])
    for name in ("VERCEL_TOKEN", "OPENAI_API_KEY", "PORTKEY_API_KEY"):
        answer_key(child, name, "")
    child.expect(r"Verify keys now\? \[Y/n\]: ")
    child.sendline("")
    child.expect("GITHUB_TOKEN: unknown")
    child.expect(r"Also write plaintext keys to .env\? \[y/N\]: ")
    child.sendline("")
    assert finish(child) == 0

    assert "LAMBDA_API_KEY: missing" in transcript.getvalue()
    assert not (project.root / ".env").exists()
    assert project.store().names() == ["GITHUB_TOKEN"]
    assert_no_canary(transcript.getvalue())
