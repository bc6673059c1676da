""".env writing: only exact assignments change, values survive python-dotenv's reading, files are 0600."""

from __future__ import annotations

import io
import stat

import pytest
from dotenv import dotenv_values
from hypothesis import given
from hypothesis import strategies as st

from secrets_bridge.envfile import merge_assignments, render, write_env_file

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


# Whatever a value contains, writing and reading it back through python-dotenv returns it.
@given(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
                       st.text(st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"), max_size=60), max_size=5))
def test_render_round_trips_through_python_dotenv(values):
    assert dotenv_values(stream=io.StringIO(render(values)), interpolate=False) == values


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
