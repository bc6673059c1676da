"""automation.proctree in a process of its own (so pytest itself never becomes a subreaper)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_orphans_of_a_dead_engine_are_stopped_and_earlier_children_and_other_engines_are_left_alone():
    script = textwrap.dedent("""
        import subprocess, sys
        from automation import proctree
        keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])   # e.g. the sandbox
        # The "engine" starts a plugin in a session of its own and dies without stopping it.
        engine, known = proctree.start(lambda: subprocess.Popen(["sh", "-c", "setsid sleep 60 & echo $!"],
                                                                stdout=subprocess.PIPE, text=True))
        # Meanwhile another engine starts side by side (a thread of the driver): it must survive the first one's exit.
        other, _ = proctree.start(lambda: subprocess.Popen(["sleep", "60"]))
        plugin = int(engine.stdout.readline())
        engine.wait()
        stopped = proctree.finish(engine, known)
        print(plugin, keeper.pid, other.pid, other.poll() is None, sorted(stopped))
        sys.stdout.flush()
        keeper.kill()
        other.kill()
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    plugin, keeper, other, other_alive, stopped = proc.stdout.split(" ", 4)
    assert stopped.strip() == f"[{plugin}]" and not _alive(int(plugin))
    assert other_alive == "True" and keeper not in stopped and other not in stopped
