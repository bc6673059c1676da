"""Backup files: naming, listing newest first, retention, lookup and bad settings (no engine needed)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from automation import backups
from automation.errors import BackupFailed, ConfigInvalid, RestoreFailed

STATE = json.dumps({"version": 3, "deployment": {"resources": [{"urn": "a"}, {"urn": "b"}],
                                                 "secrets_providers": {"type": "passphrase"}}})


class FakeSession:
    """What `take` uses of a StackSession: its name, root and a direct engine call."""

    def __init__(self, root, name="production", code=0, stdout=STATE, stderr=""):
        self.root, self.name = root, name
        self.calls: list[list[str]] = []
        self._answer = SimpleNamespace(code=code, stdout=stdout, stderr=stderr)

    def cli(self, args):
        self.calls.append(args)
        return self._answer


def test_take_exports_into_a_private_file_and_keeps_the_newest(tmp_path, monkeypatch):
    monkeypatch.setenv(backups.KEEP_ENV, "3")
    session = FakeSession(tmp_path)
    start = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    for i, op in enumerate(["up", "refresh", "up", "destroy", "up"]):
        backups.take(session, op, now=start + timedelta(seconds=i))
    assert session.calls == [["stack", "export"]] * 5          # never --show-secrets
    listed = backups.list_backups(tmp_path, "production")
    assert [b.operation for b in listed] == ["up", "destroy", "up"]
    assert listed[0].name == "production-20261201T200004000000Z-up.json" and listed[0].resources == 2
    assert all(stat.S_IMODE(b.path.stat().st_mode) == 0o600 for b in listed)
    assert backups.list_backups(tmp_path, "prod") == []          # another stack sharing a prefix


def test_the_backup_dir_is_configurable_and_org_stacks_get_a_flat_name(tmp_path, monkeypatch):
    monkeypatch.setenv(backups.DIR_ENV, str(tmp_path / "elsewhere"))
    taken = backups.take(FakeSession(tmp_path, name="acme/production"), "up")
    assert taken.path.parent == tmp_path / "elsewhere" / "acme__production"
    assert backups.list_backups(tmp_path, "acme/production")[0].path == taken.path


def test_a_failed_export_stops_the_operation_with_the_engines_reason(tmp_path):
    with pytest.raises(BackupFailed) as caught:
        backups.take(FakeSession(tmp_path, code=255, stdout="", stderr="error: no stack named 'production' found"), "destroy")
    assert caught.value.exit_code == 45
    assert str(caught.value).startswith("destroy of stack production not started: `pulumi stack export` failed "
                                        "(no stack named 'production' found)")
    assert not (tmp_path / ".orchestra").exists()      # nothing written


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_bad_retention_setting_is_one_actionable_line(monkeypatch, value, tmp_path):
    monkeypatch.setenv(backups.KEEP_ENV, value)
    with pytest.raises(ConfigInvalid, match=r"ORCHESTRA_BACKUP_KEEP=.* must be a whole number of backups to keep, at least 1"):
        backups.take(FakeSession(tmp_path), "up")


def test_find_by_name_or_path_and_a_missing_one_lists_what_exists(tmp_path):
    taken = backups.take(FakeSession(tmp_path), "up")
    assert backups.find(tmp_path, "production", taken.name) == taken.path
    assert backups.find(tmp_path, "production", str(taken.path)) == taken.path
    with pytest.raises(RestoreFailed) as caught:
        backups.find(tmp_path, "production", "production-nosuch.json")
    assert taken.name in str(caught.value) and "python -m automation backups production" in str(caught.value)


def test_restore_needs_yes_without_a_terminal(tmp_path):
    from automation.errors import Declined

    taken = backups.take(FakeSession(tmp_path), "up")
    with pytest.raises(Declined, match="pass --yes"):
        backups.confirm_restore("production", taken.path, yes=False, stdin=_NotATty())


def test_render_lists_newest_first_and_says_when_there_is_none(tmp_path):
    assert backups.render([]).startswith("(no backups yet")
    backups.take(FakeSession(tmp_path), "up", now=datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    lines = backups.render(backups.list_backups(tmp_path, "production")).splitlines()
    assert lines[0].split() == ["Backup", "Before", "Taken", "Resources", "Size"]
    assert lines[1].split()[:4] == ["production-20261201T200000000000Z-up.json", "up", "2026-12-01", "20:00:00"]


class _NotATty:
    def isatty(self):
        return False

    def readline(self):
        return "y\n"
