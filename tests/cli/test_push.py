"""effbench push RUN... --to DB: local runs copied to another store (PostgreSQL or SQLite), one
transaction per run; pushing twice changes nothing; a copy pushed while running is brought up to
date; a finished copy that differs is never overwritten."""

import numpy as np
import pytest

from effbench.cli import main
from effbench.records import CandidateRecord, Metric, SampleSet
from effbench.store.db import Store
from effbench.store.export import run_to_dict


@pytest.fixture
def local(tmp_path):
    return tmp_path / "local.sqlite"


def _run(path, run_id, *, finish=True):
    with Store(path) as store:
        store.create_run(suite="s", config={}, environment={}, task={"name": "t"}, effbench_version="0", run_id=run_id)
        store.add_candidate(run_id, CandidateRecord("a/torch", "a", "torch", status="ok"))
        store.add_metrics(run_id, [Metric("a/torch", "params", 10, "count", "analytic")])
        store.add_samples(run_id, SampleSet("a/torch", 1, "latency_per_call", "s", np.array([1e-3, 2e-3, 3e-3])))
        if finish:
            store.finish_run(run_id, "complete")


def _doc(path, run_id):
    with Store(path, create=False) as store:
        return run_to_dict(store.load_run(run_id))


def _push(capsys, *args):
    code = main(["push", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out.strip().splitlines(), out.err.strip().splitlines()


def test_push_copies_runs_once(new_db, local, capsys):
    target = new_db()
    _run(local, "run-a")
    _run(local, "run-b")
    code, out, _ = _push(capsys, "run-a", "run-b", "latest", "--db", local, "--to", target)  # 'latest' is run-b: pushed once
    assert code == 0 and [line.split(" (")[0] for line in out] == ["pushed run run-a", "pushed run run-b"]
    assert _doc(target, "run-a") == _doc(local, "run-a") and _doc(target, "run-b") == _doc(local, "run-b")
    code, out, _ = _push(capsys, "run-a", "--db", local, "--to", target)
    assert code == 0 and out[0].startswith("already there, unchanged: run run-a (complete)")
    assert _doc(target, "run-a") == _doc(local, "run-a")
    assert main(["show", "--db", str(target)]) == 0 and "run-b" in capsys.readouterr().out


def test_a_run_pushed_while_running_is_updated_when_it_has_finished(new_db, local, capsys):
    target = new_db()
    _run(local, "live", finish=False)
    assert _push(capsys, "live", "--db", local, "--to", target)[0] == 0
    assert _doc(target, "live")["run"]["status"] == "running"
    with Store(local) as store:  # the run goes on, and ends
        store.add_metrics("live", [Metric("a/torch", "size_bytes", 400, "bytes", "measured")])
        store.finish_run("live", "complete")
    code, out, _ = _push(capsys, "live", "--db", local, "--to", target)
    assert code == 0 and out == [f"updated (it was running there) run live (complete) -> {Store(target, create=False).path}"]
    assert _doc(target, "live") == _doc(local, "live")
    assert [m["name"] for m in _doc(target, "live")["metrics"]] == ["params", "size_bytes"]


def test_a_finished_copy_that_differs_is_never_overwritten(new_db, local, capsys):
    target = new_db()
    _run(local, "done")
    _run(local, "other")
    assert _push(capsys, "done", "--db", local, "--to", target)[0] == 0
    before = _doc(target, "done")
    with Store(local) as store:
        store.add_metrics("done", [Metric("a/torch", "size_bytes", 400, "bytes", "measured")])
    code, out, err = _push(capsys, "done", "other", "--db", local, "--to", target)
    assert code == 2 and len(err) == 1
    assert "1 of 2 runs not pushed: run 'done' is already in" in err[0] and "a finished run is never overwritten" in err[0]
    assert _doc(target, "done") == before
    assert out[0].startswith("pushed run other")  # the other run went on its own transaction


def test_push_refuses_bad_arguments_in_one_line(tmp_path, local, capsys):
    _run(local, "run-a")
    code, _, err = _push(capsys, "nope", "--db", local, "--to", tmp_path / "t.sqlite")
    assert code == 2 and len(err) == 1 and "unknown run id 'nope'" in err[0]
    assert not (tmp_path / "t.sqlite").exists()
    code, _, err = _push(capsys, "run-a", "--db", local, "--to", local)
    assert code == 2 and err == [f"effbench: error: --to {str(local)!r} is the store the runs come from (--db); give another store"]
