"""Which model to use: a statistical parity test and a recommendation under constraints.

"On par" is a statistical statement: two models are on par when McNemar's exact test on their
predictions for the *same* test examples does not reject equal accuracy at level ``alpha``
(two-sided; 95 % confidence for the default ``alpha = 0.05``). The test only looks at the
discordant pairs: ``n01`` examples the first model gets right and the second wrong, ``n10`` the
reverse; under equal accuracy ``n01 ~ Binomial(n01 + n10, 1/2)`` (McNemar, 1947; the exact form
as recommended by Dietterich, 1998), computed with ``scipy.stats.binomtest``. Not rejecting is not
proof of equality: on a small test split the test has little power, so the accuracies are always
reported beside the p-value. The stored predictions are labels, so McNemar's test is run only for
``accuracy``: for another classification quality (top-k, ``f1_macro``, ``balanced_accuracy``, a
custom metric) the frontier models are left untested, with the reason (``Recommendation.untested``).

Regression (a run whose task is ``regression``, or ``task="regression"``): the paired test is
Wilcoxon's signed-rank test (``scipy.stats.wilcoxon``, two-sided, zero differences dropped) on the
per-example absolute errors ``|y - pred_a|`` and ``|y - pred_b|``, and the quality metric's
direction is the run's (``rmse``, ``mae``: lower is better; ``r2``: higher): the reference is the
model with the *best* quality, constraints read "at least" or "at most" accordingly.

The recommendation (:func:`recommend`):

1. keeps the models that meet the constraints (minimum quality, or at most ``max_loss`` below the
   best quality; an upper bound on any cost: latency, memory, energy...);
2. computes the Pareto frontier of the chosen objectives (quality, every cost in the preference
   order and in the constraints, and ``simplicity`` when preferred) and only names frontier models;
3. takes the frontier model with the best quality as the reference, tests every other frontier
   model against it, and among the models on par with it (the reference included) picks the first
   by the preference order over costs (lexicographic, see "Ties" below);
4. says so in words, with the costs the choice saves against the reference, and lists runner-ups;
   when no model meets the constraints it says so and shows the closest models.

Random weights (a run's candidates with ``weights = "random"``,
:func:`effbench.analysis.costs.random_weight_keys`): their quality is meaningless, so parity with
them means nothing. When some candidates have trained weights, those with random weights are left
out of the quality comparison and of the choice (``Recommendation.random_weights_left_out``, and a
sentence says which and why). When every candidate has random weights, quality is not compared at
all (``Recommendation.quality_compared`` False): without a quality constraint the choice is made on
cost alone (the frontier of the costs, the first model by the preference order), and the message
says so; with a quality constraint (minimum quality, maximum loss) it is refused (:class:`DataError`):
that constraint cannot be checked on meaningless qualities.

Ties: for each preferred cost in turn, the models that tie with the lowest value stay in the race
and the others leave it. Two values tie when they are within ``tie_rtol`` of each other, or, for
an indicator measured from raw latency samples (``latency_p50_s_b1``, ``throughput_...``), when
their confidence intervals at level ``1 - alpha`` overlap (:func:`effbench.analysis.run_table.
indicator_interval`; ``noise_ties=False`` turns this off): a difference the measurement cannot
separate is no reason to choose. Comparing every model with the lowest value, not pairwise, keeps
the result independent of the order of the models (overlap is not transitive). Models still tied
after the last preferred cost are ordered by simplicity, then the default configuration before a
variant (a model with a ``parent``: ONNX Runtime without graph optimisation, a pruned copy...),
then the higher quality, then the name. The message says when a tie decided the choice.

"Simpler" is the model family: linear < trees, neighbours, kernels < neural networks (an unknown
family ranks with neural networks, so it is never called simpler); then fewer parameters.

Pure: no I/O, no clock, no printing. A :class:`effbench.records.RunRecord` or a list of
:class:`Row` goes in, a :class:`Recommendation` comes out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.numbers import fmt_named
from effbench.validation import Interval, check

#: ``schema`` of :meth:`Recommendation.to_dict` (the document ``effbench recommend --json`` writes)
SCHEMA = "effbench.recommend/1"
_ALPHA = Interval(float, 0, 1, closed="neither")

TEST_NAME = "McNemar exact"
REGRESSION_TEST_NAME = "Wilcoxon signed-rank"
FAMILY_RANK = {
    "linear": 0,
    "tree": 1, "tree-ensemble": 1, "neighbours": 1, "neighbors": 1, "kernel": 1, "naive-bayes": 1,
    "neural-network": 2,
}
UNKNOWN_FAMILY_RANK = 2
FAMILY_WORDS = {0: "a linear model", 1: "a tree, neighbours or kernel model", 2: "a neural network"}
SIMPLICITY = "simplicity"

# friendly cost names (CLI --prefer) -> indicator; {b} is the batch size
COST_ALIASES = {
    "latency": "latency_p99_s_b{b}",
    "latency_p99": "latency_p99_s_b{b}",
    "latency_p50": "latency_p50_s_b{b}",
    "size": "size_bytes",
    "params": "params",
    "nonzero_params": "nonzero_params",
    "flops": "flops_per_sample",
    "memory": "peak_rss_bytes_b{b}",
    "energy": "energy_per_sample_j_b{b}",       # stored per batch size (measured or estimated)
    "carbon": "carbon_per_sample_g_b{b}",       # always estimated
    "train_time": "train_time_s",
}
#: the preference of ``effbench recommend`` without --prefer (and of the HTML report's recommendation)
DEFAULT_PREFERENCE = (SIMPLICITY, "params", "latency", "size")
# indicators the savings sentence looks at when present (besides the preferred and constrained ones)
SAVINGS_INDICATORS = ("params", "flops_per_sample", "size_bytes", "latency_p99_s_b{b}", "peak_rss_bytes_b{b}")
_PHRASES = {
    "params": ("fewer parameters", "more parameters"),
    "nonzero_params": ("fewer non-zero parameters", "more non-zero parameters"),
    "flops_per_sample": ("fewer FLOPs", "more FLOPs"),
    "size_bytes": ("smaller on disk", "larger on disk"),
    "train_time_s": ("less training time", "more training time"),
}


def resolve_cost(name: str, batch_size: int = 1) -> str:
    """A friendly cost name (``latency``, ``size``, ``memory``...) or an indicator -> the indicator."""
    name = str(name).strip()
    if not name:
        raise ConfigError("--prefer: empty cost name")
    if name == SIMPLICITY:
        return SIMPLICITY
    return COST_ALIASES.get(name, name).format(b=batch_size)


def _phrase(name: str) -> tuple[str, str]:
    if name in _PHRASES:
        return _PHRASES[name]
    if name.startswith("latency_"):
        what = name.replace("latency_", "").replace("_per_sample", " per sample").replace("_s_b", " latency at batch ")
        return f"lower {what}", f"higher {what}"
    if name.startswith("peak_rss_bytes_b"):
        return f"less peak memory at batch {name.rsplit('_b', 1)[1]}", f"more peak memory at batch {name.rsplit('_b', 1)[1]}"
    if name.startswith(("energy_per_sample_j_b", "energy_per_batch_j_b")):
        per, b = name.split("_")[2], name.rsplit("_b", 1)[1]
        return f"less energy per {per} at batch {b}", f"more energy per {per} at batch {b}"
    if name.startswith("carbon_per_sample_g_b"):
        b = name.rsplit("_b", 1)[1]
        return f"less carbon per sample at batch {b} (estimated)", f"more carbon per sample at batch {b} (estimated)"
    if "energy" in name:
        return f"less energy ({name})", f"more energy ({name})"
    return f"lower {name}", f"higher {name}"


# -- the parity test ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParityResult:
    """McNemar's exact test of model ``a`` against model ``b`` on the same test examples."""

    a: str
    b: str
    n: int                  # test examples
    a_only: int             # a right, b wrong
    b_only: int             # b right, a wrong
    p_value: float
    alpha: float
    accuracy_a: float
    accuracy_b: float
    test: str = TEST_NAME

    @property
    def on_par(self) -> bool:
        return self.p_value >= self.alpha

    @property
    def confidence(self) -> float:
        return 1.0 - self.alpha

    def to_dict(self) -> dict:
        a_only, b_only = (("a_closer", "b_closer") if self.test == REGRESSION_TEST_NAME
                          else ("a_right_b_wrong", "b_right_a_wrong"))
        return {"a": self.a, "b": self.b, "test": self.test, "n": self.n, a_only: self.a_only,
                b_only: self.b_only, "p_value": self.p_value, "alpha": self.alpha,
                "confidence": self.confidence, "on_par": self.on_par, "accuracy_a": self.accuracy_a,
                "accuracy_b": self.accuracy_b}


