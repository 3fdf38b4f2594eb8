"""The Python API, a thin facade over the runs layer: benchmark your own models, or run the default suite.

    import effbench
    result = effbench.benchmark({"forest": fitted_forest, "net": torch_module}, X_test, y_test)
    for row in result.table():
        print(row["candidate"], row["accuracy"].value, row["latency_p50_s_b1"].value)

Both paths are the latency mode (:mod:`effbench.runs.latency`): a plan of candidates x batch sizes,
one worker process per candidate, the timing protocol, the store. Every run is written to the store
as it goes. Tail quality is the other mode: :mod:`effbench.runs.tail`.
"""

from __future__ import annotations

from effbench.errors import ConfigError
from effbench.executor import DEFAULT_REPEATS
from effbench.measure.energy_cells import EnergyConfig
from effbench.measure.timer import TimingConfig
from effbench.records import REPORTED
from effbench.runs.latency import BenchmarkResult, load_run, resolve_batch_sizes

__all__ = ["benchmark", "run_suite", "track", "load_run", "BenchmarkResult", "resolve_batch_sizes", "DEFAULT_BATCH_SIZES",
           "QUICK_BATCH_SIZES", "SUITE_TIMING", "QUICK_TIMING", "QUICK_ENERGY"]

DEFAULT_BATCH_SIZES = (1, 8, 32, 128, "all")
QUICK_BATCH_SIZES = (1, 32)
SUITE_TIMING = TimingConfig(max_time_s=0.6, min_time_s=0.1)
QUICK_TIMING = TimingConfig(max_time_s=0.15, min_time_s=0.03, min_samples=5)
QUICK_ENERGY = EnergyConfig(min_window_s=0.05, idle_s=0.2)


def _candidates(models) -> list:
    from effbench.candidates import Candidate, wrap

    if isinstance(models, dict):
        if not models:
            raise ConfigError("models: give at least one model (a dict name -> model)")
        return [wrap(name, obj) for name, obj in models.items()]
    if isinstance(models, (list, tuple)) and models and all(isinstance(c, Candidate) for c in models):
        return list(models)
    raise ConfigError("models must be a dict name -> model, or a list of effbench Candidates")


def _carbon(energy, region, g_per_kwh):
    """The grid's carbon intensity (validated even when energy is off), or None without energy."""
    from effbench.runs.energy import resolve_carbon

    carbon = resolve_carbon(region, g_per_kwh)
    return carbon if energy is not None and energy.enabled else None


def benchmark(models, X, y, *, batch_sizes=DEFAULT_BATCH_SIZES, threads: int = 1, db=None, isolate: bool = True,
              timing=None, task_name: str = "custom", train_times: dict | None = None, progress=None, seed: int = 0,
              repeats: int = DEFAULT_REPEATS, energy: EnergyConfig | None = EnergyConfig(), carbon_region: str | None = None,
              carbon_g_per_kwh: float | None = None, timeout_s: float | None = None,
              resume: str | None = None, training_from: dict | None = None, executor: str = "local",
              address: str | None = None, hardware: str | None = None, task: str = "classification",
              metrics=None) -> BenchmarkResult:
    """Benchmark your own models on your own data.

    models: a dict name -> model, where a model is a ``torch.nn.Module``, an ONNX file path or bytes,
    a fitted scikit-learn estimator, any callable ``f(X) -> labels`` (or an effbench Candidate); or a
    list of Candidates. X, y: the evaluation inputs and labels (quality is computed on them; latency
    uses the first ``b`` rows for batch size ``b``); X may be a dict of named arrays (one per model
    input: ``{"input_ids": ids, "attention_mask": mask}``), integer and bool arrays keep their dtype.
    ``task``: ``classification`` or ``regression``; ``metrics``: names of its metrics (``top5``,
    ``balanced_accuracy``, ``mae``, ``rmse``, ``r2``, ``python:module:function``; default: accuracy
    and macro-F1 for classification, rmse for regression), each stored with its direction. ``train_times``: optional name -> seconds you
    measured yourself for training (stored as ``reported``: typed in, not measured by effbench). ``db``: the store file or a ``postgresql://`` URL (default: see docs).
    ``isolate=False`` runs in this process (for models that cannot be pickled; the thread limits it sets,
    e.g. ``torch.set_num_threads(threads)``, then stay in force in this process). ``energy``: an
    :class:`EnergyConfig` (None to skip energy); ``carbon_region`` / ``carbon_g_per_kwh``: the grid's
    carbon intensity (default: the world average, see docs/energy.md). ``repeats``: time windows per
    latency cell (default 3, the fewest ``effbench compare`` tests by; see docs/protocol.md).
    ``timeout_s``: how long any one step of a candidate may take before it is called hung and fails
    alone (default: scaled with the step's work, see docs/reliability.md). ``resume``: the id of a run
    of this call that did not complete; call again with the same models and arguments, and only what
    the run lacks is measured, into it. ``training_from``: model name -> the name of a tracking
    (:func:`effbench.track`) whose training time and energy the model takes; a model without
    ``train_times`` or ``training_from`` takes the latest complete tracking named as the model, if any.
    ``executor="ray"``: each candidate runs on a node of the Ray
    cluster at ``address`` ("auto" or "HOST:PORT"; None starts a one-node Ray here), only on nodes
    labelled ``hardware`` if given (docs/fleet.md).
    """
    from effbench.runs.latency import measure_run
    from effbench.tasks.base import Task

    candidates = _candidates(models)
    from effbench.tasks.metrics import DEFAULT_METRICS, check_labels

    if task == "regression":
        y = check_labels(y, task)
    task = Task.from_arrays(task_name, X, y, task_type=task,
                            metrics=DEFAULT_METRICS.get(task, ()) if metrics is None and task == "regression" else metrics or ())
    training = {name: {"train_time_s": float(seconds), "provenance": REPORTED, "source": "given by the user"} for name, seconds in (train_times or {}).items()}
    if progress is None:
        from effbench.report.progress import default_progress

        progress = default_progress()
    return measure_run(candidates, task, suite=f"custom:{task_name}", batch_sizes=batch_sizes, threads=threads, timing=timing,
                       db=db, isolate=isolate, seed=seed, repeats=repeats, training=training, progress=progress, energy=energy,
                       carbon=_carbon(energy, carbon_region, carbon_g_per_kwh), timeout_s=timeout_s, resume=resume,
                       training_from=training_from, executor=executor, address=address, hardware=hardware)


