"""Random weights (``weights = "random"``) are shown beside every quality figure of such a candidate:
the mark ``?`` on the quality cell, a note under the table, a flag in JSON and CSV."""

from __future__ import annotations

import json

import pytest
from report_runs import make_run

from effbench.analysis.costs import random_quality_cells, random_weight_keys, run_summary
from effbench.report.run_summary import render_run_summary

NOTE = '? random weights (weights = "random"): alpha/sklearn: quality is meaningless; cost figures stay valid'


@pytest.fixture
def run():
    r = make_run()
    r.candidates[0].info["weights"] = "random"    # alpha/sklearn, as sources/build.py records it
    r.candidates[1].info["weights"] = "file"
    return r


def _cells(table: str, key: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.startswith(key))


def test_one_function_decides_which_candidates_and_cells(run):
    assert random_weight_keys(run) == {"alpha/sklearn"}
    assert random_weight_keys(make_run()) == frozenset()
    cells = random_quality_cells(run, ["alpha/sklearn", "gamma/torch"], ["accuracy", "params", "latency_p99_s_b1"])
    assert cells == {("alpha/sklearn", "accuracy")}


def test_show_marks_the_quality_cells_and_notes_it_under_the_table(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    out, _ = render_run_summary(run_summary(run))
    table = out[0]
    assert _cells(table, "alpha/sklearn")[1:4] == ["0.9500?", "0.9400?", "1k"]   # accuracy, F1, params unmarked
    assert _cells(table, "gamma/torch")[1:3] == ["0.9000", "-"]
    assert NOTE in table.splitlines()
    assert "?" not in render_run_summary(run_summary(make_run()))[0][0]


def test_json_and_csv_carry_the_flag(run):
    from effbench.report.export import export_document, run_to_csv_rows

    doc = run_summary(run).to_dict()
    assert {r["candidate"]: r["random_weights"] for r in doc["costs"]}["alpha/sklearn"] is True
    assert {r["candidate"]: r["random_weights"] for r in doc["costs"]}["gamma/torch"] is False
    assert export_document(run)["derived"]["cost_table"][0]["random_weights"] is True
    rows = run_to_csv_rows(run)
    assert {r["weights"] for r in rows if r["candidate"] == "alpha/sklearn"} == {"random"}
    assert {r["weights"] for r in rows if r["candidate"] != "alpha/sklearn"} == {""}


def test_recommend_marks_the_runner_ups_quality_and_notes_it(run):
    from effbench.analysis.selection import recommend
    from effbench.report.recommendation import render_recommendation

    rec = recommend(run, preference=["params"])
    assert rec.random_weights == ["alpha/sklearn"] and rec.to_dict()["random_weights"] == ["alpha/sklearn"]
    out, _ = render_recommendation(rec)
    runner = next(line for line in out if line.startswith("  alpha/sklearn:"))
    assert runner.startswith("  alpha/sklearn: accuracy 0.9500? (")
    assert out.index(NOTE) > out.index(runner)
    assert recommend(make_run(), preference=["params"]).random_weights == []


@pytest.fixture
def stored(tmp_path, run):
    from effbench.store.db import Store

    path = tmp_path / "rw.sqlite"
    with Store(path) as store:
        store.import_run(run)
    return str(path)


@pytest.fixture
def cli(capsys, monkeypatch):
    from effbench.cli import main

    monkeypatch.setenv("COLUMNS", "400")

    def run(*args):
        assert main(list(args)) == 0
        return capsys.readouterr().out

    return run


def test_pareto_marks_the_quality_cells_and_notes_it(stored, cli):
    out = cli("pareto", "20260101-000000-test", "--db", stored, "--objective", "accuracy:max", "--objective", "params:min")
    row = next(line.split() for line in out.splitlines() if " alpha/sklearn " in line)
    assert row[2:4] == ["0.9500?", "1k"]   # layer, key, accuracy (marked), params (not)
    gamma = next(line.split() for line in out.splitlines() if " gamma/torch " in line)
    assert gamma[2] == "0.9000"
    assert NOTE in out.splitlines()
    records = json.loads(cli("pareto", "20260101-000000-test", "--db", stored, "--objective", "accuracy:max",
                             "--objective", "params:min", "--json", "-"))
    assert {r["key"]: r["random_weights"] for r in records}["alpha/sklearn"] is True
    assert {r["key"]: r["random_weights"] for r in records}["gamma/torch"] is False


def test_misnomer_notes_it_when_accuracy_is_an_indicator(stored, cli):
    out = cli("misnomer", "20260101-000000-test", "--db", stored)
    assert out.splitlines()[-1] == NOTE
    out = cli("misnomer", "20260101-000000-test", "--db", stored, "--indicator", "params:min", "--indicator", "size_bytes:min")
    assert NOTE not in out


def test_markdown_latex_and_html_reports_mark_it(run):
    import html as html_lib

    from effbench.analysis.run_report import run_report
    from effbench.report.html import render_html
    from effbench.report.tables import cost_table_rows, render_latex, render_markdown

    headers, rows, notes = cost_table_rows(run)
    assert headers[1].startswith("accuracy")
    assert {r[0]: r[1] for r in rows}["alpha/sklearn"] == "0.9500 ?"
    assert {r[0]: r[2] for r in rows}["alpha/sklearn"] == "1k"   # params: a cost figure, never marked
    assert {r[0]: r[1] for r in rows}["gamma/torch"] == "0.9000"
    assert NOTE in notes
    report = run_report(run)
    md = render_markdown(run, report)
    assert "| alpha/sklearn | 0.9500 ? |" in md
    assert md.count(NOTE.replace("_", "\\\\_")) >= 2 or md.count("? random weights") == 2  # cost table and Pareto table
    tex = render_latex(run, report)
    assert r"{0.9500\textsuperscript{?}}" in tex
    page = html_lib.unescape(render_html(report))
    assert "<td>0.9500 ?</td>" in page and NOTE in page
    assert "? random weights" not in render_markdown(make_run(), run_report(make_run()))


def test_the_wide_csv_carries_the_flag(run):
    from effbench.analysis.multirun import combine_runs

    header, rows = combine_runs([run]).wide_rows(["accuracy", "params"])
    assert header.index("weights") == header.index("status") + 1
    assert {r["key"]: r["weights"] for r in rows} == {"alpha/sklearn": "random", "<script>alert(1)</script>/torch": "",
                                                     "beta & co_$#%{x}~^\\/onnxruntime": "", "gamma/torch": "",
                                                     "delta/torch": ""}