def mcnemar_exact(y_true, pred_a, pred_b) -> tuple[int, int, float]:
    """(a_only, b_only, two-sided exact p-value) of McNemar's test on paired predictions."""
    from scipy.stats import binomtest

    y, a, b = (np.asarray(v).ravel() for v in (y_true, pred_a, pred_b))
    if not (len(y) == len(a) == len(b)):
        raise DataError(f"paired predictions must cover the same test examples: lengths {len(y)} (labels), {len(a)} and {len(b)}")
    if len(y) == 0:
        raise DataError("paired predictions: no test example")
    ra, rb = a == y, b == y
    n01, n10 = int(np.sum(ra & ~rb)), int(np.sum(~ra & rb))
    if n01 + n10 == 0:
        return n01, n10, 1.0
    return n01, n10, float(binomtest(n01, n01 + n10, 0.5, alternative="two-sided").pvalue)


def parity(y_true, pred_a, pred_b, *, alpha: float = 0.05, names: tuple[str, str] = ("a", "b")) -> ParityResult:
    """Are two models on par on these test examples? McNemar's exact test at level ``alpha``."""
    alpha = check("alpha", alpha, _ALPHA)
    n01, n10, p = mcnemar_exact(y_true, pred_a, pred_b)
    y = np.asarray(y_true).ravel()
    return ParityResult(names[0], names[1], len(y), n01, n10, p, alpha,
                        float(np.mean(np.asarray(pred_a).ravel() == y)), float(np.mean(np.asarray(pred_b).ravel() == y)))


