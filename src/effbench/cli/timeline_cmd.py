"""``effbench timeline``: costs and quality of models over their publication years.

Loads one CSV file with :func:`effbench.store.tables.load_columns`, fits the trends with
:func:`effbench.analysis.timeline.timeline` and renders them with :mod:`effbench.report.timeline`.
Only click and the standard library are imported at module level.
"""

from __future__ import annotations

import os

import click

from effbench.cli.common import check_json_output


@click.command()
@click.option("--csv", "csv_file", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="CSV table of models, one row per model.")
@click.option("--year", "year_col", required=True, metavar="COLUMN", help="Column with each model's publication year.")
@click.option("--quality", "quality_col", required=True, metavar="COLUMN", help="Quality column (e.g. top1), > 0.")
@click.option("--cost", "cost_cols", multiple=True, required=True, metavar="COLUMN",
              help="Cost column (energy, FLOPs, params...), > 0 (repeatable).")
@click.option("--label", "label_col", default=None, metavar="COLUMN", help="Column that names each model in messages and JSON.")
@click.option("--confidence", default=0.95, show_default=True, type=float, help="Confidence level of the intervals.")
@click.option("--plot", "plot_out", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="Draw the models and the trends into FILE (.png or .svg).")
@click.option("--json", "json_out", default=None, metavar="FILE", help="Write the trends as JSON to FILE; '-': only the JSON on standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json or --plot file.")
def timeline(csv_file, year_col, quality_col, cost_cols, label_col, confidence, plot_out, json_out, force):
    """Trends of costs and quality over the years, and whether costs rise faster than quality.

    \b
    After the timeline of Yarally et al., "Batching for Green AI" (SEAA 2023). Each column gets a
    log-linear trend (least squares of ln(value) on the year) with a confidence interval on its
    rate per year; each cost is compared with the quality through the trend of cost / quality.
    Rows with a missing value are dropped (and counted); values must be > 0.
    Example:
      effbench timeline --csv models.csv --year year --quality top1 --cost params --cost gflops
    """
    from effbench.analysis.timeline import timeline as fit_timeline
    from effbench.errors import ConfigError
    from effbench.report.timeline import check_plot_path, render_timeline, write_timeline_plot
    from effbench.store.files import write_json
    from effbench.store.tables import load_columns

    check_json_output(json_out, force)
    if plot_out:
        check_plot_path(plot_out, force)
    if year_col in (quality_col, *cost_cols):
        raise ConfigError(f"--year {year_col!r} is also given as --quality or --cost; give a separate year column")
    names = list(dict.fromkeys([year_col, quality_col, *cost_cols]))
    labels, matrix, report = load_columns(csv_file, names, label=label_col)
    tl = fit_timeline(matrix[:, 0], {n: matrix[:, i] for i, n in enumerate(names)}, quality=quality_col, costs=list(cost_cols),
                      labels=labels, confidence=confidence, dropped=[(d.key, d.reason) for d in report.dropped],
                      rows_read=report.rows_read[os.fspath(csv_file)])
    for d in report.dropped:  # after the fit: a refused table is one line, as every bad input
        click.echo(f"effbench: dropped {d.key!r}: {d.reason}", err=True)
    if json_out != "-":
        for line in render_timeline(tl, os.path.basename(csv_file)):
            click.echo(line)
    if json_out:
        write_json(json_out, tl.to_dict(), force=force, indent=2)
        if json_out != "-":
            click.echo(f"effbench: wrote {json_out}", err=True)
    if plot_out:
        write_timeline_plot(tl, plot_out, force=force)
        click.echo(f"effbench: wrote {plot_out}", err=True)
