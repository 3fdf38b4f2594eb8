"""``effbench pareto``: Pareto frontier, layers, DEA and stochastic frontier of a table of models.

Only click and the standard library are imported at module level; numpy, scipy and rich are
imported when the command runs.
"""

from __future__ import annotations

import os
import re

import click

from effbench.cli.common import check_json_output, db_option, echo_lines, human_output
from effbench.cli.study import check_sources, hw_label_option


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
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--csv", "csv_files", multiple=True, type=click.Path(dir_okay=False),
              help="A CSV table of models (repeatable: the files are joined on --key). Or give RUN_IDs instead.")
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
              help="With --stochastic and --dea: draws on which DEA is recomputed (one DEA per draw).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write one JSON object per model (a list) to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Write 2-D projections (every pair of objectives; PNG) with the frontier drawn and, with --stochastic, "
                   "each model coloured by its probability of being on the frontier.")
@click.option("--top", default=25, show_default=True, type=click.IntRange(min=0),
              help="Rows shown in the table (frontier first); 0 shows all.")
@hw_label_option
def pareto(run_ids, csv_files, key, db, key_pattern, duplicates, objective_specs, hardware_specs, dea, dea_model,
           orientation, stochastic, draws, seed, uncertainty_specs, dea_draws, json_out, force, plot_dir, top, hw_labels):
    """Pareto frontier, non-dominated layers, DEA efficiency and stochastic frontier of models.

    The models come from CSV tables (--csv, --key) or from stored runs (RUN_ID...: ids, unique prefixes
    or 'latest'), whose indicators are named as in 'effbench recommend' (accuracy, params, size_bytes,
    flops_per_sample, latency_p99_s_b1, peak_rss_bytes_b1, throughput_samples_per_s_b32, ...).
    Runs on different hardware (read from each run's environment, or --hw-label RUN=LABEL) give a
    frontier per hardware: accuracy, params, FLOPs and size are shared, every other objective is
    read on each hardware (column NAME@HARDWARE); candidates are matched by key (model/backend).

    \b
    Example (a stored run):
      effbench pareto latest --objective accuracy:max --objective latency_p99_s_b1:min
    Example (two machines):
      effbench pareto RUN_A RUN_B --hw-label RUN_A=laptop --objective accuracy:max --objective latency_p99_s_b1:min
    Example (timm's ImageNet models):
      effbench pareto --csv imagenet-models.csv --key id \\
        --objective top1:max --objective gpu_rtx3090_amp_samples_per_sec:max \\
        --dea --stochastic --uncertainty top1=n:50000 \\
        --uncertainty gpu_rtx3090_amp_samples_per_sec=rel:0.05
    """
    from effbench.analysis.pareto_study import StochasticOptions, pareto_study

    given_as_runs = [r for r in run_ids if re.fullmatch(r"[^:\s]+:(max|min)", r)]
    if given_as_runs:  # 'effbench pareto latest accuracy:max ...': objectives given where run ids go
        from effbench.errors import ConfigError

        raise ConfigError(f"RUN_ID: {given_as_runs[0]!r} looks like an objective; objectives are options: "
                          + " ".join(f"--objective {o}" for o in given_as_runs))
    check_sources(run_ids, csv_files, key, hw_labels, key_pattern=key_pattern,
                  hardware_hint="; with --csv tables give --hardware NAME=COLUMN:max|min,...")
    check_json_output(json_out, force)
    objectives, hardware, all_objectives = _objectives(objective_specs, hardware_specs)
    uncertainty = _uncertainty(uncertainty_specs, stochastic)
    names = [o.name for o in all_objectives]
    study = _load_study(db, run_ids, hw_labels) if run_ids else None
    several = study is not None and study.several_hardware
    if several:
        keys, values, objectives, hardware, all_objectives = _hardware_table(study, all_objectives, hardware_specs)
        names = [o.name for o in all_objectives]
        run = study.merged()
    else:
        run, keys, values = _load(study, db, csv_files, key, names, duplicates, key_pattern)
    if run is not None:
        from effbench.analysis.run_table import check_directions

        check_directions(run, all_objectives)  # rmse:max on a run that stores rmse as lower-is-better
    noise, noise_words = _noise(run, keys, names, uncertainty, study) if stochastic else (None, None)
    study = pareto_study(
        keys, values, all_objectives, hardware=hardware or None, common=objectives,
        dea={"model": dea_model, "orientation": orientation} if dea else None,
        stochastic=StochasticOptions(draws=draws, seed=seed, dea_draws=dea_draws) if stochastic else None,
        noise=noise, noise_words=noise_words,
        layer_rows=top if top and not json_out else None,  # the table needs only the layers of its rows
    )
    if stochastic and not noise:
        click.echo("effbench: note: --stochastic: no noise was given for any column (--uncertainty COLUMN=rel:SD|abs:SD|"
                   "n:EXAMPLES), so every draw is the table itself and every probability is 1 on the frontier, 0 off it", err=True)
    _echo_notes(study)
    random = _random_weights(run, keys, names)
    with human_output(json_out):
        _print_table(study, top, _estimated(run, keys, names) if run is not None and not several else frozenset(), random)
    if json_out:
        from effbench.store.files import dumps_json_list, write_output

        records = study.to_dict()["records"]
        if run is not None:  # a stored run's models: whether their quality comes from random weights
            random_keys = {k for k, _ in random}
            for r in records:
                r["random_weights"] = r["key"] in random_keys
        write_output(json_out, dumps_json_list(records), force=force, option="--json")  # one model a line
        if json_out != "-":
            click.echo(f"effbench: wrote {len(records)} rows to {json_out}", err=True)
    if plot_dir:
        from effbench.report.pareto_plots import write_pareto_projections

        p_front = None if study.stochastic is None else study.stochastic.p_frontier
        paths = write_pareto_projections(list(study.keys), study.values, list(study.objectives), study.layer == 1,
                                         plot_dir, p_frontier=p_front, force=force)
        click.echo(f"effbench: wrote {len(paths)} projection(s) to {plot_dir}", err=True)


