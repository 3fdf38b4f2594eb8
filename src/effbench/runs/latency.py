"""The latency mode: what ``effbench run`` and :func:`effbench.benchmark` measure.

Every candidate in its own worker; static costs, predictions and quality, peak memory, then the
latency (and energy) cells in a seeded random order (:mod:`effbench.executor`). The run is opened
and ended by :mod:`effbench.runs.lifecycle`, and every value is written by the one
:class:`~effbench.runs.recorder.Recorder` as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from effbench.errors import ConfigError
from effbench.executor import DEFAULT_REPEATS
from effbench.measure.timer import TimingConfig
from effbench import records as R
from effbench.records import RunRecord
from effbench.validation import Interval

BATCH_SIZE = Interval(int, 1, None)


@dataclass(repr=False)
class BenchmarkResult:
    """Where a run went and its records; ``table()`` derives the cost table from them."""

    run_id: str
    db_path: Path
    run: RunRecord
    notes: list = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<BenchmarkResult run {self.run_id} in {str(self.db_path)!r}: {self.run!r}>"

    def table(self) -> list[dict]:
        from effbench.analysis.costs import cost_table

        return cost_table(self.run)

    def _repr_html_(self) -> str:
        """A notebook's view: the run, then its wide cost table (one row per candidate, units in the
        column names, the failed ones with their reason)."""
        import html

        frame = self.to_pandas()
        failed = f", {len(self.failed)} failed" if self.failed else ""
        head = (f"<p><b>effbench run {html.escape(self.run_id)}</b> ({html.escape(str(self.run.suite))}, "
                f"{html.escape(str(self.run.status))}; {len(frame)} candidates{failed}) in {html.escape(str(self.db_path))}</p>")
        return head + frame.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}", escape=True)

    def batch_table(self) -> list[dict]:
        from effbench.analysis.costs import batch_rows

        return batch_rows(self.run)

    @property
    def failed(self) -> list[str]:
        return self.run.failed

    def to_pandas(self, long: bool = False):
        """The cost table as a pandas DataFrame.

        Wide (default): one row per candidate, one numeric column per indicator (NaN where a
        candidate has no value, e.g. one that failed), plus ``candidate``, ``model``, ``backend``,
        ``status`` and ``error``; ``df.attrs["units"]`` and ``df.attrs["provenance"]`` give each
        column's unit and provenance (``estimated`` where any value of it is). Long (``long=True``):
        one row per value (the ``effbench export --format csv`` rows: candidate, batch_size, metric,
        value, unit, provenance)."""
        import pandas as pd

        from effbench.analysis.costs import long_rows

        if long:
            return pd.DataFrame(long_rows(self.run))
        return _wide_frame(pd, self.table())


_TEXT_COLUMNS = ("candidate", "model", "backend", "family", "parent", "status", "error")


def _wide_frame(pd, rows: list[dict]):
    """Cost-table rows (values are :class:`~effbench.analysis.costs.Value`) as a numeric DataFrame."""
    from effbench.analysis.costs import Value

    columns = [k for k in (rows[0] if rows else {}) if k != "missing"]
    units: dict[str, str] = {}
    provenance: dict[str, str] = {}
    records = []
    for r in rows:
        rec = {}
        for k in columns:
            v = r.get(k)
            if isinstance(v, Value):
                units.setdefault(k, v.unit)
                if provenance.get(k) != R.ESTIMATED:
                    provenance[k] = v.provenance
                v = v.value
            rec[k] = v if k in _TEXT_COLUMNS or v is not None else float("nan")
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=columns)
    for k in columns:
        if k not in _TEXT_COLUMNS:
            df[k] = pd.to_numeric(df[k], errors="coerce")
    df.attrs["units"], df.attrs["provenance"] = units, provenance
    return df


def load_run(run_id: str = "latest", db=None) -> BenchmarkResult:
    """A stored run as a :class:`BenchmarkResult` (an id, a unique prefix or 'latest'), e.g. to read
    it in a notebook: ``effbench.load_run("latest").to_pandas()``."""
    from effbench.store.db import Store

    with Store(db, create=False) as store:
        run = store.load_run(run_id)
        return BenchmarkResult(run_id=run.run_id, db_path=store.path, run=run, notes=list(run.notes))


def resolve_batch_sizes(batch_sizes, n_test: int) -> tuple[int, ...]:
    """Turn a list of positive ints and 'all' (the whole test split) into sorted unique ints."""
    allowed = "use positive integers or 'all' (the whole test split)"
    out = []
    for b in batch_sizes:
        if isinstance(b, str) and b.strip().lower() in ("all", "full"):
            out.append(n_test)
            continue
        if isinstance(b, str):
            try:
                b = int(b.strip())
            except ValueError:
                raise ConfigError(f"batch size {b!r} is not allowed: {allowed}") from None
        if not BATCH_SIZE.accepts(b):
            raise ConfigError(f"batch size {b!r} is not allowed: {allowed}")
        out.append(int(b))
    if not out:
        raise ConfigError("batch sizes: give at least one positive integer or 'all'")
    return tuple(sorted(set(out)))


def _check_unique(candidates) -> None:
    keys = [c.key for c in candidates]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"candidate names must be unique per backend; {dupes[0]!r} appears more than once")


class MeasuredAlready:
    """What a stored run holds, for a resumed run to skip: a step or cell counts as done when its
    record is stored (a latency cell when all its time windows are)."""

    def __init__(self, run: RunRecord, repeats: int, quality: bool = True, quality_metric: str = R.ACCURACY):
        self.run, self.repeats, self.quality, self.quality_metric = run, repeats, quality, quality_metric

    def failed_alone(self, key: str) -> bool:
        """The candidate failed for its own reason (not because the run stopped): it is not retried."""
        if not self.run.has_candidate(key):
            return False
        c = self.run.candidate(key)
        return c.status == "failed" and not (c.error or "").startswith("not measured (run ")

    def step(self, key: str, op: str, batch_size: int | None = None) -> bool:
        name = {"memory": R.PEAK_MEMORY_BYTES, "static": R.PARAMS, "predict": self.quality_metric}[op]
        return self.run.metric(key, name, batch_size or 0) is not None

    def complete(self, key: str, batch_sizes, energy: bool) -> bool:
        """Everything of this candidate is stored: nothing to start a worker for."""
        steps = [("memory", b) for b in batch_sizes] + [("static", None)] + ([("predict", None)] if self.quality else [])
        cells = [("latency", b) for b in batch_sizes] + ([("energy", b) for b in batch_sizes] if energy else [])
        return all(self.step(key, op, b) for op, b in steps) and all(self.cell(kind, key, b) for kind, b in cells)

    def cell(self, kind: str, key: str, batch_size: int) -> bool:
        if kind == "energy":
            return self.run.metric(key, R.ENERGY_PER_BATCH_J, batch_size) is not None
        s = self.run.sample_set(key, batch_size)
        return s is not None and len(s.values) > 0 and max(1, len(s.meta.get("repeats") or [])) >= self.repeats


def measure_run(candidates, task, *, suite: str, batch_sizes, threads=1, timing=None, db=None, isolate=True,
                seed=0, repeats=DEFAULT_REPEATS, training=None, progress=None, extra_config=None, energy=None,
                carbon=None, energy_info=None, failed_records=(), timeout_s=None, resume: str | None = None,
                training_from: dict | None = None, executor: str = "local", address: str | None = None,
                hardware: str | None = None) -> BenchmarkResult:
    """Create a run in the store, measure every candidate, and end the run (complete, interrupted or failed).

    A ``task`` without labels (``task.labelled`` False) makes a cost-only run: no predictions, no quality.
    A task with ``metrics`` (a suite file's) is scored with each of them, regression included
    (:meth:`~effbench.runs.recorder.Recorder.predictions`); its inputs may be a dict of named arrays.
    ``timeout_s``: how long to wait for any one step of a candidate (its start included) before it is
    called hung and fails; None scales the wait with the step's work (:class:`effbench.executor.Timeouts`).
    ``resume``: the id of a stored run that did not complete; only what it lacks is measured, into it.
    ``training``: model -> training facts; a model without takes a stored tracking (:mod:`effbench.runs.track`):
    the one ``training_from`` names (model -> tracking name), else the latest complete one named as the model.

    ``executor``: "local" (worker processes on this machine) or "ray" (nodes of a Ray cluster at ``address``,
    only those labelled ``hardware`` if given; docs/fleet.md)."""
    from effbench.executor import ExecutionConfig, execute, steps_for
    from effbench.runs.energy import energy_setup
    from effbench.runs.lifecycle import open_run, reopen_run, run_environment
    from effbench.runs.recorder import Recorder
    from effbench.runs.track import tracked_training
    from effbench.store.db import Store

    _check_unique(candidates)
    config = ExecutionConfig(
        batch_sizes=resolve_batch_sizes(batch_sizes, len(task.y_test)),
        threads=threads, timing=timing or TimingConfig(), isolate=isolate, seed=seed, repeats=repeats,
        energy=None if energy is None or not energy.enabled else energy.to_dict(),
        command_timeout_s=timeout_s, **({"startup_timeout_s": timeout_s} if timeout_s is not None else {}),
        quality=task.labelled, predict=predict_mode(task), executor=executor, address=address, hardware=hardware,
    )
    run_cells = execute
    if config.executor == "ray":  # connected and checked before the run is opened: a bad address or label stores nothing
        from effbench.executors.ray import connect, execute_ray as run_cells

        connect(config)
    if energy_info is None and energy is not None and energy.enabled:
        energy_info = energy_setup(energy, log=progress.log if progress else None)
    with Store(db) as store:
        training = tracked_training(store, [c.model for c in candidates], training, training_from)
        if resume is None:
            run = open_run(store, suite=suite, config={**config.to_dict(), "carbon": carbon, **(extra_config or {})},
                           environment={**run_environment(threads), "energy": energy_info}, task=task.record())
            done = None
        else:
            stored = store.load_run(resume)
            run, done = reopen_run(store, stored), MeasuredAlready(stored, config.repeats, config.quality,
                                                                   (task.metrics or (R.ACCURACY,))[0])
            candidates = [c for c in candidates if not done.failed_alone(c.key)
                          and not done.complete(c.key, config.batch_sizes, bool(config.energy))]
        resumable = suite.startswith("digits") or bool({"suite_file", "sources"} & set(extra_config or {}))
        run.resume_hint = f"effbench run --resume {run.run_id}" if resumable else None
        recorder = Recorder(store, run.run_id, task, training, energy_info, carbon, config.timing)
        _add_candidates(run, recorder, candidates, failed_records, done)
        with run.measuring(on_end=_settle(progress)):
            if progress:
                progress.start(steps_for(len(candidates), config))
            run_cells(candidates, task.X_test, config, recorder,
                    progress=progress.advance if progress else (lambda n=1, text="": None), done=done)
        return BenchmarkResult(run_id=run.run_id, db_path=store.path, run=store.load_run(run.run_id), notes=run.notes)


def predict_mode(task) -> str:
    """What the workers return to score ``task``: labels (accuracy, F1), the raw outputs
    (regression: predicted values), or both (a metric that reads scores, such as top-k)."""
    defs = task.metric_defs() if task.labelled else []
    if task.task_type == "regression":
        return "outputs"
    return "both" if any(m.needs != "labels" for m in defs) else "labels"


def _add_candidates(run, recorder, candidates, failed_records, done) -> None:
    """The candidate records and their training metrics; a resumed run keeps those it has."""
    for c in candidates:
        if done is None or not done.run.has_candidate(c.key):
            run.add_candidate(c)
            recorder.training_metrics(c)
    for record in failed_records:  # candidates that could not even be built (e.g. a variant): recorded with the reason
        if done is None or not done.run.has_candidate(record.key):
            run.add_record(record)


def _settle(progress):
    def on_end(run):
        if progress:
            progress.stop()
        run.settle_candidates()

    return on_end
