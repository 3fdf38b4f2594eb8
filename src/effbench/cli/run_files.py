"""effbench run SUITE.toml / effbench run MODEL...: your own models from the command line (docs/your-models.md)."""

from __future__ import annotations

from pathlib import Path

import click

from effbench.cli.common import split_list
from effbench.errors import ConfigError

SUITE_SUFFIXES = (".toml", ".yaml", ".yml")
# options of the default suite only, with the value each has when it is not given
_DIGITS_ONLY = {"quick": False, "candidates": None, "backends": None, "list_only": False, "resume": None}
_FLAGS = {"list_only": "--list"}


def run_sources(ctx: click.Context, sources, *, input_spec, trust_pickle, data=None, task=None, metrics=None, target=None) -> int:
    """Plan the run (everything loaded and checked: any problem is one line, exit 2), measure it, print it."""
    from effbench.runs.files import FILES_BATCH_SIZES, plan_model_files, plan_suite_file

    p = ctx.params
    for name, default in _DIGITS_ONLY.items():
        if p[name] != default:
            flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
            raise ConfigError(f"{flag}: applies to the default suite, not to suite or model files")
    if not sources:
        raise ConfigError("--input, --data, --task, --metrics and --trust-pickle apply to suite or model files: "
                          "effbench run MODEL... --input SPEC (or --data FILE)")
    from effbench.cli.run_cmd import run_settings

    settings = run_settings(p)  # checked before any model is loaded
    batch_sizes = split_list(p["batch_sizes"])
    if len(sources) == 1 and Path(sources[0]).suffix.lower() in SUITE_SUFFIXES:
        if input_spec is not None:
            raise ConfigError("--input: applies to model files; a suite file gives synthetic inputs as data.input")
        for option, value in (("--data", data), ("--task", task), ("--metrics", metrics), ("--target", target)):
            if value is not None:
                raise ConfigError(f"{option}: applies to model files; a suite file names its data in [data]")
        given = ctx.get_parameter_source("threads") == click.core.ParameterSource.COMMANDLINE
        plan = plan_suite_file(sources[0], trust_pickle=trust_pickle, batch_sizes=batch_sizes,
                               threads=p["threads"] if given else None, timeout_s=p["timeout_s"], device=p["device"])
    else:
        plan = plan_model_files(sources, input_spec=input_spec, batch_sizes=batch_sizes or FILES_BATCH_SIZES,
                                trust_pickle=trust_pickle, data=data, task=task, metrics=metrics, target=target,
                                device=p["device"] or "cpu")
        plan.threads, plan.timeout_s = p["threads"], p["timeout_s"]
    from effbench.runs.files import FILE_VARIANT_GROUPS, add_variants
    from effbench.zoo.variants import parse_variant_groups

    groups = FILE_VARIANT_GROUPS if p["variants"].strip().lower() == "all" else parse_variant_groups(p["variants"])
    plan = add_variants(plan, groups, log=None if p["quiet"] else (lambda line: click.echo(line, err=True)))
    return _measure(plan, p, *settings)


def _measure(plan, p, timing, energy) -> int:
    from effbench.cli.store_cmds import finish_run_output
    from effbench.report.progress import default_progress
    from effbench.runs.energy import resolve_carbon
    from effbench.runs.latency import measure_run

    carbon = resolve_carbon(p["carbon_region"], p["carbon_intensity"])
    progress = default_progress(p["quiet"])
    result = measure_run(plan.candidates, plan.task, suite=plan.suite, batch_sizes=plan.batch_sizes, threads=plan.threads,
                         timing=timing, db=p["db"], seed=p["seed"], repeats=p["repeats"], progress=progress,
                         extra_config=plan.config, energy=energy, carbon=carbon if energy.enabled else None,
                         timeout_s=plan.timeout_s, training=plan.training, training_from=plan.training_from,
                         failed_records=plan.failed_records, executor=p["executor"], address=p["address"], hardware=p["hardware"])
    return finish_run_output(result.run, db_path=result.db_path, json_out=p["json_out"], force=p["force"])
