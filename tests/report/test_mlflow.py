"""effbench log-mlflow / run --mlflow: a stored run in a real local MLflow tracking store (SQLite),
read back with MLflow's own client."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
from dataclasses import replace

import numpy as np
import pytest
from report_runs import LATEX_KEY, SCRIPT_KEY, make_run

from effbench.cli import main
from effbench.errors import DataError
from effbench.records import Metric
from effbench.report.mlflow import TRUNCATED, log_run, metric_name, mlflow_metrics, mlflow_name, mlflow_params
from effbench.store.db import Store

MLFLOW_NAME = re.compile(r"^[/\w.\- :]*$")  # mlflow.utils.validation.validate_param_and_metric_name (POSIX)


# -- the mapping (pure: no MLflow needed) ---------------------------------------------------------

def test_names_are_what_mlflow_accepts():
    assert mlflow_name("logreg/sklearn.latency_p99_s_b1") == "logreg/sklearn.latency_p99_s_b1"
    assert mlflow_name("mlp+relu/torch.params") == "mlp_relu/torch.params"
    assert mlflow_name("../torch.params") == "__/torch.params"  # MLflow refuses names that resolve as paths
    assert mlflow_name(f"{SCRIPT_KEY}.params") == "_script_alert_1__/script_/torch.params"
    for name in (SCRIPT_KEY, LATEX_KEY, "a@laptop/torch", "./x"):
        assert MLFLOW_NAME.match(mlflow_name(name))
    with pytest.raises(DataError, match="at most 250"):
        mlflow_name("x" * 251)


def test_estimates_are_marked_in_the_name():
    assert metric_name("a/torch", "energy_per_sample_j_b1", "estimated") == "a/torch.energy_per_sample_j_b1.estimated"
    assert metric_name("a/torch", "params", "analytic") == "a/torch.params"
    metrics, provenance = mlflow_metrics(make_run())
    latex = mlflow_name(LATEX_KEY)
    assert f"{latex}.energy_per_sample_j_b1.estimated" in metrics
    assert f"{latex}.energy_per_sample_j_b1" not in metrics
    assert "alpha/sklearn.energy_per_sample_j_b1" in metrics  # measured: no marker
    assert provenance["alpha/sklearn.params"] == "analytic"
    assert provenance["alpha/sklearn.train_energy_j.estimated"] == "estimated"
    assert "alpha/sklearn.accuracy" not in provenance  # measured values carry no tag
    assert not any(k.startswith("delta/torch.") for k in metrics)  # the failed candidate has no values


def test_two_candidates_on_one_name_are_refused():
    run = make_run()
    run.candidates[1] = replace(run.candidates[1], key="alpha+/sklearn")
    run.candidates.append(replace(run.candidates[0], key="alpha_/sklearn"))
    run.metrics += [Metric("alpha+/sklearn", "params", 1, "count", "analytic"),
                    Metric("alpha_/sklearn", "params", 2, "count", "analytic")]
    with pytest.raises(DataError, match=r"both map to the MLflow metric 'alpha_/sklearn\."):
        mlflow_metrics(run)


def test_params_flatten_the_setup():
    run = make_run()
    run.config["note"] = "x" * 7000
    params = mlflow_params(run)
    assert params["suite"] == "hand-made"
    assert params["effbench_version"] == "0.1.0"
    assert params["config.batch_sizes"] == "1,8"
    assert params["config.threads"] == "1"
    assert params["config.timing.min_samples"] == "5"
    assert params["environment.cpu.model"] == "Test CPU <b>9000</b>"
    assert params["environment.libraries.numpy"] == "2.0"
    assert params["environment.gpu"] == ""  # no GPU: an empty list
    assert params["task.sample_shape"] == "64"
    assert "task.y_test" not in params  # data, not setup
    assert len(params["config.note"]) == 6000 and params["config.note"].endswith(TRUNCATED)
    assert all(MLFLOW_NAME.match(k) and len(k) <= 250 for k in params)


# -- a real tracking store ------------------------------------------------------------------------

pytestmark_mlflow = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None,
                                       reason="MLflow is not installed (pip install 'effbench[mlflow]')")


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """One SQLite tracking store for the module (creating one runs MLflow's migrations: seconds)."""
    folder = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow puts an SQLite store's artifacts in ./mlruns


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _log(capsys, *args):
    code = main(["log-mlflow", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out.strip(), out.err.strip()


def _runs(client, experiment, run_id):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], filter_string=f"tags.`effbench.run_id` = '{run_id}'")


@pytestmark_mlflow
def test_log_mlflow_reads_back_params_metrics_and_artifacts(stored_run, tracking, capsys, tmp_path):
    db, _ = stored_run
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    code, out, err = _log(capsys, run.run_id, "--tracking-uri", tracking, "--experiment", "readback", "--db", db)
    assert code == 0, err
    client = _client(tracking)
    (found,) = _runs(client, "readback", run.run_id)
    assert out.startswith(f"logged run {run.run_id} to MLflow run {found.info.run_id}")
    assert found.info.status == "FINISHED" and found.info.run_name == run.run_id
    assert found.info.start_time == 1767225600000  # the run's created_at, 2026-01-01T00:00:00+00:00
    data = client.get_run(found.info.run_id).data
    # params: the stored setup
    assert data.params["config.batch_sizes"] == "1,8"
    assert data.params["environment.libraries.effbench"] == "0.1.0"
    assert data.params["environment.cpu.mhz"] == "3000.0"
    # metrics: the stored values, and those derived from the stored samples
    lat = run.sample_set("alpha/sklearn", 1).values
    assert data.metrics["alpha/sklearn.latency_p99_s_b1"] == float(np.quantile(lat, 0.99))
    assert data.metrics["alpha/sklearn.latency_p50_s_b1"] == float(np.quantile(lat, 0.5))
    assert data.metrics["alpha/sklearn.throughput_samples_per_s_b8"] == 8 / float(np.quantile(run.sample_set("alpha/sklearn", 8).values, 0.5))
    assert data.metrics["alpha/sklearn.params"] == 1000
    assert data.metrics["alpha/sklearn.accuracy"] == 0.95
    assert data.metrics["alpha/sklearn.peak_rss_bytes_b1"] == 100e6
    assert data.metrics["gamma/torch.accuracy"] == 0.90
    latex = mlflow_name(LATEX_KEY)
    assert data.metrics[f"{latex}.energy_per_sample_j_b1.estimated"] == 5e-4
    expected, provenance = mlflow_metrics(run)
    assert data.metrics == expected
    # tags: identity, provenance, the failed candidate's error
    assert data.tags["effbench.run_id"] == run.run_id
    assert data.tags["effbench.status"] == "complete"
    assert data.tags[f"provenance.{latex}.energy_per_sample_j_b1.estimated"] == "estimated"
    assert data.tags["provenance.alpha/sklearn.flops_per_sample"] == "analytic"
    assert data.tags["effbench.failed.delta/torch"] == '<img src=x onerror="alert(2)">'
    # artifacts: the HTML report and the JSON export
    names = sorted(a.path for a in client.list_artifacts(found.info.run_id))
    assert names == [f"effbench-report-{run.run_id}.html", f"effbench-run-{run.run_id}.json"]
    client.download_artifacts(found.info.run_id, "", str(tmp_path / "dl"))
    doc = json.loads((tmp_path / "dl" / f"effbench-run-{run.run_id}.json").read_text())
    assert doc["run"]["run_id"] == run.run_id and len(doc["derived"]["cost_table"]) == 5
    assert "<html" in (tmp_path / "dl" / f"effbench-report-{run.run_id}.html").read_text()[:500].lower()


@pytestmark_mlflow
def test_logging_twice_is_idempotent_and_changed_records_log_again(tracking, capsys):
    run = make_run()
    first = log_run(run, tracking_uri=tracking, experiment="twice")
    again = log_run(run, tracking_uri=tracking, experiment="twice")
    assert first.logged and not again.logged
    assert again.mlflow_run_id == first.mlflow_run_id
    assert "nothing logged" in again.line()
    client = _client(tracking)
    assert len(_runs(client, "twice", run.run_id)) == 1
    # the records changed (a resumed run): a new MLflow run, the old one kept
    run.metrics.append(Metric("gamma/torch", "size_bytes", 123, "bytes", "measured"))
    third = log_run(run, tracking_uri=tracking, experiment="twice")
    assert third.logged and third.mlflow_run_id != first.mlflow_run_id
    assert len(_runs(client, "twice", run.run_id)) == 2
    assert client.get_run(third.mlflow_run_id).data.metrics["gamma/torch.size_bytes"] == 123


@pytestmark_mlflow
def test_an_unfinished_log_is_completed(tracking):
    from effbench.report.mlflow import fingerprint

    run = make_run()
    client = _client(tracking)
    exp = client.create_experiment("cut-off")
    cut = client.create_run(exp, tags={"effbench.run_id": run.run_id, "effbench.fingerprint": fingerprint(run)})
    done = log_run(run, tracking_uri=tracking, experiment="cut-off")
    assert done.logged and done.mlflow_run_id == cut.info.run_id
    got = client.get_run(cut.info.run_id)
    assert got.info.status == "FINISHED" and got.data.metrics["alpha/sklearn.params"] == 1000


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytestmark_mlflow
def test_unreachable_tracking_uri_is_one_line(stored_run, capsys):
    db, run = stored_run
    uri = f"http://127.0.0.1:{_closed_port()}"
    code, out, err = _log(capsys, run.run_id, "--tracking-uri", uri, "--db", db)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"effbench: error: MLflow tracking URI {uri}:")
    assert "Traceback" not in err and out == ""


