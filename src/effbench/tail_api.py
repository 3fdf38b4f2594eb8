"""Tail quality, measured: repeated inference rounds on a model, then the tail-quality analysis.

    from effbench.tail_api import measure_tail, TailConfig
    m = measure_tail(fitted_model, X_test, y_test, config=TailConfig(batch_size=1))
    info = m.report()                     # JSON-ready: thresholds, curve, convergence, prediction
    print(info["own_p99"]["min"], info["rounds_used"])

    from effbench.tail_api import measure_tail_suite
    result = measure_tail_suite(models_backends=[("cnn_small", "torch"), ("logreg", "sklearn")], db=path)

One worker process per candidate (the same worker as ``effbench run``) runs the rounds
(:mod:`effbench.measure.rounds`); this process runs the stopping rule between requests, then
measures ``holdout_rounds`` further rounds to check the prediction made from the rounds the
rule used. The analysis (:mod:`effbench.analysis.tail`) is pure; :func:`tail_report` composes
it into the dict stored as ``candidate.info["tail"]``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from effbench.analysis.tail import DEFAULT_PERCENTILES, ConvergenceConfig as _Rule
from effbench.errors import ConfigError

__all__ = [
    "TailConfig",
    "TailMeasurement",
    "TailSuiteResult",
    "measure_tail",
    "measure_tail_suite",
    "tail_report",
    "common_deadline",
    "parse_candidate_keys",
]

SCHEMA = "effbench.tail/1"


def _whole(v, name, low):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ConfigError(f"{name}: expected a whole number >= {low}, got {v!r}")
    return int(v)


def _positive_seconds(v, name):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a positive number of seconds, got {v!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ConfigError(f"{name}: expected a positive number of seconds, got {v!r}")
    return x


@dataclass(frozen=True)
class TailConfig:
    """Every setting of a tail-quality measurement, validated here (one place).

    * ``batch_size``: instances per inference call; every instance takes its batch's time.
    * ``time_kind``: ``e2e`` (prepare + infer + sync + to_labels, default: what a caller waits
      for) or ``inference`` (infer + sync only) is compared with the deadlines; both are recorded.
    * ``thresholds_s`` (user deadlines), ``percentiles`` (of the pooled per-instance times of
      the rounds the stopping rule used), ``grid`` (points of the quality-vs-deadline curve),
      ``quantile`` (the tail quality's level).
    * Stopping rule: ``every``, ``window``, ``js_threshold``, ``min_rounds``, ``max_rounds``
      (see :class:`effbench.analysis.tail.ConvergenceConfig`).
    * ``holdout_rounds``: rounds measured after the stop, to check the prediction (0: none).
    * ``fixed_rounds``: instead, measure exactly this many rounds and replay the stopping rule
      on them (the rounds after its stop are the held-out ones): a fixed-count protocol and the
      rule on the same data.
    * ``warmup_rounds``: discarded rounds before the first timed one.
    * Prediction: ``n_simulated`` Monte Carlo rounds, ``prediction_method`` (``empirical`` or
      ``kde``), ``round_effect`` (see :func:`effbench.analysis.tail.predict_quality`).
    """

    batch_size: int = 1
    time_kind: str = "e2e"
    thresholds_s: tuple[float, ...] = ()
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    grid: int = 20
    quantile: float = 0.01
    # the stopping rule's defaults are the analysis module's, stated once there
    every: int = _Rule.every
    window: int = _Rule.window
    js_threshold: float = _Rule.threshold
    min_rounds: int = _Rule.min_rounds
    max_rounds: int = _Rule.max_rounds
    holdout_rounds: int = 20
    fixed_rounds: int | None = None
    warmup_rounds: int = 1
    n_simulated: int = 2000
    prediction_method: str = "empirical"
    round_effect: bool = True
    threads: int = 1
    seed: int = 0
    isolate: bool = True
    timeout_s: float = 600.0

    def __post_init__(self):
        from effbench.analysis.tail import _check_quantile
        from effbench.measure.rounds import TIME_KINDS

        _whole(self.batch_size, "batch_size", 1)
        if self.time_kind not in TIME_KINDS:
            raise ConfigError(f"time_kind: expected one of {', '.join(TIME_KINDS)}, got {self.time_kind!r}")
        object.__setattr__(self, "thresholds_s", tuple(_positive_seconds(v, "threshold") for v in self.thresholds_s))
        pcts = tuple(float(p) for p in self.percentiles)
        for p in pcts:
            if not 0.0 < p <= 100.0:
                raise ConfigError(f"percentiles: expected values in (0, 100], got {p!r}")
        if 99.0 not in pcts:
            pcts = pcts + (99.0,)  # the own-p99 deadline is always reported
        object.__setattr__(self, "percentiles", pcts)
        _whole(self.grid, "grid", 0)
        _check_quantile(self.quantile)
        _whole(self.holdout_rounds, "holdout_rounds", 0)
        if self.fixed_rounds is not None:
            _whole(self.fixed_rounds, "fixed_rounds", 2)
        _whole(self.warmup_rounds, "warmup_rounds", 0)
        _whole(self.n_simulated, "n_simulated", 1)
        if self.prediction_method not in ("empirical", "kde"):
            raise ConfigError(f"prediction_method: expected 'empirical' or 'kde', got {self.prediction_method!r}")
        _whole(self.threads, "threads", 1)
        _positive_seconds(self.timeout_s, "timeout_s")
        self.convergence()  # validates every/window/js_threshold/min_rounds/max_rounds

    def convergence(self):
        return _Rule(every=self.every, window=self.window, threshold=self.js_threshold,
                     min_rounds=self.min_rounds, max_rounds=self.max_rounds, seed=self.seed)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["thresholds_s"] = list(self.thresholds_s)
        d["percentiles"] = list(self.percentiles)
        return d


# --------------------------------------------------------------------------- analysis (pure)


def _time_stats(batch_times: np.ndarray) -> dict:
    """Latency summary per batch call. The percentiles use :func:`effbench.analysis.stats.quantile`
    (numpy's ``linear``), the method of the cost table's p50/p90/p99, so the two agree; the
    deadlines at percentiles (``thresholds``) keep the tail analysis's ``inverted_cdf``."""
    from effbench.analysis.stats import quantile

    v = np.asarray(batch_times, dtype=float).ravel()
    return {"p50_s": float(quantile(v, 0.5)), "p90_s": float(quantile(v, 0.9)), "p99_s": float(quantile(v, 0.99)),
            "mean_s": float(v.mean()), "min_s": float(v.min()), "max_s": float(v.max()), "n": int(v.size),
            "percentile_method": "linear"}


def tail_report(fit, holdout, y, convergence, config: TailConfig, *, common_deadline_s: float | None = None) -> dict:
    """The JSON-ready tail-quality summary of one measured candidate (pure: arrays in, dict out).

    ``fit``: the :class:`~effbench.measure.rounds.RoundsData` the stopping rule used;
    ``holdout``: the rounds measured after it (or None). Deadlines at percentiles come from the
    ``fit`` rounds; observed qualities are over every measured round (fit + holdout); the
    prediction is fitted on ``fit`` and checked against ``holdout``.
    """
    from effbench.analysis import tail as tq
    from effbench.measure.rounds import RoundsData

    kind = config.time_kind
    q = config.quantile
    every = RoundsData.concat([fit, holdout]) if holdout is not None else fit
    fit_t = fit.instance_times(kind)
    all_t = every.instance_times(kind)
    all_c = every.correct(y)
    thresholds = tq.select_thresholds(fit_t, config.thresholds_s, config.percentiles, 0)
    if common_deadline_s is not None:
        thresholds.append(tq.Threshold(_positive_seconds(common_deadline_s, "common deadline"), "common", "common"))
    values = np.array([t.value_s for t in thresholds])
    qual = tq.quality_matrix(all_t, all_c, values)
    analysis = tq.TailAnalysis(
        thresholds=thresholds, qualities=qual, unconstrained=tq.unconstrained_quality(all_c), quantile=q,
        summary=tq.summarize_quality(qual, q), rounds=every.rounds, instances=every.n_instances,
        batched=fit.batch_size > 1,
    )
    out = analysis.to_dict()
    key = out["quantile_key"]
    rows = out["thresholds"]

    def pick(origin, label):
        for row in rows:
            if row["origin"] == origin and row["label"] == label:
                return row
        return None

    curve = []
    if config.grid:
        grid = tq.select_thresholds(all_t, (), (), config.grid)
        gv = np.array([g.value_s for g in grid])
        gq = tq.summarize_quality(tq.quality_matrix(all_t, all_c, gv), q)
        curve = [{"threshold_s": float(v), "min": float(gq["min"][j]), key: float(gq["quantile"][j]),
                  "mean": float(gq["mean"][j]), "max": float(gq["max"][j])} for j, v in enumerate(gv)]

    batch_ids = fit.batch_ids if fit.batch_size > 1 else None
    pred_rows = []
    if holdout is not None:
        chk = tq.evaluate_prediction(
            all_t, all_c, values, fit_rounds=fit.rounds, n_rounds=config.n_simulated,
            method=config.prediction_method, quantile=q, batch_ids=batch_ids, seed=config.seed,
            round_effect=config.round_effect,
        )
        for j, thr in enumerate(thresholds):
            pred_rows.append({
                "threshold_s": thr.value_s, "origin": thr.origin, "label": thr.label,
                "observed_min": float(chk.observed["min"][j]),
                "predicted_min": float(chk.predicted_min_over_holdout[j]),
                "observed_mean": float(chk.observed["mean"][j]),
                "predicted_mean": float(chk.predicted["mean"][j]),
                f"predicted_{key}": float(chk.predicted["quantile"][j]),
                "error_min_pp": float(chk.error_min_pp[j]),
                "error_mean_pp": float(chk.error_mean_pp[j]),
                "error_quantile_pp": float(chk.error_quantile_pp[j]),
            })
    else:
        pred = tq.predict_quality(fit_t, fit.correct(y), values, n_rounds=config.n_simulated,
                                  method=config.prediction_method, quantile=q, batch_ids=batch_ids,
                                  seed=config.seed, round_effect=config.round_effect)
        ps = pred.summary
        emin = pred.expected_min(100)
        for j, thr in enumerate(thresholds):
            pred_rows.append({
                "threshold_s": thr.value_s, "origin": thr.origin, "label": thr.label,
                "predicted_mean": float(ps["mean"][j]), f"predicted_{key}": float(ps["quantile"][j]),
                "predicted_min_100_rounds": float(emin[j]),
            })

    return {
        "schema": SCHEMA,
        "provenance": "measured",
        "time_kind": kind,
        "batch_size": fit.batch_size,
        "instances": every.n_instances,
        "comparison": out["comparison"],
        "quantile": q,
        "quantile_key": key,
        "quantile_method": out["quantile_method"],
        "percentile_method": out["percentile_method"],
        "percentiles_from": "the rounds the stopping rule used",
        "std_ddof": 1,
        "unconstrained": out["unconstrained"],
        "thresholds": rows,
        "own_p99": pick("percentile", "p99"),
        "common_deadline": pick("common", "common"),
        "rounds_used": convergence.rounds_used,
        "rounds_measured": every.rounds,
        "holdout_rounds": 0 if holdout is None else holdout.rounds,
        "warmup_rounds": int(fit.meta.get("warmup_rounds", config.warmup_rounds)),
        "convergence": {**convergence.to_dict(), "time_kind": kind},
        "curve": curve,
        "prediction": {
            "method": config.prediction_method,
            "round_effect": config.round_effect,
            "n_simulated": config.n_simulated,
            "fit_rounds": fit.rounds,
            "holdout_rounds": 0 if holdout is None else holdout.rounds,
            "error_unit": "percentage points",
            "thresholds": pred_rows,
        },
        "times": {k: _time_stats(every.batch_times(k)) for k in ("inference", "e2e")},
        "times_unit": "seconds per batch call",
        "protocol": {k: v for k, v in fit.meta.items() if k not in ("wall_time_s",)},
    }


def common_deadline(p99_by_candidate: dict[str, float]) -> float:
    """The default common deadline: the median (numpy's, mean of the middle two for an even
    count) of the candidates' own p99 deadlines."""
    vals = [float(v) for v in p99_by_candidate.values() if v is not None]
    if not vals:
        raise ConfigError("common deadline: no candidate was measured, so there is no p99 deadline to take the median of")
    return float(np.median(vals))


# --------------------------------------------------------------------------- measuring


@dataclass
class TailMeasurement:
    """Raw rounds of one candidate (the truth) and the stopping rule's result."""

    key: str
    fit: object                    # RoundsData: the rounds the stopping rule used
    holdout: object | None         # RoundsData measured after the stop, or None
    convergence: object            # effbench.analysis.tail.ConvergenceResult
    y: np.ndarray
    config: TailConfig
    worker_info: dict = field(default_factory=dict)
    wall_time_s: float = 0.0

    def all_rounds(self):
        from effbench.measure.rounds import RoundsData

        return RoundsData.concat([self.fit, self.holdout]) if self.holdout is not None else self.fit

    def own_p99_s(self) -> float:
        """The own-p99 deadline (the same value as ``report()["own_p99"]["threshold_s"]``), without
        the prediction's simulation: the p99 of the per-instance times of the rounds the rule used."""
        from effbench.analysis.tail import select_thresholds

        return select_thresholds(self.fit.instance_times(self.config.time_kind), (), (99.0,), 0)[0].value_s

    @property
    def accuracy(self) -> float:
        """Unconstrained accuracy, mean over every measured round."""
        return float(self.all_rounds().correct(self.y).mean())

    def report(self, common_deadline_s: float | None = None) -> dict:
        out = tail_report(self.fit, self.holdout, self.y, self.convergence, self.config,
                          common_deadline_s=common_deadline_s)
        out["worker"] = self.worker_info
        out["measure_wall_time_s"] = self.wall_time_s
        return out


def _run_on_worker(worker, key, y, config: TailConfig, log) -> TailMeasurement:
    from effbench.analysis.tail import convergence_round
    from effbench.measure.rounds import measure_more, rounds_until_converged, worker_source

    source = worker_source(worker, batch_size=config.batch_size, warmup_rounds=config.warmup_rounds,
                           timeout_s=config.timeout_s)
    cfg = config.convergence()
    t0 = time.perf_counter()
    if config.fixed_rounds:
        data = measure_more(source, config.fixed_rounds, chunk=10,
                            on_rounds=lambda n: log(f"{key}: {n}/{config.fixed_rounds} rounds"))
        conv = convergence_round(data.instance_times(config.time_kind), cfg)
        used = conv.rounds_used
        fit = data.take(slice(0, used))
        holdout = data.take(slice(used, None)) if used < data.rounds else None
    else:
        def progress(n, mon):
            step = mon.trace[-1] if mon.trace else None
            js = "" if step is None or step.max_js is None else f", max JS {step.max_js:.3f}"
            log(f"{key}: {n} rounds{js}")

        fit, conv = rounds_until_converged(source, cfg, time_kind=config.time_kind, on_rounds=progress)
        log(f"{key}: stopping rule: {conv.stopped_by} after {conv.rounds_used} rounds")
        holdout = None
        if config.holdout_rounds:
            holdout = measure_more(source, config.holdout_rounds, chunk=max(cfg.every, 5),
                                   on_rounds=lambda n: log(f"{key}: {n}/{config.holdout_rounds} held-out rounds"))
    return TailMeasurement(key, fit, holdout, conv, np.asarray(y).ravel(), config,
                           wall_time_s=time.perf_counter() - t0)


def _measure_candidate(candidate, X, y, config: TailConfig, log) -> TailMeasurement:
    from effbench.executor import InlineWorker, ProcessWorker

    worker = (ProcessWorker if config.isolate else InlineWorker)(candidate, config.threads)
    try:
        info = worker.ready(config.timeout_s)
        worker.request(("data", np.ascontiguousarray(X, dtype=np.float32)), config.timeout_s)
        m = _run_on_worker(worker, candidate.key, y, config, log)
        m.worker_info = {k: v for k, v in info.items() if k in ("pid", "thread_settings", "load_time_s", "isolated")}
        return m
    finally:
        worker.close()


def measure_tail(candidate_or_model, X, y, *, name: str = "model", config: TailConfig | None = None,
                 log=None, **settings) -> TailMeasurement:
    """Measure the tail quality of one model on ``(X, y)``.

    ``candidate_or_model``: an effbench Candidate, a fitted scikit-learn estimator, a
    ``torch.nn.Module``, ONNX bytes or path, or a callable ``f(X) -> labels`` (see
    :func:`effbench.candidates.wrap`; ``name`` names it). Settings: a :class:`TailConfig`, or its
    fields as keywords (``batch_size=1``, ``holdout_rounds=20``, ``isolate=False`` for a model
    that cannot be pickled to a worker process, ...). Call ``.report()`` on the result.
    """
    from effbench.candidates import wrap
    from effbench.errors import DataError

    if config is not None and settings:
        raise ConfigError(f"measure_tail: give either config or keyword settings, got both ({', '.join(settings)})")
    if config is None:
        try:
            config = TailConfig(**settings)
        except TypeError as exc:
            raise ConfigError(f"measure_tail: {exc}; allowed settings: the fields of TailConfig") from None
    X = np.asarray(X)
    y = np.asarray(y).ravel()
    if X.ndim < 2 or len(X) == 0:
        raise DataError(f"X: expected one row per example (2-D or more, non-empty), got shape {X.shape}")
    if len(X) != len(y):
        raise DataError(f"y: expected one label per row of X ({len(X)}), got {len(y)}")
    candidate = wrap(name, candidate_or_model)
    return _measure_candidate(candidate, X, y, config, log or (lambda text: None))


# --------------------------------------------------------------------------- the suite


def parse_candidate_keys(keys) -> list[tuple[str, str | None]]:
    """``["cnn_small/torch", "logreg"]`` -> ``[("cnn_small", "torch"), ("logreg", None)]``, checked
    against the default suite (a bare name means all of its backends)."""
    from effbench.zoo.digits_suite import MODEL_NAMES, SPECS

    out = []
    for raw in keys:
        text = str(raw).strip()
        name, _, backend = text.partition("/")
        if name not in MODEL_NAMES:
            raise ConfigError(f"--candidate: unknown candidate {text!r}; allowed: NAME or NAME/BACKEND with NAME in {', '.join(MODEL_NAMES)}")
        spec = next(s for s in SPECS if s.name == name)
        if backend and backend not in spec.backends:
            raise ConfigError(f"--candidate: {name} has no backend {backend!r}; allowed: {', '.join(spec.backends)}")
        out.append((name, backend or None))
    return out


@dataclass
class TailSuiteResult:
    measurements: list[TailMeasurement]
    reports: dict[str, dict]              # key -> info["tail"]
    accuracy: dict[str, float]
    common_deadline_s: float | None
    common_deadline_origin: str           # "user" or "median of own p99"
    failed: dict[str, str]
    run_id: str | None = None
    db_path: str | None = None
    train_time_s: dict[str, float] = field(default_factory=dict)


def _selection(pairs, quick):
    from effbench.zoo.digits_suite import select_specs

    if not pairs:
        return select_specs(None, None, quick=quick)
    wanted: dict[str, set | None] = {}  # name -> backends wanted (None: all of its backends)
    for name, backend in pairs:
        if backend is None:
            wanted[name] = None
        elif name not in wanted:
            wanted[name] = {backend}
        elif wanted[name] is not None:
            wanted[name].add(backend)
    out = []
    for spec, backends in select_specs(list(wanted), None, quick=quick):
        keep = backends if wanted[spec.name] is None else tuple(b for b in backends if b in wanted[spec.name])
        if keep:
            out.append((spec, keep))
    return out


def measure_tail_suite(candidates=None, *, quick: bool = False, config: TailConfig | None = None,
                       common_deadline_s: float | None = None, db=None, store: bool = True,
                       log=None) -> TailSuiteResult:
    """Train the selected default-suite candidates on digits and measure their tail quality.

    ``candidates``: keys such as ``"cnn_small/torch"`` or bare names (all backends); default:
    the suite (``quick``: the quick suite). ``common_deadline_s``: one deadline for every
    candidate; default: the median of their own p99 deadlines. With ``store=True`` the results
    go into a new run of the store (``db``): one candidate record per candidate with
    ``info["tail"]``, its predictions (first timed round), accuracy/f1_macro metrics, the training
    metrics as ``effbench run`` writes them, and the raw per-batch round times as sample sets
    ``tail_e2e_per_batch`` / ``tail_inference_per_batch`` (values: rounds x batches, row-major).
    The store is opened and checked before any training. Each candidate's report is computed
    once: when every candidate is measured (the default common deadline needs every own p99),
    or as soon as it is measured when ``common_deadline_s`` is given.
    """
    from effbench.executor import CommandError, WorkerFailure
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates

    config = config or TailConfig()
    log = log or (lambda text: None)
    if common_deadline_s is not None:
        common_deadline_s = _positive_seconds(common_deadline_s, "--deadline-common")
    pairs = parse_candidate_keys(candidates or [])
    selection = _selection(pairs, quick)
    if store:
        from effbench.store.db import Store

        Store(db).close()  # fail fast, before training: a folder or a file that is not an effbench store
    task = load_digits_task()
    built, training = build_candidates(task, selection, quick=quick, on_progress=log)

    store_ctx = None
    run_id = None
    if store:
        store_ctx, run_id = _open_run(db, task, config, quick, common_deadline_s)
    measurements, failed = [], {}
    reports: dict[str, dict] = {}  # key -> report; each computed once (its prediction simulates n_simulated rounds)
    origin = "user" if common_deadline_s is not None else "none"
    status = "failed"
    try:
        recorder = None
        if store_ctx:
            from effbench.api import _StoreRecorder

            recorder = _StoreRecorder(store_ctx, run_id, task, training)
        for c in built:
            if store_ctx:
                _add_candidate(store_ctx, run_id, c, recorder)
            log(f"measuring {c.key}")
            try:
                m = _measure_candidate(c, task.X_test, task.y_test, config, log)
            except (WorkerFailure, CommandError) as exc:
                failed[c.key] = str(exc)
                log(f"{c.key}: failed: {exc}")
                if store_ctx:
                    store_ctx.update_candidate(run_id, c.key, status="failed", error=str(exc),
                                               info={"traceback": getattr(exc, "traceback", "")})
                continue
            measurements.append(m)
            if origin == "user":  # the deadline is known: this report is the final one
                reports[m.key] = {**m.report(common_deadline_s), "common_deadline_origin": origin}
            if store_ctx:
                _store_measurement(store_ctx, run_id, m, task, reports.get(m.key))
        if measurements and origin != "user":
            common_deadline_s = common_deadline({m.key: m.own_p99_s() for m in measurements})
            origin = "median of own p99"
        for m in measurements:
            if m.key not in reports:
                reports[m.key] = {**m.report(common_deadline_s), "common_deadline_origin": origin}
                if store_ctx:
                    store_ctx.update_candidate(run_id, m.key, info={"tail": reports[m.key]})
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        if store_ctx:
            from effbench.measure.environment import load_average

            notes = [] if status == "complete" else [f"tail measurement {status}; results measured before are kept"]
            if status != "complete":
                _store_partial_reports(store_ctx, run_id, measurements, reports, notes)
            store_ctx.finish_run(run_id, status, notes, environment_after={"load_average_after": load_average()})
            db_path = str(store_ctx.path)
            store_ctx.close()
        else:
            db_path = None
    return TailSuiteResult(
        measurements=measurements, reports=reports, accuracy={m.key: m.accuracy for m in measurements},
        common_deadline_s=common_deadline_s, common_deadline_origin=origin, failed=failed,
        run_id=run_id, db_path=db_path,
        train_time_s={k: v["train_time_s"] for k, v in training.items()},
    )


def _open_run(db, task, config, quick, common_deadline_s):
    import effbench
    from effbench.measure.environment import collect_environment
    from effbench.store.db import Store

    store = Store(db)
    run_id = store.create_run(
        suite="digits-tail-quick" if quick else "digits-tail",
        config={"tail": config.to_dict(), "quick": quick, "deadline_common_s": common_deadline_s,
                "threads": config.threads},
        environment=collect_environment(config.threads),
        task={**task.describe(), "y_test": np.asarray(task.y_test).ravel().tolist()},
        effbench_version=effbench.__version__,
    )
    return store, run_id


def _add_candidate(store, run_id, c, recorder):
    """The candidate's record and its training metrics, written by the run's own recorder
    (:meth:`effbench.api._StoreRecorder.training_metrics`: ``train_time_s``, and ``train_energy_j``
    when training energy was measured), so both commands store them the same way."""
    from effbench.store.db import CandidateRecord

    store.add_candidate(run_id, CandidateRecord(c.key, c.model, c.backend, c.family, c.parent, "running", info=c.describe()))
    recorder.training_metrics(c)


def _store_partial_reports(store, run_id, measurements, reports, notes):
    """After an interruption or a failure: the report of every measured candidate, so the results
    measured before are kept. A report not yet computed is computed here, without a common
    deadline (not every candidate's own p99 is known)."""
    try:
        for m in measurements:
            rep = reports.get(m.key)
            if rep is None:
                rep = {**m.report(None), "common_deadline_origin": "none (run not complete)"}
            store.update_candidate(run_id, m.key, info={"tail": rep})
    except Exception as exc:  # keep the original error; say what could not be stored
        notes.append(f"tail reports of the measured candidates could not be stored: {exc}")


def _store_measurement(store, run_id, m: TailMeasurement, task, report: dict | None):
    from effbench.store.db import Metric, SampleSet
    from effbench.tasks.base import quality_metrics

    data = m.all_rounds()
    first = data.predictions[0]
    store.update_candidate(run_id, m.key, status="ok", predictions=first, info=None if report is None else {"tail": report})
    detail = {"n_examples": int(len(first)), "split": "test", "note": "first timed round; no deadline"}
    store.add_metrics(run_id, [Metric(m.key, k, v, "ratio", "measured", 0, detail)
                               for k, v in quality_metrics(task.y_test, first).items()])
    meta = {"rounds": data.rounds, "n_batches": int(data.e2e_s.shape[1]), "layout": "rounds x batches, row-major",
            "fit_rounds": m.fit.rounds, "holdout_rounds": 0 if m.holdout is None else m.holdout.rounds,
            **{k: v for k, v in data.meta.items() if k != "wall_time_s"}}
    for kind in ("e2e", "inference"):
        store.add_samples(run_id, SampleSet(m.key, data.batch_size, f"tail_{kind}_per_batch", "s",
                                            data.batch_times(kind).ravel(), meta))
