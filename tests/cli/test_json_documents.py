"""Every --json document of recommend, misnomer, compare and batching is the library result's to_dict():
plain JSON (json.dumps with allow_nan=False round-trips it) and equal to what the command wrote."""

from __future__ import annotations

import json

import numpy as np
import pytest

from effbench.cli import main
from effbench.store.db import Store

import test_compare_cli  # noqa: E402  (tests/cli is on sys.path under pytest's rootdir conftest)
import test_recommend_cli
from test_tail_cli import times_csv  # noqa: F401  (a fixture)


def _round_trip(doc: dict) -> dict:
    """json.dumps -> json.loads, refusing NaN, infinity and non-JSON types (numpy scalars)."""
    back = json.loads(json.dumps(doc, allow_nan=False))
    assert back == doc  # nothing lost or changed on the way (tuples would come back as lists)
    return back


def _written(path) -> dict:
    return json.loads(path.read_text())


def _batching_run():
    """One candidate measured at batch sizes 1 and 8, with energy per batch and an idle power."""
    from effbench.records import CandidateRecord, Metric, RunRecord, SampleSet

    rng = np.random.default_rng(0)
    key = "m/sklearn"
    samples = [SampleSet(key, b, "latency_per_call", "s", rng.lognormal(np.log(t), 0.3, 200), {}) for b, t in ((1, 1e-3), (8, 4e-3))]
    metrics = [Metric(key, "energy_per_batch_j", e, "J", "measured", b) for b, e in ((1, 0.02), (8, 0.06))]
    return RunRecord("batchrun", "2024-01-01", "complete", environment={"energy": {"idle_power_w": 12.5}},
                     candidates=[CandidateRecord(key, "m", "sklearn", "linear", None, "ok")], metrics=metrics, samples=samples)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        st.import_run(test_recommend_cli._run())
        st.import_run(_batching_run())
        test_compare_cli._add_run(st, 1)
        test_compare_cli._add_run(st, 2, scale_m0=1.3, extra="m2/onnxruntime")
    with Store(path, create=False) as st:
        yield str(path), st


def test_recommend_document(store, tmp_path):
    from effbench.analysis.selection import SCHEMA, Constraints, recommend

    db, st = store
    out = tmp_path / "rec.json"
    assert main(["recommend", test_recommend_cli._run().run_id, "--db", db, "--max-loss", "0.02", "--prefer", "latency,size", "--json", str(out)]) == 0
    run = st.load_run(test_recommend_cli._run().run_id)
    rec = recommend(run, Constraints(max_loss=0.02), ["latency", "size"])
    doc = _round_trip(rec.to_dict())
    assert _written(out) == doc
    assert doc["schema"] == SCHEMA == "effbench.recommend/1" and doc["run_id"] == run.run_id
    assert doc["chosen"] == "cnn_wide.prune50s/torch" and doc["constraints"] == ["accuracy >= best - 0.02"]


def test_misnomer_document(tmp_path):
    from effbench.analysis.misnomer import SCHEMA, Indicator, TableInput, table_misnomer
    from effbench.store.tables import load_tables

    costs, speed = tmp_path / "costs.csv", tmp_path / "speed.csv"
    costs.write_text("id,gmacs,params\na,1,10\nb,2,20\nc,4,30\nd,8,40\ne,,5\n")
    speed.write_text('id,throughput\na,100\nb,200\nc,110\nd,"1,050"\n')
    out = tmp_path / "mis.json"
    assert main(["misnomer", "--csv", str(costs), "--csv", str(speed), "--key", "id", "--indicator", "gmacs:min",
                 "--indicator", "throughput:max", "--label", "gmacs=GMACs", "--top", "2", "--json", str(out)]) == 0
    keys, matrix, report = load_tables([str(costs), str(speed)], "id", ["gmacs", "throughput"])
    result = table_misnomer(TableInput.from_load_report(report, "id"), keys,
                            {"gmacs": matrix[:, 0], "throughput": matrix[:, 1]},
                            [Indicator("gmacs", "min", label="GMACs"), Indicator("throughput", "max")], top=2)
    doc = _round_trip(result.to_dict())
    assert _written(out) == doc
    assert doc["schema"] == SCHEMA == "effbench.misnomer/1"
    assert doc["input"] == {"files": [str(costs), str(speed)], "key": "id", "rows_read": {str(costs): 5, str(speed): 4},
                            "rows_kept": 4, "rows_dropped": 1}
    assert doc["contradictions"][0]["count"] == 5


