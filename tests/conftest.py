"""The whole run: nothing the tests started outlives it.

Fault tests kill engines with SIGKILL on purpose; the language host and the providers such an engine
started live on (their own process groups), orphaned. The driver reaps those itself (automation/proctree),
but a test that runs `pulumi` directly cannot. Every such process works in a directory under pytest's
temporary base, so at the end of the run each process whose working directory is there is stopped,
and the run says which ones it stopped (a leak is shown, not hidden). Services the fixtures start
(PostgreSQL, moto, OpenBao, emulators) are stopped by their own fixtures before this runs.
"""

from __future__ import annotations

import pytest

from tests.support.processes import stop, working_under

_STOPPED: dict[int, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_run(tmp_path_factory):
    base = tmp_path_factory.getbasetemp().resolve()
    yield
    left = working_under(base)
    stop(left)
    _STOPPED.update(left)


def pytest_terminal_summary(terminalreporter) -> None:
    if _STOPPED:
        terminalreporter.section("processes the tests left running (stopped)")
        for pid, cmd in sorted(_STOPPED.items()):
            terminalreporter.write_line(f"{pid}: {cmd[:160]}")
