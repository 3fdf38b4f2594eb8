"""``effbench misnomer``: where cost indicators disagree, on stored runs or external tables of models.

With RUN_IDs: the runs become one study (:func:`effbench.cli.study.load_study`; several hardware give
each candidate one row per hardware, ``key@hardware``) and
:func:`effbench.analysis.run_misnomer.run_misnomer` compares the indicators of ``effbench recommend``
(default: :data:`~effbench.analysis.run_misnomer.RUN_INDICATORS`, or ``--indicator``).

Loads CSV files with :func:`effbench.store.tables.load_tables`, parses ``--indicator`` with
:func:`effbench.analysis.objectives.parse_objective`, runs
:func:`effbench.analysis.misnomer.table_misnomer` and renders it with
:mod:`effbench.report.misnomer` (text) or its ``to_dict()`` (JSON). Only click and the standard
library are imported at module level.
"""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, echo_lines, emit_json, human_output
from effbench.cli.study import check_sources, hw_label_option


def _parse_labels(specs, indicator_names):
    from effbench.errors import ConfigError

    labels = {}
    for spec in specs:
        col, sep, text = spec.partition("=")
        col, text = col.strip(), text.strip()
        if not sep or not col or not text:
            raise ConfigError(f"--label {spec!r}: expected COLUMN=TEXT, e.g. gmacs=GMACs")
        if col not in indicator_names:
            raise ConfigError(
                f"--label {spec!r}: {col!r} is not an --indicator column; indicators: "
                f"{', '.join(indicator_names)}"
            )
        labels[col] = text
    return labels


@click.command()
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--csv", "csv_files", multiple=True, type=click.Path(dir_okay=False),
              metavar="FILE", help="CSV table of models (repeatable: files are joined on --key). Or give RUN_IDs.")
@click.option("--key", metavar="COLUMN", help="Column that names each model (the join key; with --csv).")
@click.option("--indicator", "indicator_specs", multiple=True, metavar="COLUMN:max|min",
              help="A cost or quality column and which way is better (repeatable, at least 2; with --csv required, "
                   "with RUN_IDs default: params, flops_per_sample, size_bytes, latency_p50_s_b1, "
                   "best_throughput_samples_per_s, peak_rss_bytes_b1, accuracy).")
@click.option("--label", "label_specs", multiple=True, metavar="COLUMN=TEXT",
              help="Name used in sentences for an indicator, e.g. 'gpu_samples_per_sec=GPU throughput'.")
@click.option("--min-factor", default=1.25, show_default=True, type=float, metavar="X",
              help="Contradiction: the larger of the two factors must be at least X.")
@click.option("--min-other-factor", default=1.1, show_default=True, type=float, metavar="X",
              help="Contradiction: the smaller of the two factors must be at least X.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0), metavar="K",
              help="Strongest contradictions listed per indicator pair (the count is always complete).")