@pytestmark_mlflow
def test_bad_uri_and_missing_mlflow_are_one_line(stored_run, capsys, monkeypatch):
    db, run = stored_run
    code, _, err = _log(capsys, run.run_id, "--tracking-uri", "mlflow.db", "--db", db)
    assert code == 2 and "must name its scheme" in err and "got 'mlflow.db'" in err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    code, _, err = _log(capsys, run.run_id, "--db", db)
    assert code == 2 and err == "effbench: error: logging to MLflow needs the mlflow extra, which is not installed: pip install 'effbench[mlflow]'"
    code = main(["run", "--quick", "--mlflow", "sqlite:///x.db"])
    assert code == 2 and "pip install 'effbench[mlflow]'" in capsys.readouterr().err


@pytestmark_mlflow
def test_a_run_still_measuring_is_refused(tracking, capsys, tmp_path):
    db = tmp_path / "running.sqlite"
    with Store(db) as store:
        store.create_run(suite="s", config={}, environment={}, task={"name": "t"}, effbench_version="0", run_id="r-running")
    code, _, err = _log(capsys, "r-running", "--tracking-uri", tracking, "--db", db)
    assert code == 2 and err == "effbench: error: run r-running is still running; log it to MLflow when it has ended"


@pytestmark_mlflow
def test_run_mlflow_checks_the_uri_before_measuring(capsys, tmp_path):
    db = tmp_path / "runs.sqlite"
    code = main(["run", "--quick", "--db", str(db), "--mlflow", f"http://127.0.0.1:{_closed_port()}"])
    assert code == 2 and "MLflow tracking URI" in capsys.readouterr().err
    assert not db.exists()  # nothing was measured


