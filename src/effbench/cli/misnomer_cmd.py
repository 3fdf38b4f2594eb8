"""``effbench misnomer``: where cost indicators disagree, on external tables of models.

Loads CSV files with :func:`effbench.store.tables.load_tables`, parses ``--indicator`` with
:func:`effbench.analysis.objectives.parse_objective`, runs
:func:`effbench.analysis.misnomer.table_misnomer` and renders it with
:mod:`effbench.report.misnomer` (text) or its ``to_dict()`` (JSON). Only click and the standard
library are imported at module level.
"""

from __future__ import annotations

import click


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
@click.option("--csv", "csv_files", multiple=True, required=True, type=click.Path(dir_okay=False),
              metavar="FILE", help="CSV table of models (repeatable: files are joined on --key).")
@click.option("--key", required=True, metavar="COLUMN", help="Column that names each model (the join key).")
@click.option("--indicator", "indicator_specs", multiple=True, required=True, metavar="COLUMN:max|min",
              help="A cost or quality column and which way is better (repeatable, at least 2).")
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
def misnomer(csv_files, key, indicator_specs, label_specs, min_factor, min_other_factor, top,
             confidence, json_out, force):
    """Rank correlations and contradictions between cost indicators (the efficiency misnomer).

    After Dehghani et al., "The Efficiency Misnomer" (ICLR 2022). For every pair of indicators:
    Kendall tau-b and Spearman rho with Fisher-z intervals ('oriented': +1 means the two agree on
    which model is more efficient; 'raw': on the stored values), and the model pairs where one
    model is better on one indicator and the other on the other, by the given factors.
    Models with a missing value in any indicator are left out (the count is printed).

    \b
    Example:
      effbench misnomer --csv imagenet-models.csv --key id \\
        --indicator gmacs:min --indicator gpu_rtx3090_amp_samples_per_sec:max
    """
    from effbench.analysis.misnomer import Indicator, TableInput, table_misnomer
    from effbench.analysis.objectives import parse_objectives
    from effbench.errors import ConfigError
    from effbench.report.misnomer import render_table_misnomer
    from effbench.store.files import check_output, write_json
    from effbench.store.tables import load_tables

    objectives = parse_objectives(indicator_specs, option="--indicator")
    if len(objectives) < 2:
        raise ConfigError(f"--indicator: give at least 2 to compare, got {len(objectives)}")
    names = [o.name for o in objectives]
    labels = _parse_labels(label_specs, names)
    if json_out:
        check_output(json_out, force, "--json")

    keys, matrix, report = load_tables(list(csv_files), key, names)
    indicators = [Indicator(o.name, o.direction, label=labels.get(o.name)) for o in objectives]
    result = table_misnomer(TableInput.from_load_report(report, key), keys, {name: matrix[:, i] for i, name in enumerate(names)},
                            indicators, min_factor=min_factor, min_other_factor=min_other_factor, top=top, confidence=confidence)
    for line in render_table_misnomer(result):
        click.echo(line)
    if json_out:
        write_json(json_out, result.to_dict(), force=force, indent=2)
        click.echo(f"wrote {json_out}")
