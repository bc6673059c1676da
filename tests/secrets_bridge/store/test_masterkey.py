"""Where the master key comes from; there is no default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from secrets_bridge.errors import MasterKeyMissing, MasterKeyUnusable
from secrets_bridge.masterkey import load_master_key
from tests.support.store_helpers import MASTER

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def no_tty(monkeypatch):
    with open(os.devnull) as devnull:
        monkeypatch.setattr("sys.stdin", devnull)
        yield


def test_from_env(monkeypatch, no_tty):
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", MASTER)
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY_FILE", "/nonexistent")  # the variable wins
    assert load_master_key() == MASTER


@pytest.mark.parametrize(("content", "expected"), [
    (MASTER + "\n", MASTER),
    (MASTER + "\r\n", MASTER),
    (MASTER, MASTER),
    (MASTER + "\n\n", MASTER + "\n"),  # only one newline is the editor's
    (" " + MASTER + " \n", " " + MASTER + " "),
])
def test_from_file_strips_one_trailing_newline(tmp_path, monkeypatch, no_tty, content, expected):
    key_file = tmp_path / "master.key"
    key_file.write_text(content, newline="")
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY_FILE", str(key_file))
    assert load_master_key() == expected


def test_missing_without_tty_names_both_variables(no_tty):
    with pytest.raises(MasterKeyMissing) as info:
        load_master_key()
    assert "ORCHESTRA_MASTER_KEY," in str(info.value) and "ORCHESTRA_MASTER_KEY_FILE" in str(info.value)
    assert info.value.exit_code == 3


@pytest.mark.parametrize("problem", ["empty env", "empty file", "unreadable file"])
def test_unusable_sources_are_one_line_errors(tmp_path, monkeypatch, no_tty, problem):
    if problem == "empty env":
        monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "")
    else:
        key_file = tmp_path / ("empty.key" if problem == "empty file" else "missing.key")
        if problem == "empty file":
            key_file.write_text("\n")
        monkeypatch.setenv("ORCHESTRA_MASTER_KEY_FILE", str(key_file))
    with pytest.raises(MasterKeyMissing) as info:
        load_master_key()
    assert "\n" not in str(info.value)


def test_no_tty_in_a_real_subprocess():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    result = subprocess.run(
        [sys.executable, "-c", "from secrets_bridge.masterkey import load_master_key; load_master_key()"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "MasterKeyMissing" in result.stderr


def _spawn(code: str) -> pexpect.spawn:
    """A Python process on a real pseudo-terminal, without any ORCHESTRA_* variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    return pexpect.spawn(sys.executable, ["-c", code], cwd=str(ROOT), env=env, encoding="utf-8", timeout=30)


def _spawn_prompt(**kwargs) -> pexpect.spawn:
    return _spawn("from secrets_bridge.masterkey import load_master_key\n"
                  f"key = load_master_key({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})\n"
                  f"print('MATCH' if key == {MASTER!r} else 'DIFFERENT')")


def test_hidden_prompt_on_a_terminal():
    child = _spawn_prompt()
    child.expect("Master key for the secret store: ")
    child.sendline(MASTER)
    child.expect(pexpect.EOF)
    assert "MATCH" in child.before
    assert MASTER not in child.before  # not echoed


def test_prompt_confirmation_mismatch_refused():
    child = _spawn_prompt(confirm=True)
    child.expect("Master key for the secret store: ")
    child.sendline(MASTER)
    child.expect("Repeat the master key: ")
    child.sendline(MASTER + "typo")
    child.expect(pexpect.EOF)
    assert "the two master keys entered differ" in child.before and MASTER not in child.before


def test_interactive_false_never_prompts_even_on_a_terminal():
    child = _spawn_prompt(interactive=False)
    child.expect(pexpect.EOF)
    assert "MasterKeyMissing" in child.before and "Master key for" not in child.before


def test_store_asks_only_when_it_must(tmp_path):
    """Reading a missing store asks nothing; creating it asks twice; reopening asks once."""
    open_and_set = ("from secrets_bridge.store import SecretStore\n"
                    "from secrets_bridge.store_format import ScryptParams\n"
                    f"s = SecretStore.open('production', directory={str(tmp_path)!r}, kdf=ScryptParams(n=2**14))\n"
                    "print('NAMES', s.names(), flush=True)\n"
                    "s.set('A', 'x')\n"
                    "print('DONE')")
    child = _spawn(open_and_set)
    child.expect("NAMES")
    assert "Master key" not in child.before
    child.expect("Master key for the secret store: ")
    child.sendline(MASTER)
    child.expect("Repeat the master key: ")
    child.sendline(MASTER)
    child.expect("DONE")

    child = _spawn(open_and_set)
    child.expect("Master key for the secret store: ")
    child.sendline(MASTER)
    assert child.expect(["Repeat the master key", "NAMES \\['A'\\]"]) == 1


@pytest.mark.parametrize(("make", "reason"), [
    (lambda path: None, "does not exist"),
    (lambda path: path.write_text(""), "is empty"),
    (lambda path: path.mkdir(), "is a directory"),
    (lambda path: path.write_bytes(b"\xff\xfe master"), "is not UTF-8 text"),
])
def test_an_unusable_key_file_names_the_variable_and_the_reason(tmp_path, monkeypatch, no_tty, make, reason):
    key_file = tmp_path / "master.key"
    make(key_file)
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY", "")   # empty: counts as unset, never shadows the file
    monkeypatch.setenv("ORCHESTRA_MASTER_KEY_FILE", str(key_file))
    with pytest.raises(MasterKeyUnusable) as info:
        load_master_key()
    assert f"ORCHESTRA_MASTER_KEY_FILE={key_file} {reason}" in str(info.value)
    assert info.value.exit_code == 3