def test_compare_document(store, tmp_path, capsys):
    from effbench.analysis.compare_runs import SCHEMA, compare_runs

    db, st = store
    out = tmp_path / "cmp.json"
    assert main(["compare", "run1", "run2", "--db", db, "--json", str(out), "--seed", "3"]) == 0
    result = compare_runs(st.load_run("run1"), st.load_run("run2"), seed=3)
    doc = _round_trip(result.to_dict())
    assert _written(out) == doc
    capsys.readouterr()
    assert main(["compare", "run1", "run2", "--db", db, "--json", "-", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == doc
    assert doc["schema"] == SCHEMA == "effbench.compare/1"
    assert (doc["summary"]["n_compared"], doc["summary"]["n_slower"]) == (4, 2)


def test_batching_document(store, tmp_path):
    from effbench.analysis.batching import LatencyObjective
    from effbench.analysis.run_batching import SCHEMA, batching_study

    db, st = store
    out = tmp_path / "bat.json"
    assert main(["batching", "batchrun", "--db", db, "--arrival-rate", "50", "--max-latency", "0.05",
                 "--requests", "2000", "--seed", "4", "--json", str(out)]) == 0
    study = batching_study(st.load_run("batchrun"), None, 50.0, LatencyObjective(0.05), n_requests=2000, seed=4)
    doc = _round_trip(study.to_dict())
    assert _written(out) == doc
    assert doc["schema"] == SCHEMA == "effbench.batching/1"
    assert doc["objective"] == {"percentile": 99.0, "bound_s": 0.05} and list(doc["candidates"]) == ["m/sklearn"]
    rec = doc["candidates"]["m/sklearn"]["recommendation"]
    assert rec["idle_power_w"] == 12.5 and rec["best"]["batch_size"] == 8


def test_report_and_summary_documents(store):
    from effbench.analysis.costs import run_summary
    from effbench.analysis.run_report import SCHEMA, run_report

    _, st = store
    run = st.load_run(test_recommend_cli._run().run_id)
    doc = _round_trip(run_report(run).to_dict())
    assert doc["schema"] == SCHEMA == "effbench.report/1"
    assert doc["recommendation"]["chosen"] == "random_forest/sklearn" and doc["misnomer_error"] is None
    assert doc["misnomer"]["candidates"] == ["cnn_wide/torch", "cnn_wide.prune50s/torch", "random_forest/sklearn", "logreg/sklearn"]
    summary = json.loads(json.dumps(run_summary(run).to_dict()))
    assert [r["candidate"] for r in summary["costs"]][:2] == ["cnn_wide/torch", "cnn_wide.prune50s/torch"]
    assert np.isclose(summary["costs"][0]["params"]["value"], 99370)


def test_show_writes_only_json_to_stdout_with_json_dash(store, capsys):
    from effbench.analysis.costs import SUMMARY_SCHEMA, run_summary

    db, st = store
    run_id = test_recommend_cli._run().run_id
    capsys.readouterr()
    assert main(["show", run_id, "--db", db, "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)  # nothing but the JSON on stdout
    assert doc["schema"] == SUMMARY_SCHEMA == "effbench.show/1" and doc["status"] == "complete"
    assert doc == json.loads(json.dumps(run_summary(st.load_run(run_id)).to_dict(), default=str))
    assert main(["show", "--db", db, "--json", "-"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert runs["schema"] == "effbench.runs/1" and len(runs["runs"]) == 4
    assert {r["run_id"] for r in runs["runs"]} >= {run_id, "run1", "run2"}


def test_every_analysis_command_writes_only_json_to_stdout_with_json_dash(store, tmp_path, capsys, times_csv):
    """``--json -``: stdout holds the JSON document alone (no table anywhere; notes stay on stderr),
    and it is the same document ``--json FILE`` writes."""
    db, _ = store
    rec_run = test_recommend_cli._run().run_id
    costs = tmp_path / "costs.csv"
    costs.write_text("id,gmacs,params\na,1,10\nb,2,20\nc,4,15\nd,8,40\n")
    commands = {
        "recommend": ["recommend", rec_run, "--db", db, "--max-loss", "0.02", "--prefer", "latency,size"],
        "batching": ["batching", "batchrun", "--db", db, "--arrival-rate", "50", "--max-latency", "0.05", "--requests", "500"],
        "misnomer": ["misnomer", "--csv", str(costs), "--key", "id", "--indicator", "gmacs:min", "--indicator", "params:min"],
        "pareto": ["pareto", rec_run, "--db", db, "--objective", "accuracy:max", "--objective", "params:min"],
        "compare": ["compare", "run1", "run2", "--db", db, "--seed", "3"],
        "tail analyze": ["tail", "analyze", "--times", times_csv, "--threshold", "0.007"],
    }
    for name, args in commands.items():
        capsys.readouterr()
        assert main([*args, "--json", "-"]) == 0, name
        captured = capsys.readouterr()
        doc = json.loads(captured.out)  # nothing else on stdout
        assert not any(line.startswith("---") for line in captured.err.splitlines()), f"{name}: no table on stderr either"
        out = tmp_path / f"{name.replace(' ', '_')}.json"
        assert main([*args, "--json", str(out)]) == 0, name
        assert _written(out) == doc, name


def test_import_and_push_write_only_json_to_stdout_with_json_dash(tmp_path, capsys):
    from effbench.store.export import run_to_dict
    from effbench.store.files import write_json

    src = tmp_path / "run.json"
    write_json(src, run_to_dict(test_recommend_cli._run()), force=False)
    db, other = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    capsys.readouterr()
    assert main(["import", str(src), "--db", db, "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"schema": "effbench.import/1", "run_id": test_recommend_cli._run().run_id, "db": db, "source": str(src)}
    for outcome in ("copied", "already there"):
        assert main(["push", "latest", "--db", db, "--to", other, "--json", "-"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["schema"] == "effbench.push/1" and doc["to"] == other
        assert doc["runs"] == [{"run_id": test_recommend_cli._run().run_id, "status": "complete", "outcome": outcome}]
