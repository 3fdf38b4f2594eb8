"""``effbench timeline`` on small messy CSV tables: the text, --json (file and '-'), --plot, and every
refusal as one line with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from effbench.cli import main

# params grows exactly 50 %/year, top1 5 %/year, gflops 20 %/year; thousands separators, a missing cell, a blank label
ROWS = [("alexnet", 2012, "60", "61,000,000"), ("vgg", 2013, "63", "91,500,000"), ("resnet", 2014, "66.15", "137,250,000"),
        ("late", 2015, "69.4575", "205,875,000"), ("gap", 2016, "NA", "308,812,500"), ("", 2016, "72.930375", "308,812,500")]


@pytest.fixture
def table(tmp_path):
    p = tmp_path / "models.csv"
    p.write_text("model,year,top1,params,zero,gflops\n"
                 + "".join(f'{m},{y},{q},"{c}",0,{2 * 1.2 ** (y - 2012)}\n' for m, y, q, c in ROWS))
    return str(p)


def _args(table, *extra):
    return ["timeline", "--csv", table, "--year", "year", "--quality", "top1", "--cost", "params", "--label", "model", *extra]


def test_prints_rates_the_verdict_and_the_dropped_rows(table, capsys):
    assert main(_args(table)) == 0
    out, err = capsys.readouterr()
    assert "timeline of models.csv: 5 models, 2012-2016 (1 of 6 rows dropped: missing values)" in out
    assert "top1    quality  +5.0%/year [5.0, 5.0]" in out
    assert "params  cost     +50%/year [50, 50]" in out
    assert "params rises faster than top1: params per unit of top1 +43%/year [43, 43]" in out
    assert err.splitlines() == ["effbench: dropped 'gap': missing value in column 'top1'"]


def test_json_dash_writes_only_json_on_stdout(table, capsys):
    assert main(_args(table, "--json", "-")) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["schema"] == "effbench.timeline/1" and doc["rows_read"] == 6 and doc["rows_used"] == 5
    assert doc["costs"][0]["rate_per_year"] == pytest.approx(0.5)
    assert doc["quality"]["rate_per_year"] == pytest.approx(0.05)
    assert doc["comparisons"][0]["verdict"] == "faster"
    assert doc["dropped"] == [{"row": "gap", "reason": "missing value in column 'top1'"}]
    assert [r["label"] for r in doc["rows"]] == ["alexnet", "vgg", "resnet", "late", ""]
    assert "dropped 'gap'" in err


def test_json_file_and_plot_files(table, tmp_path, capsys):
    out_json, png, svg = tmp_path / "t.json", tmp_path / "t.png", tmp_path / "t.svg"
    assert main(_args(table, "--json", str(out_json), "--plot", str(png))) == 0
    assert json.loads(out_json.read_text())["costs"][0]["column"] == "params"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(_args(table, "--plot", str(svg), "--cost", "top1x")) == 2  # refused before the plot is drawn
    assert not svg.exists()
    assert main(_args(table, "--plot", str(svg))) == 0 and svg.read_text().lstrip().startswith("<?xml")
    capsys.readouterr()
    assert main(_args(table, "--plot", str(png))) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(_args(table, "--plot", str(png), "--force")) == 0


def test_several_costs(table, capsys):
    assert main(_args(table, "--cost", "gflops", "--json", "-")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["column"] for c in doc["costs"]] == ["params", "gflops"]
    assert doc["costs"][1]["rate_per_year"] == pytest.approx(0.2)
    assert [c["verdict"] for c in doc["comparisons"]] == ["faster", "faster"]


@pytest.mark.parametrize("extra, message", [
    (["--cost", "flops"], "unknown column 'flops'; available: model, year, top1, params, zero, gflops"),
    (["--cost", "zero"], "column 'zero': alexnet has 0, not positive (5 row(s) in all); a log-linear trend needs values > 0"),
    (["--cost", "params"], "each column may be given once"),
    (["--plot", "x.pdf"], "--plot 'x.pdf': the file name must end in .png or .svg; got '.pdf'"),
    (["--confidence", "1.5"], "confidence"),
])
def test_bad_input_is_one_line_and_exit_2(table, capsys, extra, message):
    assert main(_args(table, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("effbench: error: ") and message in err[-1]


def test_year_column_cannot_be_a_cost(table, capsys):
    assert main(["timeline", "--csv", table, "--year", "year", "--quality", "top1", "--cost", "year"]) == 2
    assert "--year 'year' is also given as --quality or --cost" in capsys.readouterr().err


@pytest.mark.parametrize("body, message", [
    ("year,q,c\n2012,1,1\n2013,1,1\n", "only 2 usable row(s); a trend needs at least 3"),
    ("year,q,c\n2012,1,1\n2013,NA,1\n2014,1,\n2015,1,2\n", "only 2 usable row(s) (2 dropped for missing values)"),
    ("year,q,c\n2019,1,1\n2019,2,3\n2019,3,1\n", "every usable row has the same year (2019)"),
    ("year,q,c\n2012,1,1\n2013,abc,1\n2014,1,1\n", "'row 2', column 'q': 'abc' is not a number"),
    ("", "empty file"),
])
def test_bad_tables(tmp_path, capsys, body, message):
    p = tmp_path / "t.csv"
    p.write_text(body)
    assert main(["timeline", "--csv", str(p), "--year", "year", "--quality", "q", "--cost", "c"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("effbench: error: ") and message in err[0]  # one line, dropped rows included


def test_cannot_tell_on_a_noisy_table(tmp_path, capsys):
    rng = np.random.default_rng(0)
    years = np.arange(2010, 2020)
    lines = [f"{y},{60 * np.exp(rng.normal(0, 0.2)):.3f},{1e6 * np.exp(rng.normal(0, 0.2)):.0f}" for y in years]
    p = tmp_path / "t.csv"
    p.write_text("year,q,c\n" + "\n".join(lines) + "\n")
    assert main(["timeline", "--csv", str(p), "--year", "year", "--quality", "q", "--cost", "c"]) == 0
    assert "cannot tell whether c rises faster than q (the interval contains 0)" in capsys.readouterr().out
