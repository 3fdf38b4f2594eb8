"""``effbench recommend RUN_ID...``: which model to use under constraints, and why (several runs: which
model on which hardware; see :mod:`effbench.cli.study`).

Only click and the standard library are imported at module level.
"""

from __future__ import annotations


import click

from effbench.cli.common import check_json_output, db_option, echo_lines, emit_json, human_output, split_list
from effbench.cli.study import hw_label_option


@click.command()
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@db_option
@hw_label_option
@click.option("--min-accuracy", type=float, default=None, metavar="X", help="Minimum quality (a ratio, e.g. 0.97); for a metric where lower is better (rmse, mae), the maximum.")
@click.option("--max-loss", type=float, default=None, metavar="X",
              help="At most this much quality worse than the best model of the run (e.g. 0.01 = one point of accuracy).")
@click.option("--max-latency-p99", type=float, default=None, metavar="S", help="Upper bound on the p99 latency per call at --batch-size, in seconds.")
@click.option("--max-memory", type=float, default=None, metavar="BYTES", help="Upper bound on the worker's peak RSS at --batch-size, in bytes.")
@click.option("--max-energy", type=float, default=None, metavar="J", help="Upper bound on the energy indicator (--energy-indicator), in joules.")
@click.option("--energy-indicator", default=None, metavar="INDICATOR",
              help="The energy indicator --max-energy and 'energy' refer to "
                   "[default: energy_per_sample_j_b<--batch-size>, e.g. energy_per_sample_j_b1].")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size at which latency, memory, energy and carbon are read.")
@click.option("--prefer", default="simplicity,params,latency,size", show_default=True, metavar="COSTS",
              help="Preference order over costs: simplicity, params, nonzero_params, size, flops, latency (p99), latency_p50, "
                   "memory, energy (--energy-indicator), carbon (estimated, at --batch-size), train_time, "
                   "or any indicator name (e.g. latency_p50_per_sample_s_b32).")
@click.option("--quality", default=None, help="The quality metric; its direction is the run's (accuracy, r2: larger is better; rmse, mae: smaller) "
                                              "[default: accuracy, or the run's first metric when its suite does not list accuracy, e.g. rmse].")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Level of the parity test (McNemar exact; Wilcoxon signed-rank on the errors for regression; 0.05 = 95%).")
@click.option("--tie-rtol", type=float, default=0.0, show_default=True, help="Costs within this relative difference tie in the preference order.")
@click.option("--noise-ties/--no-noise-ties", default=True, show_default=True,
              help="Latency and throughput costs whose confidence intervals (level 1 - alpha, from the raw samples) overlap tie; "
                   "a tie goes to the simpler model, then the default configuration (not a variant).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write the recommendation as JSON to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def recommend(run_ids, db, hw_labels, min_accuracy, max_loss, max_latency_p99, max_memory, max_energy, energy_indicator, batch_size, prefer,
              quality, alpha, tie_rtol, json_out, force, noise_ties):
    """Name the model to use under constraints, with the evidence.

    \b
    A simpler or cheaper model is recommended when it is on par with the most accurate one
    (McNemar's exact test on the same test examples; for regression, Wilcoxon's signed-rank test on
    their errors); only Pareto-frontier models are named.
    RUN_ID...: ids, unique prefixes or 'latest' (the default). Runs on several hardware make each
    candidate one choice per hardware (KEY@HARDWARE).
    Example:
      effbench recommend latest --max-loss 0.01 --max-latency-p99 0.001 --prefer simplicity,latency,size
    """
    from effbench.analysis.selection import COST_ALIASES, Constraints, default_quality, recommend as do_recommend
    from effbench.errors import ConfigError
    from effbench.report.recommendation import render_recommendation
    from effbench.cli.study import load_study
    from effbench.validation import Interval, check

    check_json_output(json_out, force)
    if energy_indicator is None:
        energy_indicator = f"energy_per_sample_j_b{batch_size}"
    elif not energy_indicator.strip():
        raise ConfigError("--energy-indicator: give an indicator name (e.g. energy_per_sample_j_b1); got an empty string")
    if min_accuracy is not None and max_loss is not None:
        raise ConfigError("--min-accuracy and --max-loss: give one of them, not both")
    limits = {f"latency_p99_s_b{batch_size}": ("--max-latency-p99", max_latency_p99),
              f"peak_rss_bytes_b{batch_size}": ("--max-memory", max_memory), energy_indicator: ("--max-energy", max_energy)}
    positive = Interval(float, 0, None, closed="neither")
    constraints = Constraints(min_quality=min_accuracy, max_loss=max_loss,
                              max_costs={k: check(opt, v, positive) for k, (opt, v) in limits.items() if v is not None})
    preference = [energy_indicator if p == "energy" else p for p in (split_list(prefer) or [])]
    if not preference:
        raise ConfigError(f"--prefer: give at least one cost; allowed: simplicity, {', '.join(COST_ALIASES)} or an indicator name")
    run = load_study(db, run_ids, hw_labels).merged()
    rec = do_recommend(run, constraints, preference,
                       alpha=alpha, quality=quality or default_quality(run), tie_rtol=tie_rtol, batch_size=batch_size, noise_ties=noise_ties)

    out, err = render_recommendation(rec)
    with human_output(json_out):
        echo_lines(out)
    echo_lines(err, err=True)
    if json_out:
        emit_json(json_out, rec.to_dict(), force=force, indent=1)
    return 0