def wilcoxon_errors(y_true, pred_a, pred_b) -> tuple[int, int, float]:
    """(examples where a is closer, where b is closer, two-sided p-value) of Wilcoxon's signed-rank
    test on the paired absolute errors of two regressors; p = 1 when every error is the same."""
    from scipy.stats import wilcoxon

    y, a, b = (np.asarray(v, dtype=float).ravel() for v in (y_true, pred_a, pred_b))
    if not (len(y) == len(a) == len(b)):
        raise DataError(f"paired predictions must cover the same test examples: lengths {len(y)} (targets), {len(a)} and {len(b)}")
    if len(y) == 0:
        raise DataError("paired predictions: no test example")
    d = np.abs(y - a) - np.abs(y - b)
    closer_a, closer_b = int(np.sum(d < 0)), int(np.sum(d > 0))
    if closer_a + closer_b == 0:
        return closer_a, closer_b, 1.0
    return closer_a, closer_b, float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def parity_regression(y_true, pred_a, pred_b, quality_a: float, quality_b: float, *, alpha: float = 0.05,
                      names: tuple[str, str] = ("a", "b")) -> ParityResult:
    """Are two regressors on par on these test examples? Wilcoxon's signed-rank test on their
    absolute errors at level ``alpha``; ``quality_a``/``quality_b`` are shown beside it."""
    alpha = check("alpha", alpha, _ALPHA)
    n_a, n_b, p = wilcoxon_errors(y_true, pred_a, pred_b)
    return ParityResult(names[0], names[1], len(np.asarray(y_true).ravel()), n_a, n_b, p, alpha,
                        float(quality_a), float(quality_b), test=REGRESSION_TEST_NAME)


# -- the recommendation --------------------------------------------------------------------------------

@dataclass
class Row:
    """One model: its quality, its costs (indicator -> value; NaN or absent when unknown), its family
    and its predictions on the test examples (for the parity test)."""

    key: str
    quality: float
    costs: dict = field(default_factory=dict)
    family: str = ""
    predictions: Sequence | None = None
    parent: str | None = None
    intervals: dict = field(default_factory=dict)   # cost -> (low, high): its confidence interval, when measured with noise

    @property
    def simplicity(self) -> int:
        return FAMILY_RANK.get(self.family, UNKNOWN_FAMILY_RANK)

    def value(self, name: str) -> float:
        if name == SIMPLICITY:
            return float(self.simplicity)
        v = self.costs.get(name)
        return float("nan") if v is None else float(v)


@dataclass(frozen=True)
class Constraints:
    """Minimum quality or maximum loss against the best (not both), and upper bounds on costs."""

    min_quality: float | None = None
    max_loss: float | None = None
    max_costs: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.min_quality is not None and self.max_loss is not None:
            raise ConfigError("give a minimum quality or a maximum loss against the best, not both")
        check("max_loss", self.max_loss, Interval(float, 0, None), None)
        for k, v in self.max_costs.items():
            check(f"max_costs[{k!r}]", v, Interval(float, 0, None, closed="neither"))

    def describe(self, quality: str, direction: str = "max") -> list[str]:
        out = []
        at_least, worse = (">=", "-") if direction == "max" else ("<=", "+")
        if self.min_quality is not None:
            out.append(f"{quality} {at_least} {self.min_quality:g}")
        if self.max_loss is not None:
            out.append(f"{quality} {at_least} best {worse} {self.max_loss:g}")
        out += [f"{k} <= {v:g}" for k, v in self.max_costs.items()]
        return out


@dataclass
class Recommendation:
    """What :func:`recommend` found. ``message`` holds the sentences to show."""

    status: str                           # "ok" | "infeasible"
    chosen: str | None
    reference: str | None                 # the frontier model with the best quality among those feasible
    message: list[str]
    quality: str
    objectives: list[str]
    constraints: list[str]
    preference: list[str]
    alpha: float
    test: str = TEST_NAME
    frontier: list[str] = field(default_factory=list)
    feasible: list[str] = field(default_factory=list)
    parity: list[ParityResult] = field(default_factory=list)
    runner_ups: list[dict] = field(default_factory=list)
    ties: list[dict] = field(default_factory=list)      # the ties the choice went through (see _Order.pick)
    closest: list[dict] = field(default_factory=list)
    savings: dict = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    rows: dict = field(default_factory=dict)
    run_id: str | None = None             # the run the rows came from (None for a list of rows)
    n_test: int = 0                       # test examples the parity tests ran on
    direction: str = "max"                # the quality metric's: "max" (accuracy, r2) or "min" (rmse, mae)
    untested: list[dict] = field(default_factory=list)  # frontier models not tested for parity: {key, reason}
    random_weights: list[str] = field(default_factory=list)  # models with random weights: their quality is meaningless
    random_weights_left_out: list[str] = field(default_factory=list)  # of those, left out of the comparison and the choice
    quality_compared: bool = True         # False when every model has random weights: the choice is on cost alone

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA, "run_id": self.run_id,
            "status": self.status, "chosen": self.chosen, "reference": self.reference, "message": list(self.message),
            "quality": self.quality, "objectives": self.objectives, "constraints": self.constraints,
            "preference": self.preference, "test": self.test, "direction": self.direction, "alpha": self.alpha, "confidence": 1.0 - self.alpha,
            "frontier": self.frontier, "feasible": self.feasible, "parity": [p.to_dict() for p in self.parity], "untested": self.untested,
            "runner_ups": self.runner_ups, "ties": self.ties, "closest": self.closest, "savings": self.savings,
            "dropped": [{"key": k, "reason": r} for k, r in self.dropped], "rows": self.rows,
            "random_weights": self.random_weights, "random_weights_left_out": self.random_weights_left_out,
            "quality_compared": self.quality_compared,
        }


