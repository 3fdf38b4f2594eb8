"""The tail-quality mode: repeated inference rounds on a model, then the tail-quality analysis.

    from effbench.runs.tail import measure_tail, TailConfig
    m = measure_tail(fitted_model, X_test, y_test, config=TailConfig(batch_size=1))
    info = m.report()                     # JSON-ready: thresholds, curve, convergence, prediction
    print(info["own_p99"]["min"], info["rounds_used"])

    # a regression: an answer is good when on time and within the tolerance of the target
    m = measure_tail(regressor, X_test, y_test, tolerance=0.5)
    # named inputs (a dict of arrays, one row per instance in each)
    m = measure_tail(bert, {"input_ids": ids, "attention_mask": mask}, labels)

    from effbench.runs.tail import measure_tail_suite
    result = measure_tail_suite(["cnn_small/torch", "logreg/sklearn"], db=path)

One worker process per candidate (the same worker as ``effbench run``) runs the rounds
(:mod:`effbench.measure.rounds`); this process runs the stopping rule between requests
(:func:`rounds_until_converged`), then measures ``holdout_rounds`` further rounds to check the
prediction made from the rounds the rule used. The analysis (:mod:`effbench.analysis.tail`) is
pure; :func:`tail_report` composes it into the dict stored as ``candidate.info["tail"]``. A
stored tail run is opened and ended by :mod:`effbench.runs.lifecycle` and written by the one
:class:`~effbench.runs.recorder.Recorder`, like a latency run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from effbench.analysis.tail import DEFAULT_PERCENTILES, GRID, PERCENT, QUANTILE, SECONDS, ConvergenceConfig as _Rule
from effbench.errors import ConfigError, DataError
from effbench.measure.inputs import as_batch, n_rows
from effbench.measure.rounds import TIME_KINDS, RoundSource, RoundsData
from effbench.records import RANDOM_WEIGHTS
from effbench.sources.suite import TOLERANCE
from effbench.validation import Interval, Options, check, check_seed

__all__ = [
    "TailConfig",
    "TailMeasurement",
    "TailSuiteResult",
    "measure_tail",
    "measure_tail_suite",
    "rounds_until_converged",
    "tail_report",
    "common_deadline",
    "check_tolerance",
]

SCHEMA = "effbench.tail/1"


def _positive_seconds(v, name):
    return check(name, v, SECONDS)


def check_tolerance(task: str, tolerance, *, field: str = "tolerance", where: str = "the data",
                    example: str | None = None) -> float | None:
    """The tolerance a tail measurement on ``task`` needs, checked before anything is measured: a
    regression needs one (what a good answer is: within it of the target), a classification takes
    none (a good answer is the right label). ``field`` names the setting in the message."""
    if task == "regression":
        if tolerance is None:
            example = example or (f"{field} 0.5" if field.startswith("--") else f"{field} = 0.5")
            raise ConfigError(f"{field}: {where} is a regression, and the tail mode counts an on-time answer as good "
                              f"when |prediction - target| <= tolerance; give a number >= 0 in the target's units "
                              f"(e.g. {example})")
        return check(field, tolerance, TOLERANCE)
    if tolerance is not None:
        raise ConfigError(f"{field}: applies to regression only (a good answer within the tolerance of the target); "
                          f"{where} is a {task}, where a good answer is the right label; got {tolerance!r}")
    return None


@dataclass(frozen=True)
class TailConfig:
    """Every setting of a tail-quality measurement, validated here (one place).

    * ``batch_size``: instances per inference call; every instance takes its batch's time.
    * ``time_kind``: ``e2e`` (prepare + infer + sync + to_labels, default: what a caller waits
      for) or ``inference`` (infer + sync only) is compared with the deadlines; both are recorded.
    * ``tolerance``: None for classification (a good answer is the right label); a number >= 0,
      in the target's units, for regression: a good answer is on time and within it of the target
      (``|prediction - target| <= tolerance``). A late answer is a miss either way.
    * ``thresholds_s`` (user deadlines), ``percentiles`` (of the pooled per-instance times of
      the rounds the stopping rule used), ``grid`` (points of the quality-vs-deadline curve),
      ``quantile`` (the tail quality's level).
    * Stopping rule: ``rule`` (``js``: KDE of the pooled times; ``tail``: and the round effects
      stable, within ``round_threshold``; ``yang``: the authors' rule, ``js_threshold`` is then its
      rJSD threshold), ``every``, ``window`` (None: the rule's own, 3 or 5), ``js_threshold``,
      ``min_rounds``, ``max_rounds`` (see :func:`effbench.analysis.tail_rules.rule_config`).
    * ``holdout_rounds``: rounds measured after the stop, to check the prediction (0: none).
    * ``fixed_rounds``: instead, measure exactly this many rounds and replay the stopping rule
      on them (the rounds after its stop are the held-out ones): a fixed-count protocol and the
      rule on the same data.
    * ``warmup_rounds``: discarded rounds before the first timed one.
    * Prediction: ``n_simulated`` Monte Carlo rounds, ``prediction_method`` (``empirical`` or
      ``kde``), ``round_effect`` (see :func:`effbench.analysis.tail.predict_quality`); the
      held-out rounds are also checked against a prediction interval of probability
      ``interval_level`` from ``interval_draws`` posterior draws
      (:func:`effbench.analysis.tail_interval.predict_worst_interval`).
    """

    batch_size: int = 1
    time_kind: str = "e2e"
    tolerance: float | None = None
    thresholds_s: tuple[float, ...] = ()
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    grid: int = 20
    quantile: float = 0.01
    # the stopping rule's defaults are the analysis module's, stated once there
    rule: str = "tail"
    every: int = _Rule.every
    window: int | None = None
    js_threshold: float = _Rule.threshold
    round_threshold: float = 0.05
    min_rounds: int = _Rule.min_rounds
    max_rounds: int = _Rule.max_rounds
    holdout_rounds: int = 20
    fixed_rounds: int | None = None
    warmup_rounds: int = 1
    n_simulated: int = 2000
    interval_level: float = 0.9
    interval_draws: int = 400
    prediction_method: str = "empirical"
    round_effect: bool = True
    threads: int = 1
    seed: int = 0
    isolate: bool = True
    timeout_s: float = 600.0

    def __post_init__(self):
        whole = {name: Interval(int, low, None) for name, low in (
            ("batch_size", 1), ("holdout_rounds", 0), ("warmup_rounds", 0), ("n_simulated", 1), ("threads", 1),
            ("interval_draws", 2))}
        whole["grid"] = GRID
        for name, constraint in whole.items():
            object.__setattr__(self, name, check(name, getattr(self, name), constraint))
        if self.fixed_rounds is not None:
            object.__setattr__(self, "fixed_rounds", check("fixed_rounds", self.fixed_rounds, Interval(int, 2, None)))
        check("time_kind", self.time_kind, Options(TIME_KINDS))
        if self.tolerance is not None:
            object.__setattr__(self, "tolerance", check("tolerance", self.tolerance, TOLERANCE))
        check("prediction_method", self.prediction_method, Options({"empirical", "kde"}))
        object.__setattr__(self, "quantile", check("quantile", self.quantile, QUANTILE))
        object.__setattr__(self, "interval_level", check("interval_level", self.interval_level, QUANTILE))
        object.__setattr__(self, "timeout_s", check("timeout_s", self.timeout_s, SECONDS))
        object.__setattr__(self, "seed", check_seed(self.seed))
        object.__setattr__(self, "thresholds_s", tuple(check("threshold", v, SECONDS) for v in self.thresholds_s))
        pcts = tuple(check("percentiles", p, PERCENT) for p in self.percentiles)
        if 99.0 not in pcts:
            pcts = pcts + (99.0,)  # the own-p99 deadline is always reported
        object.__setattr__(self, "percentiles", pcts)
        self.convergence()  # validates every/window/js_threshold/min_rounds/max_rounds

    @property
    def task(self) -> str:
        """``regression`` when a tolerance is set, else ``classification``."""
        return "classification" if self.tolerance is None else "regression"

    def convergence(self):
        from effbench.analysis.tail_rules import rule_config

        return rule_config(self.rule, every=self.every, window=self.window, threshold=self.js_threshold,
                           round_threshold=self.round_threshold, min_rounds=self.min_rounds,
                           max_rounds=self.max_rounds, seed=self.seed)

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


def _deadlines(fit: RoundsData, config: TailConfig, common_deadline_s: float | None) -> list:
    """The deadlines: the user's, the percentiles of the fit rounds, and the common one if given."""
    from effbench.analysis import tail as tq

    thresholds = tq.select_thresholds(fit.instance_times(config.time_kind), config.thresholds_s, config.percentiles, 0)
    if common_deadline_s is not None:
        thresholds.append(tq.Threshold(_positive_seconds(common_deadline_s, "common deadline"), "common", "common"))
    return thresholds


def _curve(all_t, all_c, config: TailConfig, key: str) -> list[dict]:
    """Quality against deadline on ``config.grid`` deadlines spanning every measured time."""
    from effbench.analysis import tail as tq

    if not config.grid:
        return []
    gv = np.array([g.value_s for g in tq.select_thresholds(all_t, (), (), config.grid)])
    gq = tq.summarize_quality(tq.quality_matrix(all_t, all_c, gv), config.quantile)
    return [{"threshold_s": float(v), "min": float(gq["min"][j]), key: float(gq["quantile"][j]),
             "mean": float(gq["mean"][j]), "max": float(gq["max"][j])} for j, v in enumerate(gv)]


def _interval_config(config: TailConfig):
    from effbench.analysis.tail_interval import IntervalConfig

    return IntervalConfig(level=config.interval_level, n_draws=config.interval_draws, quantile=config.quantile,
                          seed=config.seed)


def _checked_intervals(all_t, all_c, thresholds, fit: RoundsData, config: TailConfig) -> list[dict]:
    """Per deadline: the prediction interval of the worst held-out round, what it was, and whether it is inside."""
    from effbench.analysis.tail_interval import check_worst_interval

    chk = check_worst_interval(all_t, all_c, np.array([t.value_s for t in thresholds]), fit_rounds=fit.rounds,
                               batch_ids=fit.batch_ids if fit.batch_size > 1 else None, config=_interval_config(config))
    return [{**row, "width_pp": 100.0 * (row["predicted_worst"]["high"] - row["predicted_worst"]["low"])}
            for row in chk.to_rows()]


def _checked_predictions(all_t, all_c, thresholds, fit: RoundsData, config: TailConfig, key: str) -> list[dict]:
    """Per deadline: the prediction fitted on the fit rounds against what the held-out rounds showed
    (today's point prediction and the prediction interval)."""
    from effbench.analysis import tail as tq

    chk = tq.evaluate_prediction(
        all_t, all_c, np.array([t.value_s for t in thresholds]), fit_rounds=fit.rounds, n_rounds=config.n_simulated,
        method=config.prediction_method, quantile=config.quantile, batch_ids=fit.batch_ids if fit.batch_size > 1 else None,
        seed=config.seed, round_effect=config.round_effect,
    )
    return [{
        "threshold_s": thr.value_s, "origin": thr.origin, "label": thr.label,
        "observed_min": float(chk.observed["min"][j]),
        "predicted_min": float(chk.predicted_min_over_holdout[j]),
        "observed_mean": float(chk.observed["mean"][j]),
        "predicted_mean": float(chk.predicted["mean"][j]),
        f"predicted_{key}": float(chk.predicted["quantile"][j]),
        "error_min_pp": float(chk.error_min_pp[j]),
        "error_mean_pp": float(chk.error_mean_pp[j]),
        "error_quantile_pp": float(chk.error_quantile_pp[j]),
        **interval,
    } for j, (thr, interval) in enumerate(zip(thresholds, _checked_intervals(all_t, all_c, thresholds, fit, config)))]


def _predictions(fit: RoundsData, y, thresholds, config: TailConfig, key: str) -> list[dict]:
    """Per deadline: the prediction fitted on the fit rounds (no held-out rounds to check it on)."""
    from effbench.analysis import tail as tq

    pred = tq.predict_quality(fit.instance_times(config.time_kind), fit.correct(y, config.tolerance), np.array([t.value_s for t in thresholds]),
                              n_rounds=config.n_simulated, method=config.prediction_method, quantile=config.quantile,
                              batch_ids=fit.batch_ids if fit.batch_size > 1 else None, seed=config.seed,
                              round_effect=config.round_effect)
    ps, emin = pred.summary, pred.expected_min(100)
    return [{"threshold_s": thr.value_s, "origin": thr.origin, "label": thr.label,
             "predicted_mean": float(ps["mean"][j]), f"predicted_{key}": float(ps["quantile"][j]),
             "predicted_min_100_rounds": float(emin[j])} for j, thr in enumerate(thresholds)]


def _interval_settings(config: TailConfig, fit_rounds: int, holdout_rounds: int) -> dict | None:
    from effbench.analysis.tail_interval import interval_settings

    return interval_settings(_interval_config(config), fit_rounds, holdout_rounds) if holdout_rounds else None


def _pick(rows: list[dict], origin: str, label: str) -> dict | None:
    return next((row for row in rows if row["origin"] == origin and row["label"] == label), None)


def _late_as_mean(all_t, every: RoundsData, y, thresholds, rows: list[dict], metrics) -> dict | None:
    """A regression's own metrics when late answers are replaced by the mean of the targets: per
    deadline row (``row["late_as_mean"][name]``: the mean over rounds and the worst round), and the
    fallback's description; None without metrics."""
    from effbench.analysis import tail as tq

    if not metrics:
        return None
    fallback = float(np.mean(y))
    values = every.predictions.astype(np.float64)
    for m in metrics:
        scores = tq.late_fallback_scores(all_t, values, y, [t.value_s for t in thresholds], m.fn, fallback=fallback)
        worst = scores.max(axis=0) if m.direction == "min" else scores.min(axis=0)
        for j, row in enumerate(rows):
            row.setdefault("late_as_mean", {})[m.name] = {"mean": float(scores[:, j].mean()), "worst": float(worst[j])}
    return {"fallback": "the mean of the test targets", "fallback_value": fallback,
            "metrics": {m.name: m.direction for m in metrics},
            "unconstrained": {m.name: float(np.mean([m.fn(y, row) for row in values])) for m in metrics}}


def tail_report(fit, holdout, y, convergence, config: TailConfig, *, common_deadline_s: float | None = None,
                fallback_metrics=()) -> dict:
    """The JSON-ready tail-quality summary of one measured candidate (pure: arrays in, dict out).

    ``fit``: the :class:`~effbench.measure.rounds.RoundsData` the stopping rule used;
    ``holdout``: the rounds measured after it (or None). Deadlines at percentiles come from the
    ``fit`` rounds; observed qualities are over every measured round (fit + holdout); the
    prediction is fitted on ``fit`` and checked against ``holdout``. A good answer is on time and
    right: the right label, or with ``config.tolerance`` within it of the target (``quality``
    says which). ``fallback_metrics`` (a regression's metrics, :class:`~effbench.tasks.metrics.MetricDef`)
    adds, per deadline, each metric with late answers replaced by the mean of the targets.
    """
    from effbench.analysis import tail as tq

    every = RoundsData.concat([fit, holdout]) if holdout is not None else fit
    all_t, all_c = every.instance_times(config.time_kind), every.correct(y, config.tolerance)
    thresholds = _deadlines(fit, config, common_deadline_s)
    qual = tq.quality_matrix(all_t, all_c, np.array([t.value_s for t in thresholds]))
    out = tq.TailAnalysis(
        thresholds=thresholds, qualities=qual, unconstrained=tq.unconstrained_quality(all_c), quantile=config.quantile,
        summary=tq.summarize_quality(qual, config.quantile), rounds=every.rounds, instances=every.n_instances,
        batched=fit.batch_size > 1,
    ).to_dict()
    key, rows = out["quantile_key"], out["thresholds"]
    late_as_mean = _late_as_mean(all_t, every, np.asarray(y, dtype=np.float64), thresholds, rows,
                                 fallback_metrics if config.tolerance is not None else ())
    n_holdout = 0 if holdout is None else holdout.rounds
    pred_rows = (_checked_predictions(all_t, all_c, thresholds, fit, config, key) if holdout is not None
                 else _predictions(fit, y, thresholds, config, key))
    return {
        "schema": SCHEMA,
        "provenance": "measured",
        "time_kind": config.time_kind,
        "batch_size": fit.batch_size,
        "instances": every.n_instances,
        "quality": tq.answer_definition(config.tolerance),
        "comparison": out["comparison"],
        "quantile": config.quantile,
        "quantile_key": key,
        "quantile_method": out["quantile_method"],
        "percentile_method": out["percentile_method"],
        "percentiles_from": "the rounds the stopping rule used",
        "std_ddof": 1,
        "unconstrained": out["unconstrained"],
        "thresholds": rows,
        **({"late_as_mean": late_as_mean} if late_as_mean else {}),
        "own_p99": _pick(rows, "percentile", "p99"),
        "common_deadline": _pick(rows, "common", "common"),
        "rounds_used": convergence.rounds_used,
        "rounds_measured": every.rounds,
        "holdout_rounds": n_holdout,
        "warmup_rounds": int(fit.meta.get("warmup_rounds", config.warmup_rounds)),
        "convergence": {**convergence.to_dict(), "time_kind": config.time_kind},
        "curve": _curve(all_t, all_c, config, key),
        "prediction": {
            "method": config.prediction_method,
            "round_effect": config.round_effect,
            "n_simulated": config.n_simulated,
            "fit_rounds": fit.rounds,
            "holdout_rounds": n_holdout,
            "error_unit": "percentage points",
            "interval": _interval_settings(config, fit.rounds, n_holdout),
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


def rounds_until_converged(
    source: RoundSource,
    config=None,
    *,
    time_kind: str = "e2e",
    on_rounds: Callable[[int, object], None] | None = None,
):
    """Measure rounds from ``source`` until the stopping rule says stop; returns ``(RoundsData, ConvergenceResult)``.

    Requests are ``config.every`` rounds long (capped at what ``max_rounds`` leaves), so the rule,
    which fits every ``every`` rounds, never leaves measured rounds past its stop. Per-instance
    times of kind ``time_kind`` (batch times expanded to their instances) feed the rule.
    ``on_rounds(rounds_so_far, monitor)`` is called after every request (progress).
    """
    from effbench.analysis.tail_rules import make_monitor

    if time_kind not in TIME_KINDS:
        raise ConfigError(f"time_kind: expected one of {', '.join(TIME_KINDS)}, got {time_kind!r}")
    cfg = config or _Rule()
    mon = make_monitor(cfg)
    parts: list[RoundsData] = []
    stop = False
    while not stop:
        k = min(cfg.every, cfg.max_rounds - mon.rounds_seen)
        got = source(k)
        if got.rounds != k:
            raise DataError(f"rounds: asked the source for {k} rounds, got {got.rounds}")
        times = got.instance_times(time_kind)
        used = 0
        for row in times:
            used += 1
            if mon.update(row):
                stop = True
                break
        parts.append(got.take(slice(0, used)) if used < got.rounds else got)
        if on_rounds:
            on_rounds(mon.rounds_seen, mon)
    data = RoundsData.concat(parts)
    res = mon.result()
    return data, res


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
    fallback_metrics: tuple = ()   # a regression's MetricDefs, scored with late answers replaced by the mean

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
        """Quality without deadline, mean over every measured round: the accuracy, or for a regression the
        share of answers within the tolerance."""
        return float(self.all_rounds().correct(self.y, self.config.tolerance).mean())

    def report(self, common_deadline_s: float | None = None) -> dict:
        out = tail_report(self.fit, self.holdout, self.y, self.convergence, self.config,
                          common_deadline_s=common_deadline_s, fallback_metrics=self.fallback_metrics)
        out["worker"] = self.worker_info
        out["measure_wall_time_s"] = self.wall_time_s
        return out


def _run_on_worker(worker, key, y, config: TailConfig, log) -> TailMeasurement:
    from effbench.analysis.tail_rules import replay_rule
    from effbench.measure.rounds import measure_more, worker_source

    source = worker_source(worker, batch_size=config.batch_size, warmup_rounds=config.warmup_rounds,
                           timeout_s=config.timeout_s, answers="labels" if config.tolerance is None else "values")
    cfg = config.convergence()
    t0 = time.perf_counter()
    if config.fixed_rounds:
        data = measure_more(source, config.fixed_rounds, chunk=10,
                            on_rounds=lambda n: log(f"{key}: {n}/{config.fixed_rounds} rounds"))
        conv = replay_rule(data.instance_times(config.time_kind), cfg)
        used = conv.rounds_used
        fit = data.take(slice(0, used))
        holdout = data.take(slice(used, None)) if used < data.rounds else None
    else:
        def progress(n, mon):
            step = mon.trace[-1] if mon.trace else None
            js = "" if step is None or step.max_js is None else f", max JS {step.max_js:.3f}"
            log(f"{key}: {n} rounds{js}")

        fit, conv = rounds_until_converged(source, cfg, time_kind=config.time_kind, on_rounds=progress)
        how = "converged" if conv.stopped_by == "converged" else f"stopped by {conv.stopped_by}, not converged"
        log(f"{key}: rule {config.rule}: {how} after {conv.rounds_used} rounds")
        holdout = None
        if config.holdout_rounds:
            holdout = measure_more(source, config.holdout_rounds, chunk=max(cfg.every, 5),
                                   on_rounds=lambda n: log(f"{key}: {n}/{config.holdout_rounds} held-out rounds"))
    return TailMeasurement(key, fit, holdout, conv, np.asarray(y).ravel(), config,
                           wall_time_s=time.perf_counter() - t0)


def _measure_candidate(candidate, X, y, config: TailConfig, log, fallback_metrics=()) -> TailMeasurement:
    from effbench.executor import InlineWorker, ProcessWorker

    worker = (ProcessWorker if config.isolate else InlineWorker)(candidate, config.threads)
    try:
        info = worker.ready(config.timeout_s)
        worker.request(("data", as_batch(X)), config.timeout_s)  # one array or a dict of named arrays, dtypes kept
        m = _run_on_worker(worker, candidate.key, y, config, log)
        m.worker_info = {k: v for k, v in info.items() if k in ("pid", "thread_settings", "load_time_s", "isolated")}
        m.fallback_metrics = tuple(fallback_metrics)
        return m
    finally:
        worker.close()


def measure_tail(candidate_or_model, X, y, *, name: str = "model", config: TailConfig | None = None,
                 log=None, **settings) -> TailMeasurement:
    """Measure the tail quality of one model on ``(X, y)``.

    ``candidate_or_model``: an effbench Candidate, a fitted scikit-learn estimator, a
    ``torch.nn.Module``, ONNX bytes or path, or a callable ``f(X) -> labels`` (see
    :func:`effbench.candidates.wrap`; ``name`` names it). ``X``: one array, one row per instance,
    or a dict of named arrays (one per model input, the same rows in each; integer ids and bool
    masks reach the model as they are). Settings: a :class:`TailConfig`, or its fields as keywords
    (``batch_size=1``, ``holdout_rounds=20``, ``isolate=False`` for a model that cannot be pickled
    to a worker process, ...). A regression (real targets) needs ``tolerance``: an on-time answer
    is good when ``|prediction - y| <= tolerance``; its report adds mae and rmse with late answers
    replaced by the mean of ``y``. Call ``.report()`` on the result.
    """
    from effbench.candidates import wrap
    from effbench.tasks.base import Task
    from effbench.tasks.metrics import check_labels, get_metric

    if config is not None and settings:
        raise ConfigError(f"measure_tail: give either config or keyword settings, got both ({', '.join(settings)})")
    if config is None:
        try:
            config = TailConfig(**settings)
        except TypeError as exc:
            raise ConfigError(f"measure_tail: {exc}; allowed settings: the fields of TailConfig") from None
    if not isinstance(X, dict):
        X = np.asarray(X)
        if X.ndim < 2 or len(X) == 0:
            raise DataError(f"X: expected one row per example (2-D or more, non-empty), got shape {X.shape}")
    y = np.asarray(y).ravel()
    if n_rows(X) != len(y):
        raise DataError(f"y: expected one label per row of X ({n_rows(X)}), got {len(y)}")
    if config.tolerance is None:
        _check_class_labels(y)
    y = check_labels(y, config.task)
    X = Task.from_arrays(str(name), X, y, task_type=config.task).X_test  # checks the named inputs, keeps their dtypes
    candidate = wrap(name, candidate_or_model)
    metrics = tuple(get_metric(m, "regression") for m in ("mae", "rmse")) if config.tolerance is not None else ()
    return _measure_candidate(candidate, X, y, config, log or (lambda text: None), metrics)


def _check_class_labels(y) -> None:
    """Without a tolerance a good answer is the right label: real-valued targets (a regression) are
    refused with one line naming ``tolerance`` (docs/tail-quality.md, "What a good answer is")."""
    if np.issubdtype(y.dtype, np.floating) and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        example = y[~np.isfinite(y) | (y != np.round(y))][0]
        raise ConfigError(f"tolerance: y holds real values such as {float(example)!r} (a regression); the tail mode counts "
                        "an on-time answer as good when |prediction - y| <= tolerance: give tolerance, a number >= 0 "
                        "in the target's units (without it a good answer is the right class label)")


# --------------------------------------------------------------------------- the suite


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
    random_weights: frozenset = frozenset()  # keys of the candidates with random weights (their quality is meaningless)


class _TailSuite:
    """The candidates of one tail measurement, measured one after the other; with a run, each
    result is recorded as it is taken. Each report is computed once: as soon as a candidate is
    measured when the common deadline is given, else when every candidate is (the default common
    deadline is the median of every own p99)."""

    def __init__(self, task, config: TailConfig, common_deadline_s: float | None, log, recorder=None, progress=None):
        self.task, self.config, self.log, self.recorder, self.progress = task, config, log, recorder, progress
        self.common_deadline_s = common_deadline_s
        self.origin = "user" if common_deadline_s is not None else "none"
        self.measurements: list[TailMeasurement] = []
        self.failed: dict[str, str] = {}
        self.reports: dict[str, dict] = {}
        self.random_weights: set[str] = set()

    def measure_all(self, candidates) -> None:
        if self.progress is not None:
            self.progress.start(len(candidates), label="tail")
        try:
            for c in candidates:
                self._measure(c)
                if self.progress is not None:
                    self.progress.advance(1)
        finally:
            if self.progress is not None:
                self.progress.stop()
        if self.measurements and self.origin != "user":
            self.common_deadline_s = common_deadline({m.key: m.own_p99_s() for m in self.measurements})
            self.origin = "median of own p99"
        for m in self.measurements:
            if m.key not in self.reports:
                self._report(m, self.common_deadline_s, self.origin)

    def _measure(self, c) -> None:
        from effbench.executor import CommandError, WorkerFailure

        self.log(f"measuring {c.key}")
        if (getattr(c, "info", None) or {}).get("weights") == RANDOM_WEIGHTS:
            self.random_weights.add(c.key)
        try:
            m = _measure_candidate(c, self.task.X_test, self.task.y_test, self.config, self.log, self._fallback_metrics())
        except (WorkerFailure, CommandError) as exc:
            self.failed[c.key] = str(exc)
            self.log(f"{c.key}: failed: {exc}")
            if self.recorder:
                self.recorder.failed(c.key, str(exc), getattr(exc, "traceback", "") or getattr(exc, "detail", ""))
            return
        self.measurements.append(m)
        if self.recorder:
            data = m.all_rounds()
            answers = (data.predictions[0], None) if self.config.tolerance is None else (None, data.predictions[0])
            self.recorder.predictions(m.key, *answers, note="first timed round; no deadline", status="ok")
            self.recorder.tail_rounds(m.key, data, fit_rounds=m.fit.rounds,
                                      holdout_rounds=0 if m.holdout is None else m.holdout.rounds)
        if self.origin == "user":  # the deadline is known: this report is the final one
            self._report(m, self.common_deadline_s, self.origin)

    def _fallback_metrics(self) -> tuple:
        """A regression's metrics, reported with late answers replaced by the mean of the targets."""
        if self.config.tolerance is None or self.task.task_type != "regression":
            return ()
        return tuple(m for m in self.task.metric_defs() if m.needs == "values")

    def _report(self, m: TailMeasurement, deadline_s, origin: str) -> None:
        self.reports[m.key] = {**m.report(deadline_s), "common_deadline_origin": origin}
        if self.recorder:
            self.recorder.tail_report(m.key, self.reports[m.key])

    def keep_partial(self, run) -> None:
        """After an interruption or a failure: the report of every measured candidate, so the results
        measured before are kept. A report not yet computed is computed here, without a common
        deadline (not every candidate's own p99 is known)."""
        if run.status == "complete":
            return
        run.settle_candidates()
        try:
            for m in self.measurements:
                if m.key not in self.reports:
                    self._report(m, None, "none (run not complete)")
        except Exception as exc:  # the original error goes on; the run's notes say what could not be stored
            run.notes.append(f"tail reports of the measured candidates could not be stored: {exc}")

    def result(self, training: dict, run_id=None, db_path=None) -> "TailSuiteResult":
        return TailSuiteResult(
            measurements=self.measurements, reports=self.reports, accuracy={m.key: m.accuracy for m in self.measurements},
            common_deadline_s=self.common_deadline_s, common_deadline_origin=self.origin, failed=self.failed,
            run_id=run_id, db_path=db_path, train_time_s={k: v["train_time_s"] for k, v in training.items()},
            random_weights=frozenset(self.random_weights),
        )


def measure_tail_suite(candidates=None, *, quick: bool = False, config: TailConfig | None = None,
                       common_deadline_s: float | None = None, db=None, store: bool = True,
                       log=None, cost_run: str | None = None, progress=None) -> TailSuiteResult:
    """Train the selected default-suite candidates on digits and measure their tail quality.

    ``candidates``: keys such as ``"cnn_small/torch"`` or bare names (all backends); default:
    the suite (``quick``: the quick suite). ``common_deadline_s``: one deadline for every
    candidate; default: the median of their own p99 deadlines. With ``store=True`` the results
    go into a new run of the store (``db``): one candidate record per candidate with
    ``info["tail"]``, its predictions (first timed round), accuracy/f1_macro metrics, the training
    metrics as ``effbench run`` writes them, and the raw per-batch round times as sample sets
    ``tail_e2e_per_batch`` / ``tail_inference_per_batch`` (values: rounds x batches, row-major).
    The store is opened and checked before any training. ``cost_run`` (an id, a unique prefix or
    'latest': the latest run with latency samples) links the tail run to the cost run of the same
    candidates: it is checked first and recorded as the run's ``config["cost_run"]``, so reports
    join the two. ``progress``: a reporter of :mod:`effbench.report.progress`: a bar over the models
    trained, then one over the candidates measured, whose text is the latest round message (a
    failure still goes to ``log``).
    """
    from effbench.store.db import Store
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, parse_candidate_keys, select_keys

    config = config or TailConfig()
    log = log or (lambda text: None)
    if common_deadline_s is not None:
        common_deadline_s = _positive_seconds(common_deadline_s, "--deadline-common")
    selection = select_keys(parse_candidate_keys(candidates or []), quick)
    if store:
        with Store(db) as st:  # fail fast, before training: a folder or a file that is not an effbench store
            cost_run = _cost_run(st, cost_run)
    elif cost_run is not None:
        raise ConfigError("cost_run links the stored tail run to a cost run; it needs store=True")
    task = load_digits_task()
    built, training = build_candidates(task, selection, quick=quick, on_progress=log, progress=progress)
    return _measure_built(task, built, training, config=config, common_deadline_s=common_deadline_s, db=db, store=store,
                          log=log, suite="digits-tail-quick" if quick else "digits-tail", extra_config={"quick": quick},
                          cost_run=cost_run, progress=progress)


def _cost_run(store, cost_run: str | None) -> str | None:
    """The cost run a tail run links to, resolved (an id, a prefix, or 'latest' with latency samples)."""
    if cost_run is None:
        return None
    from effbench.records import LATENCY_PER_CALL

    return store.resolve_run_id(cost_run, needs=LATENCY_PER_CALL)


def measure_tail_plan(plan, candidates=None, *, config: TailConfig | None = None, common_deadline_s: float | None = None,
                      db=None, store: bool = True, log=None, cost_run: str | None = None, progress=None) -> TailSuiteResult:
    """Tail quality of the candidates of a suite file's plan (:func:`effbench.runs.files.plan_suite_file`):
    ``candidates`` are names (every backend of that model) or ``NAME/BACKEND`` keys (default: all). The plan
    must hold labelled data (a late answer counts as wrong, so quality needs labels). A regression needs a
    tolerance: ``config.tolerance``, else the suite file's ``[data] tolerance`` (:func:`plan_tolerance`).
    Stored as a run of suite ``<suite>-tail``; a candidate takes its training cost from a tracking as in a
    latency run."""
    from dataclasses import replace

    from effbench.runs.track import tracked_training
    from effbench.store.db import Store

    config = config or TailConfig()
    log = log or (lambda text: None)
    if common_deadline_s is not None:
        common_deadline_s = _positive_seconds(common_deadline_s, "--deadline-common")
    if not plan.task.labelled:
        raise ConfigError(f"tail measure: suite {plan.suite!r} has no labels (task \"none\" or synthetic inputs); tail "
                          "quality counts a late answer as wrong, so it needs labelled data ([data] path with labels)")
    config = replace(config, tolerance=plan_tolerance(plan, config.tolerance))
    task, ignored = _label_metrics_only(plan.task)
    if ignored:
        log(f"tail measure: {', '.join(ignored)} read the model's scores; tail quality scores each on-time answer by "
            f"its label, so the tail run records {', '.join(task.metrics)} only")
    chosen = select_plan_candidates(plan.candidates, candidates)
    training = {}
    if store:
        with Store(db) as st:  # fail fast, before measuring
            training = tracked_training(st, [c.model for c in chosen], None, plan.training_from)
            cost_run = _cost_run(st, cost_run)
    elif cost_run is not None:
        raise ConfigError("cost_run links the stored tail run to a cost run; it needs store=True")
    from effbench.analysis.tail import answer_definition

    extra = {"suite_file": plan.config.get("suite_file"), **({"ignored_metrics": ignored} if ignored else {}),
             "quality": answer_definition(config.tolerance)}
    return _measure_built(task, chosen, training, config=config, common_deadline_s=common_deadline_s, db=db, store=store,
                          log=log, suite=f"{plan.suite}-tail", extra_config=extra,
                          cost_run=cost_run, progress=progress)


def suite_tolerance(task: str, given, in_file, *, suite: str, option: str = "tolerance") -> float | None:
    """The tolerance of a tail measurement on a suite file whose task is ``task``: ``given`` (the option
    ``option``), else the file's ``[data] tolerance`` (``in_file``); a regression needs one, a
    classification takes none (:func:`check_tolerance`)."""
    where = f"suite {suite!r}"
    if given is not None:
        return check_tolerance(task, given, field=option, where=where)
    return check_tolerance(task, in_file, field="data.tolerance", where=where,
                           example=f"tolerance = 0.5 in [data], or {'--tolerance 0.5' if option.startswith('--') else 'tolerance=0.5'}")


def plan_tolerance(plan, tolerance=None) -> float | None:
    """:func:`suite_tolerance` of a plan: ``tolerance`` (TailConfig's), else its suite file's ``[data] tolerance``."""
    data = (plan.config.get("suite_file") or {}).get("data") or {}
    return suite_tolerance(plan.task.task_type, tolerance, data.get("tolerance"), suite=plan.suite)


def _label_metrics_only(task):
    """(the task with only the metrics that read labels, the names of those left out): a tail round
    keeps each on-time answer's label (a late one counts as wrong), not the model's scores, so a
    score-based metric (``top5``) cannot be computed; with none left, accuracy."""
    from dataclasses import replace

    defs = task.metric_defs()
    ignored = [m.name for m in defs if m.needs == "scores"]
    if not ignored:
        return task, []
    kept = tuple(name for name, m in zip(task.metrics, defs) if m.needs != "scores") or ("accuracy",)
    return replace(task, metrics=kept), ignored


def check_suite_candidate_names(spec, wanted) -> None:
    """Before any model is built: every name in ``wanted`` (a model name or ``NAME/BACKEND``) names a
    candidate of the suite file ``spec`` (:class:`~effbench.sources.suite.SuiteSpec`); the backend
    is checked once the candidates are built (:func:`select_plan_candidates`)."""
    names = [c.name for c in spec.candidates]
    for w in wanted or ():
        if w not in names and w.rsplit("/", 1)[0] not in names:
            raise ConfigError(f"--candidate: {w!r} is not a candidate of this suite file (its candidates: {', '.join(names)})")


def select_plan_candidates(candidates, wanted) -> list:
    """The candidates named by ``wanted`` (model names, or ``NAME/BACKEND`` keys), in the plan's order; all
    when ``wanted`` is empty. An unknown name is a ConfigError listing the plan's keys."""
    if not wanted:
        return list(candidates)
    keys = [c.key for c in candidates]
    for w in wanted:
        if not any(w in (c.key, c.model) for c in candidates):
            raise ConfigError(f"--candidate: {w!r} is not a candidate of this suite file (its candidates: {', '.join(keys)})")
    return [c for c in candidates if any(w in (c.key, c.model) for w in wanted)]


def _measure_built(task, built, training, *, config, common_deadline_s, db, store, log, suite, extra_config, cost_run=None,
                   progress=None):
    """Measure the built candidates' tail quality, in a new run of ``suite`` unless ``store`` is False
    (``progress``: a bar over the candidates, the round messages as its text)."""
    from effbench.store.db import Store

    if progress is not None:
        log = _rounds_to(progress, log)
    if not store:
        suite_ = _TailSuite(task, config, common_deadline_s, log, progress=progress)
        suite_.measure_all(built)
        return suite_.result(training)
    with Store(db) as st:
        run, recorder = _open_tail_run(st, task, config, suite, extra_config, common_deadline_s, training, cost_run)
        suite = _TailSuite(task, config, common_deadline_s, log, recorder, progress=progress)
        for c in built:
            run.add_candidate(c, status="running")
            recorder.training_metrics(c)
        with run.measuring(on_end=suite.keep_partial,
                           interrupted_note="tail measurement interrupted; results measured before are kept"):
            suite.measure_all(built)
        return suite.result(training, run_id=run.run_id, db_path=str(st.path))


def _rounds_to(progress, log):
    """Round messages become the bar's text; a failure is logged."""
    def message(text: str):
        if ": failed" in text:
            log(text)
        else:
            progress.advance(0, text)
    return message


def _open_tail_run(store, task, config: TailConfig, suite: str, extra_config: dict, common_deadline_s, training,
                   cost_run=None):
    from effbench.runs.lifecycle import open_run, run_environment
    from effbench.runs.recorder import Recorder

    run = open_run(store, suite=suite,
                   config={"tail": config.to_dict(), **extra_config, "deadline_common_s": common_deadline_s,
                           "threads": config.threads, **({"cost_run": cost_run} if cost_run else {})},
                   environment=run_environment(config.threads), task=task.record())
    return run, Recorder(store, run.run_id, task, training)
