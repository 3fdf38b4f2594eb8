"""Compare two runs cell by cell, and say how stable one run's measurements were (pure).

Records in, results out: no I/O, no clock, no printing.

:func:`compare_runs` pairs the latency samples of two runs per (candidate, batch size) cell. A cell
measured in 3 or more time windows (repeats) in both runs is compared on the log medians of its
windows by a moderated t-test (:func:`_repeat_level`: each cell's variance shrunk towards a prior
fitted over all such cells); other cells by :func:`effbench.analysis.stats.compare` on their
samples (ratios B/A of p50, p90 and p99 with seeded percentile-bootstrap intervals; two-sided
Mann-Whitney U test). Over the cells, the p-values are corrected with
:func:`effbench.analysis.stats.holm_bonferroni`; a cell is flagged as significantly different
only when Holm rejects it AND the ``1 - alpha`` interval of its median ratio lies entirely outside
``[1/(1 + min_change), 1 + min_change]`` (``min_change=0``: excludes 1). A cell whose median ratio has
no interval (too few samples in A or B for one, no spread between its windows, a zero median) is
``"inconclusive"``, with the reason, never ``"same"``: its test cannot be trusted either way. The windows are the unit
by default because the speed of a shared machine moves between time windows (by a few percent to
a third on the development machine, docs/protocol.md), which the samples of one window cannot show:
tested on samples, two runs of the same code differ "significantly" in many cells.
``min_change`` (5% by default, the precision the stopping rule targets) says which change is worth
a flag, as pyperf's ``compare_to --min-speed``. Cells present in only one run are listed as such.

:func:`stability_report` gives the warnings of one run: per cell (noise, too few samples for
p99, severe outliers: :func:`effbench.analysis.stats.stability_warnings`; median not precise
when a bound stopped sampling; block timing) and for the whole run (the load average changed
during the run more than the run's own worker explains).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from effbench.analysis.stats import (
    MWU_TEST,
    Comparison,
    compare,
    holm_bonferroni,
    min_samples_for_quantile_ci,
    quantile_key,
    stability_warnings,
    summarize,
)
from effbench.errors import ConfigError
from effbench.estimates import STOP_MAX_TIME_SHORT
from effbench.records import LATENCY_PER_CALL as LATENCY_KIND
from effbench.validation import Interval, Options, check

__all__ = [
    "LATENCY_KIND",
    "CORRECTION",
    "SIGNIFICANCE_RULE",
    "DEFAULT_MIN_CHANGE",
    "CellComparison",
    "RatioDistribution",
    "RunComparison",
    "RunStability",
    "compare_runs",
    "latency_cells",
    "ratio_distribution",
    "setup_differences",
    "stability_report",
    "own_load",
]

CORRECTION = "Holm-Bonferroni step-down over the compared cells (family-wise error rate <= alpha)"
DEFAULT_MIN_CHANGE = 0.05
#: ``schema`` of :meth:`RunComparison.to_dict` (the document ``effbench compare --json`` writes)
SCHEMA = "effbench.compare/1"
ALPHA = Interval(float, 0, 1, closed="neither")
MIN_CHANGE = Interval(float, 0, 10, closed="left")


def significance_rule(min_change: float) -> str:
    band = "excludes 1" if min_change == 0 else f"lies outside [1/{1 + min_change:g}, {1 + min_change:g}]"
    return ("significant = Holm rejects the cell's p-value AND the (1 - alpha) interval of its ratio of medians "
            f"{band}")


SIGNIFICANCE_RULE = significance_rule(DEFAULT_MIN_CHANGE)


@dataclass(frozen=True)
class CellComparison:
    """One (candidate, batch size) cell of run B against run A (ratios > 1: B is slower)."""

    candidate: str
    batch_size: int
    comparison: Comparison
    median_a_s: float
    median_b_s: float
    block_size_a: int = 1
    block_size_b: int = 1
    stop_reason_a: str | None = None
    stop_reason_b: str | None = None
    holm_reject: bool = False
    significant: bool = False
    change: str = "same"              # "slower" | "faster" | "same" | "inconclusive" (B relative to A)
    inconclusive_reason: str | None = None   # why the cell has no verdict (change "inconclusive")

    @property
    def ratio_median(self) -> float:
        return self.comparison.ratio_median.value

    def to_dict(self) -> dict:
        out = {
            "candidate": self.candidate,
            "batch_size": int(self.batch_size),
            "median_a_s": self.median_a_s,
            "median_b_s": self.median_b_s,
            "block_size_a": int(self.block_size_a),
            "block_size_b": int(self.block_size_b),
            "stop_reason_a": self.stop_reason_a,
            "stop_reason_b": self.stop_reason_b,
        }
        out.update(self.comparison.to_dict())
        # p_value_uncorrected_significant: p_value < alpha alone (what the name says; Comparison.significant
        # also needs the interval, which a cell with too few samples lacks); holm_reject: the corrected test;
        # significant: holm_reject AND the interval outside the min_change band
        del out["significant"]
        p = self.comparison.p_value
        out.update(p_value_uncorrected_significant=bool(p < self.comparison.alpha), holm_reject=bool(self.holm_reject),
                   significant=bool(self.significant), change=self.change, inconclusive_reason=self.inconclusive_reason)
        return out


@dataclass(frozen=True)
class RatioDistribution:
    """Distribution of the ratios of medians over the compared cells (linear quantiles)."""

    n: int
    min: float
    q25: float
    median: float
    q75: float
    max: float
    geometric_mean: float

    @property
    def iqr(self) -> float:
        return self.q75 - self.q25

    def to_dict(self) -> dict:
        return {"n": self.n, "min": self.min, "q25": self.q25, "median": self.median, "q75": self.q75,
                "max": self.max, "iqr": self.iqr, "geometric_mean": self.geometric_mean}


@dataclass(frozen=True)
class RunComparison:
    run_a: str
    run_b: str
    alpha: float
    cells: list[CellComparison]
    only_in_a: list[tuple[str, int]] = field(default_factory=list)
    only_in_b: list[tuple[str, int]] = field(default_factory=list)
    setup_differences: list[str] = field(default_factory=list)
    min_change: float = DEFAULT_MIN_CHANGE
    test: str = MWU_TEST
    correction: str = CORRECTION
    rule: str = SIGNIFICANCE_RULE
    drift: float | None = None          # run-wide shift B/A divided out first (adjust_drift), else None
    variance_prior: "VariancePrior | None" = None   # of the repeat-level test, when cells were compared by repeats

    @property
    def n_slower(self) -> int:
        return sum(c.change == "slower" for c in self.cells)

    @property
    def n_faster(self) -> int:
        return sum(c.change == "faster" for c in self.cells)

    @property
    def n_inconclusive(self) -> int:
        return sum(c.change == "inconclusive" for c in self.cells)

    @property
    def inconclusive_slower(self) -> list[CellComparison]:
        """Inconclusive cells whose point ratio of medians exceeds ``1 + min_change``: a gate on slower
        cells (``--fail-on-slower``) must not pass them, as it cannot tell they are not."""
        return [c for c in self.cells if c.change == "inconclusive" and c.ratio_median > 1.0 + self.min_change]

    @property
    def share_significant(self) -> float:
        return (self.n_slower + self.n_faster) / len(self.cells) if self.cells else math.nan

    @property
    def ratios(self) -> RatioDistribution | None:
        return ratio_distribution([c.ratio_median for c in self.cells])

    def to_dict(self) -> dict:
        dist = self.ratios
        return {
            "schema": SCHEMA,
            "run_a": self.run_a,
            "run_b": self.run_b,
            "alpha": self.alpha,
            "min_change": self.min_change,
            "test": self.test,
            "correction": self.correction,
            "rule": self.rule,
            "drift": self.drift,
            "variance_prior": None if self.variance_prior is None else self.variance_prior.to_dict(),
            "summary": {
                "n_compared": len(self.cells),
                "n_slower": self.n_slower,
                "n_faster": self.n_faster,
                "n_inconclusive": self.n_inconclusive,
                "share_significant": None if not self.cells else self.share_significant,
                "ratio_of_medians": None if dist is None else dist.to_dict(),
            },
            "cells": [c.to_dict() for c in self.cells],
            "only_in_a": [{"candidate": k, "batch_size": b} for k, b in self.only_in_a],
            "only_in_b": [{"candidate": k, "batch_size": b} for k, b in self.only_in_b],
            "setup_differences": list(self.setup_differences),
        }


# ------------------------------------------------------------------------------------------------


def latency_cells(run) -> dict[tuple[str, int], object]:
    """The run's per-call latency sample sets by (candidate, batch size), non-empty ones only."""
    return {(s.candidate, int(s.batch_size)): s for s in run.samples_for(kind=LATENCY_KIND)}


