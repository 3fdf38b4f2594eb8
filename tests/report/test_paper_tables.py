"""LaTeX and Markdown tables for papers: structure (balanced braces, as many cells as columns,
siunitx S columns with the unit in the header, split when wide), the Pareto/DEA and misnomer
tables, and, when pdflatex is installed, a real compile (slow)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from report_runs import make_run

from effbench.analysis.run_report import run_report
from effbench.cli import main
from effbench.report.tables import (
    MAX_COLUMNS,
    PaperColumn,
    PaperTable,
    latex_table,
    paper_cost_table,
    paper_misnomer_table,
    paper_pareto_table,
    render_latex,
    render_markdown,
)


@pytest.fixture(scope="module")
def report():
    return run_report(make_run())


def _balanced(tex: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _spec_columns(spec: str) -> int:
    """Columns of a tabular spec such as ``lS[table-format=1.4]r``."""
    return len(re.findall(r"[lrc]|S(?:\[[^\]]*\])?", re.sub(r"S\[[^\]]*\]", "S", spec)))


def _tabulars(tex: str):
    """(spec, rows) of every tabular, rows split into cells on unescaped '&'."""
    out = []
    for m in re.finditer(r"\\begin\{tabular\}\{((?:[^{}]|\{[^{}]*\})*)\}(.*?)\\end\{tabular\}", tex, re.S):
        rows = [ln[:-2].strip() for ln in m.group(2).splitlines() if ln.endswith(r"\\")]
        out.append((m.group(1), [re.split(r"(?<!\\)&", r) for r in rows]))
    return out


def test_latex_structure(report):
    tex = render_latex(report.run, report)
    assert _balanced(tex)
    tabs = _tabulars(tex)
    assert len(tabs) >= 4  # costs (split), Pareto (split: 7 value columns), misnomer
    for spec, rows in tabs:
        n = _spec_columns(spec)
        assert n <= 1 + MAX_COLUMNS
        assert all(len(r) == n for r in rows), (spec, rows[0])
    assert "lrrrrrrrrrr" not in tex
    assert r"\si{\micro\second}" in tex and "S[table-format=" in tex
    assert "\u00b5" not in tex and " us" not in tex   # micro as siunitx (or \textmu in text), never 'us'
    assert r"\usepackage{siunitx}" in tex


def test_cost_table_short_headers_units_and_numbers(report):
    table = paper_cost_table(report.run)
    by = {c.header: c for c in table.columns}
    assert all(len(c.header) <= 12 for c in table.columns if c.numeric)
    # one unit per column: p50 at batch 1 in microseconds, the numbers scaled to it
    p50 = by["p50 b1"]
    assert p50.unit == "\u00b5s" and p50.si == r"\micro\second"
    assert [float(x) for x in p50.cells[:3]] == pytest.approx([50.24, 29.95, 7.88], abs=0.01)
    assert by["size"].si == r"\kilo\byte" and by["size"].cells[:3] == ["5.00", "80.00", "79.00"]
    assert by["b*"].cells[:3] == ["8", "8", "8"]
    assert by["E b1"].marks[2] == "\u2020"  # the estimated energy keeps its dagger


def test_cost_table_keeps_columns_it_does_not_know(report, monkeypatch):
    from effbench.report import tables

    original = tables.cost_table_rows

    def with_interval(run):  # as a later column (e.g. a latency interval) would come
        headers, rows, notes = original(run)
        headers.insert(3, "p50 b=1 [95% CI] (measured)")
        for r in rows:
            r.insert(3, "30 [29, 31] \u00b5s")
        return headers, rows, notes

    monkeypatch.setattr(tables, "cost_table_rows", with_interval)
    table = paper_cost_table(report.run)
    extra = [c for c in table.columns if c.header == "p50 b=1 [95% CI] (measured)"]
    assert len(extra) == 1 and not extra[0].numeric and extra[0].cells[0] == "30 [29, 31] \u00b5s"
    assert len([c for c in table.columns if c.numeric]) == 11   # the known ones are all still there
    assert r"30 [29, 31] \textmu{}s" in latex_table(table)


def test_any_column_list_is_accepted():
    cols = [PaperColumn(f"c{i}", [str(i), "-"], unit="ms", si=r"\milli\second", numeric=True, marks=["", ""])
            for i in range(13)] + [PaperColumn("interval", ["1 [0.9, 1.1] \u00b5s", "-"])]
    tex = latex_table(PaperTable("t", "t", PaperColumn("k", ["a", "b"]), cols), max_columns=5)
    tabs = _tabulars(tex)
    assert [_spec_columns(s) for s, _ in tabs] == [6, 6, 5]
    assert _balanced(tex) and r"\textmu{}s" in tex and "{--}" in tex


def test_pareto_and_dea_table(report):
    t = paper_pareto_table(report)
    study = report.pareto
    assert t.key.cells == [str(study.keys[i]) for i in study.ranking()]
    layer = next(c for c in t.columns if c.header == "layer")
    assert layer.cells == sorted(layer.cells) and layer.cells[0] == "1"
    dea = next(c for c in t.columns if c.header == "DEA")
    assert [float(x) for x in dea.cells] == pytest.approx([float(study.dea.efficiency[i]) for i in study.ranking()], abs=5e-4)
    assert any("Left out: gamma/torch" in n for n in t.notes)


def test_misnomer_table(report):
    t = paper_misnomer_table(report)
    res = report.misnomer.result
    assert len(t.key.cells) == len(res.correlations)
    first = res.correlations[0]
    tau = next(c for c in t.columns if c.header.startswith("tau-b"))
    assert tau.cells[0].startswith(f"{first.kendall_oriented:+.2f}")


def test_markdown_gets_the_analysis_tables(report):
    md = render_markdown(report.run, report)
    assert "**Pareto analysis of run" in md and "**Do the cost indicators" in md
    assert "| candidate | layer | acc. |" in md


def test_cli_latex_has_every_table(stored_run, capsys):
    db, run = stored_run
    assert main(["report", run.run_id, "--db", str(db), "--format", "latex", "-o", "-"]) == 0
    tex = capsys.readouterr().out
    assert tex.count(r"\begin{table}") == 3 and "Pareto analysis" in tex and "agree?" in tex


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (apt-get install texlive-latex-recommended texlive-science)")
def test_latex_compiles(report, tmp_path):
    doc = ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n\\usepackage{siunitx}\n"
           "\\begin{document}\n" + render_latex(report.run, report) + "\\end{document}\n")
    (tmp_path / "t.tex").write_text(doc, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_small_counts_are_whole_numbers():
    table = PaperTable("t", "t", PaperColumn("k", ["a", "b"]), [])
    from effbench.report.tables import _number_column

    col = _number_column("params", [5.0, 49.0], "count")
    assert col.cells == ["5", "49"] and col.unit == ""
    assert _number_column("params", [650.0, 17226.0], "count").cells == ["0.650", "17.226"]
    assert latex_table(table).count(r"\begin{table}") == 1
