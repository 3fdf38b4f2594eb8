"""Training cost of your own models: track the wall time and energy of any code, like CodeCarbon's tracker.

    with effbench.track("train-resnet") as t:      # Python
        train()
    print(t.time_s, t.energy_j, t.provenance)

    effbench track train-resnet -- python train.py   # any command; its exit code is passed through

A tracking is stored as a run of suite ``track`` (so ``effbench show`` lists it and ``export``
writes it) with one candidate ``NAME/track`` and two metrics: ``train_time_s`` (the wall time,
``measured``) and ``train_energy_j`` (from the same meters as a run's energy: RAPL or NVML
``measured``, the CPU estimate ``estimated``, labelled as such). The run ends ``complete`` when the
code finished normally, ``interrupted`` on Ctrl-C (the measurement up to then is kept and says so),
``failed`` when the code raised or the command exited with a non-zero code.

A later run attaches a tracking to its candidates (:func:`tracked_training`): a suite file's
``training = "NAME"`` names one explicitly; otherwise a candidate whose model has no training figures
takes the latest complete tracking named as the model. The candidate's ``train_time_s`` and
``train_energy_j`` then keep their provenance and say where they came from (``source``,
``tracking_run``, ``tracked_at``).
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass

from effbench import records as R
from effbench.errors import ConfigError
from effbench.records import TRACK_SUITE, CandidateRecord, Metric

TRACK_BACKEND = "track"
CHILD_GRACE_S = 5.0
"""After Ctrl-C, how long the tracked command may take to stop on its own before it is terminated."""


@dataclass
class Tracking:
    """What one tracking measured (filled when its block ends) and where it is stored."""

    name: str
    run_id: str
    db_path: str
    time_s: float | None = None
    energy_j: float | None = None
    provenance: str | None = None      # of the energy: measured or estimated
    status: str = "running"

    def to_dict(self) -> dict:
        return {"name": self.name, "run_id": self.run_id, "time_s": self.time_s, "energy_j": self.energy_j,
                "energy_provenance": self.provenance, "status": self.status}


@contextlib.contextmanager
def track(name: str, *, db=None, energy=None, carbon_region: str | None = None, carbon_g_per_kwh: float | None = None,
          command: list[str] | None = None, meter=None, clock=time.perf_counter, log=None):
    """Measure the wall time and energy of the ``with`` block and store it as tracking ``name``.

    ``energy``: an :class:`~effbench.measure.energy_cells.EnergyConfig` (default: on; ``enabled=False``
    stores the time only); ``meter`` and ``clock`` replace the meters and the clock (tests).
    The block's exception (Ctrl-C included) goes on after the measurement is stored.
    """
    from effbench.measure.energy_cells import EnergyConfig, build_meter
    from effbench.runs.energy import resolve_carbon
    from effbench.runs.lifecycle import open_run, run_environment
    from effbench.store.db import Store
    from effbench.validation import validate_name

    validate_name(name, "tracking name")
    energy = EnergyConfig() if energy is None else energy
    carbon = resolve_carbon(carbon_region, carbon_g_per_kwh) if energy.enabled else None
    notices: list[str] = []
    own_meter = meter is None and energy.enabled
    if own_meter:
        meter, notices = build_meter(energy)
    for n in notices:
        if log:
            log(n)
    with Store(db) as store:
        setup = None if meter is None else {"meter": meter.name, "provenance": meter.provenance, "notices": notices,
                                            "config": energy.to_dict()}
        run = open_run(store, suite=TRACK_SUITE, task={},
                       config={"tracking": name, "command": command, "energy": energy.to_dict() if energy.enabled else None,
                               "carbon": carbon},
                       environment={**run_environment(None), "energy": setup})
        key = f"{name}/{TRACK_BACKEND}"
        run.add_record(CandidateRecord(key, name, TRACK_BACKEND, None, None, "running",
                                       info={"tracked": "command" if command else "python block", "command": command}))
        tracking = Tracking(name, run.run_id, str(store.path))
        token = meter.begin() if meter is not None else None
        t0 = clock()

        def stop(active):
            tracking.time_s = clock() - t0
            reading = meter.end(token) if meter is not None else None
            if own_meter:
                meter.close()  # e.g. NVML's sampling thread
            tracking.status = active.status
            _record(store, active.run_id, key, tracking, reading, carbon, command)

        with run.measuring(on_end=stop, interrupted_note="interrupted by the user; the time and energy up to then are kept"):
            yield tracking


def _record(store, run_id, key, tracking: Tracking, reading, carbon, command) -> None:
    """The tracking's metrics, each with its provenance and whether the tracked code ended normally."""
    how = {"complete": "the tracked code ended normally", "interrupted": "interrupted (Ctrl-C): up to the interruption",
           "failed": "the tracked code failed: up to its end"}[tracking.status]
    what = "the command " + shlex.join(command) if command else "the tracked Python block"
    detail = {"note": f"wall time of {what}", "ended": tracking.status, "how": how}
    metrics = [Metric(key, R.TRAIN_TIME_S, tracking.time_s, R.UNITS[R.TRAIN_TIME_S], R.MEASURED, 0, detail)]
    if reading is not None:
        tracking.energy_j, tracking.provenance = reading.energy_j, reading.provenance
        metrics.append(Metric(key, R.TRAIN_ENERGY_J, reading.energy_j, R.UNITS[R.TRAIN_ENERGY_J], reading.provenance, 0,
                              {**reading.to_dict(), "note": f"energy of {what}", "ended": tracking.status, "how": how,
                               **({"carbon": carbon} if carbon else {})}))
    store.add_metrics(run_id, metrics)
    store.update_candidate(run_id, key, status="ok" if tracking.status == "complete" else "failed",
                           error=None if tracking.status == "complete" else how)


