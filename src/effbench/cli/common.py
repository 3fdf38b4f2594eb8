"""Options and small helpers shared by the commands (click only: no heavy import here)."""

from __future__ import annotations

import contextlib
import io
import sys

import click

db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False),
    metavar="PATH|URL",
    default=None,
    envvar="EFFBENCH_DB",
    show_envvar=True,
    help="Result database: an SQLite file, or postgresql://user@host:port/dbname (a shared store, docs/postgres.md)."
         " Default: $XDG_DATA_HOME/effbench/effbench.sqlite (~/.local/share/effbench/effbench.sqlite).",
)


def split_list(value: str | None) -> list[str] | None:
    """'a,b, c' -> ['a', 'b', 'c']; None or '' -> None."""
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def check_json_output(json_out: str | None, force: bool) -> None:
    """Before any work: ``--json FILE`` must be writable (``-``, standard output, always is)."""
    if json_out and json_out != "-":
        from effbench.store.files import check_output

        check_output(json_out, force, "--json")


@contextlib.contextmanager
def human_output(json_out: str | None):
    """What a command prints for people on standard output. With ``--json -`` standard output carries
    only the JSON document, so what is printed inside this block is left out (notes and warnings go
    to standard error as always), as ``show``, ``run`` and ``compare`` do."""
    if json_out != "-":
        yield
        return
    stdout = sys.stdout
    sys.stdout = io.StringIO()
    try:
        yield
    finally:
        sys.stdout = stdout


def emit_json(json_out: str, doc, *, force: bool, indent: int = 2, what: str = "") -> None:
    """``--json FILE|-``: the document to FILE (and a line on standard error saying so) or, with
    ``-``, alone on standard output."""
    from effbench.store.files import write_json

    write_json(json_out, doc, force=force, indent=indent)
    if json_out != "-":
        click.echo(f"effbench: wrote {what}{json_out}", err=True)


def json_options(f):
    """``--json FILE|-`` and ``--force``, for a command whose result is also a JSON document."""
    f = click.option("--force", is_flag=True, help="Overwrite the --json FILE if it exists.")(f)
    return click.option("--json", "json_out", metavar="FILE|-", default=None,
                        help="Also write the result as JSON to FILE ('-': only the JSON on standard output).")(f)


def echo_lines(lines, *, err: bool = False) -> None:
    """Print the lines a command shows under its tables, each wrapped to the terminal width
    (``$COLUMNS``; :func:`effbench.report.text.wrap_lines`); rendered tables pass as they are."""
    from effbench.report.text import wrap_lines

    for line in wrap_lines(lines):
        click.echo(line, err=err)
