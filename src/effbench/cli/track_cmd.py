"""effbench track NAME -- COMMAND...: the training cost (wall time, energy) of any command."""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, emit_json


class _TrackCommand(click.Command):
    """NAME comes before ``--``: ``effbench track -- python train.py`` would otherwise take ``python``
    as the tracking's name and ``train.py`` as the command, so it is refused in one line."""

    def parse_args(self, ctx, args):
        takes_value = {o for p in self.params if isinstance(p, click.Option) and not p.is_flag for o in p.opts}
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                raise click.UsageError("NAME: missing before '--'; expected effbench track NAME -- COMMAND [ARGS]...", ctx)
            if not token.startswith("-"):
                break
            if token in takes_value:
                next(tokens, None)  # the option's value
        return super().parse_args(ctx, args)


@click.command(cls=_TrackCommand, context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--no-energy", "no_energy", is_flag=True, help="Measure the wall time only.")
@click.option("--cpu-tdp-w", "cpu_tdp_w", type=float, default=None, envvar="EFFBENCH_CPU_TDP_W",
              help="CPU TDP in watts for the energy estimate used when no RAPL counter is readable (see docs/energy.md).")
@click.option("--carbon-region", metavar="CODE", help="Grid region (ISO country code) recorded with the energy; default: world average.")
@click.option("--carbon-intensity", "carbon_intensity", type=float, metavar="G_PER_KWH", help="Grid carbon intensity in gCO2e/kWh.")
@click.option("--quiet", is_flag=True, help="No summary line.")
@db_option
@click.option("--json", "json_out", metavar="FILE", default=None,
              help="Also write the tracking as JSON to FILE (not '-': standard output is the command's own).")
@click.option("--force", is_flag=True, help="Overwrite the --json FILE if it exists.")
def track(name, command, no_energy, cpu_tdp_w, carbon_region, carbon_intensity, quiet, db, json_out, force):
    """Measure the wall time and energy of COMMAND and store them as tracking NAME.

    \b
    effbench track train-resnet -- python train.py --epochs 3
    A later run's candidate named train-resnet (or one with training = "train-resnet" in a suite
    file) takes them as its training cost. The command's exit code is passed through; Ctrl-C stops
    it and keeps the measurement, labelled interrupted. See docs/your-models.md.
    """
    from dataclasses import replace

    from effbench.measure.energy_cells import EnergyConfig
    from effbench.runs.track import track_command

    if json_out == "-":
        from effbench.errors import ConfigError

        raise ConfigError("--json -: standard output is the tracked command's own; give a file (--json tracking.json)")
    check_json_output(json_out, force)
    energy = replace(EnergyConfig(), enabled=not no_energy, tdp_w=cpu_tdp_w)
    log = None if quiet else (lambda line: click.echo(f"effbench: {line}", err=True))
    code, t = track_command(name, list(command), db=db, energy=energy, carbon_region=carbon_region,
                            carbon_g_per_kwh=carbon_intensity, log=log)
    if not quiet:
        from effbench.numbers import fmt_seconds, fmt_si

        energy_text = "" if t.energy_j is None else f", {fmt_si(t.energy_j, 'J')} ({t.provenance})"
        ended = "" if t.status == "complete" else f"; {t.status}: the command exited with code {code}"
        click.echo(f"effbench: tracked {t.name}: {fmt_seconds(t.time_s)}{energy_text}{ended}; stored as run {t.run_id} "
                   f"in {t.db_path}", err=True)
    if json_out:
        emit_json(json_out, {"schema": "effbench.track/1", "name": t.name, "run_id": t.run_id, "status": t.status,
                             "exit_code": code, "time_s": t.time_s, "energy_j": t.energy_j, "provenance": t.provenance,
                             "db": str(t.db_path)}, force=force)
    return code
