"""Options and small helpers shared by the commands (click only: no heavy import here)."""

from __future__ import annotations

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