def track(name: str, *, db=None, energy: EnergyConfig | None = EnergyConfig(), carbon_region: str | None = None,
          carbon_g_per_kwh: float | None = None):
    """``with effbench.track("train-resnet") as t: train()``: the wall time and energy of the block, measured
    with a run's meters and stored as tracking ``name``, which a later run's candidate of that name (or one
    that names it: ``training_from``, a suite file's ``training``) takes as its training cost. ``t.time_s``,
    ``t.energy_j`` and ``t.provenance`` hold the figures after the block. See docs/your-models.md."""
    from effbench.runs.track import track as _track

    return _track(name, db=db, energy=energy if energy is not None else EnergyConfig(enabled=False),
                  carbon_region=carbon_region, carbon_g_per_kwh=carbon_g_per_kwh)


def run_suite(*, quick: bool = False, models=None, backends=None, batch_sizes=None, threads: int = 1, db=None,
              timing=None, seed: int = 0, repeats: int = DEFAULT_REPEATS, progress=None, log=None, energy: EnergyConfig | None = None,
              carbon_region: str | None = None, carbon_g_per_kwh: float | None = None,
              timeout_s: float | None = None, resume: str | None = None, executor: str = "local",
              address: str | None = None, hardware: str | None = None) -> BenchmarkResult:
    """The default suite (digits) or its quick version; trains the candidates, then measures them.

    ``executor``, ``address``, ``hardware``: where the candidates run, as in :func:`benchmark`
    (the cluster is reached and the label checked before anything is trained).

    ``resume``: a run of the default suite that did not complete (an id, a unique prefix or 'latest'):
    its models are trained again (seeded, so the same) and only what it lacks is measured, into it,
    with its own settings; the other arguments but ``db``, ``progress``, ``log`` and ``timeout_s`` are
    then ignored.
    """
    from effbench.runs.energy import energy_setup
    from effbench.store.db import Store
    from effbench.tasks.digits import load_digits_task

    if resume is not None:
        return _resume_suite(resume, db=db, progress=progress, log=log, timeout_s=timeout_s)
    batch_sizes = batch_sizes if batch_sizes is not None else (QUICK_BATCH_SIZES if quick else DEFAULT_BATCH_SIZES)
    timing = timing if timing is not None else (QUICK_TIMING if quick else SUITE_TIMING)
    energy = energy if energy is not None else (QUICK_ENERGY if quick else EnergyConfig())
    carbon = _carbon(energy, carbon_region, carbon_g_per_kwh)
    task = load_digits_task()
    # fail fast, before training: the selection, the batch sizes and the database
    from effbench.zoo.digits_suite import select_specs

    select_specs(models, backends, quick=quick)
    resolve_batch_sizes(batch_sizes, len(task.y_test))
    Store(db).close()
    fleet = dict(executor=executor, address=address, hardware=hardware)
    if executor == "ray":
        from effbench.executor import ExecutionConfig
        from effbench.executors.ray import connect

        connect(ExecutionConfig(batch_sizes=(1,), **fleet))  # stays connected for the run
    info = energy_setup(energy, log=log)
    return _train_and_measure(task, quick=quick, models=models, backends=backends, batch_sizes=batch_sizes,
                              threads=threads, timing=timing, db=db, seed=seed, repeats=repeats, progress=progress,
                              log=log, energy=energy, carbon=carbon, energy_info=info, timeout_s=timeout_s, **fleet)


