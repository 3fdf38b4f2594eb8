"""A stored run in MLflow: the setup as params, the cost table as metrics, the report and export as artifacts.

A renderer: a :class:`effbench.records.RunRecord` in, MLflow calls out. The values come from the
analyses the other renderers use (:func:`effbench.analysis.run_table.indicator_value`, the indicator
names of ``effbench pareto`` and ``export --wide``); nothing is computed here. The mapping is
documented in docs/mlflow.md:

- **metrics**: ``<candidate key>.<indicator>``, e.g. ``logreg/sklearn.latency_p99_s_b1`` (units are in
  the indicator names); a value whose provenance is ``estimated`` gets ``.estimated`` appended, so an
  estimate never poses as a measurement; every value that is not ``measured`` also has the tag
  ``provenance.<metric name>``. Characters MLflow refuses in names become ``_`` (:func:`mlflow_name`).
- **params**: the run's config, environment and task, flattened with dots (:func:`mlflow_params`).
- **tags**: ``effbench.run_id``, ``effbench.fingerprint`` (a digest of the stored records), the run's
  status, suite and version, and ``effbench.failed.<candidate>`` with each failed candidate's error.
- **artifacts**: the HTML report and the JSON export of ``effbench export``.

Logging is idempotent: a finished MLflow run in the experiment with the same ``effbench.run_id`` and
fingerprint is left as it is (nothing is logged twice); an unfinished one (a log that was cut off) is
completed; a run whose records changed since (``effbench run --resume``) gets a new MLflow run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import posixpath
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from effbench.errors import ConfigError, DataError, StoreError
from effbench.records import ESTIMATED, MEASURED, RunRecord

INSTALL_HINT = "pip install 'effbench[mlflow]'"
DEFAULT_EXPERIMENT = "effbench"
RUN_ID_TAG = "effbench.run_id"
FINGERPRINT_TAG = "effbench.fingerprint"
# MLflow's limits (mlflow.utils.validation), repeated so that the pure part needs no MLflow
MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
TRUNCATED = "... (truncated; the whole value is in the JSON artifact)"
# left out of the params: the CPU's whole flag list (flags_relevant stays) and the test labels (data)
_LEFT_OUT = {"environment.cpu.flags", "task.y_test"}
_BAD_CHARS = re.compile(r"[^/\w.\- :]")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def mlflow_name(name: str) -> str:
    """``name`` as MLflow accepts it in a metric, param or tag key: characters other than letters,
    digits and ``_ - . / : space`` become ``_``, and a path segment of dots only (``.``, ``..``, which
    MLflow refuses) becomes underscores; at most 250 characters (else :class:`DataError`)."""
    out = "/".join("_" * len(s) if s.strip(".") == "" else s for s in _BAD_CHARS.sub("_", name).split("/"))
    if len(out) > MAX_KEY_LENGTH or posixpath.normpath(out) != out:
        raise DataError(f"name {name!r} cannot be an MLflow key: at most {MAX_KEY_LENGTH} characters, no empty path segment")
    return out


def metric_name(candidate: str, indicator: str, provenance: str | None) -> str:
    """``<candidate>.<indicator>``, with ``.estimated`` when the value is an estimate."""
    return mlflow_name(f"{candidate}.{indicator}" + (f".{ESTIMATED}" if provenance == ESTIMATED else ""))


def _param_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _flatten(prefix: str, value, out: dict) -> None:
    if prefix in _LEFT_OUT:
        return
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(f"{prefix}.{i}", v, out)
    elif isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list, tuple)) for v in value):
        out[prefix] = ",".join(_param_text(v) for v in value)
    else:
        out[prefix] = _param_text(value)


def _truncated(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def mlflow_params(run: RunRecord) -> dict[str, str]:
    """The setup as MLflow params: ``suite``, ``effbench_version``, then every field of the run's
    ``config``, ``environment`` and ``task`` flattened with dots (``config.batch_sizes`` = ``1,8,32``,
    ``environment.libraries.torch``, ``environment.gpu.0.name``), except the CPU's whole flag list and
    the test labels. A value longer than MLflow's 6000 characters is cut, saying so."""
    flat: dict[str, str] = {"suite": _param_text(run.suite), "effbench_version": _param_text(run.effbench_version)}
    for section in ("config", "environment", "task"):
        _flatten(section, getattr(run, section) or {}, flat)
    params: dict[str, str] = {}
    for key, text in flat.items():
        name = mlflow_name(key)
        if name in params:
            raise DataError(f"two setup fields map to the MLflow param {name!r}; rename one of them")
        params[name] = _truncated(text, MAX_PARAM_LENGTH)
    return params