def rows_from_run(run, costs: Sequence[str], *, quality: str = "accuracy", optional: Sequence[str] = (),
                  confidence: float | None = None) -> tuple[list[Row], list, list[tuple[str, str]]]:
    """Rows of a run's candidates: (rows, y_true, dropped). ``costs`` must be present (a candidate without
    one is dropped, with its reason); ``optional`` indicators are read when present (for the savings).
    With a ``confidence``, the costs measured from raw latency samples get their interval (``Row.intervals``)."""
    from effbench.analysis.run_table import indicator_interval, indicator_value

    y_true = run.task.get("y_test")
    rows, dropped = [], []
    for c in run.candidates:
        if c.status == "failed":
            dropped.append((c.key, f"candidate failed: {c.error or 'no reason recorded'}"))
            continue
        q, _ = indicator_value(run, c.key, quality)
        if q is None:
            dropped.append((c.key, f"no {quality} recorded"))
            continue
        values, reason = {}, None
        for name in costs:
            v, where = indicator_value(run, c.key, name)
            if v is None:
                reason = f"missing value for {name!r} ({where})"
                break
            values[name] = v
        if reason:
            dropped.append((c.key, reason))
            continue
        for name in optional:
            if name not in values:
                v, _ = indicator_value(run, c.key, name)
                if v is not None:
                    values[name] = v
        intervals = {} if confidence is None else {
            name: ci for name in costs if (ci := indicator_interval(run, c.key, name, confidence)) is not None}
        rows.append(Row(c.key, float(q), values, c.family or "", c.predictions, c.parent, intervals))
    return rows, y_true, dropped


@dataclass(frozen=True)
class _Order:
    """The preference order with its tie rules (see the module docstring, "Ties")."""

    preference: tuple
    tie_rtol: float
    noise_ties: bool
    sign: float = 1.0  # the quality's direction: 1 larger is better, -1 smaller (rmse, mae)

    def tie(self, a: Row, b: Row, name: str) -> str | None:
        """How ``a`` and ``b`` tie on ``name`` ("equal", "within tie_rtol", "intervals overlap"), or None."""
        va, vb = a.value(name), b.value(name)
        if math.isnan(va) or math.isnan(vb) or va == vb:
            return "equal"
        if abs(va - vb) <= self.tie_rtol * max(abs(va), abs(vb)):
            return "within tie_rtol"
        ia, ib = a.intervals.get(name), b.intervals.get(name)
        if self.noise_ties and ia is not None and ib is not None and ia[0] <= ib[1] and ib[0] <= ia[1]:
            return "intervals overlap"
        return None

    def pick(self, rows: Sequence[Row]) -> tuple[Row, list[dict]]:
        """The first of ``rows`` in this order, and the ties it went through (for the message)."""
        race, ties = list(rows), []
        for name in self.preference:
            if len(race) == 1:
                break
            known = [r for r in race if not math.isnan(r.value(name))]
            if not known:
                continue
            best = min(known, key=lambda r: (r.value(name), _tie_break(r, self.sign)))
            kept = [(r, self.tie(r, best, name)) for r in race]
            race = [r for r, how in kept if r is best or how is not None]
            ties += [{"cost": name, "key": r.key, "lowest": best.key, "how": how, "values": [r.value(name), best.value(name)],
                      **({"intervals": [list(r.intervals[name]), list(best.intervals[name])]} if how == "intervals overlap" else {})}
                     for r, how in kept if r is not best and how not in (None, "equal")]
        winner = min(race, key=lambda r: _tie_break(r, self.sign))
        ties = [t for t in ties if t["key"] == winner.key]
        if len(race) > 1:
            runner = min((r for r in race if r is not winner), key=lambda r: _tie_break(r, self.sign))
            ties.append({"cost": None, "key": winner.key, "tied_with": [r.key for r in race if r is not winner],
                         "decided_by": _tie_reason(winner, runner, self.sign)})
        return winner, ties

    def rank(self, rows: Sequence[Row]) -> list[Row]:
        """Every row in this order (the first, then the first of the rest, ...)."""
        rest, out = list(rows), []
        while rest:
            first, _ = self.pick(rest)
            out.append(first)
            rest.remove(first)
        return out


