"""The Python API: benchmark your own models, or run the built-in default suite.

    import effbench
    result = effbench.benchmark({"forest": fitted_forest, "net": torch_module}, X_test, y_test)
    for row in result.table():
        print(row["candidate"], row["accuracy"].value, row["latency_p50_s_b1"].value)

Both paths use the same machinery: a plan of candidates x batch sizes, one worker process per
candidate, the timing protocol, the store. Every run is written to the store as it goes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.executor import DEFAULT_REPEATS
from effbench.measure.energy_cells import EnergyConfig
from effbench.measure.timer import TimingConfig

DEFAULT_BATCH_SIZES = (1, 8, 32, 128, "all")
QUICK_BATCH_SIZES = (1, 32)
SUITE_TIMING = TimingConfig(max_time_s=0.6, min_time_s=0.1)
QUICK_TIMING = TimingConfig(max_time_s=0.15, min_time_s=0.03, min_samples=5)
QUICK_ENERGY = EnergyConfig(min_window_s=0.05, idle_s=0.2)


@dataclass
class BenchmarkResult:
    """Where a run went and its records; ``table()`` derives the cost table from them."""

    run_id: str
    db_path: Path
    run: object                      # effbench.store.db.RunRecord
    notes: list = field(default_factory=list)

    def table(self) -> list[dict]:
        from effbench.analysis.costs import cost_table

        return cost_table(self.run)

    def batch_table(self) -> list[dict]:
        from effbench.analysis.costs import batch_rows

        return batch_rows(self.run)

    @property
    def failed(self) -> list[str]:
        return [c.key for c in self.run.candidates if c.status == "failed"]


def resolve_batch_sizes(batch_sizes, n_test: int) -> tuple[int, ...]:
    """Turn a list of positive ints and 'all' (the whole test split) into sorted unique ints."""
    out = []
    for b in batch_sizes:
        if isinstance(b, str) and b.strip().lower() in ("all", "full"):
            out.append(n_test)
            continue
        if isinstance(b, str):
            try:
                b = int(b.strip())
            except ValueError:
                raise ConfigError(f"batch size {b!r} is not allowed: use positive integers or 'all' (the whole test split)") from None
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ConfigError(f"batch size {b!r} is not allowed: use positive integers or 'all' (the whole test split)")
        out.append(int(b))
    if not out:
        raise ConfigError("batch sizes: give at least one positive integer or 'all'")
    return tuple(sorted(set(out)))


class _StoreRecorder:
    """Turns what the executor reports into records, committed to the store as they arrive."""

    def __init__(self, store, run_id, task, training: dict, energy_setup: dict | None = None, carbon: dict | None = None,
                 timing: TimingConfig | None = None):
        self.store, self.run_id, self.task = store, run_id, task
        self.timing = timing or TimingConfig()
        self.training = training
        self.energy_setup = energy_setup
        self.carbon = carbon
        self._latency_acc: dict[tuple[str, int], tuple[list, list]] = {}

    def _metric(self, key, name, value, unit, provenance, batch_size=0, detail=None):
        from effbench.store.db import Metric

        self.store.add_metrics(self.run_id, [Metric(key, name, value, unit, provenance, batch_size, detail or {})])

    def ready(self, key, info):
        self.store.update_candidate(self.run_id, key, status="running", info={"worker": info})

    def static(self, key, s):
        errors = s.get("errors", {})
        self._metric(key, "params", s["params"], "count", "analytic",
                     detail={"note": "learned numbers held by the model; see docs/costs.md"} if s["params"] is not None
                     else {"reason": errors.get("params", "this backend cannot count parameters")})
        self._metric(key, "size_bytes", s["size_bytes"], "bytes", "measured",
                     detail={"serialization": s["serialization"], **({"reason": errors["size_bytes"]} if "size_bytes" in errors else {})})
        f = s.get("flops")
        if f and not f.get("counted_ops") and f.get("uncounted_ops"):
            # nothing countable (e.g. a tree ensemble inside an ONNX graph): no number rather than a false 0
            self._metric(key, "flops_per_sample", None, "FLOP", "analytic",
                         detail={"reason": "no operation of this model can be counted by " + f.get("method", "the counter"), **{k: v for k, v in f.items() if k != "flops_per_sample"}})
        elif f:
            self._metric(key, "flops_per_sample", f["flops_per_sample"], "FLOP", f.get("provenance", "analytic"),
                         detail={k: v for k, v in f.items() if k not in ("flops_per_sample", "provenance")})
        else:
            self._metric(key, "flops_per_sample", None, "FLOP", "analytic", detail={"reason": errors.get("flops") or "this backend cannot count FLOPs"})

    def predictions(self, key, labels):
        from effbench.tasks.base import quality_metrics

        labels = np.asarray(labels)
        self.store.update_candidate(self.run_id, key, predictions=labels)
        q = quality_metrics(self.task.y_test, labels)
        for name, value in q.items():
            self._metric(key, name, value, "ratio", "measured", detail={"n_examples": int(len(labels)), "split": "test"})

    def memory(self, key, batch_size, reading):
        detail = {k: v for k, v in reading.items() if k not in ("peak_bytes", "peak_rss_bytes", "provenance")}
        prov = reading.get("provenance", "measured")
        self._metric(key, "peak_memory_bytes", reading["peak_bytes"], "bytes", prov, batch_size, detail)
        self._metric(key, "peak_rss_bytes", reading["peak_rss_bytes"], "bytes", prov, batch_size, detail)

    def latency(self, key, batch_size, samples, meta):
        from effbench.store.db import SampleSet

        acc_samples, acc_meta = self._latency_acc.setdefault((key, batch_size), ([], []))
        acc_samples.append(np.asarray(samples, dtype=float))
        acc_meta.append(meta)
        pooled = np.concatenate(acc_samples)
        merged = dict(acc_meta[-1]) if len(acc_meta) == 1 else self._merge_windows(acc_meta, pooled)
        self.store.add_samples(self.run_id, SampleSet(key, batch_size, "latency_per_call", "s", pooled, merged))

    def _merge_windows(self, metas: list[dict], pooled: np.ndarray) -> dict:
        """The cell's metadata over all its time windows so far; each window's own stays in ``repeats``.

        ``stop_reason`` is the windows' common reason, or ``mixed`` (``stop_reasons`` lists them);
        ``rel_halfwidths`` is the precision of the pooled samples, which is what the cell's figures use;
        counts and times are sums; ``block_size`` the largest any window used.
        """
        from effbench.analysis.stats import precision_reached

        reasons = [m.get("stop_reason") for m in metas]
        t = self.timing
        _, widths = precision_reached(pooled, rel_tol=t.rel_tol, quantiles=t.stop_quantiles, confidence=t.confidence)
        merged = {k: v for k, v in metas[-1].items() if k != "repeat"}
        merged.update(
            stop_reason=reasons[0] if len(set(reasons)) == 1 else "mixed",
            stop_reasons=reasons,
            rel_halfwidths={str(k): v for k, v in widths.items()},
            block_size=max(int(m.get("block_size") or 1) for m in metas),
            calibrated=any(bool(m.get("calibrated")) for m in metas),
            repeats=metas,
        )
        for name in ("n_samples", "n_calls", "sampling_time_s", "warmup_time_s", "warmup_calls", "stopping_checks"):
            if all(isinstance(m.get(name), (int, float)) for m in metas):
                merged[name] = sum(m[name] for m in metas)
        return merged

    def energy(self, key, batch_size, reading):
        """Energy of one batch call: per batch, per sample, above idle, and its carbon (always estimated)."""
        prov = reading["provenance"]
        e = reading["energy_per_batch_j"]
        detail = {k: v for k, v in reading.items() if k not in ("energy_per_batch_j", "provenance", "notices")}
        idle_w = (self.energy_setup or {}).get("idle_power_w")
        self._metric(key, "energy_per_batch_j", e, "J", prov, batch_size, detail)
        self._metric(key, "energy_per_sample_j", e / batch_size, "J", prov, batch_size, {"from": "energy_per_batch_j / batch size"})
        if idle_w is not None:
            active = max(0.0, e - idle_w * reading["duration_per_batch_s"])
            idle_prov = self.energy_setup.get("idle_provenance", prov)
            self._metric(key, "active_energy_per_sample_j", active / batch_size, "J",
                         "estimated" if "estimated" in (prov, idle_prov) else "measured", batch_size,
                         {"idle_power_w": idle_w, "from": "(energy per batch - idle power x batch duration) / batch size"})
        if self.carbon:
            from effbench.measure.carbon import carbon_g

            self._metric(key, "carbon_per_sample_g", carbon_g(e / batch_size, self.carbon["g_per_kwh"]), "gCO2e", "estimated", batch_size,
                         {"energy_provenance": prov, **self.carbon})

    def failed(self, key, reason, detail=""):
        self.store.update_candidate(self.run_id, key, status="failed", error=reason, info={"traceback": detail} if detail else None)

    def failed_step(self, key, step, reason, detail=""):
        self.store.update_candidate(self.run_id, key, info={f"{step}_error": reason})

    def training_metrics(self, candidate):
        facts = self.training.get(candidate.model)
        if not facts:
            return
        shared = " (shared with its source model; this backend is an export)" if candidate.parent and candidate.parent.split("/")[0] == candidate.model else ""
        self._metric(candidate.key, "train_time_s", facts["train_time_s"], "s", "measured",
                     detail={"note": "wall time of training the model" + shared,
                             **{k: v for k, v in facts.items() if k not in ("train_time_s", "train_energy")}})
        energy = facts.get("train_energy")
        if energy:
            self._metric(candidate.key, "train_energy_j", energy["energy_j"], "J", energy["provenance"],
                         detail={"note": "energy of training the model" + shared, **{k: v for k, v in energy.items() if k not in ("energy_j", "provenance")}})


def _make_task(name, X, y, X_train=None, y_train=None):
    from effbench.tasks.base import Task

    X = np.asarray(X)
    y = np.asarray(y)
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise DataError(f"X must be numeric (it is passed to the models as float32); got dtype {X.dtype}")
    if X.ndim < 2:
        raise DataError(f"X must have one row per example (2-D or more); got shape {X.shape}")
    if X_train is None:
        X_train, y_train = X[:1], y[:1]
    return Task(name=name, X_train=np.asarray(X_train, dtype=np.float32), y_train=np.asarray(y_train),
                X_test=np.ascontiguousarray(X, dtype=np.float32), y_test=y)


def energy_setup(config, meter=None, log=None) -> dict | None:
    """Choose the meters (one-line notices say what is estimated and why) and measure idle power."""
    if config is None or not config.enabled:
        return None
    from effbench.measure.energy_cells import build_meter

    notices = []
    if meter is None:
        meter, notices = build_meter(config)
    for n in notices:
        if log:
            log(n)
    # the estimate's idle power is part of its model (no waiting); a counter's is measured over idle_s (0: skipped),
    # also when it is one part of a mixed meter (a GPU counter beside the CPU estimate)
    waits = bool(getattr(meter, "reads_a_counter", meter.provenance != "estimated"))
    idle = meter.idle_power_w(seconds=config.idle_s or 1.0) if not waits or config.idle_s > 0 else None
    return {
        "meter": meter.name,
        "provenance": meter.provenance,
        "idle_power_w": idle,
        "idle_provenance": meter.provenance,
        "idle_seconds": config.idle_s if waits and idle is not None else 0.0,
        "notices": notices,
        "config": config.to_dict(),
        **({"tdp_w": meter.tdp_w, "tdp_source": meter.tdp_source} if hasattr(meter, "tdp_w") else {}),
    }


def resolve_carbon(region=None, g_per_kwh=None) -> dict:
    """Grid carbon intensity from a region code or a value (default: the world average; see docs/energy.md)."""
    from effbench.measure.carbon import carbon_intensity

    ci = carbon_intensity(region, g_per_kwh=g_per_kwh)
    return {"g_per_kwh": ci.g_per_kwh, "region": ci.region, "source": ci.source, "year": ci.year}


def execute_run(candidates, task, *, suite: str, batch_sizes, threads=1, timing=None, db=None, isolate=True,
                seed=0, repeats=DEFAULT_REPEATS, training=None, progress=None, extra_config=None, energy=None, carbon=None,
                energy_info=None, failed_records=()) -> BenchmarkResult:
    """Create a run in the store, measure every candidate, mark the run complete (or interrupted)."""
    import effbench
    from effbench.executor import ExecutionConfig, execute, steps_for
    from effbench.measure.environment import collect_environment, load_average
    from effbench.store.db import CandidateRecord, Store

    keys = [c.key for c in candidates]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"candidate names must be unique per backend; {dupes[0]!r} appears more than once")
    config = ExecutionConfig(
        batch_sizes=resolve_batch_sizes(batch_sizes, len(task.y_test)),
        threads=threads, timing=timing or TimingConfig(), isolate=isolate, seed=seed, repeats=repeats,
        energy=None if energy is None or not energy.enabled else energy.to_dict(),
    )
    training = training or {}
    if energy_info is None and energy is not None and energy.enabled:
        energy_info = energy_setup(energy, log=progress.log if progress else None)
    with Store(db) as store:
        run_id = store.create_run(
            suite=suite,
            config={**config.to_dict(), "carbon": carbon, **(extra_config or {})},
            environment={**collect_environment(threads), "energy": energy_info},
            task={**task.describe(), "y_test": np.asarray(task.y_test).ravel().tolist()},
            effbench_version=effbench.__version__,
        )
        recorder = _StoreRecorder(store, run_id, task, training, energy_info, carbon, config.timing)
        for c in candidates:
            store.add_candidate(run_id, CandidateRecord(c.key, c.model, c.backend, c.family, c.parent, "pending", info=c.describe()))
            recorder.training_metrics(c)
        for record in failed_records:  # candidates that could not even be built (e.g. a variant): recorded with the reason
            store.add_candidate(run_id, record)
        status = "failed"
        notes = []
        t0 = time.perf_counter()
        try:
            if progress:
                progress.start(steps_for(len(candidates), config))
            execute(candidates, task.X_test, config, recorder, progress=progress.advance if progress else (lambda n=1, text="": None))
            status = "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            notes.append("interrupted by the user; every measurement taken before is kept")
            raise
        finally:
            if progress:
                progress.stop()
            run = store.load_run(run_id)
            for c in run.candidates:
                if c.status in ("pending", "running"):
                    ok = any(s.candidate == c.key for s in run.samples)
                    store.update_candidate(run_id, c.key, status="ok" if ok and status == "complete" else ("ok" if ok else "failed"),
                                           error=None if ok else f"not measured (run {status})")
            store.finish_run(run_id, status, notes, environment_after={"load_average_after": load_average(), "run_wall_time_s": time.perf_counter() - t0})
        run = store.load_run(run_id)
        return BenchmarkResult(run_id=run_id, db_path=store.path, run=run, notes=notes)


def benchmark(models, X, y, *, batch_sizes=DEFAULT_BATCH_SIZES, threads: int = 1, db=None, isolate: bool = True,
              timing=None, task_name: str = "custom", train_times: dict | None = None, progress=None, seed: int = 0,
              repeats: int = DEFAULT_REPEATS, energy: EnergyConfig | None = EnergyConfig(), carbon_region: str | None = None,
              carbon_g_per_kwh: float | None = None) -> BenchmarkResult:
    """Benchmark your own models on your own data.

    models: a dict name -> model, where a model is a ``torch.nn.Module``, an ONNX file path or bytes,
    a fitted scikit-learn estimator, any callable ``f(X) -> labels`` (or an effbench Candidate); or a
    list of Candidates. X, y: the evaluation inputs and labels (quality is computed on them; latency
    uses the first ``b`` rows for batch size ``b``). ``train_times``: optional name -> seconds you
    measured for training (recorded as measured). ``db``: the store file (default: see docs).
    ``isolate=False`` runs in this process (for models that cannot be pickled; the thread limits it sets,
    e.g. ``torch.set_num_threads(threads)``, then stay in force in this process). ``energy``: an
    :class:`EnergyConfig` (None to skip energy); ``carbon_region`` / ``carbon_g_per_kwh``: the grid's
    carbon intensity (default: the world average, see docs/energy.md). ``repeats``: time windows per
    latency cell (default 3, the fewest ``effbench compare`` tests by; see docs/protocol.md).
    """
    from effbench.candidates import Candidate, wrap

    if isinstance(models, dict):
        if not models:
            raise ConfigError("models: give at least one model (a dict name -> model)")
        candidates = [wrap(name, obj) for name, obj in models.items()]
    elif isinstance(models, (list, tuple)) and all(isinstance(c, Candidate) for c in models):
        candidates = list(models)
    else:
        raise ConfigError("models must be a dict name -> model, or a list of effbench Candidates")
    task = _make_task(task_name, X, y)
    training = {}
    for name, seconds in (train_times or {}).items():
        training[name] = {"train_time_s": float(seconds), "source": "given by the user"}
    if progress is None:
        from effbench.report.progress import default_progress

        progress = default_progress()
    return execute_run(candidates, task, suite=f"custom:{task_name}", batch_sizes=batch_sizes, threads=threads, timing=timing,
                       db=db, isolate=isolate, seed=seed, repeats=repeats, training=training, progress=progress, energy=energy,
                       carbon=resolve_carbon(carbon_region, carbon_g_per_kwh) if energy is not None and energy.enabled else None)


def run_suite(*, quick: bool = False, models=None, backends=None, batch_sizes=None, threads: int = 1, db=None,
              timing=None, seed: int = 0, repeats: int = DEFAULT_REPEATS, progress=None, log=None, energy: EnergyConfig | None = None,
              carbon_region: str | None = None, carbon_g_per_kwh: float | None = None) -> BenchmarkResult:
    """The default suite (digits) or its quick version; trains the candidates, then measures them."""
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, select_specs

    selection = select_specs(models, backends, quick=quick)
    if batch_sizes is None:
        batch_sizes = QUICK_BATCH_SIZES if quick else DEFAULT_BATCH_SIZES
    if timing is None:
        timing = QUICK_TIMING if quick else SUITE_TIMING
    if energy is None:
        energy = QUICK_ENERGY if quick else EnergyConfig()
    carbon = resolve_carbon(carbon_region, carbon_g_per_kwh)  # validated even when energy is off
    if not energy.enabled:
        carbon = None
    from effbench.store.db import Store

    task = load_digits_task()
    # fail fast, before training: batch sizes and the database
    resolve_batch_sizes(batch_sizes, len(task.y_test))
    Store(db).close()
    if progress is None:
        from effbench.report.progress import default_progress

        progress = default_progress()
    info = energy_setup(energy, log=log)
    train_meter = None
    if info is not None:
        from effbench.measure.energy_cells import build_meter

        train_meter, _ = build_meter(energy)  # training runs in this process: its CPU time is what the estimate uses
    candidates, training = build_candidates(task, selection, quick=quick, on_progress=log, energy_meter=train_meter)
    from effbench.zoo.variants import failed_records

    return execute_run(candidates, task, suite="digits-quick" if quick else "digits", batch_sizes=batch_sizes, threads=threads,
                       timing=timing, db=db, seed=seed, repeats=repeats, training=training, progress=progress,
                       extra_config={"quick": quick, "models": models, "backends": backends}, energy=energy, carbon=carbon,
                       energy_info=info, failed_records=failed_records(training))


