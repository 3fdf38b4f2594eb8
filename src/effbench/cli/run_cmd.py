"""effbench run: the default suite on this machine."""

from __future__ import annotations

import click

from effbench.cli.common import db_option, split_list


@click.command()
@click.option("--quick", is_flag=True, help="A reduced suite for a smoke test (3 models, batch sizes 1 and 32, short timing).")
@click.option("--candidates", "candidates", metavar="NAMES", help="Comma-separated models to run (default: all; see 'effbench run --list').")
@click.option("--backends", metavar="NAMES", help="Comma-separated backends: sklearn, torch, onnxruntime (default: all).")
@click.option("--batch-sizes", metavar="SIZES", help="Comma-separated positive integers and 'all' (the whole test split). Default: 1,8,32,128,all (quick: 1,32).")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads per candidate (torch, BLAS/OpenMP, ONNX Runtime intra-op).")
@click.option("--max-time", "max_time", type=float, default=None, help="Longest sampling time per candidate and batch size, in seconds (default 0.6; quick 0.15).")
@click.option("--repeats", type=int, default=1, show_default=True, help="Split each measurement into N repeats, interleaved in random order.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the measurement order.")
@click.option("--list", "list_only", is_flag=True, help="List the suite's models and backends, and exit.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@db_option
def run(quick, candidates, backends, batch_sizes, threads, max_time, repeats, seed, list_only, quiet, db):
    """Run the default suite (digits): train the candidates, measure every cost, store the run.

    \b
    Models: logreg, random_forest, hist_gb, svm_rbf, knn (scikit-learn); mlp, cnn_small,
    shufflenet_tiny, cnn_wide (PyTorch); ONNX Runtime versions of the PyTorch models, logreg and
    random_forest. The quick suite: logreg, mlp, cnn_small.
    """
    from effbench.zoo.digits_suite import SPECS

    if list_only:
        for s in SPECS:
            click.echo(f"{s.name:16s} {','.join(s.backends):22s} {'quick ' if s.quick else '      '}{s.description}")
        return 0

    from dataclasses import replace

    from effbench.api import QUICK_TIMING, SUITE_TIMING, run_suite
    from effbench.errors import ConfigError
    from effbench.report.progress import default_progress

    if threads < 1:
        raise ConfigError(f"--threads must be a positive integer; got {threads}")
    if repeats < 1:
        raise ConfigError(f"--repeats must be a positive integer; got {repeats}")
    timing = QUICK_TIMING if quick else SUITE_TIMING
    if max_time is not None:
        if not max_time > 0:
            raise ConfigError(f"--max-time must be a positive number of seconds; got {max_time}")
        timing = replace(timing, max_time_s=max_time, min_time_s=min(timing.min_time_s, max_time))
    progress = default_progress(quiet)
    result = run_suite(
        quick=quick,
        models=split_list(candidates),
        backends=split_list(backends),
        batch_sizes=split_list(batch_sizes),
        threads=threads,
        db=db,
        timing=timing,
        seed=seed,
        repeats=repeats,
        progress=progress,
        log=progress.log,
    )
    from effbench.cli.store_cmds import print_run_summary

    print_run_summary(result.run, db_path=result.db_path)
    return 0