@click.option("--confidence", default=0.95, show_default=True, type=float,
              help="Confidence level of the correlation intervals.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, metavar="OUT",
              help="Write correlations and contradictions as JSON to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
@db_option
@hw_label_option
def misnomer(run_ids, csv_files, key, indicator_specs, label_specs, min_factor, min_other_factor, top,
             confidence, json_out, force, db, hw_labels):
    """Rank correlations and contradictions between cost indicators (the efficiency misnomer).

    After Dehghani et al., "The Efficiency Misnomer" (ICLR 2022). For every pair of indicators:
    Kendall tau-b and Spearman rho with Fisher-z intervals ('oriented': +1 means the two agree on
    which model is more efficient; 'raw': on the stored values), and the model pairs where one
    model is better on one indicator and the other on the other, by the given factors.
    Models with a missing value in any indicator are left out (the count is printed).

    \b
    Examples:
      effbench misnomer latest
      effbench misnomer RUN_A RUN_B          # runs on two machines: each candidate once per machine
      effbench misnomer --csv imagenet-models.csv --key id \\
        --indicator gmacs:min --indicator gpu_rtx3090_amp_samples_per_sec:max
    """
    from effbench.analysis.misnomer import Indicator, TableInput, table_misnomer
    from effbench.analysis.objectives import parse_objectives
    from effbench.errors import ConfigError
    from effbench.report.misnomer import render_table_misnomer
    from effbench.store.tables import load_tables

    check_sources(run_ids, csv_files, key, hw_labels, csv_form="--csv FILE with --key COLUMN and --indicator")
    given = bool(indicator_specs)
    if run_ids and not given:
        from effbench.analysis.run_misnomer import RUN_INDICATORS

        indicator_specs = [f"{i.name}:{i.direction}" for i in RUN_INDICATORS]
    objectives = parse_objectives(indicator_specs, option="--indicator")
    if len(objectives) < 2:
        raise ConfigError(f"--indicator: give at least 2 to compare, got {len(objectives)}")
    names = [o.name for o in objectives]
    labels = _parse_labels(label_specs, names)
    check_json_output(json_out, force)

    if run_ids:
        _run_form(db, run_ids, hw_labels, objectives, labels, json_out, force, given,
                  {"min_factor": min_factor, "min_other_factor": min_other_factor, "top": top, "confidence": confidence})
        return
    keys, matrix, report = load_tables(list(csv_files), key, names)
    indicators = [Indicator(o.name, o.direction, label=labels.get(o.name)) for o in objectives]
    result = table_misnomer(TableInput.from_load_report(report, key), keys, {name: matrix[:, i] for i, name in enumerate(names)},
                            indicators, min_factor=min_factor, min_other_factor=min_other_factor, top=top, confidence=confidence)
    with human_output(json_out):
        echo_lines(render_table_misnomer(result))
    if json_out:
        emit_json(json_out, result.to_dict(), force=force)


def _run_form(db, run_ids, hw_labels, objectives, labels, json_out, force, given, options) -> None:
    """The misnomer analysis of stored runs (one study; see effbench.cli.study); an indicator
    ``given`` on the command line must be one the runs can give (the default ones may be absent)."""
    from effbench.analysis.misnomer import Indicator
    from effbench.analysis.run_misnomer import RUN_INDICATORS, run_misnomer
    from effbench.analysis.run_table import (
        is_known_indicator,
        unknown_indicator_message,
    )
    from effbench.cli.study import load_study
    from effbench.errors import ConfigError
    from effbench.analysis.costs import random_quality_cells
    from effbench.report.misnomer import render_misnomer_result
    from effbench.report.text import random_weights_notes

    known = {i.name: i for i in RUN_INDICATORS}
    indicators = tuple(Indicator(o.name, o.direction, label=labels.get(o.name) or getattr(known.get(o.name), "label", None),
                                 kind=getattr(known.get(o.name), "kind", None)) for o in objectives)
    study = load_study(db, run_ids, hw_labels)
    run = study.merged()
    for ind in indicators if given else ():
        if not is_known_indicator(run, ind.name):
            raise ConfigError("--indicator: " + unknown_indicator_message(run, ind.name))
    result = run_misnomer(run, indicators=indicators, **options)
    names = [i.name for i in result.result.indicators]
    random = {k for k, _ in random_quality_cells(run, [c.key for c in run.candidates], names)}
    with human_output(json_out):
        echo_lines([f"{result.result.n_models} candidates from run(s) {', '.join(study.run_ids)}"
                    + (f" on {len(study.hardware)} hardware (one row per candidate and hardware)" if study.several_hardware else ""),
                    *(f"note: indicator {name} left out: {reason}" for name, reason in result.dropped_indicators),
                    *(f"note: candidate {name} left out: {reason}" for name, reason in result.dropped_candidates),
                    *render_misnomer_result(result.result), *random_weights_notes(random)])
    if json_out:
        emit_json(json_out, result.to_dict(), force=force)
