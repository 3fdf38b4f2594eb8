"""effbench run: the default suite on this machine."""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, split_list
from effbench.cli.mlflow_cmd import mlflow_option
from effbench.zoo.digits_suite import suite_backends  # light: the registry imports no backend library


@click.command()
@click.argument("sources", nargs=-1, metavar="[SUITE.toml | MODEL...]")
@click.option("--example", is_flag=True, help="Print a commented example suite file (TOML) and exit.")
@click.option("--input", "input_spec", metavar="SPEC",
              help="Model files: the shape of synthetic inputs (cost only), e.g. 3x224x224, Nx16, x:float32:Nx16 or "
                   "input_ids:int64:1x128,attention_mask:int64:1x128; "
                   "default: the model's own input signature (ONNX, .pt2).")
@click.option("--data", "data_path", metavar="FILE",
              help="Model files: labelled data to score them on (.npz with X, or one array per model input, and y; or an "
                   "image folder), read as a suite's [data]; docs/your-models.md.")
@click.option("--task", "task", metavar="TASK", help="With --data: classification (default), regression or none (cost only).")
@click.option("--target", "target", metavar="COLUMN", help="With --data TABLE.csv|.parquet: the column of the labels (the others are the features).")
@click.option("--metrics", "metrics", metavar="NAMES",
              help="With --data: comma-separated metrics, e.g. accuracy,top5 or mae,rmse,r2 (default: accuracy; regression: rmse).")
@click.option("--trust-pickle", "trust_pickle", is_flag=True,
              help="Load pickle/joblib files and skops files holding untrusted types (they can run any code).")
@click.option("--quick", is_flag=True, help="A reduced suite for a smoke test (3 models, batch sizes 1 and 32, short timing).")
@click.option("--candidates", "candidates", metavar="NAMES", help="Comma-separated models to run (default: all; see 'effbench run --list').")
@click.option("--variants", metavar="GROUPS", default="none", show_default=True,
              help="Compressed variants of the PyTorch models to add: all, none, or a comma-separated list of "
                   "quant (int8 dynamic and static), prune (50%/90% unstructured, 50% channels), distil "
                   "(distilled student and the same student from labels), onnx-opt (ONNX Runtime without graph optimisations).")
@click.option("--backends", metavar="NAMES", help=f"Comma-separated backends: {', '.join(suite_backends())} (default: all).")
@click.option("--batch-sizes", metavar="SIZES", help="Comma-separated positive integers and 'all' (the whole test split). Default: 1,8,32,128,all (quick: 1,32; model files: 1,8,32; a suite file: its own).")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads per candidate (torch, BLAS/OpenMP, ONNX Runtime intra-op).")
@click.option("--max-time", "max_time", type=float, default=None, help="Longest sampling time per candidate and batch size, in seconds (default 0.6; quick 0.15).")
@click.option("--repeats", type=int, default=3,  # effbench.executor.DEFAULT_REPEATS (not imported: --help stays light)
              show_default=True,
              help="Split each latency measurement into N time windows (repeats), interleaved in random order with the "
                   "other cells; 'effbench compare' tests the variation between them (it needs 3 or more).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the measurement order.")
@click.option("--timeout", "timeout_s", type=float, default=None, metavar="SECONDS",
              help="Longest wait for any one step of a candidate before it is called hung and fails alone "
                   "(default: 30 s + 5 x the step's expected work; see docs/reliability.md).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where candidates run: worker processes on this machine, or nodes of a Ray cluster (docs/fleet.md).")
@click.option("--address", metavar="auto|HOST:PORT", default=None,
              help="--executor ray: the cluster's address (default: a one-node Ray started here).")
@click.option("--hardware", metavar="LABEL", default=None,
              help="--executor ray: only nodes started with the label effbench-hardware=LABEL.")
@click.option("--no-energy", "no_energy", is_flag=True, help="Do not measure energy (it adds one short energy window per candidate and batch size).")
@click.option("--cpu-tdp-w", "cpu_tdp_w", type=float, default=None, envvar="EFFBENCH_CPU_TDP_W",
              help="CPU TDP in watts for the energy estimate used when no RAPL counter is readable (see docs/energy.md).")
@click.option("--carbon-region", metavar="CODE", help="Grid region (ISO country code, e.g. FRA or DE) for carbon; default: world average.")
@click.option("--carbon-intensity", "carbon_intensity", type=float, metavar="G_PER_KWH", help="Grid carbon intensity in gCO2e/kWh (instead of a region).")
@mlflow_option
@click.option("--list", "list_only", is_flag=True, help="List the suite's models and backends, and exit.")
@click.option("--device", metavar="DEVICE", default=None,
              help="Where torch and ONNX Runtime candidates of suite or model files run: cpu, cuda or cuda:N (default: cpu, "
                   "or the suite file's device). Without a GPU, cuda is one error line before anything is measured.")
@click.option("--resume", "resume", metavar="RUN_ID", default=None,
              help="Finish a run that was interrupted (or whose process died): load (the default suite: train) the same "
                   "models again and measure only what the run lacks, with its own settings; the default suite, a suite "
                   "file's or model files' run.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "json_out", metavar="OUT", default=None,
              help="Also write the run's summary as JSON to OUT ('-': only the JSON on standard output; progress stays on stderr).")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@db_option