def ratio_distribution(ratios) -> RatioDistribution | None:
    """min, quartiles, median, max and geometric mean of finite positive ratios (None if there are none)."""
    r = np.asarray([x for x in ratios if x is not None and math.isfinite(x) and x > 0], dtype=np.float64)
    if r.size == 0:
        return None
    q25, med, q75 = (float(v) for v in np.quantile(r, (0.25, 0.5, 0.75)))
    return RatioDistribution(n=int(r.size), min=float(r.min()), q25=q25, median=med, q75=q75, max=float(r.max()),
                             geometric_mean=float(np.exp(np.mean(np.log(r)))))


MIN_REPEATS = 3
MIN_CELLS_FOR_PRIOR = 10
REPEAT_TEST = ("moderated t-test on the log of the per-repeat medians, two-sided: each cell's pooled variance "
               "shrunk towards a prior fitted over all cells compared by repeats (empirical Bayes, Smyth 2004, as limma)")


def repeat_medians(sample_set) -> np.ndarray | None:
    """The median of each repeat of a cell measured with ``--repeats`` (None with fewer than 3 repeats).

    The recorder concatenates the repeats' samples and keeps each repeat's metadata (``n_samples``)
    in ``meta["repeats"]``; this splits them again.
    """
    reps = sample_set.meta.get("repeats")
    if not isinstance(reps, list) or len(reps) < MIN_REPEATS:
        return None
    counts = [int(r.get("n_samples", 0)) for r in reps]
    values = np.asarray(sample_set.values, dtype=np.float64)
    if min(counts) < 1 or sum(counts) != values.size:
        return None
    return np.array([np.median(part) for part in np.split(values, np.cumsum(counts)[:-1])])


