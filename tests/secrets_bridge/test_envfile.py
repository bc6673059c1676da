""".env writing: only exact assignments change, values survive python-dotenv's reading, files are 0600."""

from __future__ import annotations

import io
import os
import stat
import subprocess

import pytest
from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st

from secrets_bridge.envfile import merge_assignments, render, write_env_file
from secrets_bridge.errors import InvalidValue

ORIGINAL = """\
# GITHUB_TOKEN is needed for CI
MY_GITHUB_TOKEN_BACKUP=x
GITHUB_TOKEN_OLD=keep-me
export GITHUB_TOKEN=old-value # set by hand
OTHER="multi
line GITHUB_TOKEN=not-an-assignment"
   not a valid line GITHUB_TOKEN
GITHUB_TOKEN=stale-duplicate
"""


def test_merge_replaces_only_exact_assignments_and_keeps_every_other_byte():
    merged = merge_assignments(ORIGINAL, {"GITHUB_TOKEN": "new-value", "OPENAI_API_KEY": "sk-new"})
    assert merged == ORIGINAL.replace("export GITHUB_TOKEN=old-value # set by hand", "export GITHUB_TOKEN=new-value") \
        .replace("GITHUB_TOKEN=stale-duplicate", "GITHUB_TOKEN=new-value") + "OPENAI_API_KEY=sk-new\n"
    values = dotenv_values(stream=io.StringIO(merged), interpolate=False)
    assert values["GITHUB_TOKEN"] == "new-value"
    assert values["MY_GITHUB_TOKEN_BACKUP"] == "x"
    assert values["GITHUB_TOKEN_OLD"] == "keep-me"


def test_merge_into_a_file_without_final_newline_appends_on_a_new_line():
    assert merge_assignments("A=1", {"B": "2"}) == "A=1\nB=2\n"


_VALUES = st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
                         st.text(st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"),
                                 max_size=60), max_size=5)
_SHELLISH = st.text(st.sampled_from("ab $`'\"\\;|&()<>*?~{}#!\n="), min_size=1, max_size=12)


def _render_or_refuse(values):
    """render(), or None when a value has no spelling both readers agree on (refused by name only)."""
    try:
        return render(values)
    except InvalidValue as exc:
        assert all(value not in str(exc) for value in values.values() if len(value) > 2)
        assert any(("$" in v or "`" in v) and ("'" in v or "\\" in v) for v in values.values())
        return None


# Whatever a value contains, writing and reading it back through python-dotenv returns it.
@given(_VALUES)
def test_render_round_trips_through_python_dotenv(values):
    text = _render_or_refuse(values)
    if text is not None:
        assert dotenv_values(stream=io.StringIO(text), interpolate=False) == values
        assert dotenv_values(stream=io.StringIO(text), interpolate=True) == values


# Sourcing an export never runs anything and gives back the exact value (a real sh).
@settings(max_examples=60, deadline=None)
@given(_SHELLISH)
def test_sourcing_an_export_in_sh_runs_nothing_and_returns_the_value(tmp_path_factory, value):
    text = _render_or_refuse({"K": value})
    if text is None:
        return
    path = tmp_path_factory.mktemp("src") / "out.env"
    path.write_text(text)
    marker = path.parent / "ran"
    done = subprocess.run(["sh", "-c", '. "$1"; printf %s "$K"', "sh", str(path)], capture_output=True, text=True,
                          cwd=path.parent, env={"PATH": os.environ["PATH"], "HOME": str(marker)}, timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (0, value, "")
    assert list(path.parent.iterdir()) == [path]
    assert dotenv_values(path, interpolate=False)["K"] == value


def test_write_env_file_is_0600_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out.env"
    write_env_file(path, "A=1\n", overwrite=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_env_file(path, "A=2\n", overwrite=False)
    assert path.read_text() == "A=1\n"
    write_env_file(path, "A=3\n", overwrite=True)
    assert path.read_text() == "A=3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.env"]  # no temp file left behind


def test_overwrite_tightens_a_loose_existing_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    path.chmod(0o644)
    write_env_file(path, "A=2\n", overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
