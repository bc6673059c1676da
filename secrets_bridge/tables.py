"""The one status-table renderer every terminal view uses (keys, checks, health, preflight).

A leading mark column (✅/❌/⚠️, or empty) is left unpadded because emoji widths
differ from their len(); the other columns are padded to their widest cell and
the last column is never padded, so lines carry no trailing spaces.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, marks: bool = False) -> str:
    """Rows under a header; with `marks`, the first column is a status mark ("" for none)."""
    table = [list(header), *[list(row) for row in rows]]
    start = 1 if marks else 0
    widths = [max(len(row[i]) for row in table) for i in range(start, len(header))]
    lines = []
    for row in table:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row[start:], widths, strict=True)).rstrip()
        lines.append(f"{row[0] or '  '} {cells}" if marks else cells)
    return "\n".join(lines)