@pytestmark_mlflow
def test_run_mlflow_without_a_uri_takes_mlflows_default(capsys, tmp_path, monkeypatch):
    uri = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for args in (["--mlflow", "--quick"], ["--quick", "--mlflow"]):  # a flag before another option, or last
        code = main(["run", *args, "--db", str(tmp_path / "runs.sqlite")])
        assert code == 2 and f"MLflow tracking URI {uri}:" in capsys.readouterr().err


@pytest.mark.slow
@pytestmark_mlflow
def test_run_mlflow_logs_the_run_it_stored(tracking, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "after-run")
    db = tmp_path / "runs.sqlite"
    code = main(["run", "--quick", "--candidates", "logreg", "--backends", "sklearn", "--batch-sizes", "1",
                 "--max-time", "0.05", "--repeats", "1", "--no-energy", "--quiet", "--db", str(db), "--mlflow", tracking])
    err = capsys.readouterr().err
    assert code == 0, err
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert f"logged run {run.run_id} to MLflow run" in err
    (found,) = _runs(_client(tracking), "after-run", run.run_id)
    metrics = found.data.metrics
    assert metrics["logreg/sklearn.latency_p50_s_b1"] == float(np.quantile(run.sample_set("logreg/sklearn", 1).values, 0.5))
    assert metrics["logreg/sklearn.accuracy"] == run.value("logreg/sklearn", "accuracy")


@pytestmark_mlflow
def test_log_mlflow_json_dash_is_only_the_json(stored_run, tracking, capsys):
    db, run = stored_run
    code, out, err = _log(capsys, run.run_id, "--tracking-uri", tracking, "--experiment", "json", "--db", db, "--json", "-")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "effbench.log-mlflow/1" and doc["run_id"] == run.run_id and doc["logged"] is True
    assert _client(tracking).get_run(doc["mlflow_run_id"]).data.tags["effbench.run_id"] == run.run_id
