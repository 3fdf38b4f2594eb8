"""Several runs as one study, for every analysis command: the ``RUN_ID...`` argument, ``--hw-label``,
loading and matching (only click at module level)."""

from __future__ import annotations

import click

hw_label_option = click.option(
    "--hw-label", "hw_labels", multiple=True, metavar="RUN=LABEL",
    help="Hardware label of a run (repeatable), instead of the one read from its recorded environment "
         "(CPU model and cores, GPU names); letters, digits and _ . + - only.")


def load_study(db, run_ids, hw_labels=(), *, linked_tails: bool = False):
    """The :class:`effbench.analysis.multirun.RunStudy` of the runs given (default: 'latest'), with
    tail runs joined to their cost runs (with ``linked_tails``, also the latest tail run linked to
    each cost run given); its notes go to stderr."""
    from effbench.analysis.multirun import combine_runs, is_tail_run
    from effbench.store.db import Store
    from effbench.store.runs import linked_tail_runs, load_runs, parse_hardware_labels

    with Store(db, create=False) as store:
        runs = load_runs(store, list(run_ids) or ["latest"])
        if linked_tails and not any(is_tail_run(r) for r in runs):
            for tail in linked_tail_runs(store, runs):
                click.echo(f"effbench: tail quality from run {tail.run_id} (linked to {tail.config['cost_run']})", err=True)
                runs.append(tail)
        labels = parse_hardware_labels(store, hw_labels)
    study = combine_runs([r for r in runs if not is_tail_run(r)], labels, [r for r in runs if is_tail_run(r)])
    echo_study(study)
    return study


def echo_study(study) -> None:
    """The hardware of a study with several, and its notes, on stderr."""
    if study.several_hardware:
        for hw in study.hardware:
            click.echo(f"effbench: hardware {hw}: {study.descriptions.get(hw, hw)}", err=True)
    for note in study.notes:
        click.echo(f"effbench: note: {note}", err=True)


def check_sources(run_ids, csv_files, key, hw_labels, *, key_pattern=None, csv_form="--csv FILE with --key COLUMN",
                  hardware_hint="") -> None:
    """Stored runs or --csv tables, not both, not neither; --key (and --key-pattern) only with tables,
    --hw-label only with runs."""
    from effbench.errors import ConfigError

    if run_ids and csv_files:
        raise ConfigError("give either RUN_IDs or --csv files, not both")
    if not run_ids and not csv_files:
        raise ConfigError(f"give a RUN_ID (a stored run, or 'latest'; several for several machines) or {csv_form}")
    if csv_files and not key:
        raise ConfigError("--csv needs --key COLUMN (the column that identifies a model)")
    if run_ids and (key or key_pattern):
        raise ConfigError(f"{'--key and --key-pattern apply' if key_pattern is not None else '--key applies'} to --csv tables, not to RUN_IDs")
    if csv_files and hw_labels:
        raise ConfigError("--hw-label applies to RUN_IDs, not to --csv tables" + hardware_hint)
