"""``effbench log-mlflow RUN`` and ``effbench run --mlflow [URI]``: a stored run in MLflow (docs/mlflow.md).

Only click is imported at module level; the renderer is :mod:`effbench.report.mlflow`.
"""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, emit_json, human_output, json_options

DEFAULT_EXPERIMENT = "effbench"  # effbench.report.mlflow.DEFAULT_EXPERIMENT (not imported: --help stays light)
_DEFAULT_URI = "default"  # --mlflow given without a URI: MLflow's own default
_META_KEY = "effbench.mlflow"


def _check_mlflow_option(ctx, param, value):
    """Before anything is measured: MLflow is installed and the tracking store answers. The value is
    kept in the context (``ctx.meta``) for :func:`log_after_run`, not passed to the command."""
    if value is None:
        return
    from effbench.report.mlflow import check_reachable

    check_reachable(None if value == _DEFAULT_URI else value)
    ctx.meta[_META_KEY] = value


mlflow_option = click.option(
    "--mlflow", "mlflow", is_flag=False, flag_value=_DEFAULT_URI, default=None, metavar="[TRACKING_URI]",
    callback=_check_mlflow_option, expose_value=False,
    help="After the run, log it to MLflow (as 'effbench log-mlflow'): TRACKING_URI such as sqlite:///mlflow.db, "
         "or nothing for MLflow's default ($MLFLOW_TRACKING_URI); experiment $MLFLOW_EXPERIMENT_NAME or 'effbench'. "
         "Checked before the run. Put it after model files, or write --mlflow=URI.")


def log_after_run(run) -> None:
    """The end of ``effbench run --mlflow``: log the run just stored (the option is read from the command's context)."""
    import os

    ctx = click.get_current_context(silent=True)
    value = None if ctx is None else ctx.meta.get(_META_KEY)
    if value is None:
        return
    from effbench.errors import EffbenchError
    from effbench.report.mlflow import log_run

    try:
        done = log_run(run, tracking_uri=None if value == _DEFAULT_URI else value,
                       experiment=os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT)
    except EffbenchError as exc:  # the run is stored: say how to log it later
        raise type(exc)(f"{exc} (run {run.run_id} is stored; log it later with: effbench log-mlflow {run.run_id})") from exc
    click.echo(done.line(), err=True)


@click.command(name="log-mlflow")
@click.argument("run_id", metavar="RUN")
@click.option("--tracking-uri", "tracking_uri", metavar="URI", default=None,
              help="The MLflow tracking store: sqlite:///PATH, http(s)://HOST:PORT, file:PATH, databricks. "
                   "Default: MLflow's own ($MLFLOW_TRACKING_URI, else its default).")
@click.option("--experiment", metavar="NAME", default=DEFAULT_EXPERIMENT, show_default=True, envvar="MLFLOW_EXPERIMENT_NAME",
              show_envvar=True, help="The MLflow experiment (created when missing).")
@db_option
@json_options
def log_mlflow(run_id, tracking_uri, experiment, db, json_out, force):
    """Log a stored run (an id, a unique prefix, or 'latest') to MLflow: the setup as params, one metric
    per candidate and indicator (e.g. logreg/sklearn.latency_p99_s_b1), the HTML report and the JSON
    export as artifacts. Logging the same run twice logs nothing the second time (docs/mlflow.md).

    \b
    Examples:
      effbench log-mlflow latest --tracking-uri sqlite:///mlflow.db
      effbench log-mlflow 20261129 --tracking-uri http://mlflow.example:5000 --experiment digits
    """
    from dataclasses import replace

    from effbench.errors import ConfigError
    from effbench.report.mlflow import check_reachable, log_run
    from effbench.runs.lifecycle import is_stale
    from effbench.store.db import Store

    check_json_output(json_out, force)
    check_reachable(tracking_uri)  # first: a typo in the URI costs nothing
    with Store(db, create=False) as store:
        run = store.load_run(run_id)
    if run.status == "running":
        if not is_stale(run):
            raise ConfigError(f"run {run.run_id} is still running; log it to MLflow when it has ended")
        run = replace(run, status="interrupted")  # its process is gone (as effbench show says)
    done = log_run(run, tracking_uri=tracking_uri, experiment=experiment)
    with human_output(json_out):
        click.echo(done.line())
    if json_out:
        from dataclasses import asdict

        emit_json(json_out, {"schema": "effbench.log-mlflow/1", **asdict(done)}, force=force)
    return 0
