"""``effbench pareto`` on external CSV tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from effbench.cli import main

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
# the public timm table in ../shared, beside the repository root (CI puts a copy of shared/ beside its
# clone), and the subset of its rows shipped with the tests (tests/data/timm/README.md), which is
# always there: (path, complete rows kept, incomplete rows dropped)
TIMM_TABLES = (
    (REPO_ROOT.parent / "shared" / "data" / "timm" / "imagenet-models.csv", 941, 615),  # shared/data/timm/README.md's counts
    (REPO_ROOT / "tests" / "data" / "timm" / "imagenet-models-subset.csv", 18, 10),
)
# the complete row with the highest top1, and those with the highest CPU inference and the highest GPU
# inference and training throughput (one model): a row best at one objective is on the frontier
TIMM_BEST = {"beit_large_patch16_512.in22k_ft_in22k_in1k@512", "resnet10t.c3_in1k@176", "tinynet_e.in1k@106"}


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "models.csv"
    path.write_text(
        "model,acc,latency_s,size_bytes\n"
        "big,0.90,0.010,\"4,000\"\n"
        "mid,0.85,0.005,2000\n"
        "small,0.80,0.002,1000\n"
        "bad,0.70,0.011,5000\n"
        "twin,0.80,0.002,1000\n"
        "gap,0.60,,10\n",
        encoding="utf-8",
    )
    return str(path)


ARGS = ["--key", "model", "--objective", "acc:max", "--objective", "latency_s:min"]


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("effbench: error: ")
    return err[0]


def test_table_and_json_fields(table, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(["pareto", "--csv", table, *ARGS, "--dea", "--stochastic", "--draws", "20",
                 "--uncertainty", "acc=n:1000", "--dea-model", "bcc", "--json", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "4 on the frontier" in captured.out
    assert "dropped 'gap'" in captured.err and "missing value in column 'latency_s'" in captured.err
    rows = {r["key"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"big", "mid", "small", "bad", "twin"}
    for r in rows.values():
        assert {"key", "on_frontier", "layer", "dominated_by", "dea_efficiency", "p_frontier"} <= set(r)
    assert rows["bad"]["on_frontier"] is False and rows["bad"]["layer"] == 2
    assert rows["bad"]["dominated_by"] == ["big", "mid", "small", "twin"]
    assert rows["small"]["on_frontier"] and rows["twin"]["on_frontier"]  # exact duplicates
    assert rows["big"]["dea_efficiency"] == pytest.approx(1.0)  # BCC: the most accurate model
    assert rows["bad"]["dea_efficiency"] < 1
    assert 0 <= rows["mid"]["p_frontier"] <= 1


def test_frontier_rows_come_first_and_top(table, capsys):
    assert main(["pareto", "--csv", table, *ARGS, "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "showing 2" in lines[0]
    body = lines[3:]  # title, header, rule
    assert len(body) == 2 and all(line.split()[0] == "1" for line in body)


def test_refuses_to_overwrite_json(table, tmp_path, capsys):
    out = tmp_path / "out.json"
    out.write_text("keep")
    assert main(["pareto", "--csv", table, *ARGS, "--json", str(out)]) == 2
    assert "--force" in _error_line(capsys)
    assert out.read_text() == "keep"
    assert main(["pareto", "--csv", table, *ARGS, "--json", str(out), "--force"]) == 0
    assert isinstance(json.loads(out.read_text()), list)


def test_hardware_view(table, tmp_path, capsys):
    out = tmp_path / "hw.json"
    code = main(["pareto", "--csv", table, "--key", "model", "--objective", "acc:max",
                 "--hardware", "cpu=latency_s:min", "--hardware", "disk=size_bytes:min", "--json", str(out)])
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out.read_text())}
    assert rows["big"]["frontier_by_hardware"] == {"cpu": True, "disk": True}
    assert rows["bad"]["efficient_on_some_hardware"] is False


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--objective", "top5:max"], "unknown column 'top5'; available:"),
        (["--objective", "acc"], "expected COLUMN:max or COLUMN:min"),
        (["--objective", "acc:best"], "direction must be 'max' or 'min'"),
        (["--stochastic", "--uncertainty", "acc=gauss:1"], "kind must be rel, abs or n"),
        (["--uncertainty", "acc=rel:0.1"], "only applies with --stochastic"),
        (["--hardware", "gpu"], "expected NAME=COLUMN"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(table, capsys, extra, needle):
    assert main(["pareto", "--csv", table, "--key", "model", "--objective", "latency_s:min", *extra]) == 2
    assert needle in _error_line(capsys)


def test_non_numeric_value(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("model,acc,lat\na,0.9,1\nb,high,2\n")
    assert main(["pareto", "--csv", str(path), "--key", "model", "--objective", "acc:max",
                 "--objective", "lat:min"]) == 2
    assert "row 'b', column 'acc': 'high' is not a number" in _error_line(capsys)


def test_join_matching_nothing(tmp_path, capsys):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("model,acc\nresnet50.tv_in1k,0.8\n")
    b.write_text("model,lat\nresnet50,0.1\n")
    args = ["pareto", "--csv", str(a), "--csv", str(b), "--key", "model",
            "--objective", "acc:max", "--objective", "lat:min"]
    assert main(args) == 2
    assert "matched no row" in _error_line(capsys)
    assert main(args + ["--key-pattern", r"^[^.]+"]) == 0


def test_runs_on_timm_table(tmp_path, capsys):
    tables = [(path, kept, dropped) for path, kept, dropped in TIMM_TABLES if path.is_file()]
    assert tables[-1][0] == TIMM_TABLES[-1][0]  # the shipped subset: never skipped
    for path, kept, dropped in tables:
        out = tmp_path / f"{path.stem}.json"
        code = main(["pareto", "--csv", str(path), "--key", "id",
                     "--objective", "top1:max", "--objective", "gpu_rtx3090_amp_samples_per_sec:max",
                     "--objective", "cpu_i9_fp32_samples_per_sec:max", "--objective", "train_samples_per_sec:max",
                     "--stochastic", "--draws", "10", "--uncertainty", "top1=n:50000", "--json", str(out)])
        assert code == 0
        rows = json.loads(out.read_text())
        assert len(rows) == kept  # the complete rows
        assert TIMM_BEST <= {r["key"] for r in rows if r["on_frontier"]}
        assert f"{dropped} row(s) dropped" in capsys.readouterr().err


# -- RUN_ID mode: a stored run instead of CSV tables ---------------------------------------------------

def _store(tmp_path):
    import numpy as np

    from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet, Store

    run = RunRecord("20260101-000000-beef", "2026-01-01T00:00:00+00:00", "complete", suite="hand", task={"y_test": [0, 1]})
    for key, acc, p99 in (("big/torch", 0.99, 4e-3), ("small/torch", 0.97, 1e-3), ("slow/torch", 0.95, 5e-3)):
        run.candidates.append(CandidateRecord(key, key.split("/")[0], "torch", "neural-network", status="ok"))
        run.metrics.append(Metric(key, "accuracy", acc, "ratio", "measured"))
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", np.full(50, p99)))
    run.candidates.append(CandidateRecord("broken/torch", "broken", "torch", status="failed", error="boom"))
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        store.import_run(run)
    return str(path)


def test_run_id_mode(tmp_path, capsys):
    db = _store(tmp_path)
    out = tmp_path / "p.json"
    code = main(["pareto", "latest", "--db", db, "--objective", "accuracy:max", "--objective", "latency_p99_s_b1:min", "--json", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "3 models, 2 objectives" in captured.out and "2 on the frontier" in captured.out
    assert "dropped 'broken/torch' (run 20260101-000000-beef): candidate failed: boom" in captured.err
    rows = {r["key"]: r for r in json.loads(out.read_text())}
    assert rows["slow/torch"]["dominated_by"] == ["big/torch", "small/torch"]
    assert rows["small/torch"]["values"]["latency_p99_s_b1"] == pytest.approx(1e-3)


def test_run_id_and_csv_are_exclusive(table, tmp_path, capsys):
    db = _store(tmp_path)
    assert main(["pareto", "latest", "--db", db, "--csv", table, *ARGS]) == 2
    assert "not both" in _error_line(capsys)
    assert main(["pareto", "--objective", "acc:max"]) == 2
    assert "give a RUN_ID" in _error_line(capsys)
    assert main(["pareto", "--csv", table, "--objective", "acc:max"]) == 2
    assert "--csv needs --key" in _error_line(capsys)
    assert main(["pareto", "latest", "--db", db, "--objective", "latency_s:min"]) == 2
    assert "unknown indicator 'latency_s'" in _error_line(capsys)


def _noisy_store(tmp_path):
    """Two close models: b is slightly slower and slightly less accurate (dominated in the exact table)."""
    import numpy as np

    from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet, Store

    base = np.exp(np.random.default_rng(3).normal(0, 0.2, 60))  # the same shape: b's p99 is 1.02 x a's
    run = RunRecord("20260102-000000-cafe", "2026-01-02T00:00:00+00:00", "complete", suite="hand",
                    task={"y_test": [0, 1] * 50})
    for key, acc, median in (("a/torch", 0.90, 1.00e-3), ("b/torch", 0.89, 1.02e-3), ("c/torch", 0.50, 9e-3)):
        run.candidates.append(CandidateRecord(key, key.split("/")[0], "torch", "neural-network", status="ok"))
        run.metrics += [Metric(key, "accuracy", acc, "ratio", "measured"), Metric(key, "params", 100, "count", "analytic")]
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", median * base))
    path = tmp_path / "noisy.sqlite"
    with Store(path) as store:
        store.import_run(run)
    return str(path), run


def test_run_id_stochastic_takes_noise_from_the_run(tmp_path, capsys):
    import numpy as np

    db, run = _noisy_store(tmp_path)
    out = tmp_path / "s.json"
    args = ["pareto", "latest", "--db", db, "--objective", "accuracy:max", "--objective", "latency_p99_s_b1:min",
            "--objective", "params:min", "--stochastic", "--draws", "300"]
    assert main(args + ["--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "noise per column (--stochastic):" in text
    assert "accuracy: binomial sampling error on n = 100 test examples" in text
    assert "latency_p99_s_b1: bootstrap of the raw per-call latencies at batch 1 (60-60 per model), statistic quantile 0.99" in text
    assert "params: exact" in text
    rows = {r["key"]: r for r in json.loads(out.read_text())}
    # the exact table: a dominates b, and a p99 from the bootstrap is the column's statistic
    lat = {s.candidate: np.quantile(s.values, 0.99) for s in run.samples}
    assert lat["b/torch"] == pytest.approx(1.02 * lat["a/torch"]) and rows["b/torch"]["on_frontier"] is False
    # with the run's noise p_frontier is no longer only 0 or 1
    assert 0.0 < rows["b/torch"]["p_frontier"] < 1.0
    assert rows["c/torch"]["values"]["latency_p99_s_b1"] == pytest.approx(lat["c/torch"])
    # --uncertainty overrides a column's noise
    assert main(args + ["--uncertainty", "accuracy=rel:0", "--uncertainty", "params=rel:0.5"]) == 0
    text = capsys.readouterr().out
    assert "accuracy: given: Gaussian, relative sd 0" in text and "params: given: Gaussian, relative sd 0.5" in text
    assert main(args + ["--uncertainty", "top1=n:10"]) == 2
    assert "--uncertainty for 'top1', which is not an objective" in _error_line(capsys)


def test_csv_stochastic_says_which_columns_are_exact(table, capsys):
    assert main(["pareto", "--csv", table, *ARGS, "--stochastic", "--draws", "5", "--uncertainty", "acc=n:1000"]) == 0
    text = capsys.readouterr().out
    assert "acc: given: binomial on n = 1000 examples" in text and "latency_s: exact" in text


def test_plot_writes_projections_and_refuses_to_overwrite(tmp_path, capsys):
    from effbench.cli import main

    csv_path = tmp_path / "t.csv"
    csv_path.write_text("id,acc,lat,size\na,0.9,2,10\nb,0.8,1,20\nc,0.7,3,5\nd,0.6,4,40\n")
    args = ["pareto", "--csv", str(csv_path), "--key", "id", "--objective", "acc:max", "--objective", "lat:min",
            "--objective", "size:min", "--stochastic", "--uncertainty", "acc=n:100", "--draws", "50", "--plot", str(tmp_path / "p")]
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "pareto_acc__lat.png", "pareto_acc__size.png", "pareto_lat__size.png"]
    capsys.readouterr()
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0


def test_a_negative_seed_is_one_clean_error(tmp_path, capsys):
    from effbench.cli import main

    f = tmp_path / "t.csv"
    f.write_text("id,a,b\nm1,1,2\nm2,2,1\n")
    assert main(["pareto", "--csv", str(f), "--key", "id", "--objective", "a:max", "--objective", "b:max",
                 "--stochastic", "--seed", "-1"]) == 2
    assert capsys.readouterr().err == "effbench: error: seed: expected a whole number >= 0 or None, got -1\n"


def test_table_ranks_only_the_layers_it_shows_and_json_has_them_all(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(3)
    path = tmp_path / "many.csv"
    rows = rng.integers(0, 20, size=(400, 2))  # ties and duplicates, some 20 layers
    path.write_text("model,acc,latency_s\n" + "".join(f"m{i},{a},{b}\n" for i, (a, b) in enumerate(rows)),
                    encoding="utf-8")
    assert main(["pareto", "--csv", str(path), *ARGS, "--top", "5"]) == 0
    lazy = capsys.readouterr().out.splitlines()
    assert main(["pareto", "--csv", str(path), *ARGS, "--top", "400"]) == 0
    full = capsys.readouterr().out.splitlines()
    assert "(ranked here: the first" in lazy[0] and "ranked here" not in full[0]
    assert lazy[1].split() == full[1].split()  # the header (widths aside)
    assert [ln.split() for ln in lazy[3:]] == [ln.split() for ln in full[3:8]]  # the rows
    out_top, out_all = tmp_path / "top.json", tmp_path / "all.json"
    assert main(["pareto", "--csv", str(path), *ARGS, "--top", "5", "--json", str(out_top)]) == 0
    assert main(["pareto", "--csv", str(path), *ARGS, "--top", "0", "--json", str(out_all)]) == 0
    capsys.readouterr()
    assert json.loads(out_top.read_text()) == json.loads(out_all.read_text())
    assert max(r["layer"] for r in json.loads(out_all.read_text())) > 2


def test_csv_stochastic_without_uncertainty_says_every_probability_is_1(table, capsys):
    assert main(["pareto", "--csv", table, *ARGS, "--stochastic", "--draws", "5"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "no noise was given" in line]
    assert notes == ["effbench: note: --stochastic: no noise was given for any column (--uncertainty COLUMN=rel:SD|abs:SD|"
                     "n:EXAMPLES), so every draw is the table itself and every probability is 1 on the frontier, 0 off it"]
    assert main(["pareto", "--csv", table, *ARGS, "--stochastic", "--draws", "5", "--uncertainty", "acc=n:1000"]) == 0
    assert "no noise was given" not in capsys.readouterr().err


def test_objectives_given_where_run_ids_go_get_a_hint(tmp_path, capsys):
    db = str(tmp_path / "none.sqlite")
    assert main(["pareto", "latest", "accuracy:max", "latency_p50_s_b1:min", "--db", db]) == 2
    assert _error_line(capsys) == ("effbench: error: RUN_ID: 'accuracy:max' looks like an objective; objectives are "
                                   "options: --objective accuracy:max --objective latency_p50_s_b1:min")
    assert not (tmp_path / "none.sqlite").exists()
