"""``effbench pareto``: Pareto frontier, layers, DEA and stochastic frontier of a table of models.

Only click and the standard library are imported at module level; numpy, scipy and rich are
imported when the command runs.
"""

from __future__ import annotations

import os
import sys

import click

from effbench.cli.common import db_option

def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1e5 or (0 < abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)


def _render(header: list[str], rows: list[list], title: str) -> None:
    cells = [[_fmt(v) for v in row] for row in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 1 else "right", overflow="fold")
        for row in cells:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    click.echo(title)
    click.echo("  ".join(h.ljust(w) if i == 1 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    for row in cells:
        click.echo("  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))


def _parse_hardware(specs):
    from effbench.analysis.objectives import parse_objective
    from effbench.errors import ConfigError

    hardware = {}
    for spec in specs:
        name, sep, cols = spec.partition("=")
        name = name.strip()
        if not sep or not name or not cols.strip():
            raise ConfigError(f"--hardware {spec!r}: expected NAME=COLUMN:max|min[,COLUMN:max|min...]")
        if name in hardware:
            raise ConfigError(f"--hardware: name {name!r} given more than once")
        hardware[name] = [parse_objective(c, option=f"--hardware {name}") for c in cols.split(",") if c.strip()]
    return hardware


@click.command()
@click.argument("run_id", required=False)
@click.option("--csv", "csv_files", multiple=True, type=click.Path(dir_okay=False),
              help="A CSV table of models (repeatable: the files are joined on --key). Or give a RUN_ID instead.")
@click.option("--key", default=None, help="Column that identifies a model in every file (with --csv).")
@db_option
@click.option("--key-pattern", default=None, metavar="REGEX",
              help="Regular expression applied to every key before the join; the key becomes its "
                   r"first group or the match, e.g. '^[^.]+' turns 'resnet50.a1_in1k' into 'resnet50'.")
@click.option("--duplicates", type=click.Choice(["drop", "first"]), default="drop", show_default=True,
              help="Rows sharing a key in one file: drop them all, or keep the first.")
@click.option("--objective", "objective_specs", multiple=True, metavar="COLUMN:max|min",
              help="An objective and its direction (repeatable), e.g. top1:max latency_p99_s:min.")
@click.option("--hardware", "hardware_specs", multiple=True, metavar="NAME=COLUMN:max|min,...",
              help="Objectives of one hardware (repeatable): a frontier per hardware with the "
                   "--objective columns in common, and 'on every' / 'on some' hardware columns. "
                   "The main frontier uses all objectives together.")
@click.option("--dea", is_flag=True, help="Also compute DEA relative efficiency (:min = inputs, :max = outputs).")
@click.option("--dea-model", type=click.Choice(["ccr", "bcc"]), default="ccr", show_default=True,
              help="CCR (constant returns to scale) or BCC (variable returns to scale).")
@click.option("--orientation", type=click.Choice(["input", "output"]), default="input", show_default=True,
              help="DEA orientation; both are reported so that 1 = efficient.")
@click.option("--stochastic", is_flag=True,
              help="Draw plausible tables and report p_frontier. Noise: --uncertainty; with a RUN_ID, latency and "
                   "throughput columns also get a bootstrap of the run's raw latency samples and accuracy / f1_macro "
                   "the binomial error on its test examples (the output says which noise each column got).")
@click.option("--draws", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Number of plausible tables drawn by --stochastic.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random draws.")
@click.option("--uncertainty", "uncertainty_specs", multiple=True, metavar="COLUMN=rel:SD|abs:SD|n:EXAMPLES",
              help="Noise of a column for --stochastic (repeatable): relative or absolute standard "
                   "deviation, or the number of examples an accuracy was measured on; it overrides the noise a "
                   "RUN_ID gives. Other columns are exact.")
@click.option("--dea-draws", default=10, show_default=True, type=click.IntRange(min=0),
              help="With --stochastic and --dea: draws on which DEA is recomputed (one LP per model and draw).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write one JSON object per model (a list) to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Write 2-D projections (every pair of objectives; PNG) with the frontier drawn and, with --stochastic, "
                   "each model coloured by its probability of being on the frontier.")
@click.option("--top", default=25, show_default=True, type=click.IntRange(min=0),
              help="Rows shown in the table (frontier first); 0 shows all.")
def pareto(run_id, csv_files, key, db, key_pattern, duplicates, objective_specs, hardware_specs, dea, dea_model,
           orientation, stochastic, draws, seed, uncertainty_specs, dea_draws, json_out, force, plot_dir, top):
    """Pareto frontier, non-dominated layers, DEA efficiency and stochastic frontier of models.

    The models come from CSV tables (--csv, --key) or from a stored run (RUN_ID, a unique prefix or
    'latest'), whose indicators are named as in 'effbench recommend' (accuracy, params, size_bytes,
    flops_per_sample, latency_p99_s_b1, peak_rss_bytes_b1, throughput_samples_per_s_b32, ...).

    \b
    Example (a stored run):
      effbench pareto latest --objective accuracy:max --objective latency_p99_s_b1:min
    Example (timm's ImageNet models):
      effbench pareto --csv imagenet-models.csv --key id \\
        --objective top1:max --objective gpu_rtx3090_amp_samples_per_sec:max \\
        --dea --stochastic --uncertainty top1=n:50000 \\
        --uncertainty gpu_rtx3090_amp_samples_per_sec=rel:0.05
    """
    import numpy as np

    from effbench.analysis.objectives import oriented_matrix, parse_objectives
    from effbench.analysis.pareto import dominated_by, hardware_frontiers, nondominated_layers
    from effbench.errors import ConfigError
    from effbench.store.files import check_output, write_json
    from effbench.store.tables import load_tables

    if run_id and csv_files:
        raise ConfigError("give either a RUN_ID or --csv files, not both")
    if not run_id and not csv_files:
        raise ConfigError("give a RUN_ID (a stored run, or 'latest') or --csv FILE with --key COLUMN")
    if csv_files and not key:
        raise ConfigError("--csv needs --key COLUMN (the column that identifies a model)")
    if run_id and (key or key_pattern):
        raise ConfigError("--key and --key-pattern apply to --csv tables, not to a RUN_ID")
    if json_out:
        check_output(json_out, force, "--json")
    objectives = parse_objectives(objective_specs)
    hardware = _parse_hardware(hardware_specs)
    all_objectives = list(objectives)
    for objs in hardware.values():
        for o in objs:
            if all(o.name != a.name for a in all_objectives):
                all_objectives.append(o)
            elif any(o.name == a.name and o.direction != a.direction for a in all_objectives):
                raise ConfigError(f"column {o.name!r} is given with both directions (max and min)")
    if not all_objectives:
        raise ConfigError("--objective: give at least one COLUMN:max|min (or --hardware)")
    uncertainty = {}
    if uncertainty_specs and not stochastic:
        raise ConfigError("--uncertainty only applies with --stochastic")
    if stochastic:
        from effbench.analysis.stochastic_frontier import parse_uncertainty

        for spec in uncertainty_specs:
            col, noise = parse_uncertainty(spec)
            uncertainty[col] = noise

    names = [o.name for o in all_objectives]
    run = None
    if run_id:
        from effbench.analysis.run_table import run_objective_table
        from effbench.store.db import Store

        with Store(db, create=False) as store:
            run = store.load_run(run_id)
        keys, values, report = run_objective_table(run, names)
    else:
        keys, values, report = load_tables(csv_files, key, names, duplicates=duplicates, key_pattern=key_pattern)
    for note in report.notes:
        click.echo(f"effbench: note: {note}", err=True)
    if report.dropped:
        click.echo(f"effbench: {len(report.dropped)} row(s) dropped, {report.rows_kept} kept:", err=True)
        for d in report.dropped:
            click.echo(f"effbench: dropped {d.key!r} ({os.path.basename(d.file)}): {d.reason}", err=True)

    X = oriented_matrix(values, all_objectives)
    layer = nondominated_layers(X)
    doms = dominated_by(X)
    table = {n: values[:, i] for i, n in enumerate(names)}
    hw = hardware_frontiers(table, hardware, objectives) if hardware else None
    dea_result = None
    if dea:
        from effbench.analysis.dea import dea_from_objectives

        dea_result = dea_from_objectives(values, all_objectives, model=dea_model, orientation=orientation)
        for note in dea_result.notes:
            click.echo(f"effbench: note: DEA: {note}", err=True)
    stoch = None
    noise_words = {}
    if stochastic:
        from effbench.analysis.run_table import describe_noise, run_noise
        from effbench.analysis.stochastic_frontier import stochastic_frontier

        unknown = [c for c in uncertainty if c not in names]
        if unknown:
            raise ConfigError(f"--uncertainty for {unknown[0]!r}, which is not an objective; objectives: {', '.join(names)}")
        if run is not None:
            noise, noise_words = run_noise(run, keys, names, uncertainty)
        else:
            noise = uncertainty
            noise_words = {n: (f"given: {describe_noise(uncertainty[n])}" if n in uncertainty else "exact") for n in names}
        dea_opts = {"model": dea_model, "orientation": orientation} if dea and dea_draws else None
        stoch = stochastic_frontier(values, all_objectives, noise, draws=draws, seed=seed,
                                    dea_options=dea_opts, dea_draws=dea_draws)

    records = []
    for i, k in enumerate(keys):
        rec = {
            "key": k,
            "on_frontier": bool(layer[i] == 1),
            "layer": int(layer[i]),
            "dominated_by": [keys[j] for j in doms[i]],
            "values": {n: float(values[i, c]) for c, n in enumerate(names)},
        }
        if hw is not None:
            rec["frontier_by_hardware"] = {h: bool(m[i]) for h, m in hw.per_hardware.items()}
            rec["efficient_on_every_hardware"] = bool(hw.on_every[i])
            rec["efficient_on_some_hardware"] = bool(hw.on_some[i])
        if dea_result is not None:
            rec["dea_efficiency"] = float(dea_result.efficiency[i])
            rec["dea_peers"] = [keys[j] for j in dea_result.peers[i]]
            rec["dea_input_slacks"] = [float(v) for v in dea_result.input_slacks[i]]
            rec["dea_output_slacks"] = [float(v) for v in dea_result.output_slacks[i]]
        if stoch is not None:
            rec["p_frontier"] = float(stoch.p_frontier[i])
            rec["layer_mean"] = float(stoch.layer_mean[i])
            rec["p_layer"] = {str(k + 1): float(p) for k, p in enumerate(stoch.layer_probs[i, :-1])}
            rec[f"p_layer_gt_{stoch.layer_probs.shape[1] - 1}"] = float(stoch.layer_probs[i, -1])
            if stoch.dea_mean is not None:
                rec["dea_efficiency_mean"] = float(stoch.dea_mean[i])
                rec["dea_efficiency_interval_90"] = [float(v) for v in stoch.dea_interval[i]]
        records.append(rec)

    # frontier first, then by layer, then most probably on the frontier, then first objective
    first = X[:, 0]
    p_front = stoch.p_frontier if stoch is not None else np.zeros(len(keys))
    order = sorted(range(len(keys)), key=lambda i: (layer[i], -p_front[i], -first[i], keys[i]))
    shown = order if top == 0 else order[:top]
    header = ["layer", "key"] + names + ["dominated_by"]
    if hw is not None:
        header += [f"front:{h}" for h in hw.per_hardware] + ["every_hw", "some_hw"]
    if dea_result is not None:
        header.append(f"dea_{dea_model}_{orientation}")
    if stoch is not None:
        header += ["p_frontier", "layer_mean"]
        if stoch.dea_mean is not None:
            header.append("dea_mean")
    rows = []
    for i in shown:
        rec = records[i]
        nd = len(rec["dominated_by"])
        row = [rec["layer"], rec["key"]] + [rec["values"][n] for n in names]
        row.append(f"{nd} ({rec['dominated_by'][0]}{', ...' if nd > 1 else ''})" if nd else "")
        if hw is not None:
            row += [rec["frontier_by_hardware"][h] for h in hw.per_hardware]
            row += [rec["efficient_on_every_hardware"], rec["efficient_on_some_hardware"]]
        if dea_result is not None:
            row.append(rec["dea_efficiency"])
        if stoch is not None:
            row += [rec["p_frontier"], rec["layer_mean"]]
            if stoch.dea_mean is not None:
                row.append(rec["dea_efficiency_mean"])
        rows.append(row)
    n_front = int((layer == 1).sum())
    title = (f"Pareto analysis of {len(keys)} models, {len(names)} objectives "
             f"({', '.join(str(o) for o in all_objectives)}): {n_front} on the frontier, "
             f"{int(layer.max())} layers; showing {len(shown)}")
    if stoch is not None:
        title += f"; stochastic: {stoch.draws} draws, seed {stoch.seed}"
        if stoch.dea_draws:
            title += f", DEA over {stoch.dea_draws} draws"
    _render(header, rows, title)
    if stoch is not None:
        click.echo("noise per column (--stochastic):")
        for n in names:
            click.echo(f"  {n}: {noise_words[n]}")

    if json_out:
        write_json(json_out, records, force=force)
        click.echo(f"effbench: wrote {len(records)} rows to {json_out}", err=True)
    if plot_dir:
        from effbench.report.pareto_plots import write_pareto_projections

        paths = write_pareto_projections(keys, values, all_objectives, layer == 1, plot_dir,
                                         p_frontier=None if stoch is None else stoch.p_frontier, force=force)
        click.echo(f"effbench: wrote {len(paths)} projection(s) to {plot_dir}", err=True)
