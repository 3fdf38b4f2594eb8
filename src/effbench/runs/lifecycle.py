"""The run lifecycle, in one place: create, mark running, record, finish or interrupt.

Every measurement mode opens its run here and ends it here, so a run always ends in one of the
states of :data:`effbench.records.RUN_STATUSES` with the same bookkeeping: the environment after
the run (load average, wall time), the notes, and every candidate settled (none stays ``pending``).

    with open_run(store, suite="digits", config=..., environment=..., task=...) as run:
        run.add_candidate(candidate)
        ...                           # the mode measures; its recorder writes to run.store / run.run_id
    # complete; or interrupted (KeyboardInterrupt, re-raised); or failed (any other error, re-raised)
"""

from __future__ import annotations

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
        self._t0 = time.perf_counter()

    def add_candidate(self, candidate, status: str = "pending") -> None:
        """The record of an effbench Candidate (its key, model, backend and description)."""
        c = candidate
        self.store.add_candidate(self.run_id, CandidateRecord(c.key, c.model, c.backend, c.family, c.parent, status, info=c.describe()))

    def add_record(self, record: CandidateRecord) -> None:
        """A candidate record as it is (e.g. one that failed before it could be measured)."""
        self.store.add_candidate(self.run_id, record)

    def settle_candidates(self) -> None:
        """Candidates still pending or running become ``ok`` when they have latency samples,
        else ``failed`` with the reason ``not measured (run <status>)``."""
        run = self.store.load_run(self.run_id)
        for c in run.candidates:
            if c.status in ("pending", "running"):
                ok = any(s.candidate == c.key for s in run.samples)
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
        except KeyboardInterrupt:
            status = "interrupted"
            self.notes.append(interrupted_note)
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


def run_environment(threads: int | None) -> dict:
    """The environment a run records: the machine, the threads, and the versions of effbench's
    libraries and of every registered backend's."""
    from effbench.candidates.registry import library_names
    from effbench.measure.environment import collect_environment

    return collect_environment(threads, backend_libraries=library_names())


def open_run(store, *, suite: str, config: dict, environment: dict, task: dict, run_id: str | None = None) -> ActiveRun:
    """Create a run (status ``running``) in ``store`` and return it, ready to record into."""
    import effbench

    run_id = store.create_run(suite=suite, config=config, environment=environment, task=task,
                              effbench_version=effbench.__version__, run_id=run_id)
    return ActiveRun(store, run_id)
