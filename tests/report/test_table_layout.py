"""report/text.py's table layout: sections that fit the width, for any column list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from effbench.report.text import render_table, table_sections


@given(st.lists(st.integers(1, 70), min_size=2, max_size=30), st.integers(1, 3), st.integers(60, 200),
       st.sampled_from(["plain", "rich"]), st.randoms())
def test_sections_fit_and_hold_every_column_once(widths, keys, width, style, rnd):
    keys = min(keys, len(widths) - 1)
    priority = list(range(len(widths)))
    rnd.shuffle(priority)
    sections = table_sections(widths, keys=keys, priority=priority, width=width, style=style)
    per_col, edge = {"plain": (2, -2), "rich": (3, 1)}[style]
    seen = []
    for sec in sections:
        assert sec[:keys] == list(range(keys)) and sec == sorted(sec)
        seen += sec[keys:]
        if len(sec) > keys + 1:  # a section of one column may be wider than the width: it is never cut
            assert edge + sum(widths[i] + per_col for i in sec) <= width
    assert sorted(seen) == list(range(keys, len(widths)))
    first = [i for i in priority if i >= keys][0]
    assert first in sections[0]  # the most important column is in the first section
    assert table_sections(widths, keys=keys, width=None, style=style) == [list(range(len(widths)))]


def test_rendered_sections_keep_names_and_cells():
    headers = ["name"] + [f"column {i}" for i in range(12)]
    rows = [[f"model_{r}.variant/backend"] + [f"{r}.{i}23 µs~" for i in range(12)] for r in range(3)]
    for style in ("plain", "rich"):
        text = render_table("a title: details", headers, rows, width=80, style=style, color=False, caption="the caption")
        assert "…" not in text and "a title (continued, 2 of" in text and text.rstrip().endswith("the caption")
        for row in rows:
            assert text.count(row[0]) >= 2 and all(cell in text for cell in row)
        if style == "rich":
            assert max(len(line) for line in text.splitlines()) <= 80


def test_cost_table_priority_for_any_quality_columns():
    from effbench.report.text import column_headers, column_priority

    for quality in (("accuracy", "f1_macro"), ("rmse",), ("top5", "accuracy")):
        n = len(column_headers(quality))
        priority = column_priority(quality)
        assert sorted(priority) == list(range(1, n)) and priority[:3] == [1, n - 6, n - 5]  # quality, p50, p99
