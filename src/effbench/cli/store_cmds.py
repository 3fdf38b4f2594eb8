"""effbench show / export / import: what the store holds."""

from __future__ import annotations

import click

from effbench.cli.common import db_option


def print_run_summary(run, *, db_path=None, batches: bool = False):
    from effbench.analysis.costs import batch_rows, cost_table
    from effbench.report.text import COLUMNS, cost_rows_as_text, fmt_bytes, fmt_seconds, fmt_si, legend, render_table, setup_line

    title = f"run {run.run_id} ({run.suite}, {run.status}) - {run.task.get('name', '?')}: {run.task.get('n_test', '?')} test examples"
    text = render_table(title, [h for _, h in COLUMNS], cost_rows_as_text(cost_table(run)), caption=setup_line(run) + "\n" + legend(run))
    if text is not None:
        click.echo(text)
    if batches:
        rows = [[r["candidate"], str(r["batch_size"]), fmt_seconds(r["latency_p50_s"]), fmt_seconds(r["latency_p99_s"]),
                 fmt_seconds(r["latency_p50_per_sample_s"]), fmt_si(r["throughput_samples_per_s"], "/s"), fmt_bytes(r["peak_memory_bytes"]),
                 fmt_si(r["energy_per_sample_j"], "J") + ("~" if r["energy_provenance"] == "estimated" else ""),
                 str(r["n_samples"]), str(r["stop_reason"])] for r in batch_rows(run)]
        text = render_table("per batch size", ["candidate", "batch", "p50/batch", "p99/batch", "p50/sample", "throughput", "mem/call",
                                               "J/sample", "samples", "stopped by"], rows, caption="~: estimated energy")
        if text is not None:
            click.echo(text)
    from effbench.analysis.compare_runs import stability_report

    stability = stability_report(run)
    for w in stability.run_warnings:
        click.echo(f"warning: {w}", err=True)
    if stability.n_cells_warned:
        if batches:
            for (key, b), ws in sorted(stability.cells.items()):
                for w in ws:
                    click.echo(f"warning: {key} batch {b}: {w}", err=True)
        else:
            noisy = sum(1 for ws in stability.cells.values() if any("interquartile range" in w for w in ws))
            what = f"{noisy} of {len(stability.cells)} candidate x batch-size cells are noisy (IQR above 10% of the median); " if noisy else ""
            click.echo(f"warning: {what}{stability.n_cells_warned} cells have stability notes (noise, outliers, too few samples for a p99 "
                       f"interval); 'effbench show {run.run_id} --batches' lists them", err=True)
    failed = [c for c in run.candidates if c.status == "failed"]
    for c in failed:
        click.echo(f"failed: {c.key}: {c.error}", err=True)
    for note in run.notes:
        click.echo(f"note: {note}", err=True)
    if db_path is not None:
        click.echo(f"stored as run {run.run_id} in {db_path}  (effbench show {run.run_id}; effbench export {run.run_id} --format json --output FILE)")


@click.command()
@click.argument("run_id", required=False)
@click.option("--batches", is_flag=True, help="Also show every batch size (latency per batch and per sample, throughput, memory).")
@db_option
def show(run_id, batches, db):
    """List past runs, or show one run's cost table (RUN_ID: an id, a unique prefix, or 'latest')."""
    from effbench.report.text import render_table
    from effbench.store.db import Store

    with Store(db, create=False) as store:
        if run_id is None:
            runs = store.list_runs()
            if not runs:
                click.echo(f"no runs yet in {store.path}; start one with 'effbench run'")
                return 0
            rows = [[r["run_id"], r["created_at"], r["suite"] or "", r["status"], str(r["n_candidates"]), str(r["n_failed"])] for r in runs]
            text = render_table(f"runs in {store.path}", ["run id", "created (UTC)", "suite", "status", "candidates", "failed"], rows)
            if text is not None:
                click.echo(text)
            return 0
        run = store.load_run(run_id)
    print_run_summary(run, batches=batches)
    return 0


@click.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", "-o", metavar="FILE", default="-", show_default=True, help="File to write ('-' for standard output).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@db_option
def export(run_id, fmt, output, force, db):
    """Export a run: JSON (every record, schema in docs/json-schema.md) or CSV (long format, one value per row)."""
    from effbench.store.db import Store
    from effbench.report.export import write_export

    with Store(db, create=False) as store:
        run = store.load_run(run_id)
    path = write_export(run, fmt, output, force=force)
    if path is not None:
        click.echo(f"wrote {fmt.upper()} of run {run.run_id} to {path}", err=True)
    return 0


@click.command(name="import")
@click.argument("json_file", type=click.Path(dir_okay=False))
@db_option
def import_(json_file, db):
    """Add a run exported as JSON (any schema version) to the store."""
    from effbench.store.db import Store
    from effbench.store.export import load_json

    run = load_json(json_file)
    with Store(db) as store:
        store.import_run(run)
        click.echo(f"imported run {run.run_id} into {store.path}")
    return 0