@dataclass(frozen=True)
class VariancePrior:
    """The prior of the repeat-level variances: ``d0`` degrees of freedom around ``s0`` (sd of log
    repeat medians); ``d0 = 0`` when too few cells were compared by repeats to fit one."""

    d0: float
    s0: float
    n_cells: int

    @property
    def fitted(self) -> bool:
        return self.d0 > 0

    def to_dict(self) -> dict:
        return {"fitted": self.fitted, "d0": None if math.isinf(self.d0) else self.d0, "d0_infinite": math.isinf(self.d0),
                "s0": self.s0 if self.fitted else None, "n_cells": self.n_cells}


def _repeat_level(comps: list[Comparison], log_a: list[np.ndarray], log_b: list[np.ndarray], alpha: float):
    """The same comparisons with the repeat as the unit, all at once.

    Each repeat ran in its own time window, so the spread of the repeat medians measures the
    window-to-window variation that the per-call samples of one window cannot see. With 3 to 5
    repeats a cell's own variance has 4 to 8 degrees of freedom, too few for a useful test after a
    correction over many cells; the moderated t-test borrows strength from the other cells: each
    pooled variance ``s^2`` (on ``d = n_a + n_b - 2`` degrees of freedom) is replaced by
    ``(d0 s0^2 + d s^2) / (d0 + d)`` on ``d0 + d`` degrees of freedom, where ``(d0, s0^2)`` is a
    scaled inverse chi-square prior fitted to all cells' variances (:func:`fit_variance_prior`).
    Noisy cells keep most of their own variance when the cells disagree (small ``d0``).
    """
    from dataclasses import replace

    from scipy.stats import t as student_t

    from effbench.analysis.stats import Estimate, fit_variance_prior, moderated_variances

    diffs = np.array([lb.mean() - la.mean() for la, lb in zip(log_a, log_b)])
    dfs = np.array([la.size + lb.size - 2 for la, lb in zip(log_a, log_b)], dtype=np.float64)
    s2 = np.array([(np.sum((la - la.mean()) ** 2) + np.sum((lb - lb.mean()) ** 2)) for la, lb in zip(log_a, log_b)]) / dfs
    scale = np.array([math.sqrt(1.0 / la.size + 1.0 / lb.size) for la, lb in zip(log_a, log_b)])
    usable = int(np.sum(np.isfinite(s2) & (s2 > 0)))
    if usable >= MIN_CELLS_FOR_PRIOR:
        d0, s0_sq = fit_variance_prior(s2, dfs)
    else:
        d0, s0_sq = 0.0, float(np.median(s2)) if s2.size else 0.0
    var, df = moderated_variances(s2, dfs, d0, s0_sq)
    out = []
    for comp, la, lb, y, v, k, sc in zip(comps, log_a, log_b, diffs, var, df, scale):
        k = min(float(k), 1e6)
        se = math.sqrt(v) * sc if v >= 0 else math.nan
        if se > 0 and math.isfinite(se) and math.isfinite(y):
            p = float(2.0 * student_t.sf(abs(y) / se, k))
            half = float(student_t.ppf(1.0 - alpha / 2.0, k)) * se
            est = Estimate(float(math.exp(y)), float(math.exp(y - half)), float(math.exp(y + half)),
                           f"moderated t interval ({1 - alpha:.0%}) on log repeat medians, {la.size} vs {lb.size} repeats, "
                           f"{k:.1f} degrees of freedom")
        else:  # no spread to test against (identical window medians, no prior) or a zero median: no verdict
            p = 1.0
            est = Estimate(float(math.exp(y)) if math.isfinite(y) else math.nan, math.nan, math.nan,
                           "moderated t interval: not computable (no spread between the windows, or a zero median)")
        ratios = dict(comp.ratios)
        ratios[0.5] = est
        out.append(replace(comp, ratio_median=est, ratios=ratios, p_value=p, test=REPEAT_TEST,
                           significant=bool(p < alpha and (est.low > 1 or est.high < 1)), n_a=la.size, n_b=lb.size))
    return out, VariancePrior(d0=float(d0), s0=math.sqrt(s0_sq), n_cells=len(comps))


