"""The text of ``effbench compare``: a :class:`effbench.analysis.compare_runs.RunComparison` in, text blocks out."""

from __future__ import annotations

import math

from effbench.numbers import MISSING, fmt_p, fmt_ratio, fmt_seconds
from effbench.report.text import render_table

__all__ = ["nothing_compared", "render_comparison", "summary_line"]


def nothing_compared(result) -> str:
    """The line for a comparison without a common cell."""
    return f"run {result.run_b} (B) against run {result.run_a} (A): no cell (candidate, batch size) has latency samples in both runs"


def _verdict(c) -> str:
    return "INCONCLUSIVE" if c.change == "inconclusive" else c.change.upper() if c.significant else "~"


def _ratio(est, with_ci: bool = True) -> str:
    if est is None or not math.isfinite(est.value):
        return MISSING
    if not with_ci:
        return fmt_ratio(est.value)
    if not est.has_interval:
        return f"{fmt_ratio(est.value)} [no CI]"
    return f"{fmt_ratio(est.value)} [{fmt_ratio(est.low)}, {fmt_ratio(est.high)}]"


def render_comparison(result) -> list[str]:
    """Text blocks (table first) for a RunComparison; intervals at 1 - alpha."""
    confidence_pct = f"{1 - result.alpha:.0%}"
    rows = []
    for c in result.cells:
        comp = c.comparison
        blocks = "" if c.block_size_a == 1 and c.block_size_b == 1 else f" (blocks {c.block_size_a}/{c.block_size_b})"
        rows.append([
            c.candidate, str(c.batch_size), f"{comp.n_a}/{comp.n_b}",
            fmt_seconds(c.median_a_s), fmt_seconds(c.median_b_s),
            _ratio(comp.ratio_median), _ratio(comp.ratios.get(0.9)), _ratio(comp.ratios.get(0.99)),
            fmt_p(comp.p_value), _verdict(c) + blocks,
        ])
    by_repeats = result.variance_prior is not None
    caption = (f"ratios B/A (> 1: B slower) with {confidence_pct} intervals"
               + (" (p50 of cells compared by time windows: ratio of the geometric means of the window medians, moderated "
                  "t interval, while the p50 A and B columns are the pooled medians; other intervals: percentile bootstrap)"
                  if by_repeats else " (percentile bootstrap)") + "; "
               f"p: {result.test}; {result.correction}; {result.rule}; alpha = {result.alpha:g}.")
    title = f"run {result.run_b} (B) against run {result.run_a} (A)"
    headers = ["candidate", "batch", "n A/B", "p50 A", "p50 B", "p50 B/A", "p90 B/A", "p99 B/A", "p", "result"]
    out = []
    if rows:
        # kept together first: the p50 ratio and the verdict, then the tails
        out.append(render_table(title, headers, rows, caption=caption, keys=2, priority=[5, 9, 8, 3, 4, 6, 7, 2]))
    else:
        out.append(nothing_compared(result))
    unsure = [c for c in result.cells if c.change == "inconclusive"]
    if unsure:
        out.append(f"inconclusive ({len(unsure)}): "
                   + "; ".join(f"{c.candidate} b={c.batch_size}: {c.inconclusive_reason}" for c in unsure))
    for label, cells in (("only in A", result.only_in_a), ("only in B", result.only_in_b)):
        if cells:
            out.append(f"{label} ({len(cells)}): " + ", ".join(f"{k} b={b}" for k, b in cells))
    if result.setup_differences:
        out.append("setup differs: " + "; ".join(result.setup_differences))
    out.append(summary_line(result))
    return out


def summary_line(result) -> str:
    n = len(result.cells)
    if n == 0:
        return "summary: nothing compared"
    dist = result.ratios
    line = (f"summary: {n} cells compared: {result.n_slower} significantly slower, {result.n_faster} significantly faster "
            f"({result.share_significant:.1%} flagged: Holm-Bonferroni at alpha {result.alpha:g}, "
            f"change beyond {result.min_change:.0%})")
    if result.n_inconclusive:
        line += f"; {result.n_inconclusive} inconclusive (no interval, see above)"
    if result.drift is not None:
        line += f"; run-wide shift B/A {result.drift:.3f} divided out first (ratios below are relative to it)"
    if dist is not None:
        line += (f"; ratio of medians B/A: min {dist.min:.3f}, median {dist.median:.3f}, max {dist.max:.3f}, "
                 f"IQR {dist.iqr:.3f} ({dist.q25:.3f}-{dist.q75:.3f}), geometric mean {dist.geometric_mean:.3f}")
    return line