def _tie_break(r: Row, sign: float = 1.0) -> tuple:
    """After every preferred cost: the simpler family, the default configuration, the better quality
    (``sign``: its direction), the name."""
    return (r.simplicity, r.parent is not None, -sign * r.quality, r.key)


def _tie_reason(winner: Row, runner: Row, sign: float = 1.0) -> str:
    if winner.simplicity != runner.simplicity:
        return "the simpler model"
    if (winner.parent is None) != (runner.parent is None):
        return "the default configuration (not a variant)"
    if sign and winner.quality != runner.quality:
        return "the better quality"
    return "the name (first in alphabetical order)"


def _ratio_text(r: float) -> str:
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def savings(chosen: Row, reference: Row, names: Sequence[str], *, threshold: float = 1.05) -> tuple[list[str], list[str], dict]:
    """(saved phrases, worse phrases, ratios reference/chosen) over the indicators both rows have."""
    saved, worse, ratios = [], [], {}
    for name in names:
        a, b = chosen.value(name), reference.value(name)
        if name == SIMPLICITY or math.isnan(a) or math.isnan(b) or a < 0 or b < 0:
            continue
        if a == 0 and b == 0:
            continue
        ratio = float("inf") if a == 0 else b / a
        ratios[name] = ratio
        better, poorer = _phrase(name)
        if ratio >= threshold:
            saved.append(f"{_ratio_text(ratio) if math.isfinite(ratio) else 'infinitely'} {better}")
        elif ratio > 0 and 1.0 / ratio >= threshold:
            worse.append(f"{_ratio_text(1.0 / ratio)} {poorer}")
    return saved, worse, ratios


def _violations(row: Row, constraints: Constraints, best_quality: float, sign: float = 1.0) -> list[tuple[str, float, str]]:
    """(what, relative excess, text) for every constraint the row breaks; ``sign`` -1 when lower
    quality is better (``best_quality`` is then the lowest)."""
    out = []
    floor = constraints.min_quality if constraints.min_quality is not None else (
        best_quality - sign * constraints.max_loss if constraints.max_loss is not None else None)
    if floor is not None and sign * row.quality < sign * floor:
        out.append(("quality", abs(floor - row.quality) / max(abs(floor), 1e-12),
                    f"quality {row.quality:.4g} {'<' if sign > 0 else '>'} {floor:.4g}"))
    for name, limit in constraints.max_costs.items():
        v = row.value(name)
        if not math.isnan(v) and v > limit:
            out.append((name, v / limit - 1.0, f"{name} = {fmt_named(name, v)} is {v / limit:.2g}x the limit "
                                               f"{fmt_named(name, limit)}"))
    return out


def recommend(table, constraints: Constraints | None = None, preference: Sequence[str] = (SIMPLICITY, "params"), *,
              alpha: float = 0.05, quality: str = "accuracy", y_true=None, tie_rtol: float = 0.0,
              runner_ups: int = 3, batch_size: int = 1, noise_ties: bool = True, task: str | None = None,
              direction: str | None = None) -> Recommendation:
    """Name the model to use and why (see the module docstring).

    ``table``: a RunRecord (its candidates, metrics, predictions and ``task["y_test"]``) or a list of
    :class:`Row` (then ``y_true`` gives the test labels the predictions refer to). ``preference``:
    cost names in order (``simplicity``, indicators such as ``latency_p99_s_b1``, or the aliases of
    :data:`COST_ALIASES`, resolved at ``batch_size``). ``noise_ties``: costs whose confidence intervals
    (level ``1 - alpha``, from the raw latency samples of a run, or ``Row.intervals``) overlap tie.
    ``task`` (``classification`` or ``regression``) and ``direction`` (of ``quality``: ``max`` or
    ``min``): from the run's task record when None (classification and ``max`` for a list of rows or
    a run without one).
    """
    from effbench.validation import Options

    task, direction = _task_and_direction(table, quality, task, direction)
    check("task", task, Options({"classification", "regression"}))
    check("direction", direction, Options({"max", "min"}))
    sign = 1.0 if direction == "max" else -1.0
    alpha = check("alpha", alpha, _ALPHA)
    tie_rtol = check("tie_rtol", tie_rtol, Interval(float, 0, 1, closed="left"))
    constraints = constraints or Constraints()
    preference = _resolve_preference(preference, batch_size)
    extra = [k for k in constraints.max_costs if k not in preference]
    cost_names = [p for p in preference if p != SIMPLICITY] + extra
    optional = _savings_optional(cost_names, batch_size)
    rows, y_true, dropped = _rows(table, cost_names, quality, optional, y_true, 1.0 - alpha)
    rec = Recommendation("ok", None, None, [], quality,
                         [f"{quality}:{direction}"] + [f"{p}:min" for p in preference] + [f"{k}:min" for k in extra],
                         constraints.describe(quality, direction), preference, alpha, dropped=dropped,
                         test=REGRESSION_TEST_NAME if task == "regression" else TEST_NAME,
                         rows={r.key: {"quality": r.quality, "family": r.family, **{k: r.value(k) for k in r.costs}} for r in rows},
                         run_id=getattr(table, "run_id", None), n_test=0 if y_true is None else len(y_true),
                         direction=direction, random_weights=_random_weights(table, rows))
    order = _Order(tuple(preference), tie_rtol, bool(noise_ties), sign)
    if rec.random_weights:
        trained = [r for r in rows if r.key not in rec.random_weights]
        if not trained:
            return _on_cost_alone(rec, rows, constraints, order, preference + extra,
                                  list(dict.fromkeys(cost_names + optional)), runner_ups)
        rec.random_weights_left_out = list(rec.random_weights)
        rec.message.append(f"Left out of the quality comparison and of the choice: {', '.join(rec.random_weights)} "
                           f"(random weights, weights = \"random\": {_their(rec.random_weights)} {quality} is meaningless).")
        rows = trained
    best_quality = sign * max(sign * r.quality for r in rows)
    feasible = [r for r in rows if not _violations(r, constraints, best_quality, sign)]
    rec.feasible = [r.key for r in feasible]
    if not feasible:
        return _infeasible(rec, rows, constraints, best_quality, sign)
    front = _frontier(feasible, preference + extra, order)
    rec.frontier = [r.key for r in front]
    savings_names = list(dict.fromkeys(cost_names + list(constraints.max_costs) + optional))
    _choose(rec, front, y_true, order, savings_names, runner_ups)
    return rec


