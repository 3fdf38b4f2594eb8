"""effbench show / export / import / push: what the store holds, and copying runs to a shared store."""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, echo_lines, emit_json, human_output, json_options
from effbench.cli.study import hw_label_option


def finish_run_output(run, *, db_path, json_out=None, force: bool = False) -> int:
    """The end of ``effbench run``: the run's summary on the terminal; with ``--json OUT`` also its
    JSON document (``effbench show RUN --json``), and with ``--json -`` only the JSON on stdout.
    Returns the command's exit code: 1 when every candidate failed (nothing was measured, the
    failures are in the run), else 0."""
    from effbench.cli.mlflow_cmd import log_after_run

    log_after_run(run)  # effbench run --mlflow (a line on stderr)
    if json_out is not None:
        from effbench.analysis.costs import run_summary
        from effbench.store.files import write_json

        write_json(json_out, run_summary(run).to_dict(), force=force, indent=2)
    if json_out != "-":
        print_run_summary(run, db_path=db_path)
    if run.candidates and all(c.status == "failed" for c in run.candidates):
        click.echo(f"effbench: every candidate failed ({len(run.candidates)}); nothing was measured: exit code 1", err=True)
        return 1
    return 0


def print_run_summary(run, *, db_path=None, batches: bool = False):
    """Echo the summary of ``run`` (``effbench show RUN_ID``; also the end of ``effbench run``)."""
    from effbench.analysis.costs import run_summary
    from effbench.report.run_summary import render_run_summary, stored_line

    out, err = render_run_summary(run_summary(run), batches=batches)
    echo_lines(out)
    echo_lines(err, err=True)
    if db_path is not None:
        echo_lines([stored_line(run, db_path)])


@click.command()
@click.argument("run_id", required=False)
@click.option("--batches", is_flag=True, help="Also show every batch size (latency per batch and per sample, throughput, memory).")
@click.option("--json", "json_out", metavar="OUT", default=None,
              help="Write the runs (no RUN_ID) or the run's summary as JSON to OUT ('-': JSON on standard output instead).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@db_option
def show(run_id, batches, json_out, force, db):
    """List past runs, or show one run's cost table (RUN_ID: an id, a unique prefix, or 'latest': the
    latest run with latency samples)."""
    from dataclasses import replace

    from effbench.analysis.costs import run_summary
    from effbench.report.run_summary import render_run_list, render_tracking
    from effbench.records import LATENCY_PER_CALL, TRACK_SUITE
    from effbench.runs.lifecycle import is_stale, with_true_status
    from effbench.store.db import Store
    from effbench.store.files import write_json

    check_json_output(json_out, force)
    with Store(db, create=False) as store:
        if run_id is None:
            runs = with_true_status(store, store.list_runs())
            if json_out is not None:
                write_json(json_out, {"schema": "effbench.runs/1", "database": str(store.path), "runs": runs}, force=force, indent=2)
                return 0
            for line in render_run_list(runs, store.path):
                click.echo(line)
            return 0
        run = store.load_run(run_id, needs=LATENCY_PER_CALL)
        uses = store.tracking_uses(run.run_id) if run.suite == TRACK_SUITE else None
    if is_stale(run):  # its process is gone: say so (effbench run --resume marks it in the store)
        run = replace(run, status="interrupted")
    if json_out is not None:
        write_json(json_out, run_summary(run).to_dict(), force=force, indent=2)
        if json_out == "-":
            return 0
    if uses is not None:  # a tracking (effbench track): a view of its own
        out, err = render_tracking(run, uses)
        echo_lines(out)
        echo_lines(err, err=True)
        return 0
    from effbench.store.runs import is_tail_suite

    if is_tail_suite(run.suite):  # a tail-quality run: a view of its own (--json: the full record)
        from effbench.report.run_summary import render_tail_run

        out, err = render_tail_run(run)
        echo_lines(out)
        echo_lines(err, err=True)
        return 0
    print_run_summary(run, batches=batches)
    return 0


@click.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--wide", is_flag=True,
              help="With --format csv: one row per candidate (and hardware), one column per indicator, as "
                   "'effbench pareto' and 'recommend' name them; several RUN_IDs allowed. "
                   "'effbench pareto --csv FILE --key key' reads it back.")
