"""Fixtures of the operations tests: `ops_project` is deployed once (`up local`) per session."""

from __future__ import annotations

import sys

import pytest

from automation.engine import ensure_engine
from tests.support.e2e_project import make_project, stop_sandbox


@pytest.fixture(scope="session")
def engine():
    return ensure_engine(log=lambda msg: print(msg, file=sys.stderr))


@pytest.fixture(scope="session")
def ops_project(engine, tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("ops"), engine)
    try:
        proc = project.run("up", "local", "--yes")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield project
    finally:
        project.run("destroy", "local", "--yes")
        stop_sandbox(project)


@pytest.fixture()
def fresh_project(engine, tmp_path):
    """A project that has never been deployed (no stack yet)."""
    root = tmp_path / "fresh"
    root.mkdir()
    project = make_project(root, engine)
    yield project
    stop_sandbox(project)


@pytest.fixture(scope="module")
def messages_project(engine, tmp_path_factory):
    """A project for provoking failures; it starts undeployed."""
    project = make_project(tmp_path_factory.mktemp("messages"), engine)
    yield project
    project.run("destroy", "local", "--yes")
    stop_sandbox(project)
