"""docs/runbooks.md read as data: section anchor → the message its first ```text block quotes."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "runbooks.md"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def sections() -> dict[str, str]:
    """anchor → the section's opening message (the first line of its first ```text block)."""
    found = {}
    for part in re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]:
        heading, body = part.split("\n", 1)
        match = re.match(r"\s*```text\n(.*?)\n```", body, re.S)
        assert match, f"section {heading!r} does not start with the message the tool prints"
        found[slug(heading)] = match.group(1)
    return found


def pattern(message: str) -> re.Pattern[str]:
    """The quoted message as a regex: each <placeholder> matches any text."""
    parts = re.split(r"<[^<>]+>", message)
    return re.compile(".*?".join(re.escape(p) for p in parts))


def printed(anchor: str, output: str) -> str:
    """The line of `output` that the section's opening message describes (AssertionError if none)."""
    wanted = pattern(sections()[anchor])
    for line in output.splitlines():
        if wanted.fullmatch(line.strip().strip("*")):
            return line
    raise AssertionError(f"no line matches the opening of runbook #{anchor}:\n  {sections()[anchor]}\nin:\n{output[-3000:]}")