@click.option("--output", "-o", metavar="FILE", default="-", show_default=True, help="File to write ('-' for standard output).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@db_option
@hw_label_option
def export(run_ids, fmt, wide, output, force, db, hw_labels):
    """Export a run: JSON (every record, schema in docs/json-schema.md), CSV (long format, one value per
    row), or with --wide a table of indicators of one or several runs."""
    from effbench.errors import ConfigError
    from effbench.report.export import write_export, write_wide_csv

    if wide and fmt != "csv":
        raise ConfigError("--wide applies to --format csv; got --format json")
    if wide:
        from effbench.cli.study import load_study

        study = load_study(db, run_ids, hw_labels)
        header, rows = study.wide_rows()
        path = write_wide_csv(header, rows, output, force=force)
        what = f"wide CSV of run(s) {', '.join(study.run_ids)}"
    else:
        if len(run_ids) > 1 or hw_labels:
            raise ConfigError("several RUN_IDs and --hw-label apply to --format csv --wide; JSON and long CSV "
                              f"export one run; got {len(run_ids)} run(s)")
        from effbench.store.db import Store
        from effbench.store.runs import load_runs

        with Store(db, create=False) as store:
            run = load_runs(store, run_ids, follow_links=False)[0]
        path = write_export(run, fmt, output, force=force)
        what = f"{fmt.upper()} of run {run.run_id}"
    if path is not None:
        click.echo(f"wrote {what} to {path}", err=True)
    return 0


@click.command(name="import")
@click.argument("json_file", type=click.Path(dir_okay=False))
@db_option
@json_options
def import_(json_file, db, json_out, force):
    """Add a run exported as JSON (any schema version) to the store."""
    from effbench.store.db import Store
    from effbench.store.json_stream import import_json

    check_json_output(json_out, force)
    run_id, where = import_json(json_file, lambda: Store(db))  # a large file is streamed in bounded memory
    with human_output(json_out):
        click.echo(f"imported run {run_id} into {where}")
    if json_out:
        emit_json(json_out, {"schema": "effbench.import/1", "run_id": run_id, "db": where, "source": str(json_file)}, force=force)
    return 0


@click.command()
@click.argument("run_ids", metavar="RUN...", nargs=-1, required=True)
@click.option("--to", "to", metavar="DB", required=True,
              help="The store to copy the runs to: postgresql://user@host:port/dbname (a shared store), or an SQLite file.")
@db_option
@json_options
def push(run_ids, to, db, json_out, force):
    """Copy runs (ids, unique prefixes or 'latest', from --db) to another store, one transaction per
    run. A run already there unchanged is left alone; a copy there that was still running is brought
    up to date; a finished copy there that differs is never overwritten (docs/postgres.md)."""
    from pathlib import Path

    from effbench.errors import ConfigError, StoreError
    from effbench.store.db import Store

    check_json_output(json_out, force)
    with Store(db, create=False) as source:
        ids = list(dict.fromkeys(source.resolve_run_id(r) for r in run_ids))
        runs = [source.load_run(r) for r in ids]
        here = source.path
    with Store(to) as target:
        if str(target.path) == str(here) or (isinstance(here, Path) and isinstance(target.path, Path) and here.resolve() == target.path.resolve()):
            raise ConfigError(f"--to {str(target.path)!r} is the store the runs come from (--db); give another store")
        refused, done = [], []
        for run in runs:
            try:
                outcome = target.push_run(run)
            except StoreError as exc:
                refused.append(str(exc))
                done.append({"run_id": run.run_id, "status": run.status, "outcome": "refused", "reason": str(exc)})
                continue
            done.append({"run_id": run.run_id, "status": run.status, "outcome": outcome})
            said = {"copied": "pushed", "already there": "already there, unchanged:", "updated": "updated (it was running there)"}[outcome]
            with human_output(json_out):
                click.echo(f"{said} run {run.run_id} ({run.status}) -> {target.path}")
        where = str(target.path)
    if json_out:
        emit_json(json_out, {"schema": "effbench.push/1", "to": where, "runs": done}, force=force)
    if refused:
        raise StoreError(f"{len(refused)} of {len(runs)} runs not pushed: " + "; ".join(refused))
    return 0