# -- a command ------------------------------------------------------------------------------------

def track_command(name: str, argv: list[str], *, grace_s: float = CHILD_GRACE_S, popen=subprocess.Popen, **kwargs) -> tuple[int, Tracking]:
    """Run ``argv`` as a child process inside :func:`track`; returns (its exit code, the tracking).

    The command is looked up before anything is stored (ConfigError when it cannot be found). Its
    exit code is passed through (a signal N becomes 128 + N, as a shell reports it); a non-zero code
    ends the tracking ``failed``. On Ctrl-C the child gets up to a second to stop on its own, then is
    sent SIGINT, terminated after ``grace_s`` seconds and killed after as long again; the tracking is
    stored ``interrupted`` and the KeyboardInterrupt goes on.
    """
    import shutil

    if not argv:
        raise ConfigError("track: give the command to measure after '--', e.g. effbench track NAME -- python train.py")
    if shutil.which(argv[0]) is None:
        raise ConfigError(f"track: command {argv[0]!r} was not found (not an executable file, nor on PATH)")
    code, tracking = None, None
    try:
        with track(name, command=list(argv), **kwargs) as tracking:
            child = popen(list(argv))
            try:
                code = child.wait()
            except KeyboardInterrupt:
                _stop_child(child, grace_s)
                raise
            code = 128 - code if code < 0 else code
            if code != 0:
                raise CommandFailed(code)
    except CommandFailed:
        pass  # stored as failed, with the exit code in the run's notes; the code is passed through
    return code, tracking


class CommandFailed(Exception):
    """The tracked command exited with a non-zero code (the tracking ends failed; the code is passed through)."""

    def __init__(self, code: int):
        super().__init__(f"the command exited with code {code}")
        self.code = code


def _stop_child(child, grace_s: float) -> None:
    """Ctrl-C: the child (which got SIGINT from the terminal too) gets a moment to stop on its own; then
    it is sent SIGINT (in case only effbench was interrupted), terminated, and killed, ``grace_s`` apart."""
    steps = ((None, min(1.0, grace_s)), (lambda: child.send_signal(signal.SIGINT), grace_s),
             (child.terminate, grace_s), (child.kill, grace_s))
    for stop, wait_s in steps:
        if stop is not None:
            with contextlib.suppress(ProcessLookupError):
                stop()
        try:
            child.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


# -- attaching a tracking to a run's candidates ----------------------------------------------------

def tracked_training(store, models, training: dict | None = None, explicit: dict | None = None) -> dict:
    """``training`` (model -> facts) completed from the store's trackings.

    ``explicit``: model -> tracking name (a suite file's ``training = "NAME"``); a name with no
    complete tracking is a ConfigError. Every other model without training facts takes the latest
    complete tracking named as the model, when there is one.
    """
    out = dict(training or {})
    explicit = dict(explicit or {})
    for model in dict.fromkeys(models):
        if model in out:
            continue
        name = explicit.get(model, model)
        run_id = store.latest_run_of(TRACK_SUITE, name)
        if run_id is None:
            if model in explicit:
                known = store.run_models(TRACK_SUITE)
                raise ConfigError(f"training: no complete tracking named {name!r} in {str(store.path)!r} for candidate {model!r}; "
                                  f"measure it with 'effbench track {name} -- COMMAND' "
                                  + (f"(trackings: {', '.join(known)})" if known else "(none stored yet)"))
            continue
        out[model] = _facts(store.load_run(run_id), name, by="given" if model in explicit else "name")
    return out


def _facts(run, name: str, by: str) -> dict:
    """The training facts of a stored tracking, as the Recorder writes them, with where they came from."""
    key = f"{name}/{TRACK_BACKEND}"
    t = run.metric(key, R.TRAIN_TIME_S)
    how = f"tracking {name!r} (" + ("named by the candidate's training field" if by == "given" else "same name as the model") + ")"
    facts = {"train_time_s": t.value, "provenance": t.provenance, "source": f"effbench track: {how}",
             "tracking_run": run.run_id, "tracked_at": run.created_at, "command": (run.config or {}).get("command")}
    e = run.metric(key, R.TRAIN_ENERGY_J)
    if e is not None and e.value is not None:
        facts["train_energy"] = {"energy_j": e.value, "provenance": e.provenance, "meter": e.detail.get("meter"),
                                 "source": facts["source"], "tracking_run": run.run_id}
    return facts