def _cell_ratio(sa, sb, windows) -> float:
    """A cell's B/A ratio by the estimator its test will use: geometric means of the window medians
    ``windows = (ma, mb)`` when it is compared by windows, pooled medians otherwise (so ``adjust_drift``
    centres what is tested)."""
    ma, mb = windows
    if ma is not None and mb is not None and ma.min() > 0 and mb.min() > 0:
        return float(np.exp(np.log(mb).mean() - np.log(ma).mean()))
    return float(np.median(sb.values) / np.median(sa.values))


def compare_runs(run_a, run_b, *, alpha: float = 0.05, min_change: float = DEFAULT_MIN_CHANGE, n_boot: int = 2000,
                 seed: int = 0, quantiles=(0.5, 0.9, 0.99), adjust_drift: bool = False, unit: str = "auto") -> RunComparison:
    """Compare run B with run A (the baseline) on every cell both have; see the module docstring.

    ``adjust_drift``: first divide run B's samples by the run-wide shift, the median of the cells'
    ratios of medians (robust to a minority of cells that really changed), so a cell is flagged only
    when it moved relative to the rest of the run (when the whole machine became a few percent
    faster or slower between the runs, that shift is reported as ``drift`` instead of flagging every cell).

    ``unit``: what one observation is. ``"samples"``: every timed call (Mann-Whitney U on the samples,
    bootstrap intervals). ``"repeats"``: every repeat (time window) of a cell measured with
    ``repeats >= 3`` (the default of ``effbench run``): a moderated t-test and interval on the log of
    the repeat medians (:func:`_repeat_level`), which sees the variation between time windows that
    the samples of one window cannot. ``"auto"`` (default): repeats where both cells have at least
    3, samples elsewhere. The p90/p99 ratios stay sample-level bootstrap intervals.
    """
    unit = check("unit", unit, Options(("auto", "samples", "repeats")))
    alpha = check("alpha", alpha, ALPHA)
    min_change = check("min_change", min_change, MIN_CHANGE)
    cells_a, cells_b = latency_cells(run_a), latency_cells(run_b)
    common = sorted(set(cells_a) & set(cells_b))
    # each cell's window medians in both runs (None where a run has fewer than 3 windows, or unit="samples")
    windows = {k: ((repeat_medians(cells_a[k]), repeat_medians(cells_b[k])) if unit != "samples" else (None, None))
               for k in common}
    drift = 1.0
    if adjust_drift and common:
        shift = ratio_distribution([_cell_ratio(cells_a[k], cells_b[k], windows[k]) for k in common])
        drift = shift.median if shift is not None else 1.0
    raw = [[key, cells_a[key], cells_b[key],
            compare(cells_a[key].values, np.asarray(cells_b[key].values) / drift, alpha=alpha, n_boot=n_boot, seed=seed + i,
                    quantiles=quantiles)] for i, key in enumerate(common)]
    prior = _by_repeats(raw, windows, drift, alpha, unit)
    cells = _verdicts(raw, alpha, min_change)
    n_samples = len(cells) - (prior.n_cells if prior is not None else 0)
    return RunComparison(
        run_a=run_a.run_id, run_b=run_b.run_id, alpha=float(alpha), cells=cells, min_change=float(min_change),
        rule=_rule(min_change, drift if adjust_drift else None, prior, len(cells)), drift=drift if adjust_drift else None,
        variance_prior=prior,
        test=" / ".join(t for t, n in ((MWU_TEST, n_samples), (REPEAT_TEST, len(cells) - n_samples)) if n) or MWU_TEST,
        only_in_a=sorted(set(cells_a) - set(cells_b)), only_in_b=sorted(set(cells_b) - set(cells_a)),
        setup_differences=setup_differences(run_a, run_b),
    )


