"""``effbench report``: the report of stored runs (HTML, Markdown or LaTeX; static figures).

Several runs become one study (:mod:`effbench.cli.study`): candidates on several hardware are shown
once per hardware (``key@hardware``), and tail-quality runs are joined to the costs of the same
candidates.

Only click and the standard library are imported at module level; the renderers live in
:mod:`effbench.report` (html, tables, figures).
"""

from __future__ import annotations

import click

from effbench.cli.common import db_option
from effbench.cli.study import hw_label_option

_SUFFIX = {"html": ".html", "markdown": ".md", "latex": ".tex"}


_FORMAT_ALIASES = {"md": "markdown", "tex": "latex"}


@click.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown", "md", "latex", "tex"]), default="html",
              show_default=True, callback=lambda ctx, param, value: _FORMAT_ALIASES.get(value, value),
              help="html: one self-contained page with interactive plots; markdown/latex: the cost, Pareto (with DEA) "
                   "and misnomer tables for papers (LaTeX needs booktabs and siunitx).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Output file (default: effbench-report-RUN_ID.html/.md/.tex in the current directory; '-' = stdout).")
@click.option("--figures", "figures_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also write static PNG and SVG figures (matplotlib) into DIR.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@db_option
@hw_label_option
def report(run_ids, fmt, output, figures_dir, force, db, hw_labels):
    """Write the report of stored runs (RUN_ID...: ids, unique prefixes, or 'latest').

    \b
    Several runs make one report: runs on several machines show each candidate once per machine
    (KEY@HARDWARE; --hw-label RUN=LABEL names a machine), and a tail-quality run ('effbench tail
    measure') is joined to the costs of the same candidates: give both runs; a tail run measured
    with --cost-run RUN is found from either side (the latest one linked to each cost run given).

    \b
    The HTML report holds: the cost table, the setup, accuracy vs each cost with the Pareto
    frontier, latency distributions at batch 1, batch-size curves, energy and tail quality
    (or what was not measured), the misnomer analysis, the recommendation when available,
    and one cost card per candidate. Every number says its unit and whether it was measured,
    estimated or computed (analytic).

    \b
    Examples:
      effbench report latest                       # effbench-report-<id>.html
      effbench report latest --format latex -o costs.tex
      effbench report 2026 --figures figs/ --force
      effbench report COST_RUN TAIL_RUN            # costs and tail quality together
    """
    from effbench.cli.study import load_study
    from effbench.store.files import check_output, write_output

    run = load_study(db, run_ids, hw_labels, linked_tails=True).merged()
    to_stdout = output == "-"
    path = None if to_stdout else (output or f"effbench-report-{run.run_id}{_SUFFIX[fmt]}")
    if path is not None:
        check_output(path, force, "--output")  # before the rendering work
    if figures_dir:
        from effbench.report.figures import check_figures_dir

        check_figures_dir(figures_dir, force, run=run)
    if fmt == "html":
        _require("plotly", "--format html")
        from effbench.analysis.run_report import run_report
        from effbench.report.html import render_html

        text = render_html(run_report(run))
    else:  # the tables for papers: costs, Pareto (with DEA) and misnomer
        from effbench.analysis.run_report import run_report
        from effbench.report.tables import render_latex, render_markdown

        text = (render_markdown if fmt == "markdown" else render_latex)(run, run_report(run))
    if to_stdout:
        click.echo(text, nl=False)
    else:
        write_output(path, text, force=force, option="--output")
        click.echo(f"wrote {path} ({len(text.encode('utf-8')) / 1e6:.2f} MB, {fmt}, run {run.run_id})")
    if figures_dir:
        _require("matplotlib", "--figures")
        from effbench.report.figures import write_figures

        paths = write_figures(run, figures_dir, force=force)
        click.echo(f"wrote {len(paths)} figures to {figures_dir}: {', '.join(p.name for p in paths)}", err=to_stdout)
    return 0


def _require(module: str, option: str) -> None:
    import importlib.util

    from effbench.errors import ConfigError

    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{option} needs {module}, which is not installed; reinstall effbench (bash setup.sh) or: pip install {module}")
