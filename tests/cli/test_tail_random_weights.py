"""A tail run of a candidate with random weights (``weights = "random"``): `tail measure` marks its
quality cells and notes it, its JSON flags it, and `effbench show TAIL_RUN` has a view of its own;
`effbench report` of a tail run alone names the commands that show it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from effbench.cli import main
from effbench.store.db import Store

SMALL = ["--quiet", "--batch-size", "5", "--min-rounds", "2", "--max-rounds", "3", "--every", "1", "--window", "1",
         "--holdout-rounds", "0", "--grid", "0", "--threshold", "1000"]
NOTE = '? random weights (weights = "random"): net/torch: quality is meaningless; cost figures stay valid'


@pytest.fixture
def tail_run(tmp_path, capsys, monkeypatch):
    """`tail measure` of `net` (python:factories_for_tests:build_net, weights = "random") on 20 rows whose
    labels are 0, 1, 2 in turn: (stdout, JSON document, database, run)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "sources"))  # factories_for_tests, for the workers too
    monkeypatch.setenv("COLUMNS", "400")
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    np.savez(tmp_path / "c.npz", X=X, y=np.arange(20) % 3)
    (tmp_path / "rw.toml").write_text('name = "rw"\n[data]\npath = "c.npz"\n[[candidates]]\nname = "net"\n'
                                      'model = "python:factories_for_tests:build_net"\nweights = "random"\n')
    db = tmp_path / "r.sqlite"
    code = main(["tail", "measure", str(tmp_path / "rw.toml"), *SMALL, "--db", str(db), "--json", str(tmp_path / "t.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    with Store(db, create=False) as store:
        run = store.load_run(store.list_runs()[0]["run_id"])
    return out, json.loads((tmp_path / "t.json").read_text()), str(db), run


def test_tail_measure_marks_the_quality_cells_and_notes_it(tail_run):
    out, doc, _, run = tail_run
    acc = run.candidate("net/torch").info["tail"]["unconstrained"]["mean"]
    row = next(line.split() for line in out.splitlines() if line.startswith("net/torch "))
    assert row[1] == f"{acc:.4f}?"                                     # quality without deadline, marked
    assert all(c.endswith("?") for c in row[4:7])                     # own p99 deadline (row[2:4]): worst, q01, mean
    assert all(c.endswith("?") for c in row[7:9])                     # common deadline: worst, mean
    assert NOTE in out.splitlines()
    cand = doc["candidates"]["net/torch"]
    assert cand["random_weights"] is True and cand["quality_name"] == "accuracy"
    assert cand["accuracy"] == cand["quality_without_deadline"] == pytest.approx(acc)


def test_show_of_a_tail_run_is_a_view_of_its_own(tail_run, capsys):
    _, _, db, run = tail_run
    tail = run.candidate("net/torch").info["tail"]
    assert main(["show", run.run_id, "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Run {run.run_id} (rw-tail, complete): tail quality"
    assert lines[1].split() == ["candidate", "quality", "no", "deadline", "own", "p99", "deadline", "worst", "tail",
                                "rounds", "used", "/", "measured"]
    row = lines[3].split()
    own = tail["own_p99"]
    assert row[:3] == ["net/torch", "accuracy", f"{tail['unconstrained']['mean']:.4f}?"]
    assert row[5:] == [f"{own['min']:.4f}?", f"{own['q01']:.4f}?", "3", "/", "3"]
    assert NOTE in lines
    assert f"effbench report COST_RUN {run.run_id}" in "\n".join(lines)
    assert "params" not in "\n".join(lines)                            # no cost table of dashes


def test_report_of_a_tail_run_alone_names_the_commands(tail_run, capsys):
    _, _, db, run = tail_run
    assert main(["report", run.run_id, "--db", db, "--format", "markdown"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"got only tail-quality runs ({run.run_id})" in err[0]
    assert "effbench report COST_RUN TAIL_RUN" in err[0] and "--cost-run COST_RUN" in err[0]
    assert "effbench show TAIL_RUN" in err[0]
