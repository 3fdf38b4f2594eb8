"""Several runs, one analysis, from the command line: pareto, misnomer, recommend, batching, report and
export --wide on runs of two "machines", tail runs joined with their costs, 'latest', and bad input."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from effbench.cli import main
from effbench.store.db import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from multirun_runs import add_run, add_tail_run, env

FAST = {"small": [1e-3] * 5, "mid": [2e-3] * 5, "big": [3e-3] * 5}
GPU = {"small": [3e-3] * 5, "mid": [1e-3] * 5, "big": [2.5e-3] * 5}
OBJ = ["--objective", "accuracy:max", "--objective", "latency_p99_s_b1:min"]


@pytest.fixture
def runs(tmp_path):
    db = tmp_path / "m.sqlite"
    with Store(db) as s:
        a = add_run(s, FAST, environment=env("cpu-a"))
        b = add_run(s, GPU, environment=env("cpu-b", 16, ["NVIDIA H200"]))
        t = add_tail_run(s, ["small", "big"], cost_run=a)  # the newest run: tail only
    return str(db), a, b, t


def _json(path):
    return json.loads(Path(path).read_text())


def test_pareto_on_two_machines_gives_a_frontier_per_hardware(runs, tmp_path, capsys):
    db, a, b, _ = runs
    out = tmp_path / "p.json"
    assert main(["pareto", a, b, "--db", db, *OBJ, "--hw-label", f"{a}=laptop", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "effbench: hardware laptop: laptop (cpu-a, 8 cores)" in err
    assert "effbench: hardware cpu-b-16c-nvidia-h200: cpu-b, 16 cores, GPU NVIDIA H200" in err
    rec = {r["key"]: r for r in _json(out)}
    assert rec["mid/torch"]["values"] == {"accuracy": 0.9, "latency_p99_s_b1@laptop": 2e-3,
                                          "latency_p99_s_b1@cpu-b-16c-nvidia-h200": 1e-3}
    # laptop: small (fastest), mid, big all on the frontier; the GPU box: big is slower than mid by
    # 2.5 vs 1 ms but more accurate, small is slower and less accurate than mid: dominated there
    assert {k: r["frontier_by_hardware"] for k, r in rec.items()} == {
        "small/torch": {"laptop": True, "cpu-b-16c-nvidia-h200": False},
        "mid/torch": {"laptop": True, "cpu-b-16c-nvidia-h200": True},
        "big/torch": {"laptop": True, "cpu-b-16c-nvidia-h200": True}}
    assert [k for k, r in rec.items() if r["efficient_on_every_hardware"]] == ["mid/torch", "big/torch"]
    assert all(r["efficient_on_some_hardware"] for r in rec.values())


def test_pareto_stochastic_on_two_machines_bootstraps_each_hardware(runs, tmp_path, capsys):
    db, a, b, _ = runs
    out = tmp_path / "p.json"
    assert main(["pareto", a, b, "--db", db, *OBJ, "--stochastic", "--draws", "50", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "latency_p99_s_b1@cpu-a-8c: bootstrap of the raw per-call latencies at batch 1 (5-5 per model)" in text
    assert "accuracy: binomial sampling error on n = 10 test examples" in text
    assert all(0.0 <= r["p_frontier"] <= 1.0 for r in _json(out))


def test_wide_export_round_trips_through_pareto_csv(runs, tmp_path):
    db, a, _, _ = runs
    wide, from_run, from_csv = tmp_path / "w.csv", tmp_path / "run.json", tmp_path / "csv.json"
    assert main(["export", a, "--db", db, "--format", "csv", "--wide", "-o", str(wide)]) == 0
    rows = list(csv.DictReader(wide.open()))
    assert [r["key"] for r in rows] == ["small/torch", "mid/torch", "big/torch"]
    assert float(rows[2]["latency_p99_s_b1"]) == 3e-3 and rows[2]["params"] == "10000.0"
    assert main(["pareto", a, "--db", db, *OBJ, "--objective", "params:min", "--json", str(from_run)]) == 0
    assert main(["pareto", "--csv", str(wide), "--key", "key", *OBJ, "--objective", "params:min",
                 "--json", str(from_csv)]) == 0
    strip = lambda recs: [(r["key"], r["layer"], r["values"]) for r in recs]
    assert strip(_json(from_run)) == strip(_json(from_csv))


def test_wide_export_of_two_machines_has_a_row_per_candidate_and_hardware(runs, capsys):
    db, a, b, _ = runs
    assert main(["export", a, b, "--db", db, "--format", "csv", "--wide", "--hw-label", f"{b}=gpu"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["key"], r["hardware"], r["run_id"]) for r in rows][2:4] == [
        ("big/torch@cpu-a-8c", "cpu-a-8c", a), ("small/torch@gpu", "gpu", b)]


def test_misnomer_has_a_run_form(runs, tmp_path, capsys):
    db, a, b, _ = runs
    out = tmp_path / "m.json"
    assert main(["misnomer", a, b, "--db", db, "--indicator", "params:min", "--indicator", "latency_p50_s_b1:min",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"6 candidates from run(s) {a}, {b} on 2 hardware (one row per candidate and hardware)")
    doc = _json(out)
    assert doc["candidates"][:2] == ["small/torch@cpu-a-8c", "mid/torch@cpu-a-8c"]
    # params 100 < 1000 < 10000 on both machines; latencies (1, 2, 3) ms and (3, 1, 2.5) ms: only small on
    # cpu-b is slower than a bigger model (mid on either machine, big on cpu-b; big on cpu-a ties at 3 ms)
    assert doc["contradictions"][0]["count"] == 3


def test_recommend_names_a_model_on_a_machine(runs, capsys):
    db, a, b, _ = runs
    assert main(["recommend", a, b, "--db", db, "--prefer", "latency", "--max-loss", "0.15"]) == 0
    assert "Use mid/torch@cpu-b-16c-nvidia-h200." in capsys.readouterr().out


def test_batching_on_two_runs(tmp_path, capsys):
    db = tmp_path / "b.sqlite"
    e = {"small": 0.01}
    with Store(db) as s:
        a = add_run(s, {"small": [1e-3] * 20}, environment={**env("cpu-a"), "energy": {"idle_power_w": 10.0}}, energy=e)
        b = add_run(s, {"small": [1e-3] * 20}, environment={**env("cpu-b"), "energy": {"idle_power_w": 50.0}}, energy=e)
    out = tmp_path / "b.json"
    assert main(["batching", a, b, "--db", str(db), "--arrival-rate", "100", "--max-latency", "0.05",
                 "--requests", "500", "--json", str(out)]) == 0
    doc = _json(out)
    assert {k: v["recommendation"]["idle_power_w"] for k, v in doc["candidates"].items()} == {
        "small/torch@cpu-a-8c": 10.0, "small/torch@cpu-b-8c": 50.0}


def test_report_of_a_linked_tail_run_shows_costs_and_tail(runs, tmp_path, capsys):
    db, a, _, t = runs
    out = tmp_path / "r.html"
    assert main(["report", t, "--db", db, "-o", str(out)]) == 0  # the tail run brings its cost run
    assert f"run {a})" in capsys.readouterr().out
    html = out.read_text()
    assert "Tail quality was not measured" not in html
    assert "No tail-quality results for: mid/torch." in html
    assert f"<th>tail quality from</th><td>{t}</td>" in html
    # from the cost run's side: the latest tail run linked to it is found
    with Store(db) as s:
        newer = add_tail_run(s, ["mid"], cost_run=a)
        with s.conn:  # created in the same second as t: make it the newer one
            s.conn.execute("UPDATE runs SET created_at='2999-01-01T00:00:00+00:00' WHERE run_id=?", (newer,))
        add_tail_run(s, ["mid"])  # not linked: never joined unless given
    assert main(["report", a, "--db", db, "-o", str(out), "--force"]) == 0
    assert f"effbench: tail quality from run {newer} (linked to {a})" in capsys.readouterr().err
    html = out.read_text()
    assert f"<th>tail quality from</th><td>{newer}</td>" in html
    assert "No tail-quality results for: small/torch, big/torch." in html


def test_markdown_report_has_a_tail_column_when_tail_is_joined(runs, capsys):
    db, a, b, t = runs
    assert main(["report", a, t, "--db", db, "--format", "markdown", "-o", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].endswith("| tail quality at own p99 (ratio, measured) |")
    # add_tail_run's own p99 row: q01 = 0.8 for small and big; mid has no tail result
    assert [line.rsplit("|", 2)[-2].strip() for line in lines[4:7]] == ["0.8000", "-", "0.8000"]
    assert main(["report", b, "--db", db, "--format", "markdown", "-o", "-"]) == 0
    assert "tail quality" not in capsys.readouterr().out
    # the short names of the formats: md, tex
    assert main(["report", a, t, "--db", db, "--format", "md", "-o", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[2] == lines[2]
    assert main(["report", a, "--db", db, "--format", "tex", "-o", "-"]) == 0
    assert "\\begin{tabular" in capsys.readouterr().out


def test_latest_never_lands_on_a_tail_only_run(runs, tmp_path, capsys):
    db, a, b, t = runs
    for args in (["show", "latest"], ["pareto", "latest", *OBJ], ["export", "latest", "--format", "csv", "--wide"],
                 ["misnomer", "latest"], ["recommend", "--prefer", "latency"]):
        assert main([*args, "--db", db]) == 0, args
        out = capsys.readouterr().out
        assert t not in out, args
    assert main(["export", "latest", "--db", db, "-o", str(tmp_path / "l.json")]) == 0
    assert _json(tmp_path / "l.json")["run"]["run_id"] in (a, b)  # created in the same second as t: either cost run
    assert main(["show", t, "--db", db]) == 0  # a tail run is still shown when named


@pytest.mark.parametrize("args,message", [
    (["pareto", "{a}", "{c}", *OBJ], ("runs {a}, {c} have no candidate in common ({a}: small/torch, mid/torch, big/torch; "
                                      "{c}: other/torch); candidates are matched by key model/backend")),
    (["pareto", "{a}", "{a}", *OBJ], "run {a} is given more than once ('{a}', '{a}')"),
    (["pareto", "{a}", *OBJ, "--hw-label", "{a}"], "--hw-label '{a}': expected RUN=LABEL, e.g. 20261129-1702-ab12=gpu-box"),
    (["pareto", "{a}", *OBJ, "--hw-label", "{a}=a@b"], "--hw-label label 'a@b' is not allowed: use letters, digits and _ . + - only"),
    (["pareto", "{a}", "{b}", *OBJ, "--hardware", "x=latency_p99_s_b1:min"],
     ("--hardware applies to --csv tables; the runs given are on 2 hardware (cpu-a-8c, cpu-b-16c-nvidia-h200), "
      "which give the per-hardware frontiers (rename them with --hw-label)")),
    (["misnomer", "{a}", "--indicator", "params:min", "--indicator", "nope:min"], "--indicator: unknown indicator 'nope'"),
    (["pareto", "--csv", "x.csv", "--key", "id", *OBJ, "--hw-label", "{a}=x"],
     "--hw-label applies to RUN_IDs, not to --csv tables; with --csv tables give --hardware NAME=COLUMN:max|min,..."),
    (["misnomer", "{a}", "--key", "id"], "--key applies to --csv tables, not to RUN_IDs"),
    (["misnomer"], "give a RUN_ID (a stored run, or 'latest'; several for several machines) or --csv FILE with --key COLUMN and --indicator"),
    (["export", "{a}", "{b}"], "several RUN_IDs and --hw-label apply to --format csv --wide; JSON and long CSV export one run; got 2 run(s)"),
    (["export", "{a}", "--wide"], "--wide applies to --format csv; got --format json"),
    (["tail", "measure", "--cost-run", "nope", "--quick"], "unknown run id 'nope'"),
    (["tail", "measure", "--cost-run", "{a}", "--no-store"], "--cost-run links the stored tail run to a cost run; it cannot be used with --no-store"),
])
def test_bad_input_is_one_line_and_exit_2(runs, capsys, args, message):
    db, a, b, t = runs
    with Store(db) as s:
        c = add_run(s, {"small": [1e-3]}, environment=env("cpu-c"))
        s.conn.execute("UPDATE candidates SET key='other/torch' WHERE run_id=?", (c,))  # no key in common
        s.conn.execute("UPDATE metrics SET candidate='other/torch' WHERE run_id=?", (c,))
        s.conn.execute("UPDATE samples SET candidate='other/torch' WHERE run_id=?", (c,))
        s.conn.commit()
    ids = {"a": a, "b": b, "c": c, "t": t}
    assert main([x.format(**ids) for x in args] + ["--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("effbench: error: " + message.format(**ids)), err
    assert not any("Traceback" in line for line in err)
