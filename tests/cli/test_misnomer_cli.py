"""``effbench misnomer`` on small CSV tables: output, JSON keys, errors (exit 2, one line)."""

from __future__ import annotations

import json

import pytest

from effbench.cli import main

# the hand-made table of tests/analysis/test_misnomer.py, split over two files with a
# thousands separator; exactly 2 contradictions between gmacs and throughput
COSTS = "id,gmacs,params\na,1,10\nb,2,20\nc,4,30\nd,8,40\n"
SPEED = 'id,throughput\na,100\nb,200\nc,110\nd,"1,050"\n'


@pytest.fixture
def tables(tmp_path):
    costs, speed = tmp_path / "costs.csv", tmp_path / "speed.csv"
    costs.write_text(COSTS)
    speed.write_text(SPEED.replace('"1,050"', "105"))
    return str(costs), str(speed)


def _args(tables, *extra):
    costs, speed = tables
    return ["misnomer", "--csv", costs, "--csv", speed, "--key", "id",
            "--indicator", "gmacs:min", "--indicator", "throughput:max", *extra]


def test_prints_correlations_and_contradictions(tables, capsys):
    assert main(_args(tables)) == 0
    out = capsys.readouterr().out
    assert "4 models from" in out and "no row dropped" in out
    assert "Kendall tau-b oriented [95%]" in out and "Spearman rho oriented [95%]" in out
    assert "GMACs vs throughput: 2 of 6 model pairs (33.3%)" in out
    lines = out.splitlines()
    first = lines.index("  - a needs 4.0x fewer GMACs than c but has 1.10x lower throughput")
    assert lines[first + 1] == "  - a needs 2.0x fewer GMACs than b but has 2.0x lower throughput"


def test_json_holds_correlations_and_contradictions(tables, tmp_path, capsys):
    out = tmp_path / "mis.json"
    assert main(_args(tables, "--indicator", "params:min", "--label", "throughput=GPU throughput",
                      "--top", "1", "--json", str(out))) == 0
    d = json.loads(out.read_text())
    assert d["schema"] == "effbench.misnomer/1"
    assert d["input"]["key"] == "id" and d["input"]["rows_kept"] == 4
    assert [(c["x"], c["y"]) for c in d["correlations"]] == [
        ("gmacs", "throughput"), ("gmacs", "params"), ("throughput", "params")]
    kt = d["correlations"][1]["kendall_tau_b"]
    assert kt["oriented"] == pytest.approx(1.0) and kt["raw"] == pytest.approx(1.0)
    assert kt["oriented_ci"] is None  # 4 models: Kendall interval undefined (n - 4 = 0)
    assert set(d["correlations"][0]["spearman_rho"]) == {"oriented", "oriented_ci", "raw", "raw_ci", "p_value"}
    gt = d["contradictions"][0]
    assert (gt["count"], gt["n_model_pairs"], len(gt["top"])) == (2, 6, 1)
    assert gt["top"][0]["text"] == "a needs 4.0x fewer GMACs than c but has 1.10x lower GPU throughput"
    assert d["method"]["min_factor"] == 1.25 and d["method"]["min_other_factor"] == 1.1
    assert d["total_contradictions"] == sum(p["count"] for p in d["contradictions"])
    assert f"effbench: wrote {out}" in capsys.readouterr().err


def test_factors_and_thousands_separators(tmp_path, capsys):
    costs, speed = tmp_path / "costs.csv", tmp_path / "speed.csv"
    costs.write_text(COSTS)
    speed.write_text(SPEED)  # d: 1,050 -> a vs d is 8x fewer GMACs, 10.5x lower throughput
    assert main(["misnomer", "--csv", str(costs), "--csv", str(speed), "--key", "id",
                 "--indicator", "gmacs:min", "--indicator", "throughput:max",
                 "--min-factor", "2", "--min-other-factor", "2"]) == 0
    out = capsys.readouterr().out
    assert "GMACs vs throughput: 4 of 6 model pairs" in out  # a-b, a-d, b-d, c-d
    assert "a needs 8.0x fewer GMACs than d but has 10x lower throughput" in out


def test_refuses_to_overwrite_json_without_force(tables, tmp_path, capsys):
    out = tmp_path / "mis.json"
    out.write_text("keep me")
    assert main(_args(tables, "--json", str(out))) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert out.read_text() == "keep me"
    assert main(_args(tables, "--json", str(out), "--force")) == 0
    assert json.loads(out.read_text())["n_models"] == 4


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--indicator", "nope:max"], "unknown column 'nope'"),
        (["--indicator", "params"], "expected COLUMN:max or COLUMN:min"),
        (["--indicator", "params:lower"], "direction must be 'max' or 'min'"),
        (["--indicator", "gmacs:max"], "more than once"),
        (["--label", "params"], "expected COLUMN=TEXT"),
        (["--label", "params=P"], "not an --indicator column"),
        (["--min-factor", "0.5"], "min_factor: expected a number >= 1, got 0.5"),
        (["--top", "-1"], "--top"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tables, capsys, extra, words):
    assert main(_args(tables, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("effbench: error:") and words in err
    assert err.count("\n") == 1


def test_too_few_models_and_indicators(tmp_path, capsys):
    small = tmp_path / "small.csv"
    small.write_text("id,x,y\na,1,2\nb,2,1\n")
    assert main(["misnomer", "--csv", str(small), "--key", "id", "--indicator", "x:min",
                 "--indicator", "y:min"]) == 2
    assert "at least 3" in capsys.readouterr().err
    assert main(["misnomer", "--csv", str(small), "--key", "id", "--indicator", "x:min"]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_missing_file_and_key(tables, tmp_path, capsys):
    assert main(["misnomer", "--csv", str(tmp_path / "none.csv"), "--key", "id",
                 "--indicator", "x:min", "--indicator", "y:min"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["misnomer", "--csv", tables[0], "--key", "model", "--indicator", "gmacs:min",
                 "--indicator", "params:min"]) == 2
    assert "no key column 'model'" in capsys.readouterr().err


def test_help_lists_the_command(capsys):
    assert main(["--help"]) == 0
    assert "misnomer" in capsys.readouterr().out
