"""The run lifecycle: interrupted runs keep what they measured, stale runs show as interrupted,
``resume`` measures only what is missing, and workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import psutil
import pytest

import effbench
from effbench.errors import ConfigError
from effbench.executor import ExecutionConfig, Timeouts
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress
from effbench.runs.lifecycle import is_stale, mark_stale_runs, process_alive, process_identity, with_true_status
from effbench.store.db import Store

X = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
Y = np.arange(30) % 2
FAST = TimingConfig(max_time_s=0.01, min_time_s=0.001, min_samples=3, warmup_calls=1, warmup_s=0.0)
CALLS = {"n": 0}


def ok(X):
    return np.zeros(len(X), dtype=np.int64)


def interrupts_late(X):
    """Ctrl-C in the middle of the latency cells: after the static steps and a few timed calls."""
    CALLS["n"] += 1
    if CALLS["n"] == 40:
        raise KeyboardInterrupt
    return np.ones(len(X), dtype=np.int64)


def _bench(models, db, **kw):
    return effbench.benchmark(models, X, Y, batch_sizes=[1, 8], db=db, isolate=False, timing=FAST, energy=None,
                              repeats=2, progress=SilentProgress(), **kw)


def test_an_interrupted_run_keeps_its_measurements_and_resume_measures_only_the_rest(new_db):
    db = new_db()
    CALLS["n"] = 0
    with pytest.raises(KeyboardInterrupt) as info:
        _bench({"ok": ok, "late": interrupts_late}, db)
    run_id = info.value.effbench_run_id
    with Store(db) as store:
        before = store.load_run(run_id)
    assert before.status == "interrupted"
    assert any("interrupted by the user" in n for n in before.notes)
    kept = {(s.candidate, s.batch_size) for s in before.samples}
    assert kept and len(kept) < 4  # some cells measured, not all
    CALLS["n"] = 10_000  # no more interruptions
    after = _bench({"ok": ok, "late": interrupts_late}, db, resume=run_id).run
    assert after.run_id == run_id and after.status == "complete"
    assert {(s.candidate, s.batch_size) for s in after.samples} == {(k, b) for k in ("ok/callable", "late/callable") for b in (1, 8)}
    for s in before.samples:  # what was measured before stays as it was when its cell was complete
        if len(s.meta.get("repeats") or []) >= 2:
            np.testing.assert_array_equal(after.sample_set(s.candidate, s.batch_size).values, s.values)
    assert [c.status for c in after.candidates] == ["ok", "ok"]
    assert all(len(s.meta.get("repeats") or []) == 2 for s in after.samples)  # a cell cut short is measured again, whole
    assert after.environment["resumed"][0]["previous_status"] == "interrupted"
    assert any(n.startswith("resumed by pid") for n in after.notes)


def test_a_complete_run_cannot_be_resumed(new_db):
    db = new_db()
    r = _bench({"ok": ok}, db)
    with pytest.raises(ConfigError, match="is complete; there is nothing left to measure"):
        _bench({"ok": ok}, db, resume=r.run_id)


def test_a_run_whose_process_is_gone_shows_as_interrupted(new_db):
    db = new_db()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(db) as store:
        me = process_identity()
        store.create_run(suite="s", config={}, environment={"process": me}, task={}, effbench_version="t", run_id="alive")
        gone = {**me, "pid": dead.pid}
        store.create_run(suite="s", config={}, environment={"process": gone}, task={}, effbench_version="t", run_id="gone")
        other = {**me, "host": me["host"] + "-elsewhere"}
        store.create_run(suite="s", config={}, environment={"process": other}, task={}, effbench_version="t", run_id="remote")
        assert process_alive(me) is True and process_alive(gone) is False and process_alive(other) is None
        assert [r["status"] for r in with_true_status(store, store.list_runs())] == ["running", "interrupted", "running"]
        assert [r["status"] for r in store.list_runs()] == ["running"] * 3  # showing writes nothing
        assert is_stale(store.load_run("gone")) and not is_stale(store.load_run("alive"))
        assert mark_stale_runs(store) == ["gone"]
        run = store.load_run("gone")
        assert run.status == "interrupted" and f"pid {dead.pid}" in run.notes[-1]


def test_a_reused_pid_is_not_the_run_s_process():
    me = process_identity()
    assert process_alive({**me, "create_time": me["create_time"] - 100.0}) is False


def test_timeouts_scale_with_the_work_of_each_step():
    cfg = ExecutionConfig(batch_sizes=(1, 64), timing=TimingConfig(max_time_s=0.6, min_samples=10, warmup_calls=3, warmup_s=0.02),
                          repeats=3, energy={"min_window_s": 0.2})
    t = Timeouts(cfg, n_inputs=450)
    assert t.for_command("a", ("memory", 1)) == Timeouts.BASE_S + Timeouts.MARGIN * Timeouts.FIRST_CALL_S
    t.observed("a", 1, 0.001)
    t.observed("a", 64, 0.01)
    # a latency window: 0.6 s / 3 repeats + 0.02 s warm-up, plus (10 + 3) calls of 1 ms
    assert t.for_command("a", ("latency", 1, {})) == pytest.approx(30 + 5 * (0.2 + 0.02 + 13 * 0.001))
    # an energy window: twice its minimum (0.2 s, lifted to the 1 s a slow counter such as NVML needs), plus 3 calls
    assert t.for_command("a", ("energy", 64, {})) == pytest.approx(30 + 5 * (2 * 1.0 + 3 * 0.01))
    assert t.for_command("a", ("predict",)) == pytest.approx(30 + 5 * 0.01 * 8)  # 450 inputs: 8 batches of 64
    slow = Timeouts(cfg, n_inputs=450)
    slow.observed("a", 1, 20.0)  # a model that takes 20 s a call gets the time it needs
    assert slow.for_command("a", ("latency", 1, {})) > 13 * 20.0
    fixed = Timeouts(ExecutionConfig(batch_sizes=(1,), command_timeout_s=7.0), n_inputs=10)
    assert fixed.for_command("a", ("latency", 1, {})) == 7.0 and fixed.describe("a", ("latency",)) == "the timeout set"


ORPHAN_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    import effbench
    from effbench.measure.timer import TimingConfig
    from effbench.report.progress import SilentProgress
    from orphan_models import hangs, ok
    X = np.zeros((8, 3), dtype=np.float32)
    effbench.benchmark({{"hangs": hangs, "ok": ok}}, X, np.zeros(8, dtype=int), batch_sizes=[1], db={db!r},
                       energy=None, repeats=1, timeout_s=600, progress=SilentProgress(),
                       timing=TimingConfig(max_time_s=0.01, min_time_s=0.001, min_samples=3))
""")


def test_workers_end_when_the_parent_is_killed(tmp_path):
    tests = os.path.dirname(os.path.abspath(__file__))
    script = ORPHAN_SCRIPT.format(tests=tests, db=str(tmp_path / "r.sqlite"))
    parent = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    proc = psutil.Process(parent.pid)
    deadline = time.monotonic() + 120
    hung = []
    while time.monotonic() < deadline and not hung:  # wait until the hanging worker is inside its call
        hung = [p for p in proc.children(recursive=True) if "hang" in _marker(p)]
        time.sleep(0.2)
    children = proc.children(recursive=True)
    assert hung, "the hanging worker never started"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], f"still alive after the parent was killed: {[p.pid for p in alive]}"


def _marker(p) -> str:
    try:
        return open(f"/tmp/effbench-orphan-{p.pid}").read()
    except OSError:
        return ""
