"""Random weights (``weights = "random"``) are shown beside every quality figure of such a candidate:
the mark ``?`` on the quality cell, a note under the table, a flag in JSON and CSV."""

from __future__ import annotations

import json

import pytest
from report_runs import LATEX_KEY, SCRIPT_KEY, make_run

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


def test_recommend_notes_it_and_marks_the_runner_ups_quality(run):
    from effbench.analysis.selection import recommend
    from effbench.report.recommendation import render_recommendation

    rec = recommend(run, preference=["params"])
    assert rec.random_weights == ["alpha/sklearn"] and rec.to_dict()["random_weights"] == ["alpha/sklearn"]
    assert NOTE in render_recommendation(rec)[0]
    assert recommend(make_run(), preference=["params"]).random_weights == []
    for c in run.candidates:   # every model random: chosen on cost alone, the runner-ups' quality marked
        c.info["weights"] = "random"
    out, _ = render_recommendation(recommend(run, preference=["peak_rss_bytes_b1", "params"]))
    assert "  alpha/sklearn: accuracy 0.9500? (quality not compared); f; peak_rss_bytes_b1=95.4 MiB, params=1k" in out


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


def _with_predictions(run):
    """The candidates predict the ten test labels, alpha/sklearn one wrong: McNemar finds it on par with
    the most accurate models, and it has the fewest parameters of those tested (gamma/torch has no
    predictions, so it is never on par)."""
    for c in run.candidates:
        if c.status != "failed":
            c.predictions = list(range(10))
    run.candidate("alpha/sklearn").predictions = [1] + list(range(1, 10))
    run.candidate("gamma/torch").predictions = None
    return run


def test_recommend_leaves_random_weights_out_of_the_quality_comparison_and_the_choice(run):
    from effbench.analysis.selection import recommend
    from effbench.report.recommendation import render_recommendation

    trained = recommend(_with_predictions(make_run()), preference=["params"])
    assert trained.chosen == "alpha/sklearn"          # on par and smallest: chosen, when its weights are trained
    rec = recommend(_with_predictions(run), preference=["params"])
    assert rec.chosen in (SCRIPT_KEY, LATEX_KEY) and rec.reference in (SCRIPT_KEY, LATEX_KEY)
    assert "alpha/sklearn" not in rec.frontier + rec.feasible + [p.a for p in rec.parity]
    assert "alpha/sklearn" not in [r["key"] for r in rec.runner_ups]
    doc = rec.to_dict()
    assert doc["random_weights_left_out"] == ["alpha/sklearn"] and doc["quality_compared"] is True
    out, _ = render_recommendation(rec)
    assert ('Left out of the quality comparison and of the choice: alpha/sklearn (random weights, weights = "random": '
            'its accuracy is meaningless).') in out
    assert recommend(_with_predictions(make_run()), preference=["params"]).random_weights_left_out == []


def test_recommend_with_only_random_weights_chooses_on_cost_alone_and_says_so():
    from effbench.analysis.selection import recommend
    from effbench.report.recommendation import render_recommendation

    r = _with_predictions(make_run())
    for c in r.candidates:
        c.info["weights"] = "random"
    rec = recommend(r, preference=["params"])
    assert rec.chosen == "gamma/torch" and rec.reference is None and rec.parity == []   # 500 params, the fewest
    assert rec.objectives == ["params:min"] and rec.frontier == ["gamma/torch"]
    assert rec.to_dict()["quality_compared"] is False and rec.random_weights_left_out == []
    out, _ = render_recommendation(rec)
    assert ('Quality was not compared: every model has random weights (weights = "random"), so their accuracy is '
            'meaningless; the choice is on cost alone.') in out
    assert any(line.startswith("Use gamma/torch: it comes first in the preference order (params)") for line in out)
    rec = recommend(r, preference=["peak_rss_bytes_b1", "params"])   # two on the frontier: the other one a runner-up
    assert rec.chosen == "beta & co_$#%{x}~^\\/onnxruntime"
    assert [(u["key"], u["on_par_with_reference"], u["p_value"]) for u in rec.runner_ups] == [("alpha/sklearn", None, None)]


def test_recommend_refuses_a_quality_constraint_when_every_model_has_random_weights(tmp_path, capsys):
    from effbench.analysis.selection import Constraints, recommend
    from effbench.cli import main
    from effbench.errors import DataError
    from effbench.store.db import Store

    r = make_run()
    for c in r.candidates:
        c.info["weights"] = "random"
    with pytest.raises(DataError, match=r"every model has random weights .*accuracy >= 0.9\) cannot be checked"):
        recommend(r, Constraints(min_quality=0.9), preference=["params"])
    path = tmp_path / "rw.sqlite"
    with Store(path) as store:
        store.import_run(r)
    assert main(["recommend", r.run_id, "--db", str(path), "--max-loss", "0.01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "quality constraint (accuracy >= best - 0.01) cannot be checked" in err[0]
    assert main(["recommend", r.run_id, "--db", str(path), "--prefer", "params"]) == 0
    assert "Use gamma/torch" in capsys.readouterr().out


def _regression_tail(tolerance=50.0):
    from effbench.analysis.tail import answer_definition

    return {"quantile_key": "q01", "quantile": 0.01, "own_p99": {"threshold_s": 1e-3, "min": 0.5, "q01": 0.55},
            "quality": answer_definition(tolerance)}


def test_the_tail_note_names_the_tail_runs_quality_and_the_tail_cell_is_marked(run):
    import html as html_lib

    from effbench.analysis.run_report import run_report
    from effbench.analysis.tail import answer_definition
    from effbench.report.html import render_html
    from effbench.report.tables import cost_table_rows, render_markdown

    r = make_run(tail=False)
    for c in r.candidates[:2]:                     # as a regression tail run with --tolerance 50 joined to the costs
        c.info["tail"] = _regression_tail()
    r.candidates[0].info["weights"] = "random"
    headers, rows, notes = cost_table_rows(r)
    assert headers[-1] == "tail quality at own p99 (ratio, measured)"
    assert [row[-1] for row in rows[:3]] == ["0.5500 ?", "0.5500", "-"]
    note = ("tail quality = the low quantile over inference rounds of the share within ±50 when an answer later than "
            "the candidate's own p99 time counts as wrong (effbench tail measure).")
    assert note in notes and not any("of the accuracy" in n for n in notes)
    assert "share within ±50" in render_markdown(r)
    page = html_lib.unescape(render_html(run_report(r)))
    assert note in page and "of the accuracy when" not in page
    r.candidates[1].info["tail"]["quality"] = answer_definition(None)   # a classification tail: accuracy, as before
    r.candidates[0].info["tail"]["quality"] = answer_definition(None)
    assert any("rounds of the accuracy when" in n for n in cost_table_rows(r)[2])
