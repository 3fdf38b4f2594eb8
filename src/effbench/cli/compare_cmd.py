"""effbench compare RUN_A RUN_B: per candidate and batch size, is B faster or slower than A?"""

from __future__ import annotations

import click

from effbench.cli.common import db_option


def _ratio(est, with_ci: bool = True) -> str:
    import math

    if est is None or not math.isfinite(est.value):
        return "-"
    if not with_ci:
        return f"{est.value:.3f}"
    if not est.has_interval:
        return f"{est.value:.3f} [no CI]"
    return f"{est.value:.3f} [{est.low:.3f}, {est.high:.3f}]"


def _p(p: float) -> str:
    return "-" if p != p else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def render_comparison(result, *, confidence_pct: str) -> list[str]:
    """Text blocks (table first) for a RunComparison; the table may be printed by rich directly."""
    from effbench.report.text import fmt_seconds, render_table

    rows = []
    for c in result.cells:
        comp = c.comparison
        blocks = "" if c.block_size_a == 1 and c.block_size_b == 1 else f" (blocks {c.block_size_a}/{c.block_size_b})"
        rows.append([
            c.candidate, str(c.batch_size), f"{comp.n_a}/{comp.n_b}",
            fmt_seconds(c.median_a_s), fmt_seconds(c.median_b_s),
            _ratio(comp.ratio_median), _ratio(comp.ratios.get(0.9)), _ratio(comp.ratios.get(0.99)),
            _p(comp.p_value), (c.change.upper() if c.significant else "~") + blocks,
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
        text = render_table(title, headers, rows, caption=caption)
        if text is not None:
            out.append(text)
    else:
        out.append(f"{title}: no cell (candidate, batch size) has latency samples in both runs")
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
    if result.drift is not None:
        line += f"; run-wide shift B/A {result.drift:.3f} divided out first (ratios below are relative to it)"
    if dist is not None:
        line += (f"; ratio of medians B/A: min {dist.min:.3f}, median {dist.median:.3f}, max {dist.max:.3f}, "
                 f"IQR {dist.iqr:.3f} ({dist.q25:.3f}-{dist.q75:.3f}), geometric mean {dist.geometric_mean:.3f}")
    return line


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="Family-wise error rate over all cells (Holm-Bonferroni); intervals are at 1 - alpha.")
@click.option("--min-change", "min_change", type=float, default=0.05, show_default=True,
              help="Smallest relative change worth a flag: the interval of the ratio of medians must lie outside "
                   "[1/(1+x), 1+x]. 0: any change the test supports.")
@click.option("--adjust-drift", "adjust_drift", is_flag=True,
              help="Divide run B by the run-wide shift (median of the cells' ratios) first: flag only cells that "
                   "moved relative to the rest, when the whole machine got faster or slower between the runs.")
@click.option("--unit", type=click.Choice(["auto", "repeats", "samples"]), default="auto", show_default=True,
              help="The observation: every repeat (time window) of a cell, for runs made with --repeats N >= 3 "
                   "(the default of 'effbench run'): a moderated t-test on the log repeat medians; or every timed call "
                   "(samples: Mann-Whitney U, which cannot see the variation between windows and so flags more); "
                   "auto: repeats where both cells have 3 or more, samples elsewhere. See docs/protocol.md.")
@click.option("--json", "json_out", metavar="OUT", default=None, help="Also write every cell as JSON to OUT ('-': JSON on standard output instead of the table).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@db_option
def compare(run_a, run_b, alpha, min_change, adjust_drift, unit, json_out, force, seed, db):
    """Compare two runs: per candidate and batch size, the ratio B/A of median, p90 and p99 latency
    with confidence intervals, and whether B is significantly slower or faster.

    \b
    RUN_A is the baseline. A cell measured in 3 or more time windows (repeats) in both runs is
    tested on its repeat medians (moderated t-test: each cell's variance is shrunk towards a
    prior fitted over all cells); other cells by a two-sided Mann-Whitney U test on their samples.
    The p-values are corrected with Holm-Bonferroni over all cells, and a cell is flagged only
    when the correction rejects it and the interval of the ratio of medians lies outside
    [1/(1+x), 1+x], x = --min-change (5% by default).
    """
    from effbench.analysis.compare_runs import compare_runs
    from effbench.errors import ConfigError
    from effbench.store.db import Store
    from effbench.store.files import check_output, write_json

    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be strictly between 0 and 1; got {alpha}")
    if json_out not in (None, "-"):
        check_output(json_out, force, "--json")
    with Store(db, create=False) as store:
        a = store.load_run(run_a)
        b = store.load_run(run_b)
    if not 0 <= min_change < 10:
        raise ConfigError(f"--min-change must be a relative change in [0, 10) (0.05 = 5%); got {min_change}")
    result = compare_runs(a, b, alpha=alpha, min_change=min_change, seed=seed, adjust_drift=adjust_drift, unit=unit)
    if json_out == "-":
        write_json("-", result.to_dict(), force=force, indent=2)
        return 0
    for block in render_comparison(result, confidence_pct=f"{1 - alpha:.0%}"):
        click.echo(block)
    if json_out is not None:
        write_json(json_out, result.to_dict(), force=force, indent=2)
        click.echo(f"wrote the comparison as JSON to {json_out}", err=True)
    return 0
