"""``effbench tail analyze``: table, JSON keys, refusals and bad input (exit code 2)."""

import csv
import json

import numpy as np
import pytest

from effbench.cli import main


def _write(path, rows, header=("round", "instance", "time_s", "correct")):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


@pytest.fixture
def times_csv(tmp_path):
    rng = np.random.default_rng(0)
    correct = (rng.random(40) < 0.9).astype(int)
    rows = [
        (r, i, f"{rng.lognormal(-5, 0.2):.6g}", correct[i])
        for r in range(12)
        for i in range(40)
    ]
    return _write(tmp_path / "times.csv", rows)


def test_analyze_prints_table_and_writes_json(times_csv, tmp_path, capsys):
    out = tmp_path / "tail.json"
    code = main(["tail", "analyze", "--times", times_csv, "--threshold", "0.007",
                 "--grid", "3", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "p99" in text and "stopping rule" in text and "q01" in text
    data = json.loads(out.read_text())
    assert data["rounds"] == 12 and data["instances"] == 40
    assert data["quantile"] == 0.01 and data["quantile_key"] == "q01"
    origins = [row["origin"] for row in data["thresholds"]]
    assert origins[0] == "user" and origins.count("percentile") == 4 and origins.count("grid") == 3
    for row in data["thresholds"]:
        assert {"threshold_s", "origin", "min", "q01", "quantile", "mean", "std", "max", "unconstrained"} <= set(row)
        assert row["min"] <= row["q01"] <= row["mean"] <= row["max"] <= row["unconstrained"] + 1e-12
    conv = data["convergence"]
    assert {"converged", "stopped_by", "rounds_used", "trace"} <= set(conv)
    assert conv["rounds_available"] == 12


def test_refuses_to_overwrite_without_force(times_csv, tmp_path, capsys):
    out = tmp_path / "tail.json"
    out.write_text("{}")
    assert main(["tail", "analyze", "--times", times_csv, "--json", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "{}"
    assert main(["tail", "analyze", "--times", times_csv, "--json", str(out), "--force",
                 "--percentiles", "none", "--grid", "2"]) == 0
    assert json.loads(out.read_text())["thresholds"][0]["origin"] == "grid"


@pytest.mark.parametrize(
    "rows,header,match",
    [
        ([(0, 0, 0.1, 1)], ("round", "instance", "time", "correct"), "missing column(s) time_s"),
        ([(0, 0, 0.1, 1), (0, 1, 0.1, 1), (1, 0, 0.1, 1)], None, "round 1 lacks"),
        ([(0, 0, -0.1, 1)], None, "time_s"),
        ([(0, 0, 0.1, 3)], None, "'correct'"),
        ([(0, 0, "x", 1)], None, "expected a number"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, capsys, rows, header, match):
    path = _write(tmp_path / "bad.csv", rows, header or ("round", "instance", "time_s", "correct"))
    assert main(["tail", "analyze", "--times", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("effbench: error:") and match in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "-0.5"])
def test_non_positive_deadline_exit_2(times_csv, capsys, value):
    assert main(["tail", "analyze", "--times", times_csv, f"--threshold={value}"]) == 2
    assert "threshold: expected a number of seconds > 0, got " in capsys.readouterr().err


def test_bad_options_exit_2(times_csv, capsys):
    assert main(["tail", "analyze", "--times", times_csv, "--quantile", "1.5"]) == 2
    assert "quantile" in capsys.readouterr().err
    assert main(["tail", "analyze", "--times", times_csv, "--percentiles", "90,abc"]) == 2
    assert "--percentiles" in capsys.readouterr().err
    assert main(["tail", "analyze", "--times", str(times_csv) + ".missing"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_fit_rounds_writes_intervals_per_deadline(times_csv, tmp_path, capsys):
    out = tmp_path / "pred.json"
    code = main(["tail", "analyze", "--times", times_csv, "--fit-rounds", "8", "--percentiles", "99",
                 "--threshold", "0.007", "--grid", "0", "--json", str(out)])
    assert code == 0
    assert "prediction: fitted on rounds 1-8, worst of the next 4 rounds, 90% interval" in capsys.readouterr().out
    pred = json.loads(out.read_text())["prediction"]
    assert pred["fit_rounds"] == 8 and pred["predict_rounds"] == 4 and pred["level"] == 0.9
    assert [row["label"] for row in pred["thresholds"]] == ["0.007s", "p99"]
    times = np.loadtxt(times_csv, delimiter=",", skiprows=1)
    t = times[:, 2].reshape(12, 40)
    c = times[:40, 3]
    p99 = float(np.quantile(t[:8], 0.99, method="inverted_cdf"))
    assert pred["thresholds"][1]["threshold_s"] == pytest.approx(p99)
    for row, deadline in zip(pred["thresholds"], (0.007, p99)):
        w = row["predicted_worst"]
        assert w["low"] <= w["point"] <= w["high"]
        observed = float((((t[8:] <= deadline) & (c == 1)).sum(axis=1) / 40).min())
        assert row["observed_worst"] == pytest.approx(observed)
        assert row["covered"] == (w["low"] <= observed <= w["high"])


def test_predict_rounds_limits_the_checked_rounds(times_csv, tmp_path):
    out = tmp_path / "pred.json"
    assert main(["tail", "analyze", "--times", times_csv, "--fit-rounds", "6", "--predict-rounds", "3",
                 "--percentiles", "99", "--grid", "0", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["prediction"]["predict_rounds"] == 3


@pytest.mark.parametrize("args,needle", [
    (["--fit-rounds", "12"], "--fit-rounds: expected fewer than the 12 rounds"),
    (["--fit-rounds", "20"], "--fit-rounds: expected fewer than the 12 rounds"),
    (["--fit-rounds", "10", "--predict-rounds", "3"], "--predict-rounds: expected at most the 2 rounds"),
])
def test_fit_rounds_at_or_above_the_rounds_is_a_clear_error(times_csv, capsys, args, needle):
    assert main(["tail", "analyze", "--times", times_csv, *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize("rule,needle", [("js", "stopping rule js:"), ("tail", "round effects JS < 0.05"),
                                         ("yang", "rJSD <= 0.05 over the previous 5 fits (ISJ)")])
def test_rule_option_replays_the_chosen_rule(times_csv, tmp_path, capsys, rule, needle):
    out = tmp_path / f"{rule}.json"
    assert main(["tail", "analyze", "--times", times_csv, "--rule", rule, "--min-rounds", "2", "--json", str(out)]) == 0
    assert needle in capsys.readouterr().out
    conv = json.loads(out.read_text())["convergence"]
    assert conv["rule"] == rule and conv["rounds_available"] == 12
    if rule == "yang":
        assert conv["window"] == 5 and conv["bandwidth_rule"] == "isj"
        assert [s["round"] for s in conv["trace"]] == [3, 5, 7, 9, 11]  # a fit every 2 rounds from round 3
    else:
        assert conv["window"] == 3


def test_a_grid_beyond_any_use_is_one_clean_error(times_csv, capsys):
    assert main(["tail", "analyze", "--times", times_csv, "--grid", "5519971551"]) == 2
    assert capsys.readouterr().err == "effbench: error: grid: expected a whole number in [0, 10000], got 5519971551\n"
