"""The one status-table renderer."""

from __future__ import annotations

from secrets_bridge.tables import render_table


def test_columns_padded_last_unpadded_no_trailing_spaces():
    text = render_table(("NAME", "STATUS", "DETAIL"), [("A", "set", "-"), ("LONGER_NAME", "missing", "x y")])
    assert text.splitlines() == ["NAME         STATUS   DETAIL", "A            set      -",
                                 "LONGER_NAME  missing  x y"]


def test_mark_column_is_left_unpadded():
    lines = render_table(("", "CHECK", "VERDICT"), [("✅", "A", "valid"), ("", "B", "unknown")], marks=True).splitlines()
    assert lines == ["   CHECK  VERDICT", "✅ A      valid", "   B      unknown"]