def _by_repeats(raw: list[list], windows: dict, drift: float, alpha: float, unit: str) -> VariancePrior | None:
    """Replace, in ``raw`` (rows ``[key, samples A, samples B, Comparison]``), the comparison of every cell
    with 3 or more windows in both runs by the repeat-level one (:func:`_repeat_level`); its prior, or None."""
    if unit == "samples":
        return None
    by_repeats = []
    for i, (key, *_) in enumerate(raw):
        ma, mb = windows[key]
        if ma is not None and mb is not None:
            by_repeats.append((i, np.log(ma), np.log(mb / drift)))
        elif unit == "repeats":
            raise ConfigError(f"unit='repeats' needs at least {MIN_REPEATS} repeats per cell in both runs (effbench run "
                              f"--repeats {MIN_REPEATS}); cell {key[0]} batch {key[1]} has fewer")
    if not by_repeats:
        return None
    idx, log_a, log_b = zip(*by_repeats)
    moderated, prior = _repeat_level([raw[i][3] for i in idx], list(log_a), list(log_b), alpha)
    for i, comp in zip(idx, moderated):
        raw[i][3] = comp
    return prior


def _verdicts(raw: list[list], alpha: float, min_change: float) -> list[CellComparison]:
    """Holm-Bonferroni over the cells, then a flag where the ratio's interval lies outside the band."""
    hi_band, lo_band = 1.0 + min_change, 1.0 / (1.0 + min_change)
    rejects = holm_bonferroni([c.p_value for *_, c in raw], alpha) if raw else []
    cells = []
    for ((cand, b), sa, sb, comp), reject in zip(raw, rejects):
        med = comp.ratio_median
        outside = med.has_interval and (med.low > hi_band or med.high < lo_band)  # min_change 0: excludes 1
        significant = bool(reject and outside)
        reason = _inconclusive_reason(comp, alpha)
        change = "inconclusive" if reason else "same" if not significant else ("slower" if med.value > 1.0 else "faster")
        cells.append(CellComparison(
            candidate=cand, batch_size=b, comparison=comp,
            median_a_s=float(np.median(sa.values)), median_b_s=float(np.median(sb.values)),
            block_size_a=int(sa.meta.get("block_size", 1) or 1), block_size_b=int(sb.meta.get("block_size", 1) or 1),
            stop_reason_a=sa.meta.get("stop_reason"), stop_reason_b=sb.meta.get("stop_reason"),
            holm_reject=bool(reject), significant=significant, change=change, inconclusive_reason=reason,
        ))
    return cells


def _inconclusive_reason(comp: Comparison, alpha: float) -> str | None:
    """Why a cell's test cannot be trusted (its median ratio has no interval), or None when it can."""
    med = comp.ratio_median
    if med.has_interval:
        return None
    need = min_samples_for_quantile_ci(0.5, 1.0 - alpha)
    few = [f"{n} in {run}" for run, n in (("A", comp.n_a), ("B", comp.n_b)) if n < need]
    if comp.test == MWU_TEST and few:
        return (f"too few samples for the test and the interval of the ratio of medians: {' and '.join(few)}, "
                f"{need} needed in each at {1 - alpha:.0%} confidence")
    return f"no interval of the ratio of medians ({med.method})"


