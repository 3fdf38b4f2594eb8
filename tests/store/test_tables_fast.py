"""The fast column-wise CSV reader gives what the reference reader (csv + parse_number per cell) gives."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from effbench.errors import EffbenchError
from effbench.store import tables
from effbench.store.tables import load_tables

NUMBERS = ["1", "-2.5", "0.125", " 3.75 ", "1e5", "2E-3", "-0", "+4", "1.", ".5", "007", "1_000", "\u00a06.5",
           "12345678901234567890", "0.1000000000000000055511151231257827", "4.9e-324", "1.7976931348623157e308"]
MISSING = ["", " ", "NA", "na", "N/A", "NaN", "nan", "-nan", "+NaN", "null", "NULL", "None", "-", " - "]
BAD = ["abc", "1.2.3", "inf", "-Infinity", "1e400", "0x10", "1d5", "--1", "12abc"]
QUOTED = ['"1,014.45"', '"12,345"', '"1,0"', '"x,y"', '" 2 "']


def _cell(draw, messy: bool, quotes: bool) -> str:
    kinds = ["num", "num", "num", "float", "missing", "bad"] + (["quoted"] if quotes else [])
    kind = draw(st.sampled_from(kinds if messy else ["num", "float"]))
    if kind == "float":
        x = draw(st.floats(allow_nan=False, allow_infinity=False, width=64))
        return draw(st.sampled_from([repr(x), f"{x:.6f}", f"{x:.3e}"]))
    return draw(st.sampled_from({"num": NUMBERS, "missing": MISSING, "bad": BAD, "quoted": QUOTED}[kind]))


@st.composite
def csv_text(draw, columns):
    """A table that the fast reader reads (no quotes, no empty key, no short row) more often than not,
    with messy cells either way."""
    messy, quotes, blank_keys, short_rows = (draw(st.booleans()) for _ in range(4))
    bom = draw(st.booleans())
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    n = draw(st.integers(0, 12))
    lines = [("\ufeff" if bom else "") + ",".join(["model"] + columns)]
    for _ in range(n):
        k = draw(st.sampled_from(["a", "b", "c", "d", "e", "a.x", "b.y", " c ", "f.z"] + (["", " "] if blank_keys else [])))
        cells = [k] + [_cell(draw, messy and draw(st.integers(0, 2)) == 0, quotes) for _ in columns]
        if short_rows and draw(st.integers(0, 4)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))]  # a short row (or a blank one)
        lines.append(",".join(cells))
    return eol.join(lines) + (eol if draw(st.booleans()) else "")


def _outcome(paths, key, columns, fast, **kw):
    try:
        keys, matrix, report = load_tables(paths, key, columns, fast=fast, **kw)
    except EffbenchError as exc:
        return type(exc).__name__, str(exc)
    return list(keys), matrix.tolist(), np.signbit(matrix).tolist(), report


@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=st.data())
def test_fast_reader_equals_reference(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("t")
    n_files = data.draw(st.integers(1, 2))
    paths = []
    for i in range(n_files):
        cols = data.draw(st.sampled_from([["x", "y"], ["y", "z"], ["x", "y", "z"]]))
        path = os.path.join(tmp, f"f{i}.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(data.draw(csv_text(cols)))
        paths.append(path)
    columns = data.draw(st.sampled_from([["x"], ["y"], ["x", "y"], ["y", "x"], ["z", "x"]]))
    kw = {"duplicates": data.draw(st.sampled_from(["drop", "first"])),
          "key_pattern": data.draw(st.sampled_from([None, r"^[^.]+", r"^(\w)\.?"]))}
    assert _outcome(paths, "model", columns, True, **kw) == _outcome(paths, "model", columns, False, **kw)


def _clean(tmp_path, rows=50, bad=None):
    rng = np.random.default_rng(1)
    X = rng.random((rows, 3)).round(6)
    lines = ["model,x,y,z"] + [f"m{i},{a},{b},{c}" for i, (a, b, c) in enumerate(X)]
    if bad:
        lines[5] = bad
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path), X


def test_fast_reader_reads_a_clean_table_column_wise(tmp_path, monkeypatch):
    path, X = _clean(tmp_path)

    def refused(*a, **k):
        raise AssertionError("the reference reader was used")

    monkeypatch.setattr(tables, "read_csv", refused)
    keys, matrix, report = load_tables([path], "model", ["z", "x"])
    assert list(keys) == [f"m{i}" for i in range(50)]
    assert matrix.tolist() == X[:, [2, 0]].tolist()
    assert report.rows_read == {path: 50} and report.rows_kept == 50 and not report.dropped


def test_fast_reader_parses_only_refused_cells_one_by_one(tmp_path, monkeypatch):
    path, X = _clean(tmp_path, bad="m4,NA,1_0,2")
    seen = []
    exact = tables.parse_number

    def counting(text):
        seen.append(text)
        return exact(text)

    monkeypatch.setattr(tables, "read_csv", None)  # never called: the file is read column-wise
    monkeypatch.setattr(tables, "parse_number", counting)
    keys, matrix, report = load_tables([path], "model", ["x", "y"])
    assert "m4" not in keys and [d.reason for d in report.dropped] == ["missing value in column 'x' (t.csv)"]
    assert len(seen) <= 2


@pytest.mark.parametrize("bad, message", [("m4,inf,1,2", "'inf' is not a number"),
                                          ("m4,0.5,abc,2", "'abc' is not a number"),
                                          ("m4,0.5,1e400,2", "'1e400' is not a number")])
def test_fast_reader_refuses_what_the_reference_refuses(tmp_path, bad, message):
    path, _ = _clean(tmp_path, bad=bad)
    fast = _outcome([path], "model", ["x", "y"], True)
    assert fast == _outcome([path], "model", ["x", "y"], False)
    assert fast[0] == "DataError" and message in fast[1] and "row 'm4'" in fast[1]


@pytest.mark.parametrize("fast", [True, False])
def test_the_first_cell_of_a_row_in_the_order_asked_decides(tmp_path, fast):
    path = tmp_path / "t.csv"
    path.write_text("model,x,y,z\na,NA,abc,1\nb,1,2,3\nc,4,-,null\n", encoding="utf-8")
    keys, matrix, report = load_tables([str(path)], "model", ["x", "y"], fast=fast)
    assert list(keys) == ["b"] and matrix.tolist() == [[1.0, 2.0]]
    assert [(d.key, d.reason) for d in report.dropped] == [("a", "missing value in column 'x' (t.csv)"),
                                                           ("c", "missing value in column 'y' (t.csv)")]
    _, _, report = load_tables([str(path)], "model", ["x", "z", "y"], fast=fast)
    assert [d.reason for d in report.dropped][1] == "missing value in column 'z' (t.csv)"
    with pytest.raises(EffbenchError, match=r"row 'a', column 'y': 'abc' is not a number"):
        load_tables([str(path)], "model", ["y", "x"], fast=fast)