def _train_and_measure(task, *, quick, models, backends, progress, log, energy, energy_info, resume=None, **settings):
    """Train the suite's selected models (with training energy when energy is measured), then measure."""
    from effbench.runs.latency import measure_run
    from effbench.zoo.digits_suite import build_candidates, select_specs
    from effbench.zoo.variants import failed_records

    if progress is None:
        from effbench.report.progress import default_progress

        progress = default_progress()
    train_meter = None
    if energy_info is not None:
        from effbench.measure.energy_cells import build_meter

        train_meter, _ = build_meter(energy)  # training runs in this process: its CPU time is what the estimate uses
    selection = select_specs(models, backends, quick=quick)
    candidates, training = build_candidates(task, selection, quick=quick, on_progress=log, energy_meter=train_meter)
    return measure_run(candidates, task, suite="digits-quick" if quick else "digits", training=training, progress=progress,
                       extra_config={"quick": quick, "models": models, "backends": backends}, energy=energy,
                       energy_info=energy_info, failed_records=failed_records(training), resume=resume, **settings)


def _resume_suite(run_id: str, *, db, progress, log, timeout_s):
    """Resume a run of the default suite with the settings it was started with."""
    from effbench.runs.lifecycle import mark_stale_runs
    from effbench.store.db import Store
    from effbench.tasks.digits import load_digits_task

    with Store(db) as store:  # writable: a stale run is marked interrupted before it is resumed
        mark_stale_runs(store)
        run = store.load_run(run_id)
    if run.suite not in ("digits", "digits-quick"):
        return _resume_files(run, db=db, progress=progress, timeout_s=timeout_s)
    cfg = run.config
    energy = EnergyConfig(**cfg["energy"]) if cfg.get("energy") else EnergyConfig(enabled=False)
    return _train_and_measure(
        load_digits_task(), quick=bool(cfg.get("quick")), models=cfg.get("models"), backends=cfg.get("backends"),
        progress=progress, log=log, energy=energy, energy_info=run.environment.get("energy"), resume=run.run_id,
        batch_sizes=cfg["batch_sizes"], threads=cfg.get("threads", 1), timing=TimingConfig(**cfg["timing"]), db=db,
        seed=cfg.get("seed", 0), repeats=cfg.get("repeats", 1), isolate=cfg.get("isolate", True), carbon=cfg.get("carbon"),
        timeout_s=timeout_s if timeout_s is not None else cfg.get("command_timeout_s"),
        executor=cfg.get("executor", "local"), address=cfg.get("address"), hardware=cfg.get("hardware"),
    )


def _resume_files(run, *, db, progress, timeout_s):
    """Resume a suite-file or model-files run: its sources planned again, measured with its own settings."""
    from effbench.runs.files import plan_of_run
    from effbench.runs.latency import measure_run

    if run.status == "complete":
        raise ConfigError(f"--resume: run {run.run_id} is complete; there is nothing left to measure")
    plan, cfg = plan_of_run(run), run.config
    if progress is None:
        from effbench.report.progress import default_progress

        progress = default_progress()
    energy = EnergyConfig(**cfg["energy"]) if cfg.get("energy") else EnergyConfig(enabled=False)
    return measure_run(plan.candidates, plan.task, suite=plan.suite, batch_sizes=plan.batch_sizes, threads=plan.threads,
                       timing=TimingConfig(**cfg["timing"]), db=db, seed=cfg.get("seed", 0), repeats=cfg.get("repeats", 1),
                       progress=progress, extra_config=plan.config, energy=energy, carbon=cfg.get("carbon"),
                       energy_info=run.environment.get("energy"), resume=run.run_id, training=plan.training,
                       training_from=plan.training_from, failed_records=plan.failed_records,
                       timeout_s=timeout_s if timeout_s is not None else plan.timeout_s,
                       executor=cfg.get("executor", "local"), address=cfg.get("address"), hardware=cfg.get("hardware"))
