"""The ``effbench`` command line: parse, call the library, render.

Subcommands live in their own modules and are imported only when they are invoked
(or when ``--help`` lists them), so ``effbench --help`` never imports torch or
onnxruntime. Every :class:`effbench.errors.EffbenchError` and every usage error
becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from effbench.errors import EffbenchError

# command name -> "module:attribute"; modules import only click at top level.
COMMANDS = {
    "compare": "effbench.cli.compare_cmd:compare",
    "misnomer": "effbench.cli.misnomer_cmd:misnomer",
    "pareto": "effbench.cli.pareto_cmd:pareto",
    "recommend": "effbench.cli.recommend_cmd:recommend",
    "report": "effbench.cli.report_cmd:report",
    "run": "effbench.cli.run_cmd:run",
    "show": "effbench.cli.store_cmds:show",
    "export": "effbench.cli.store_cmds:export",
    "import": "effbench.cli.store_cmds:import_",
    "push": "effbench.cli.store_cmds:push",
    "batching": "effbench.cli.batching_cmd:batching",
    "tail": "effbench.cli.tail_cmd:tail",
    "timeline": "effbench.cli.timeline_cmd:timeline",
    "track": "effbench.cli.track_cmd:track",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented pattern)."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, name):
        if name in self.lazy_commands:
            module_name, attr = self.lazy_commands[name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, name)


def _version() -> str:
    from effbench import __version__

    return __version__


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=_version(), prog_name="effbench")
def cli():
    """Measure what machine-learning models really cost, every indicator at once.

    \b
    Quick start:
      effbench run            the default suite on this machine (a few minutes)
      effbench run --quick    a reduced suite for a smoke test
      effbench show           list past runs; effbench show RUN_ID for one
    """


def _interrupted(exc: BaseException) -> str:
    """What an interruption left: the run that keeps what was measured, or nothing stored."""
    cause = exc if isinstance(exc, KeyboardInterrupt) else (exc.__cause__ or exc.__context__)
    run_id = getattr(cause, "effbench_run_id", None)
    if run_id is None:
        return "interrupted; nothing was measured or stored"
    hint = getattr(cause, "effbench_resume_hint", None)
    return (f"interrupted; run {run_id} keeps every measurement taken before (effbench show {run_id}"
            + (f"; {hint} measures the rest)" if hint else ")"))


def _exit_now(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _fail(message: str) -> int:
    click.echo(f"effbench: error: {message}", err=True)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit code 0 on success, 2 on bad input, 130 on Ctrl-C."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = cli.main(args=args, prog_name="effbench", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover - click >= 8.2
        click.echo(exc.ctx.get_help())
        return 0
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        return _fail(exc.format_message().replace("\n", " ") + hint)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click turns Ctrl-C into Abort
        click.echo(f"effbench: {_interrupted(exc)}", err=True)
        if argv is None:  # the real command line: everything is stored and the workers are gone, so end now
            _exit_now(130)  # (the interpreter's final garbage collection of a large heap can take seconds)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        return _fail(exc.format_message())
    except EffbenchError as exc:
        return _fail(str(exc))
    except BrokenPipeError:  # e.g. `effbench show | head`
        return 0
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
