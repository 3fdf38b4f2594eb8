"""Training cost of your own code: effbench.track / effbench track, with fake clocks and fake meters, and one
real short command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import effbench
import effbench.errors
from effbench.cli import main
from effbench.errors import ConfigError
from effbench.measure.energy import EstimatedCpuMeter, RaplMeter
from effbench.measure.energy_cells import EnergyConfig
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress
from effbench.runs.track import track, track_command
from effbench.store.db import Store
from tests.measure.test_energy import FakeClock, make_rapl_tree, set_uj

FAST = TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=10, min_time_s=0.0, max_time_s=0.02)
OFF = EnergyConfig(enabled=False)


def rule(X):
    return (np.asarray(X)[:, 0] > 0.5).astype(np.int64)


def _benchmark(db, **kw):
    X = np.random.default_rng(0).random((12, 3)).astype(np.float32)
    return effbench.benchmark({"net": rule}, X, rule(X), batch_sizes=[1], db=db, isolate=False, timing=FAST,
                              progress=SilentProgress(), energy=None, repeats=1, **kw)


def _tracked(db, name, seconds, joules, tmp_path, *, raise_=None):
    """A tracking of ``seconds`` (fake clock) and ``joules`` (a fake RAPL package counter)."""
    root = tmp_path / f"rapl{len(list(tmp_path.glob('rapl*')))}"
    root.mkdir()
    make_rapl_tree(root, package_uj=0, dram_uj=0)
    clock = FakeClock(100.0)
    meter = RaplMeter(root, clock=clock)
    with track(name, db=db, meter=meter, clock=clock) as t:
        clock.advance(seconds)
        set_uj(root, "intel-rapl:0", int(joules * 1e6))
        if raise_ is not None:
            raise raise_
    return t


def test_a_tracked_block_stores_its_time_and_measured_energy(tmp_path):
    db = tmp_path / "r.sqlite"
    t = _tracked(db, "train-net", 12.5, 300.0, tmp_path)
    assert (t.time_s, t.energy_j, t.provenance, t.status) == (12.5, 300.0, "measured", "complete")
    with Store(db, create=False) as store:
        run = store.load_run(t.run_id)
    assert run.suite == "track" and run.status == "complete" and run.config["tracking"] == "train-net"
    time_m, energy_m = run.metric("train-net/track", "train_time_s"), run.metric("train-net/track", "train_energy_j")
    assert (time_m.value, time_m.provenance, time_m.unit) == (12.5, "measured", "s")
    assert (energy_m.value, energy_m.provenance, energy_m.detail["meter"]) == (300.0, "measured", "rapl")
    assert run.candidate("train-net/track").status == "ok"


def test_an_estimate_is_labelled_estimated(tmp_path):
    clock, cpu = FakeClock(0.0), iter([1.0, 3.0])   # 2 CPU seconds over 4 s on 2 CPUs: utilisation 0.25
    meter = EstimatedCpuMeter(tdp_w=40.0, n_cpus=2, cpu_seconds=lambda: next(cpu), clock=clock, idle_fraction=0.5)
    with track("est", db=tmp_path / "r.sqlite", meter=meter, clock=clock) as t:
        clock.advance(4.0)
    # P = 20 W idle + (40 - 20) W x 0.25 = 25 W, for 4 s
    assert (t.time_s, t.energy_j, t.provenance) == (4.0, pytest.approx(100.0), "estimated")


def test_ctrl_c_keeps_the_measurement_labelled_interrupted_and_a_failure_labelled_failed(tmp_path):
    db = tmp_path / "r.sqlite"
    with pytest.raises(KeyboardInterrupt):
        _tracked(db, "cut", 3.0, 30.0, tmp_path, raise_=KeyboardInterrupt())
    with pytest.raises(ValueError):
        _tracked(db, "broken", 2.0, 10.0, tmp_path, raise_=ValueError("diverged"))
    with Store(db, create=False) as store:
        cut = store.load_run(store.latest_run_of("track", "cut", statuses=None))
        broken = store.load_run(store.latest_run_of("track", "broken", statuses=None))
        assert store.latest_run_of("track", "cut") is None     # only complete trackings are attached to candidates
    assert cut.status == "interrupted" and cut.value("cut/track", "train_time_s") == 3.0
    assert cut.metric("cut/track", "train_energy_j").detail["ended"] == "interrupted"
    assert any("interrupted by the user" in n for n in cut.notes)
    assert broken.status == "failed" and broken.value("broken/track", "train_energy_j") == 10.0
    assert any("ValueError: diverged" in n for n in broken.notes)


def test_a_later_run_takes_the_latest_complete_tracking_of_its_name(tmp_path):
    db = tmp_path / "r.sqlite"
    _tracked(db, "net", 5.0, 50.0, tmp_path)
    newest = _tracked(db, "net", 7.0, 70.0, tmp_path)
    with pytest.raises(KeyboardInterrupt):   # a later interrupted tracking is not taken
        _tracked(db, "net", 1.0, 1.0, tmp_path, raise_=KeyboardInterrupt())
    res = _benchmark(db)
    t, e = res.run.metric("net/callable", "train_time_s"), res.run.metric("net/callable", "train_energy_j")
    assert (t.value, t.provenance, e.value, e.provenance) == (7.0, "measured", 70.0, "measured")
    assert t.detail["tracking_run"] == newest.run_id and "same name as the model" in t.detail["source"]
    # 'latest' is the measurement run, never a tracking
    with Store(db, create=False) as store:
        assert store.resolve_run_id("latest") == res.run_id


def test_a_named_tracking_a_typed_in_time_and_a_missing_tracking(tmp_path):
    db = tmp_path / "r.sqlite"
    given = _tracked(db, "train-net-v2", 9.0, 90.0, tmp_path)
    _tracked(db, "net", 1.0, 1.0, tmp_path)
    res = _benchmark(db, training_from={"net": "train-net-v2"})
    t = res.run.metric("net/callable", "train_time_s")
    assert (t.value, t.detail["tracking_run"]) == (9.0, given.run_id) and "training field" in t.detail["source"]
    typed = _benchmark(db, train_times={"net": 4.0})          # typed in by hand wins, and stays 'reported'
    t = typed.run.metric("net/callable", "train_time_s")
    assert (t.value, t.provenance) == (4.0, "reported") and typed.run.metric("net/callable", "train_energy_j") is None
    with pytest.raises(ConfigError, match=r"^training: no complete tracking named 'nope' in .* for candidate 'net'; "
                                          r"measure it with 'effbench track nope -- COMMAND' \(trackings: net, train-net-v2\)$"):
        _benchmark(db, training_from={"net": "nope"})


class FakeChild:
    """A child process whose wait() is interrupted by Ctrl-C once. Then it stops on its own (``needs``
    None), or once it is sent SIGINT, or terminated, or only when killed."""

    def __init__(self, argv, needs):
        self.argv, self.needs, self.signals, self.interrupted = argv, needs, [], False

    def wait(self, timeout=None):
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        if self.needs is not None and self.needs not in self.signals:
            raise subprocess.TimeoutExpired(self.argv, timeout)
        return -signal.SIGINT

    def send_signal(self, sig):
        self.signals.append(sig)

    def terminate(self):
        self.signals.append("terminate")

    def kill(self):
        self.signals.append("kill")


@pytest.mark.parametrize("needs, sent", [(None, []), (signal.SIGINT, [signal.SIGINT]),
                                         ("kill", [signal.SIGINT, "terminate", "kill"])])
def test_ctrl_c_stops_the_child_and_keeps_the_tracking(tmp_path, needs, sent):
    children = []

    def popen(argv):
        children.append(FakeChild(argv, needs))
        return children[-1]

    db = tmp_path / "r.sqlite"
    with pytest.raises(KeyboardInterrupt):
        track_command("cmd", [sys.executable, "-c", "pass"], db=db, energy=OFF, popen=popen, grace_s=0.0)
    assert children[0].signals == sent
    with Store(db, create=False) as store:
        run = store.load_run(store.latest_run_of("track", "cmd", statuses=None))
    assert run.status == "interrupted" and run.value("cmd/track", "train_time_s") >= 0


def test_effbench_track_runs_a_real_command_and_passes_its_exit_code_through(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    code = main(["track", "real", "--db", db, "--no-energy", "--", sys.executable, "-c", "import sys; sys.exit(3)"])
    assert code == 3
    assert "tracked real:" in capsys.readouterr().err
    assert main(["track", "real", "--db", db, "--cpu-tdp-w", "20", "--", sys.executable, "-c", "print('ok')"]) == 0
    with Store(db, create=False) as store:
        failed = store.load_run(store.latest_run_of("track", "real", statuses=("failed",)))
        ok = store.load_run(store.latest_run_of("track", "real"))
    assert any("exited with code 3" in n for n in failed.notes)
    assert ok.value("real/track", "train_time_s") > 0
    assert ok.metric("real/track", "train_energy_j").provenance in ("measured", "estimated")
    assert ok.config["command"] == [sys.executable, "-c", "print('ok')"]


def test_bad_track_commands_are_one_line_exit_2(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    assert main(["track", "x", "--db", db, "--", "no-such-command-xyz"]) == 2
    assert capsys.readouterr().err.strip() == ("effbench: error: track: command 'no-such-command-xyz' was not found "
                                               "(not an executable file, nor on PATH)")
    assert main(["track", "x", "--db", db]) == 2
    assert "give the command to measure after '--'" in capsys.readouterr().err
    assert main(["track", "bad name", "--db", db, "--", sys.executable, "-c", "pass"]) == 2
    assert capsys.readouterr().err.strip() == ("effbench: error: tracking name 'bad name' is not allowed: "
                                               "use letters, digits and _ . + - only")
    # NAME forgotten: the command's first word must not become the name
    assert main(["track", "--db", db, "--", sys.executable, "-c", "pass"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NAME: missing before '--'; expected effbench track NAME -- COMMAND" in err
    assert not (tmp_path / "r.sqlite").exists()


def test_the_store_finds_the_latest_complete_tracking_on_both_backends(new_db, tmp_path):
    db = new_db()
    first = _tracked(db, "net", 1.0, 1.0, tmp_path)
    second = _tracked(db, "net", 2.0, 2.0, tmp_path)      # the same second as the first, most likely
    with pytest.raises(KeyboardInterrupt):
        _tracked(db, "net", 3.0, 3.0, tmp_path, raise_=KeyboardInterrupt())
    _tracked(db, "other", 1.0, 1.0, tmp_path)
    with Store(db) as store:
        assert store.latest_run_of("track", "net") == second.run_id != first.run_id
        cut = store.latest_run_of("track", "net", statuses=("interrupted",))
        assert cut not in (None, first.run_id, second.run_id)
        assert store.latest_run_of("track", "none") is None and store.run_models("track") == ["net", "other"]
        with pytest.raises(effbench.errors.UnknownRunError, match="holds no run yet"):
            store.resolve_run_id("latest")                # only trackings: 'latest' names none of them


def test_track_writes_its_tracking_as_json_to_a_file_never_to_stdout(tmp_path, capfd):
    db, out = str(tmp_path / "r.sqlite"), tmp_path / "t.json"
    assert main(["track", "j", "--db", db, "--no-energy", "--json", str(out), "--", sys.executable, "-c", "print('child')"]) == 0
    assert capfd.readouterr().out == "child\n"  # stdout stays the command's own
    doc = json.loads(out.read_text())
    with Store(db, create=False) as store:
        run = store.load_run(store.latest_run_of("track", "j"))
    assert doc["schema"] == "effbench.track/1" and doc["run_id"] == run.run_id and doc["exit_code"] == 0
    assert doc["time_s"] == run.value("j/track", "train_time_s") and doc["energy_j"] is None
    assert main(["track", "j", "--db", db, "--json", "-", "--", sys.executable, "-c", "pass"]) == 2
    assert "standard output is the tracked command's own" in capfd.readouterr().err


def test_show_gives_a_tracking_its_own_view(tmp_path, capsys, monkeypatch):
    db = tmp_path / "r.sqlite"
    first = _tracked(db, "net", 5.0, 50.0, tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["show", first.run_id, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    row = next(line.split("  ") for line in out.splitlines() if line.startswith("net "))
    assert [c.strip() for c in row if c.strip()] == ["net", "complete", "5 s", "50 J", "measured (rapl)", "none"]
    assert "attached to: none yet" in out and "FAILED" not in out and "acc" not in out
    assert "~" not in out  # a measured energy: no estimate mark, no legend for one
    res = _benchmark(db)                                    # its candidate net/callable takes the tracking
    with pytest.raises(KeyboardInterrupt):
        _tracked(db, "cut", 2.0, 3.0, tmp_path, raise_=KeyboardInterrupt())
    assert main(["show", first.run_id, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("net "))
    assert row.rstrip().endswith(f"net/callable (run {res.run_id})")
    with Store(db, create=False) as store:
        cut = store.latest_run_of("track", "cut", statuses=("interrupted",))
        assert store.tracking_uses(cut) == [] and store.tracking_uses(first.run_id) == [(res.run_id, "net/callable")]
    assert main(["show", cut, "--db", str(db)]) == 0
    captured = capsys.readouterr()
    row = next(line.split("  ") for line in captured.out.splitlines() if line.startswith("cut "))
    assert [c.strip() for c in row if c.strip()][:4] == ["cut", "interrupted", "2 s", "3 J"]
    assert "interrupted (Ctrl-C): up to the interruption" in captured.out
    assert "note: interrupted by the user" in captured.err


def test_the_track_summary_line_formats_numbers_as_every_command_does(tmp_path, capsys, monkeypatch):
    import effbench.runs.track as track_module
    from effbench.runs.track import Tracking

    done = Tracking("net", "20260101-000000-abcd", "/tmp/x.sqlite", time_s=0.23187, energy_j=0.68964,
                    provenance="estimated", status="complete")
    monkeypatch.setattr(track_module, "track_command", lambda *a, **k: (0, done))
    assert main(["track", "net", "--db", str(tmp_path / "r.sqlite"), "--", "true"]) == 0
    assert capsys.readouterr().err == ("effbench: tracked net: 232 ms, 690 mJ (estimated); stored as run "
                                       "20260101-000000-abcd in /tmp/x.sqlite\n")


def test_the_store_finds_the_candidates_that_took_a_tracking_on_both_backends(new_db, tmp_path):
    db = new_db()
    taken = _tracked(db, "net", 1.0, 1.0, tmp_path)
    other = _tracked(db, "other", 1.0, 1.0, tmp_path)
    res = _benchmark(db)
    from effbench.store.db import CandidateRecord, Metric, RunRecord

    typed = RunRecord("20990101-000000-aaaa", "2099-01-01T00:00:00+00:00", "complete", suite="hand")
    typed.candidates.append(CandidateRecord("x/callable", "x", "callable", status="ok"))
    typed.metrics.append(Metric("x/callable", "train_time_s", 3.0, "s", "reported", 0,
                                {"note": f"typed in; compare tracking {taken.run_id}"}))  # names it, did not take it
    with Store(db) as store:
        store.import_run(typed)
        assert store.tracking_uses(taken.run_id) == [(res.run_id, "net/callable")]
        assert store.tracking_uses(other.run_id) == [] and store.tracking_uses(res.run_id) == []