def _their(keys) -> str:
    return "its" if len(keys) == 1 else "their"


def _on_cost_alone(rec: Recommendation, rows: list[Row], constraints: Constraints, order: _Order, costs: list[str],
                   names: list[str], runner_ups: int) -> Recommendation:
    """Every model has random weights: no quality comparison; the first model of the costs' frontier by
    the preference order (a quality constraint is refused: it cannot be checked)."""
    if constraints.min_quality is not None or constraints.max_loss is not None:
        raise DataError(f"every model has random weights (weights = \"random\"): {', '.join(rec.random_weights)}; "
                        f"their {rec.quality} is meaningless, so the quality constraint "
                        f"({'; '.join(constraints.describe(rec.quality, rec.direction)[:1])}) cannot be checked; "
                        "give cost constraints only to choose on cost alone")
    rec.quality_compared = False
    rec.objectives = [o for o in rec.objectives if not o.startswith(f"{rec.quality}:")]
    cost_only = _Order(order.preference, order.tie_rtol, order.noise_ties, 0.0)  # quality plays no part
    feasible = [r for r in rows if not _violations(r, constraints, 0.0, 0.0)]
    rec.feasible = [r.key for r in feasible]
    rec.message.append(f"Quality was not compared: every model has random weights (weights = \"random\"), "
                       f"so their {rec.quality} is meaningless; the choice is on cost alone.")
    if not feasible:
        return _infeasible(rec, rows, constraints, 0.0, 0.0)
    front = _frontier(feasible, costs, cost_only)
    rec.frontier = [r.key for r in front]
    chosen, rec.ties = cost_only.pick(front)
    rec.chosen = chosen.key
    rec.message.append(f"Use {chosen.key}: it comes first in the preference order ({', '.join(rec.preference)}) among "
                       f"the models on the frontier of the costs that meet the constraints.")
    rec.message += _tie_sentences(rec)
    for r in cost_only.rank([r for r in front if r is not chosen])[:runner_ups]:
        rec.runner_ups.append({"key": r.key, "quality": r.quality, "family": r.family, "on_par_with_reference": None,
                               "p_value": None, "costs": {n: r.value(n) for n in names if not math.isnan(r.value(n))}})
    return rec


def _savings_optional(cost_names: list[str], batch_size: int) -> list[str]:
    """The indicators of :data:`SAVINGS_INDICATORS` at ``batch_size``; its latency (p99) only when no
    preferred or constrained cost is a latency: the savings sentence cites the statistic the user chose
    (``--prefer latency_p50``: p50), not another one."""
    chose_latency = any(n.startswith("latency_") for n in cost_names)
    return [s.format(b=batch_size) for s in SAVINGS_INDICATORS if not (chose_latency and s.startswith("latency_"))]


def _random_weights(table, rows: list[Row]) -> list[str]:
    """The rows' models with random weights (a run's :func:`effbench.analysis.costs.random_weight_keys`;
    none for a list of rows)."""
    if not hasattr(table, "candidates"):
        return []
    from effbench.analysis.costs import random_weight_keys

    random = random_weight_keys(table)
    return [r.key for r in rows if r.key in random]


def default_quality(run) -> str:
    """The quality ``effbench recommend`` reads without --quality: accuracy, unless the run's task
    lists its metrics without accuracy (a regression suite: rmse, mae, r2); then the first it lists."""
    from effbench.analysis.costs import task_metric_names

    names = task_metric_names(run)
    return names[0] if names and "accuracy" not in names else "accuracy"


def _task_and_direction(table, quality: str, task, direction) -> tuple[str, str]:
    """The task and the quality's direction: as given, else the run's task record's, else
    classification and ``max``."""
    from effbench.records import quality_direction

    record = getattr(table, "task", None) if hasattr(table, "candidates") else None
    if task is None:
        task = (record or {}).get("task_type") or "classification"
    if direction is None:
        direction = quality_direction(record, quality) or "max"
    return task, direction


