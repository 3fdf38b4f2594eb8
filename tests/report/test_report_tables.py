"""Markdown and LaTeX cost tables: escaping, units, provenance labels."""

from __future__ import annotations

from report_runs import LATEX_KEY, SCRIPT_KEY, make_run

from effbench.report.tables import cost_table_rows, escape_latex, escape_markdown, render_latex, render_markdown


def test_escape_latex_every_special_once():
    assert escape_latex("&%$#_{}~^\\") == (
        r"\&\%\$\#\_\{\}\textasciitilde{}\textasciicircum{}\textbackslash{}"
    )
    # no double escaping: the backslash of an escape is not escaped again
    assert escape_latex("a\\&b") == r"a\textbackslash{}\&b"
    assert escape_latex("line\nbreak") == "line break"


def test_escape_markdown():
    assert escape_markdown("a|b") == r"a\|b"
    assert escape_markdown(SCRIPT_KEY) == r"\<script\>alert(1)\</script\>/torch"
    assert escape_markdown("x_y*z`") == r"x\_y\*z\`"


def test_rows_units_provenance_and_missing():
    headers, rows, notes = cost_table_rows(make_run())
    assert headers[0] == "candidate"
    assert "accuracy (ratio, measured)" in headers
    assert "params (count, computed (analytic))" in headers
    # energy at batch 1 is measured for two candidates and estimated for one
    assert "energy/sample b=1 (mixed)" in headers
    by = {r[0]: dict(zip(headers, r)) for r in rows}
    assert by[LATEX_KEY]["energy/sample b=1 (mixed)"].endswith("\u2020")
    assert by["alpha/sklearn"]["energy/sample b=1 (mixed)"] == "2 mJ"
    assert by["alpha/sklearn"]["p50 b=1 (measured)"].endswith("µs")
    assert by["gamma/torch"]["p50 b=1 (measured)"] == "-"
    assert "delta/torch (failed)" in by
    assert any("estimated" in n for n in notes)


def test_no_energy_column_when_not_measured():
    headers, _, notes = cost_table_rows(make_run(energy=False))
    assert not any(h.startswith("energy") for h in headers)
    assert any("not measured in this run: energy/sample b=1" in n for n in notes)


def test_latex_escapes_names_and_is_a_table():
    tex = render_latex(make_run())
    assert r"beta \& co\_\$\#\%\{x\}\textasciitilde{}\textasciicircum{}\textbackslash{}/onnxruntime" in tex
    assert LATEX_NAME_RAW not in tex
    assert tex.count(r"\begin{table}") == 1 and r"\bottomrule" in tex
    assert r"$^\dagger$" in tex
    body = [ln for ln in tex.splitlines() if ln.endswith(r"\\")]
    # split in two tabulars: each a name row, a unit row and 5 candidates
    assert tex.count(r"\begin{tabular}") == 2 and len(body) == 2 * (2 + 5)


LATEX_NAME_RAW = "beta & co_$#%"


def test_markdown_table_shape_and_escaping():
    md = render_markdown(make_run())
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(lines) == 2 + 5
    n = lines[0].count(" | ")
    # escaped pipes do not count as separators: every row has the same number of cells
    assert all(ln.replace(r"\|", "").count(" | ") == n for ln in lines[2:])
    assert r"\<script\>alert(1)\</script\>/torch" in md
    assert "<script>" not in md
