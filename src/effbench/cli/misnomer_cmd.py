"""``effbench misnomer``: where cost indicators disagree, on external tables of models.

Loads CSV files with :func:`effbench.store.tables.load_tables`, parses ``--indicator`` with
:func:`effbench.analysis.objectives.parse_objective`, runs
:func:`effbench.analysis.misnomer.misnomer_analysis` and renders. Only click and the standard
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


def _dropped_summary(report) -> str:
    from collections import Counter

    if not report.dropped:
        return "no row dropped"
    reasons = Counter(d.reason for d in report.dropped)
    shown = "; ".join(f"{n} {r}" for r, n in reasons.most_common(4))
    more = len(reasons) - 4
    return f"{len(report.dropped)} rows dropped: {shown}" + (f"; {more} other reasons" if more > 0 else "")


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
    import os

    from effbench.analysis.misnomer import Indicator, misnomer_analysis
    from effbench.analysis.objectives import parse_objectives
    from effbench.errors import ConfigError
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
    values = {name: matrix[:, i] for i, name in enumerate(names)}
    result = misnomer_analysis(keys, values, indicators, min_factor=min_factor,
                               min_other_factor=min_other_factor, top=top, confidence=confidence)

    click.echo(f"{result.n_models} models from {', '.join(report.files)} (key {key!r}); "
               f"{_dropped_summary(report)}")
    for note in report.notes:
        click.echo(f"note: {note}")
    _render(result)

    if json_out:
        payload = {
            "schema": "effbench.misnomer/1",
            "input": {
                "files": [os.path.abspath(f) for f in report.files],
                "key": key,
                "rows_read": report.rows_read,
                "rows_kept": report.rows_kept,
                "rows_dropped": len(report.dropped),
            },
            **result.to_dict(),
        }
        write_json(json_out, payload, force=force, indent=2)
        click.echo(f"wrote {json_out}")


def _fmt_r(value, ci) -> str:
    if value is None or value != value:
        return "-"
    if ci is None:
        return f"{value:+.3f}"
    return f"{value:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _fmt_p(p) -> str:
    if p is None or p != p:
        return "-"
    return "<1e-300" if p < 1e-300 else f"{p:.2g}"


def _render(result) -> None:
    from effbench.report.text import render_table

    display = {i.name: i.display for i in result.indicators}
    level = f"{result.confidence * 100:g}%"
    rows = [
        [
            display[c.x], display[c.y], str(c.n_models),
            _fmt_r(c.kendall_oriented, c.kendall_oriented_ci),
            _fmt_r(c.spearman_oriented, c.spearman_oriented_ci),
            _fmt_r(c.kendall_raw, None), _fmt_r(c.spearman_raw, None),
            _fmt_p(c.kendall_p_value),
        ]
        for c in result.correlations
    ]
    text = render_table(
        "Rank correlations between indicators",
        ["x", "y", "models", f"Kendall tau-b oriented [{level}]", f"Spearman rho oriented [{level}]",
         "tau raw", "rho raw", "p (tau)"],
        rows,
        caption=("oriented: +1 = the two indicators always agree on which model is more efficient, "
                 "-1 = always disagree; raw: on the stored values (GMACs vs throughput is negative). "
                 "Intervals: Fisher z (Fieller et al. 1957 for tau, Bonett & Wright 2000 for rho)."),
    )
    if text is not None:
        click.echo(text)
    click.echo("")
    rule = (f"one model better on x, the other on y, larger factor >= "
            f"{result.min_factor:g}, smaller >= {result.min_other_factor:g}")
    click.echo(f"Contradictions ({rule}; strongest first = largest product of the two factors)")
    for p in result.contradictions:
        share = f"{100 * p.share:.1f}%" if p.n_pairs else "-"
        click.echo(f"{display[p.x]} vs {display[p.y]}: {p.count:,} of {p.n_pairs:,} model pairs ({share})")
        for c in p.top:
            click.echo(f"  - {c.text}")
    click.echo(f"total: {result.total_contradictions:,} contradicting (model pair, indicator pair) cases")