def _resolve_preference(preference: Sequence[str], batch_size: int) -> list[str]:
    from effbench.analysis.run_table import default_direction

    resolved = list(dict.fromkeys(resolve_cost(p, batch_size) for p in preference))
    if not resolved:
        raise ConfigError("preference: give at least one cost (e.g. simplicity,latency,size)")
    for name in resolved:
        if name != SIMPLICITY and default_direction(name) == "max":
            inverse = (f"its inverse latency_p50_per_sample_s_b{name.rsplit('_b', 1)[1]} (the same order, reversed) or another cost"
                       if name.startswith("throughput_samples_per_s_b") else "a cost such as latency, size or params")
            raise ConfigError(f"preference: {name!r} is higher-is-better, and the preference orders costs, lowest first; give {inverse}")
    return resolved


def _rows(table, cost_names: list[str], quality: str, optional: list[str], y_true,
          confidence: float) -> tuple[list[Row], object, list[tuple[str, str]]]:
    """(rows with a quality and every cost, the test labels, (key, reason) of those left out)."""
    if hasattr(table, "candidates") and hasattr(table, "metrics"):
        from effbench.analysis.run_table import is_known_indicator, unknown_indicator_message

        for name in cost_names:
            if not is_known_indicator(table, name):
                raise ConfigError(unknown_indicator_message(table, name, "cost"))
        rows, y_run, dropped = rows_from_run(table, cost_names, quality=quality, optional=optional, confidence=confidence)
        y_true = y_run if y_true is None else y_true
    else:
        rows, dropped = [], []
        for r in table:
            missing = [n for n in cost_names if math.isnan(r.value(n))]
            if missing or r.quality is None or math.isnan(float(r.quality)):
                dropped.append((r.key, f"missing value for {missing[0]!r}" if missing else f"no {quality}"))
            else:
                rows.append(r)
    if not rows:
        raise DataError(f"no model has {quality} and every cost asked ({', '.join(cost_names) or 'none'})"
                        + (f"; e.g. {dropped[0][0]}: {dropped[0][1]}" if dropped else ""))
    return rows, y_true, dropped


def _infeasible(rec: Recommendation, rows: list[Row], constraints: Constraints, best_quality: float,
                sign: float = 1.0) -> Recommendation:
    """No model meets the constraints: say so and name the three closest (smallest total excess)."""
    def violations(r):
        return _violations(r, constraints, best_quality, sign)

    scored = sorted(rows, key=lambda r: (sum(v for _, v, _ in violations(r)), -sign * r.quality))
    rec.status = "infeasible"
    rec.closest = [{"key": r.key, "quality": r.quality, "violations": [t for _, _, t in violations(r)]}
                   for r in scored[:3]]
    rec.message.append(f"No model meets the constraints ({'; '.join(rec.constraints)}).")
    rec.message.append("Closest: " + "; ".join(f"{c['key']} ({', '.join(c['violations'])})" for c in rec.closest) + ".")
    return rec


def _frontier(rows: list[Row], costs: list[str], order: _Order) -> list[Row]:
    """The rows on the Pareto frontier of quality (in its direction, ``order.sign``) and ``costs``
    (min), where a difference the order calls a tie is no difference: a model is left out only when
    another is at least as good on every objective and better, beyond a tie, on one (without ties:
    the exact frontier)."""
    sign = order.sign

    def dominates(s: Row, r: Row) -> bool:
        if sign * s.quality < sign * r.quality:
            return False
        strictly = sign * s.quality > sign * r.quality
        for name in costs:
            vs, vr = s.value(name), r.value(name)
            if vs != vr and order.tie(s, r, name) is None:
                if vs > vr:
                    return False
                strictly = True
        return strictly

    return [r for r in rows if not any(dominates(s, r) for s in rows if s is not r)]


#: classification qualities whose per-example correctness the stored predicted labels give, so that
#: McNemar's test on the labels tests that quality (top-k needs the scores; f1_macro and
#: balanced_accuracy are not means of a per-example correctness)
LABEL_PARITY_QUALITIES = ("accuracy",)


def _parity_tests(front: list[Row], ref: Row, y_true, alpha: float, test: str = TEST_NAME,
                  quality: str = "accuracy") -> tuple[dict[str, ParityResult], list[str], str]:
    """McNemar's test (Wilcoxon's on errors for regression) of every frontier model against the
    reference; (tests by key, untested keys, why they are untested)."""
    tests: dict[str, ParityResult] = {}
    untested = []
    if test != REGRESSION_TEST_NAME and quality not in LABEL_PARITY_QUALITIES:
        return tests, [r.key for r in front if r is not ref], (
            f"{TEST_NAME} on the stored predicted labels tests accuracy, not {quality}")
    for r in front:
        if r is ref:
            continue
        if r.predictions is None or ref.predictions is None or y_true is None:
            untested.append(r.key)
        elif test == REGRESSION_TEST_NAME:
            tests[r.key] = parity_regression(y_true, r.predictions, ref.predictions, r.quality, ref.quality,
                                             alpha=alpha, names=(r.key, ref.key))
        else:
            tests[r.key] = parity(y_true, r.predictions, ref.predictions, alpha=alpha, names=(r.key, ref.key))
    return tests, untested, "no predictions"