def _rule(min_change: float, drift: float | None, prior: VariancePrior | None, n_cells: int) -> str:
    """The significance rule in words, with the drift divided out and the repeat-level test's prior."""
    rule = significance_rule(min_change)
    if drift is not None:
        rule += f"; run B's samples divided by the run-wide shift {drift:.4f} first"
    if prior is not None:
        fitted = (f"variance prior d0 = {'inf' if math.isinf(prior.d0) else f'{prior.d0:.2f}'}, s0 = {prior.s0:.4f}"
                  if prior.fitted else
                  f"fewer than {MIN_CELLS_FOR_PRIOR} cells with a positive variance between windows: no prior, each cell's own variance")
        rule += (f"; {prior.n_cells} of {n_cells} cells compared by their time windows ({fitted}; their p50 ratio is "
                 "that of the geometric means of the window medians)")
    return rule


def _get(d: dict, path: str):
    for part in path.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


_SETUP_FIELDS = (
    ("environment", "cpu.model", "CPU"),
    ("environment", "cores_logical", "logical cores"),
    ("environment", "affinity", "CPU affinity"),
    ("environment", "cpu.governor", "frequency governor"),
    ("environment", "cpu.turbo", "turbo"),
    ("environment", "hostname", "host"),
    ("environment", "python.version", "Python"),
    ("config", "threads", "threads per candidate"),
    ("config", "timing", "timing configuration"),
)


def setup_differences(run_a, run_b) -> list[str]:
    """What differs between the two runs' setups and could explain a change (empty when nothing)."""
    out = []
    for where, path, label in _SETUP_FIELDS:
        va, vb = _get(getattr(run_a, where), path), _get(getattr(run_b, where), path)
        if va != vb:
            out.append(f"{label}: {va!r} vs {vb!r}")
    libs_a = run_a.environment.get("libraries") or {}
    libs_b = run_b.environment.get("libraries") or {}
    for name in sorted(set(libs_a) | set(libs_b)):
        if libs_a.get(name) != libs_b.get(name):
            out.append(f"{name}: {libs_a.get(name)} vs {libs_b.get(name)}")
    gpus_a = [g.get("name") for g in run_a.environment.get("gpu") or []]
    gpus_b = [g.get("name") for g in run_b.environment.get("gpu") or []]
    if gpus_a != gpus_b:
        out.append(f"GPUs: {gpus_a} vs {gpus_b}")
    return out


# ------------------------------------------------------------------------------------------------
# stability of one run
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStability:
    """Warnings about one run: ``run_warnings`` for the whole run, ``cells`` per (candidate, batch size)."""

    run_warnings: list[str]
    cells: dict[tuple[str, int], list[str]]

    @property
    def n_cells_warned(self) -> int:
        return sum(1 for w in self.cells.values() if w)

    def to_dict(self) -> dict:
        return {"run": list(self.run_warnings),
                "cells": [{"candidate": k, "batch_size": b, "warnings": w} for (k, b), w in sorted(self.cells.items())]}


def own_load(threads: int, run_wall_time_s: float) -> float:
    """What a benchmark's own busy worker adds to the 1-minute load average after ``run_wall_time_s``.

    The kernel's 1-minute load average is an exponentially weighted average with a 60 s time
    constant; ``threads`` runnable threads for T seconds raise it by ``threads * (1 - exp(-T/60))``.
    """
    return float(threads) * (1.0 - math.exp(-max(0.0, float(run_wall_time_s)) / 60.0))


def _first(load) -> float | None:
    if isinstance(load, (list, tuple)) and load and isinstance(load[0], (int, float)):
        return float(load[0])
    if isinstance(load, (int, float)) and not isinstance(load, bool):
        return float(load)
    return None


def _short_windows(meta: dict) -> str:
    """'its time window' / 'N of its M time windows' that stopped at max_time before min_samples, or ''."""
    reasons = meta.get("stop_reasons") or [meta.get("stop_reason")]
    n = sum(r == STOP_MAX_TIME_SHORT for r in reasons)
    if not n:
        return ""
    return "its time window" if len(reasons) == 1 else f"{n} of its {len(reasons)} time windows"


