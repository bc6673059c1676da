"""The one private-file writer and its lock, on real files and a second process."""

from __future__ import annotations

import multiprocessing
import stat

import pytest

from secrets_bridge.files import LockTimeout, file_lock, remove_stale_temps, write_private


def test_write_private_is_0600_atomic_and_never_replaces_without_overwrite(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new", 0o600)
    with pytest.raises(FileExistsError):
        write_private(path, "other", overwrite=False)
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_private_into_a_missing_directory_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_private(tmp_path / "missing" / "x.json", "data")


def test_remove_stale_temps_touches_only_that_file_s_temps(tmp_path):
    mine, other = tmp_path / ".a.json.tmp.1.ff", tmp_path / ".b.json.tmp.1.ff"
    for path in (mine, other):
        path.write_text("half")
    remove_stale_temps(tmp_path / "a.json")
    assert not mine.exists() and other.exists()


def _hold(path, ready, release):
    with file_lock(path, timeout=5):
        ready.set()
        release.wait(10)


def test_file_lock_times_out_while_another_process_holds_it(tmp_path):
    lock = tmp_path / "x.lock"
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(lock, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockTimeout) as info, file_lock(lock, timeout=0.1):
            pass
        assert info.value.waited_s >= 0.1
    finally:
        release.set()
        holder.join(10)
    with file_lock(lock, timeout=1):
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