def _choose(rec: Recommendation, front: list[Row], y_true, order: _Order, savings_names: list[str], runner_ups: int) -> None:
    """Reference (best quality, then preference), parity tests, the choice among the models on par,
    its sentences and the runner-ups; all written into ``rec``."""
    top_q = max(order.sign * r.quality for r in front)
    ref, _ = order.pick([r for r in front if order.sign * r.quality == top_q])
    tests, untested, why = _parity_tests(front, ref, y_true, rec.alpha, rec.test, rec.quality)
    rec.untested = [{"key": k, "reason": why} for k in untested]
    on_par = [ref] + [r for r in front if r.key in tests and tests[r.key].on_par]
    chosen, rec.ties = order.pick(on_par)
    rec.reference, rec.chosen, rec.parity = ref.key, chosen.key, list(tests.values())
    if chosen is ref:
        rec.message += _reference_sentences(rec, ref, tests, len(on_par))
    else:
        saved, worse, rec.savings = savings(chosen, ref, savings_names)
        rec.message += _on_par_sentences(rec, chosen, ref, tests[chosen.key], saved, worse)
    rec.message += _tie_sentences(rec)
    if untested:
        rec.message.append(f"Not tested for parity ({why}): {', '.join(untested)}.")
    rest = order.rank([r for r in on_par if r is not chosen]) + order.rank([r for r in front if r not in on_par])
    for r in rest[:runner_ups]:
        t = tests.get(r.key)
        rec.runner_ups.append({"key": r.key, "quality": r.quality, "family": r.family,
                               "on_par_with_reference": (r is ref) or (t is not None and t.on_par),
                               "p_value": None if t is None else t.p_value,
                               "costs": {n: r.value(n) for n in savings_names if not math.isnan(r.value(n))}})


def _reference_sentences(rec: Recommendation, ref: Row, tests: dict[str, ParityResult], n_on_par: int) -> list[str]:
    """Why the most accurate frontier model is the one to use."""
    best = "highest" if rec.direction == "max" else "lowest"
    out = [f"Use {ref.key}: it has the {best} {rec.quality} ({ref.quality:.4f}) among the models on the frontier "
           f"that meet the constraints."]
    others = sorted(tests.values(), key=lambda t: -t.p_value)
    if n_on_par > 1:
        out.append(f"{n_on_par - 1} other frontier model(s) are on par with it ({rec.test}, {_level(rec.alpha)}), "
                   f"but it comes first in the preference order ({', '.join(rec.preference)}).")
    elif others:
        t = others[0]
        out.append(f"No simpler or cheaper frontier model is on par with it: the closest, {t.a} ({rec.quality} {t.accuracy_a:.4f}), "
                   f"differs significantly ({rec.test} p={t.p_value:.2g} < {rec.alpha:g}).")
    return out


def _on_par_sentences(rec: Recommendation, chosen: Row, ref: Row, t: ParityResult, saved: list[str], worse: list[str]) -> list[str]:
    """Why a simpler or cheaper model on par with the reference is the one to use."""
    simpler = chosen.simplicity < ref.simplicity
    text = (f"{chosen.key} is on par with {ref.key} ({rec.test} p={t.p_value:.2g}, {_level(rec.alpha)}; {rec.quality} "
            f"{chosen.quality:.4f} vs {ref.quality:.4f} on {t.n} test examples)")
    if simpler:
        text += f" and is simpler ({FAMILY_WORDS[chosen.simplicity]} rather than {FAMILY_WORDS.get(ref.simplicity, 'a neural network')})"
    if saved:
        text += (", and" if simpler else " and") + " needs " + ", ".join(saved)
    if worse:
        text += "; but: " + ", ".join(worse)
    return [text + ".", f"Use {chosen.key}."]


def _tie_sentences(rec: Recommendation) -> list[str]:
    """The ties the choice went through, in words."""
    out = []
    for t in rec.ties:
        if t["cost"] is None:
            out.append(f"{t['key']} ties with {', '.join(t['tied_with'])} on every preferred cost; "
                       f"the tie goes to {t['decided_by']}.")
            continue
        if t["how"] == "intervals overlap":
            (al, ah), (bl, bh) = t["intervals"]
            why = (f"{_level(rec.alpha).replace(' level', '')} intervals [{fmt_named(t['cost'], al)}, {fmt_named(t['cost'], ah)}] "
                   f"and [{fmt_named(t['cost'], bl)}, {fmt_named(t['cost'], bh)}] overlap, "
                   f"so the difference is within the measurement noise")
        else:
            why = "within the relative tolerance tie_rtol"
        va, vb = t["values"]
        out.append(f"On {t['cost']}, {t['key']} ({fmt_named(t['cost'], va)}) ties with {t['lowest']} "
                   f"({fmt_named(t['cost'], vb)}): {why}.")
    return out


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}% level"