def stability_report(run, *, iqr_threshold: float = 0.10, load_change_threshold: float = 0.5,
                     severe_outlier_share: float = 0.05) -> RunStability:
    """Per-cell and run-wide warnings for a stored run (see the module docstring for the rules).

    Run-wide, load: the 1-minute load average at the start (``environment.load_average``) and at
    the end (``environment.load_average_after``), after subtracting :func:`own_load` (the run's
    own worker, ``config.threads`` threads over ``environment.run_wall_time_s``), differ by more
    than ``load_change_threshold`` x the logical cores (the rule of ``stats.stability_warnings``).
    """
    env, cfg = run.environment or {}, run.config or {}
    cores = env.get("cores_logical") or (len(env["affinity"]) if env.get("affinity") else None) or 1
    run_warnings = []
    before, after = _first(env.get("load_average")), _first(env.get("load_average_after"))
    if before is not None and after is not None:
        threads = int(cfg.get("threads") or 1)
        wall = env.get("run_wall_time_s")
        mine = own_load(threads, wall) if isinstance(wall, (int, float)) else 0.0
        change = (after - mine) - before
        limit = load_change_threshold * cores
        if abs(change) > limit:
            run_warnings.append(
                f"The 1-minute load average went from {before:.2f} to {after:.2f} during the run "
                f"({after - mine:.2f} after removing about {mine:.2f} for the run's own worker), "
                f"a change of more than {load_change_threshold:g} x {cores} cores = {limit:.2f}: "
                f"other work competed for the machine; compare with care."
            )
    rel_tol = _get(cfg, "timing.rel_tol") or 0.05
    cells = {}
    for (cand, b), s in sorted(latency_cells(run).items()):
        summary = summarize(s.values)
        warnings = stability_warnings(summary, iqr_threshold=iqr_threshold, severe_outlier_share=severe_outlier_share)
        meta = s.meta or {}
        reason = meta.get("stop_reason")
        half = (meta.get("rel_halfwidths") or {}).get("0.5")
        short = _short_windows(meta)
        if short:
            min_samples = _get(cfg, "timing.min_samples")
            known = f"+-{half:.1%}" if isinstance(half, (int, float)) and math.isfinite(half) else "not at all (too few samples for an interval)"
            warnings.append(
                f"Sampling stopped at max_time_s in {short} before min_samples"
                + (f" = {min_samples}" if min_samples is not None else "")
                + f" samples were taken ({meta.get('n_samples')} in all; max_time_s wins over min_samples): "
                f"its median is known {known}; give it more time (--max-time) for a firmer figure."
            )
        elif reason not in (None, "precision") and isinstance(half, (int, float)) and half > rel_tol:
            where = reason
            if reason == "mixed":
                all_reasons = meta.get("stop_reasons") or []
                bounds = [r for r in all_reasons if r not in (None, "precision")]
                where = f"{', '.join(sorted(set(bounds)))} in {len(bounds)} of its {len(all_reasons)} time windows"
            warnings.append(
                f"Sampling stopped at {where} with the median known only to +-{half:.1%} "
                f"(target {rel_tol:.0%}); give it more time (--max-time) for a firmer figure."
            )
        windows = repeat_medians(s)
        if windows is not None and windows.min() > 0 and windows.max() / windows.min() - 1.0 > iqr_threshold:
            warnings.append(
                f"The medians of its {windows.size} time windows differ by {windows.max() / windows.min() - 1.0:.0%} "
                "(slowest against fastest): the machine's speed changed during the run, and this cell's median "
                "is only as firm as that."
            )
        k = int(meta.get("block_size") or 1)
        if k > 1:
            min_block = _get(cfg, "timing.min_block_s")
            why = f"one call is shorter than min_block_s = {min_block * 1e6:g} us" if isinstance(min_block, (int, float)) else "one call is very short"
            warnings.append(
                f"Timed in blocks of {k} calls ({why}): "
                f"each sample is a {k}-call mean, so tail quantiles ({quantile_key(0.99)}) are of those means."
            )
        cells[(cand, b)] = warnings
    return RunStability(run_warnings=run_warnings, cells=cells)