def run(sources, example, input_spec, data_path, task, target, metrics, trust_pickle, quick, candidates, variants, backends, batch_sizes, threads,
        max_time, repeats, seed, timeout_s, executor, address, hardware, no_energy, cpu_tdp_w, carbon_region, carbon_intensity, list_only,
        device, resume, quiet, json_out, force, db):
    """Run the default suite (digits), a suite file, or model files: measure every cost, store the run.

    \b
    effbench run                      the default suite (digits), trained here
    effbench run study.toml           a suite file (effbench run --example prints one)
    effbench run a.onnx b.pt2 --input 16   model files, on synthetic inputs (cost only)
    effbench run a.onnx f.skops --data val.npz --metrics accuracy,top5   model files, scored on labelled data
    See docs/your-models.md.

    \b
    The default suite's models: logreg, random_forest, hist_gb, svm_rbf, knn (scikit-learn); mlp, cnn_small,
    shufflenet_tiny, cnn_wide (PyTorch); ONNX Runtime versions of the PyTorch models, logreg and
    random_forest. The quick suite: logreg, mlp, cnn_small. --variants adds compressed
    variants (<model>.<variant>, e.g. cnn_wide.int8dyn), linked to their source model.
    """
    if example:
        from effbench.sources.suite import EXAMPLE_SUITE

        given = [f"--{name.replace('_', '-')}" for name in _given_options(click.get_current_context())
                 if name not in ("example", "db")]
        if sources or given:
            from effbench.errors import ConfigError

            raise ConfigError(f"--example prints the example suite file and exits; it takes no "
                              f"{'model or suite file' if sources else given[0]} (effbench run --example > study.toml)")

        click.echo(EXAMPLE_SUITE, nl=False)
        return 0
    check_json_output(json_out, force)  # before anything is trained or measured
    if resume and sources:
        from effbench.errors import ConfigError

        raise ConfigError("--resume RUN_ID: give no model or suite file; a run is resumed with the sources and settings "
                          "it was started with (effbench run --resume RUN_ID)")
    if device is not None and not sources:
        from effbench.errors import ConfigError

        raise ConfigError("--device: applies to suite or model files (effbench run study.toml --device cuda); "
                          "the default suite runs on the CPU" + (", and a resumed run on its own device" if resume else ""))
    if (sources or input_spec is not None or trust_pickle or data_path is not None or task is not None or target is not None
            or metrics is not None):
        from effbench.cli.run_files import run_sources

        return run_sources(click.get_current_context(), sources, input_spec=input_spec, trust_pickle=trust_pickle,
                           data=data_path, task=task, metrics=metrics, target=target)

    from effbench.zoo.digits_suite import SPECS, expand_variants, variant_names
    from effbench.zoo.variants import parse_variant_groups

    groups = parse_variant_groups(variants)
    if list_only:
        for s in SPECS:
            click.echo(f"{s.name:16s} {','.join(s.backends):22s} {'quick ' if s.quick else '      '}{s.description}")
        for s in SPECS:
            if variant_names(s):
                click.echo(f"{'':16s} variants: {', '.join(variant_names(s))}")
        return 0

    from effbench.api import run_suite
    from effbench.report.progress import default_progress

    timing, energy = run_settings(click.get_current_context().params)
    progress = default_progress(quiet)
    from effbench.cli.store_cmds import finish_run_output

    if resume:
        result = run_suite(resume=resume, db=db, progress=progress, log=progress.log, timeout_s=timeout_s)
        return finish_run_output(result.run, db_path=result.db_path, json_out=json_out, force=force)
    result = run_suite(
        quick=quick,
        models=expand_variants(split_list(candidates), quick, groups),
        backends=split_list(backends),
        batch_sizes=split_list(batch_sizes),
        threads=threads,
        db=db,
        timing=timing,
        seed=seed,
        repeats=repeats,
        progress=progress,
        log=progress.log,
        energy=energy,
        carbon_region=carbon_region,
        carbon_g_per_kwh=carbon_intensity,
        timeout_s=timeout_s,
        executor=executor,
        address=address,
        hardware=hardware,
    )
    return finish_run_output(result.run, db_path=result.db_path, json_out=json_out, force=force)


def run_settings(p: dict):
    """The timing and energy settings of a run from the command's parameters, checked (one line each)."""
    from dataclasses import replace

    from effbench.api import QUICK_ENERGY, QUICK_TIMING, SUITE_TIMING
    from effbench.errors import ConfigError
    from effbench.measure.energy_cells import EnergyConfig

    if p["threads"] < 1:
        raise ConfigError(f"--threads must be a positive integer; got {p['threads']}")
    if p["repeats"] < 1:
        raise ConfigError(f"--repeats must be a positive integer; got {p['repeats']}")
    if p["timeout_s"] is not None and not p["timeout_s"] > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds; got {p['timeout_s']}")
    if p["executor"] != "ray" and (p["address"] is not None or p["hardware"] is not None):
        raise ConfigError("--address, --hardware: apply to --executor ray only")
    timing = QUICK_TIMING if p["quick"] else SUITE_TIMING
    max_time = p["max_time"]
    if max_time is not None:
        if not max_time > 0:
            raise ConfigError(f"--max-time must be a positive number of seconds; got {max_time}")
        timing = replace(timing, max_time_s=max_time, min_time_s=min(timing.min_time_s, max_time))
    energy = replace(QUICK_ENERGY if p["quick"] else EnergyConfig(), enabled=not p["no_energy"], tdp_w=p["cpu_tdp_w"])
    return timing, energy


def _given_options(ctx: click.Context) -> list[str]:
    """The names of the parameters given on the command line (not defaults nor the environment)."""
    return [name for name in ctx.params if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