def _load_study(db, run_ids, hw_labels):
    from effbench.cli.study import load_study

    return load_study(db, run_ids, hw_labels)


def _hardware_table(study, all_objectives, hardware_specs):
    """(keys, values, common objectives, hardware -> objectives, every objective) of runs on several
    hardware: the objectives' indicators read on each hardware (see RunStudy.hardware_table)."""
    from effbench.analysis.multirun import split_hardware_column
    from effbench.analysis.objectives import Objective
    from effbench.errors import ConfigError

    if hardware_specs:
        raise ConfigError(f"--hardware applies to --csv tables; the runs given are on {len(study.hardware)} hardware "
                          f"({', '.join(study.hardware)}), which give the per-hardware frontiers (rename them with --hw-label)")
    direction = {o.name: o.direction for o in all_objectives}
    keys, values, columns, per_hw, common = study.hardware_table(list(direction))
    objs = [Objective(c, direction[split_hardware_column(c)[0] if c not in common else c]) for c in columns]
    by_name = {o.name: o for o in objs}
    hardware = {hw: [by_name[c] for c in cols] for hw, cols in per_hw.items()}
    return keys, values, [by_name[c] for c in common], hardware, objs


def _objectives(objective_specs, hardware_specs):
    """(--objective list, hardware name -> objectives, every objective once in order)."""
    from effbench.analysis.objectives import parse_objectives
    from effbench.errors import ConfigError

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
    return objectives, hardware, all_objectives


def _uncertainty(uncertainty_specs, stochastic) -> dict:
    from effbench.errors import ConfigError

    if uncertainty_specs and not stochastic:
        raise ConfigError("--uncertainty only applies with --stochastic")
    if not stochastic:
        return {}
    from effbench.analysis.stochastic_frontier import parse_uncertainty

    return dict(parse_uncertainty(spec) for spec in uncertainty_specs)


def _load(study, db, csv_files, key, names, duplicates, key_pattern):
    """(run or None, keys, values): the objective table of runs on one hardware, or the joined CSV
    tables; the loader's notes and dropped rows go to stderr."""
    run = None
    if study is not None:
        from effbench.analysis.run_table import run_objective_table

        run = study.merged()
        keys, values, report = run_objective_table(run, names)
    else:
        from effbench.store.tables import load_tables

        keys, values, report = load_tables(csv_files, key, names, duplicates=duplicates, key_pattern=key_pattern)
    for note in report.notes:
        click.echo(f"effbench: note: {note}", err=True)
    if report.dropped:
        click.echo(f"effbench: {len(report.dropped)} row(s) dropped, {report.rows_kept} kept:", err=True)
        for d in report.dropped:
            click.echo(f"effbench: dropped {d.key!r} ({os.path.basename(d.file)}): {d.reason}", err=True)
    return run, keys, values


def _noise(run, keys, names, uncertainty, study=None):
    """(noise per column, noise in words per column): the run's own noise, or only --uncertainty.
    With runs on several hardware, a column NAME@HW gets the noise of NAME on HW."""
    from effbench.errors import ConfigError

    unknown = [c for c in uncertainty if c not in names]
    if unknown:
        raise ConfigError(f"--uncertainty for {unknown[0]!r}, which is not an objective; objectives: {', '.join(names)}")
    from effbench.analysis.run_table import describe_noise, run_noise

    if run is None:
        return uncertainty, {n: (f"given: {describe_noise(uncertainty[n])}" if n in uncertainty else "exact")
                             for n in names}
    if study is None or not study.several_hardware:
        return run_noise(run, keys, names, uncertainty)
    from effbench.analysis.multirun import split_hardware_column

    noise, words = {}, {}
    for name in names:
        base, hw = split_hardware_column(name)
        if name in uncertainty or hw is None:
            base, hw = name, study.hardware[0]
        got, said = run_noise(run, [study.point(k, hw) for k in keys], [base], {base: uncertainty[name]} if name in uncertainty else {})
        if base in got:
            noise[name] = got[base]
        words[name] = said[base]
    return noise, words


def _echo_notes(study) -> None:
    echo_lines([f"effbench: note: {note}" for note in study.notes]
               + [f"effbench: note: DEA: {note}" for note in (study.dea.notes if study.dea is not None else ())], err=True)


def _estimated(run, keys, names) -> set:
    """The (key, column) cells of a run's table whose value is an estimate (marked ``~``)."""
    from effbench.analysis.run_table import indicator_provenance

    return {(k, n) for k in keys for n in names if indicator_provenance(run, k, n) == "estimated"}


def _random_weights(run, keys, names) -> set:
    """The (key, column) cells that hold a quality figure of a model with random weights (marked ``?``)."""
    from effbench.analysis.costs import random_quality_cells

    return set() if run is None else random_quality_cells(run, keys, names)


def _print_table(study, top, estimated=frozenset(), random_weights=frozenset()) -> None:
    from effbench.report.pareto_table import format_noise, format_pareto_table
    from effbench.report.text import random_weights_notes

    click.echo(format_pareto_table(study, top, estimated=estimated, random_weights=random_weights))
    echo_lines(random_weights_notes({k for k, _ in random_weights}))
    if study.stochastic is not None:
        click.echo(format_noise(study))