def mlflow_metrics(run: RunRecord) -> tuple[dict[str, float], dict[str, str]]:
    """``(metrics, provenance)``: one value per candidate and indicator (the indicator names of
    :func:`effbench.analysis.run_table.available_indicators`), and the provenance of every metric
    that is not ``measured``. Failed candidates and values not recorded are left out."""
    from effbench.analysis.run_table import available_indicators, indicator_provenance, indicator_value

    indicators = available_indicators(run)
    metrics: dict[str, float] = {}
    provenance: dict[str, str] = {}
    sources: dict[str, tuple[str, str]] = {}
    for c in run.candidates:
        if c.status == "failed":
            continue
        for indicator in indicators:
            value, _ = indicator_value(run, c.key, indicator)
            if value is None:
                continue
            prov = indicator_provenance(run, c.key, indicator)
            name = metric_name(c.key, indicator, prov)
            if name in sources:
                raise DataError(f"candidates {sources[name][0]!r} and {c.key!r} both map to the MLflow metric {name!r}; "
                                "rename one of them (MLflow names allow letters, digits and _ - . / : space)")
            sources[name] = (c.key, indicator)
            metrics[name] = float(value)
            if prov not in (None, MEASURED):
                provenance[name] = prov
    return metrics, provenance


def fingerprint(run: RunRecord) -> str:
    """A digest of the run's stored records (the interchange JSON): the same records, the same digest."""
    from effbench.store.export import run_to_dict

    text = json.dumps(run_to_dict(run), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def mlflow_tags(run: RunRecord, provenance: dict[str, str], digest: str | None = None) -> dict[str, str]:
    """The run's identity (``effbench.run_id``, ``effbench.fingerprint``: ``digest``, else computed), its
    status, suite and version, the error of each failed candidate and the provenance of every metric
    that is not measured."""
    tags = {RUN_ID_TAG: run.run_id, FINGERPRINT_TAG: digest or fingerprint(run), "effbench.status": run.status,
            "effbench.suite": str(run.suite), "effbench.version": str(run.effbench_version)}
    for c in run.candidates:
        if c.status == "failed":
            tags[mlflow_name(f"effbench.failed.{c.key}")] = _truncated(str(c.error or "failed"), MAX_TAG_LENGTH)
    tags.update({mlflow_name(f"provenance.{name}"): prov for name, prov in provenance.items()})
    return tags


@dataclass(frozen=True)
class MlflowLog:
    """What :func:`log_run` did: the MLflow run that holds ``run_id`` and whether this call logged it."""

    run_id: str
    mlflow_run_id: str
    experiment: str
    experiment_id: str
    tracking_uri: str
    logged: bool               # False: an identical finished MLflow run was already there, left as it was
    n_params: int = 0
    n_metrics: int = 0
    artifacts: tuple[str, ...] = ()

    def line(self) -> str:
        where = f"experiment {self.experiment!r} at {self.tracking_uri}"
        if not self.logged:
            return f"run {self.run_id} is already in MLflow as run {self.mlflow_run_id} ({where}); nothing logged"
        return (f"logged run {self.run_id} to MLflow run {self.mlflow_run_id} ({where}): {self.n_params} params, "
                f"{self.n_metrics} metrics, artifacts {', '.join(self.artifacts)}")


def require_mlflow() -> None:
    """:class:`ConfigError` with the install command when MLflow is not installed."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(f"logging to MLflow needs the mlflow extra, which is not installed: {INSTALL_HINT}")


def check_tracking_uri(uri: str | None) -> str | None:
    """``uri`` if it names a scheme (``sqlite:///PATH``, ``file:PATH``, ``http(s)://...``, ``databricks``),
    or None for MLflow's default; a bare path is refused (it is often a model file taken as the URI)."""
    if uri is None or uri == "":
        return None
    if uri == "databricks" or uri.startswith("databricks://") or _URI_SCHEME.match(uri):
        return uri
    raise ConfigError(f"MLflow tracking URI must name its scheme (sqlite:///PATH, file:PATH, http://HOST:PORT, "
                      f"https://..., databricks); got {uri!r} (effbench run: write --mlflow=URI, or put --mlflow after the model files)")


@contextlib.contextmanager
def _tracking_errors(uri: str, *, quick: bool = False):
    """MLflow's errors as one :class:`StoreError` line naming the URI; MLflow's and alembic's INFO logs
    (a new SQLite store's migrations) kept quiet. ``quick``: HTTP without retries and a 10 s timeout."""
    from mlflow.exceptions import MlflowException

    errors: list[type] = [MlflowException, OSError]
    with contextlib.suppress(ImportError):
        import requests

        errors.append(requests.exceptions.RequestException)
    with contextlib.suppress(ImportError):
        import sqlalchemy.exc

        errors.append(sqlalchemy.exc.SQLAlchemyError)
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"} if quick else {}
    saved = {k: os.environ.get(k) for k in env}
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    for k, v in env.items():
        os.environ.setdefault(k, v)
    try:
        yield
    except tuple(errors) as exc:
        text = " ".join(str(exc).split())
        hint = ""
        if uri.startswith("sqlite:") and ("sqlalchemy" in text.lower() or "unsupported uri" in text.lower()):
            hint = f" (an sqlite: URI needs sqlalchemy and alembic: {INSTALL_HINT})"
        raise StoreError(f"MLflow tracking URI {uri}: {text[:400]}{hint}") from exc
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def check_reachable(uri: str | None) -> str:
    """Open the tracking store at ``uri`` (None: MLflow's default) and read from it once, without
    retries; the resolved URI, or :class:`StoreError` when it cannot be reached."""
    require_mlflow()
    uri = check_tracking_uri(uri)
    from mlflow.tracking import get_tracking_uri

    resolved = uri or get_tracking_uri()
    with _tracking_errors(resolved, quick=True):
        _client(resolved).search_experiments(max_results=1)
    return resolved


def _experiment_id(client, name: str) -> str:
    if not name or len(name) > 500:
        raise ConfigError(f"--experiment must be a name of 1 to 500 characters; got {name!r}")
    exp = client.get_experiment_by_name(name)
    if exp is None:
        return client.create_experiment(name)
    if exp.lifecycle_stage != "active":
        raise StoreError(f"MLflow experiment {name!r} is deleted; restore it (mlflow experiments restore) "
                         "or choose another --experiment")
    return exp.experiment_id


def _timestamp_ms(run: RunRecord, stamp: str | None) -> int:
    """``stamp`` (one of the run's times) in milliseconds."""
    try:
        return int(datetime.fromisoformat(stamp).timestamp() * 1000)
    except (TypeError, ValueError) as exc:
        raise DataError(f"run {run.run_id}: its time {stamp!r} is not an ISO 8601 timestamp") from exc


def _write_artifacts(run: RunRecord, folder: Path) -> list[Path]:
    from effbench.analysis.run_report import run_report
    from effbench.report.export import export_document
    from effbench.report.html import render_html

    report = folder / f"effbench-report-{run.run_id}.html"
    report.write_text(render_html(run_report(run)), encoding="utf-8")
    export = folder / f"effbench-run-{run.run_id}.json"
    export.write_text(json.dumps(export_document(run), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return [report, export]


def log_run(run: RunRecord, *, tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> MlflowLog:
    """Log ``run`` to the MLflow tracking store at ``tracking_uri`` (None: MLflow's default,
    ``$MLFLOW_TRACKING_URI`` first), in ``experiment`` (created when missing). Idempotent: see the module."""
    from mlflow.entities import Metric, Param, RunStatus, RunTag
    from mlflow.entities.view_type import ViewType

    resolved = check_reachable(tracking_uri)
    digest = fingerprint(run)
    with _tracking_errors(resolved):
        client = _client(resolved)
        exp_id = _experiment_id(client, experiment)
        found = client.search_runs([exp_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{run.run_id}' "
                                   f"and tags.`{FINGERPRINT_TAG}` = '{digest}'",
                                   run_view_type=ViewType.ACTIVE_ONLY, order_by=["attributes.start_time DESC"])
        done = next((r for r in found if r.info.status == RunStatus.to_string(RunStatus.FINISHED)), None)
        if done is not None:
            return MlflowLog(run.run_id, done.info.run_id, experiment, exp_id, resolved, logged=False)
        params = mlflow_params(run)
        metrics, provenance = mlflow_metrics(run)
        tags = mlflow_tags(run, provenance, digest)
        stamp = _timestamp_ms(run, run.finished_at or run.created_at)  # the metrics': the run's end
        ml_run = found[0] if found else client.create_run(exp_id, start_time=_timestamp_ms(run, run.created_at),
                                                          tags=tags, run_name=run.run_id)
        ml_id = ml_run.info.run_id
        client.log_batch(ml_id, metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()],
                         params=[Param(k, v) for k, v in params.items()],
                         tags=[RunTag(k, v) for k, v in tags.items()])
        with tempfile.TemporaryDirectory(prefix="effbench-mlflow-") as tmp:
            paths = _write_artifacts(run, Path(tmp))
            for path in paths:
                client.log_artifact(ml_id, str(path))
        client.set_terminated(ml_id, "FINISHED")
    return MlflowLog(run.run_id, ml_id, experiment, exp_id, resolved, logged=True, n_params=len(params),
                     n_metrics=len(metrics), artifacts=tuple(p.name for p in paths))
