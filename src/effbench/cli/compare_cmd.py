"""effbench compare RUN_A RUN_B: per candidate and batch size, is B faster or slower than A?"""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, echo_lines


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
@click.option("--fail-on-slower", "fail_on_slower", is_flag=True,
              help="Exit with code 1 when any cell of B is significantly slower than A, or inconclusive (too few "
                   "samples for the test) with a ratio of medians above 1 + --min-change; exit 2 when no cell has "
                   "latency samples in both runs (a CI gate).")
@db_option
def compare(run_a, run_b, alpha, min_change, adjust_drift, unit, json_out, force, seed, fail_on_slower, db):
    """Compare two runs: per candidate and batch size, the ratio B/A of median, p90 and p99 latency
    with confidence intervals, and whether B is significantly slower or faster.

    \b
    RUN_A is the baseline. A cell measured in 3 or more time windows (repeats) in both runs is
    tested on its repeat medians (moderated t-test: each cell's variance is shrunk towards a
    prior fitted over all cells); other cells by a two-sided Mann-Whitney U test on their samples.
    The p-values are corrected with Holm-Bonferroni over all cells, and a cell is flagged only
    when the correction rejects it and the interval of the ratio of medians lies outside
    [1/(1+x), 1+x], x = --min-change (5% by default). With --fail-on-slower the exit code is 1
    when any cell is flagged slower, or is inconclusive (no interval: too few samples) with a ratio
    of medians above 1 + x (0 otherwise), so a CI job can gate on it; 2 when nothing was compared.
    A cell without an interval is INCONCLUSIVE, never "same".
    """
    from effbench.analysis.compare_runs import ALPHA, MIN_CHANGE, compare_runs
    from effbench.errors import DataError
    from effbench.report.comparison import nothing_compared, render_comparison
    from effbench.records import LATENCY_PER_CALL
    from effbench.store.db import Store
    from effbench.store.files import write_json
    from effbench.validation import check

    alpha = check("--alpha", alpha, ALPHA)
    min_change = check("--min-change", min_change, MIN_CHANGE)
    check_json_output(json_out, force)
    with Store(db, create=False) as store:
        a = store.load_run(run_a, needs=LATENCY_PER_CALL)
        b = store.load_run(run_b, needs=LATENCY_PER_CALL)
    result = compare_runs(a, b, alpha=alpha, min_change=min_change, seed=seed, adjust_drift=adjust_drift, unit=unit)
    if fail_on_slower and not result.cells:  # a gate that compared nothing must not pass
        raise DataError(nothing_compared(result) + " (--fail-on-slower has nothing to gate on)")
    suspect = result.inconclusive_slower
    gate = 1 if fail_on_slower and (result.n_slower or suspect) else 0
    if json_out == "-":
        write_json("-", result.to_dict(), force=force, indent=2)
        return gate
    echo_lines(render_comparison(result))
    if json_out is not None:
        write_json(json_out, result.to_dict(), force=force, indent=2)
        click.echo(f"wrote the comparison as JSON to {json_out}", err=True)
    if gate and result.n_slower:
        click.echo(f"effbench: {result.n_slower} cell(s) significantly slower in {b.run_id} than in {a.run_id} "
                   "(--fail-on-slower)", err=True)
    if gate and suspect:
        cells = "; ".join(f"{c.candidate} b={c.batch_size} B/A {c.ratio_median:.3g}: {c.inconclusive_reason}" for c in suspect)
        click.echo(f"effbench: {len(suspect)} inconclusive cell(s) with a ratio of medians above {1 + min_change:g} "
                   f"in {b.run_id} against {a.run_id}, which the gate cannot pass (--fail-on-slower): {cells}", err=True)
    return gate
