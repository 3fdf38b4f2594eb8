"""The run lifecycle, in one place: create, mark running, record, finish or interrupt.

Every measurement mode opens its run here and ends it here, so a run always ends in one of the
states of :data:`effbench.records.RUN_STATUSES` with the same bookkeeping: the environment after
the run (load average, wall time), the notes, and every candidate settled (none stays ``pending``).

    run = open_run(store, suite="digits", config=..., environment=..., task=...)   # or reopen_run(store, stored)
    run.add_candidate(candidate)
    with run.measuring(on_end=settle):
        ...                           # the mode measures; its recorder writes to run.store / run.run_id
    # complete; or interrupted (KeyboardInterrupt, re-raised); or failed (any other error, re-raised)

A run records the process that runs it (host, pid, start time), so a run whose process died
without finishing it is known for what it is (:func:`is_stale`), and can be resumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager

from effbench.records import CandidateRecord

INTERRUPTED_NOTE = "interrupted by the user; every measurement taken before is kept"


class ActiveRun:
    """A run that is being measured: its store, its id, and what ends it."""

    def __init__(self, store, run_id: str):
        self.store = store
        self.run_id = run_id
        self.notes: list[str] = []
        self.status = "running"
        self.resume_hint: str | None = None   # how to measure the rest after an interruption, if the mode can
        self._t0 = time.perf_counter()

    def add_candidate(self, candidate, status: str = "pending") -> None:
        """The record of an effbench Candidate (its key, model, backend and description)."""
        c = candidate
        self.store.add_candidate(self.run_id, CandidateRecord(c.key, c.model, c.backend, c.family, c.parent, status, info=c.describe()))

    def add_record(self, record: CandidateRecord) -> None:
        """A candidate record as it is (e.g. one that failed before it could be measured)."""
        self.store.add_candidate(self.run_id, record)

    def settle_candidates(self) -> None:
        """Candidates still pending or running become ``ok`` when they have raw samples (latency or
        tail rounds), else ``failed`` with the reason ``not measured (run <status>)``."""
        run = self.store.load_run(self.run_id)
        measured = {s.candidate for s in run.samples}
        for c in run.candidates:
            if c.status in ("pending", "running"):
                ok = c.key in measured
                self.store.update_candidate(self.run_id, c.key, status="ok" if ok else "failed",
                                            error=None if ok else f"not measured (run {self.status})")

    def finish(self, status: str) -> None:
        from effbench.measure.environment import load_average

        self.status = status
        self.store.finish_run(self.run_id, status, self.notes,
                              environment_after={"load_average_after": load_average(),
                                                 "run_wall_time_s": time.perf_counter() - self._t0})

    @contextmanager
    def measuring(self, *, on_end: Callable[["ActiveRun"], None] | None = None, interrupted_note: str = INTERRUPTED_NOTE):
        """The body measures; the run then ends ``complete``, ``interrupted`` (Ctrl-C: the note says
        so, and the interruption goes on) or ``failed`` (the error goes on). ``on_end(run)`` runs
        first, with ``run.status`` set, whatever happened (e.g. to settle candidates)."""
        status = "failed"
        try:
            yield self
            status = "complete"
        except KeyboardInterrupt as exc:
            status = "interrupted"
            self.notes.append(interrupted_note)
            exc.effbench_run_id = self.run_id  # the CLI says which run keeps what was measured
            exc.effbench_resume_hint = self.resume_hint
            raise
        except BaseException as exc:
            self.notes.append(f"the run failed ({type(exc).__name__}: {exc}); every measurement taken before is kept")
            raise
        finally:
            self.status = status
            try:
                if on_end is not None:
                    on_end(self)
            finally:
                self.finish(status)


def process_identity() -> dict:
    """This process, as a run records it: host, pid and start time (a pid can be reused; host, pid
    and start time together cannot)."""
    import socket

    import psutil

    return {"host": socket.gethostname(), "pid": os.getpid(), "create_time": psutil.Process().create_time()}


def process_alive(identity: dict) -> bool | None:
    """Whether the process a run recorded still runs: None when it ran on another host (unknowable here)."""
    import socket

    import psutil

    if not identity or identity.get("host") != socket.gethostname():
        return None
    try:
        proc = psutil.Process(int(identity["pid"]))
        return abs(proc.create_time() - float(identity["create_time"])) < 1e-3
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def is_stale(run) -> bool:
    """A run still marked ``running`` whose process on this host is gone: it was interrupted."""
    return _stale(run.status, run.environment)


def _stale(status: str, environment: dict) -> bool:
    return status == "running" and process_alive(environment.get("process") or {}) is False


def _stale_rows(store, rows: list[dict]) -> set[str]:
    """Ids of the ``running`` rows whose process is gone (reads only their environments)."""
    return {r["run_id"] for r in rows if r["status"] == "running" and _stale("running", store.run_environment(r["run_id"]))}


def with_true_status(store, rows: list[dict]) -> list[dict]:
    """``store.list_runs()`` rows, a stale run's status shown as ``interrupted`` (nothing is written)."""
    stale = _stale_rows(store, rows)
    return [{**row, "status": "interrupted"} if row["run_id"] in stale else row for row in rows]


def mark_stale_runs(store) -> list[str]:
    """Runs still ``running`` whose process on this host is gone (killed, crashed, powered off) become
    ``interrupted``, with a note that says so; their measurements stay. Returns their ids."""
    stale = sorted(_stale_rows(store, store.list_runs()))
    for run_id in stale:
        run = store.load_run(run_id)
        identity = run.environment.get("process") or {}
        note = (f"interrupted: the process that ran it (pid {identity.get('pid')} on {identity.get('host')}) "
                "ended without finishing it; every measurement taken before is kept")
        store.finish_run(run_id, "interrupted", [*run.notes, note])
    return stale


def run_environment(threads: int | None) -> dict:
    """The environment a run records: the machine, the threads, and the versions of effbench's
    libraries and of every registered backend's."""
    from effbench.candidates.registry import library_names
    from effbench.measure.environment import collect_environment

    return collect_environment(threads, backend_libraries=library_names())


def open_run(store, *, suite: str, config: dict, environment: dict, task: dict, run_id: str | None = None) -> ActiveRun:
    """Create a run (status ``running``) in ``store`` and return it, ready to record into."""
    import effbench

    run_id = store.create_run(suite=suite, config=config, environment={**environment, "process": process_identity()},
                              task=task, effbench_version=effbench.__version__, run_id=run_id)
    return ActiveRun(store, run_id)


def reopen_run(store, run) -> ActiveRun:
    """Resume a stored run (a RunRecord that is not ``complete`` and whose process is gone): it is
    ``running`` again in this process, and its notes say when and where it was resumed."""
    from effbench.errors import ConfigError

    if run.status == "complete":
        raise ConfigError(f"--resume: run {run.run_id} is complete; there is nothing left to measure")
    if run.status == "running" and process_alive(run.environment.get("process") or {}) is not False:
        raise ConfigError(f"--resume: run {run.run_id} is still running (or ran on another host); "
                          "resume it once its process has ended")
    me = process_identity()
    history = [*run.environment.get("resumed", []), {**me, "previous_status": run.status}]
    active = ActiveRun(store, run.run_id)
    active.notes = [*run.notes, f"resumed by pid {me['pid']} on {me['host']}"]
    store.reopen_run(run.run_id, active.notes, environment_after={"process": me, "resumed": history})
    return active
