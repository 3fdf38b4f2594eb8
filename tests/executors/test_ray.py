"""The Ray executor on a real local Ray cluster of two nodes (ray.cluster_utils.Cluster), started once
for the module: node "a" (the head) and node "b", each with one CPU and one effbench slot."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

import effbench  # noqa: E402
from effbench.candidates import wrap  # noqa: E402
from effbench.errors import ConfigError, StoreError  # noqa: E402
from effbench.executor import ExecutionConfig  # noqa: E402
from effbench.executors.ray import LABEL, SLOT, connect, execute_ray  # noqa: E402
from effbench.measure.timer import TimingConfig  # noqa: E402

NODE = dict(num_cpus=1, object_store_memory=100 * 2**20)
TIMING = TimingConfig(max_time_s=0.03, min_time_s=0.01, warmup_s=0.0, min_samples=5)


def node_args(label: str) -> dict:
    return {**NODE, "resources": {SLOT: 1}, "labels": {LABEL: label}}


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args=node_args("a"))
    c.add_node(**node_args("b"))
    c.wait_for_nodes()
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:120].astype(np.float32), y[:120]


def models(digits, n: int) -> dict:
    X, y = digits
    return {f"tree{d}": DecisionTreeClassifier(max_depth=d, random_state=0).fit(X, y) for d in range(1, n + 1)}


def run(digits, cluster, n: int, **kwargs):
    X, y = digits
    return effbench.benchmark(models(digits, n), X, y, batch_sizes=(1, 4), repeats=1, timing=TIMING, energy=None,
                              progress=False, executor="ray", address=cluster.address, **kwargs).run


class Calls:
    """A recorder that keeps what the executor reports (in the driver's main thread)."""

    def __init__(self, **hooks):
        self.calls, self.hooks = [], hooks  # hooks: method name -> called with its arguments

    def __getattr__(self, name):
        if name in ("calls", "hooks"):
            raise AttributeError(name)

        def record(*args):
            self.calls.append((name, *args))
            if name in self.hooks:
                self.hooks[name](*args)
        return record

    def of(self, name):
        return [c[1:] for c in self.calls if c[0] == name]


@pytest.mark.slow
def test_candidates_run_on_both_nodes_one_at_a_time_and_record_their_node(digits, cluster, tmp_path):
    run_ = run(digits, cluster, 4, db=tmp_path / "r.sqlite")
    assert [c.status for c in run_.candidates] == ["ok"] * 4
    assert run_.config["executor"] == "ray" and run_.config["hardware"] is None
    nodes = [c.info["node"] for c in run_.candidates]
    by_id = {n["node_id"]: n["hardware"] for n in nodes}
    assert sorted(by_id.values()) == ["a", "b"]  # both nodes measured, each recorded with its own label
    for n in nodes:
        assert n["hostname"] == socket.gethostname()
        assert {"cpu", "gpu", "cores_logical"} <= set(n["environment"]) and n["environment"]["cpu"]["model"]
    # one measurement at a time per node: the candidates' busy windows on one node (its clock) never overlap
    # (4 candidates on 2 nodes: at least one node measured two or more)
    assert max(sum(n["node_id"] == i for n in nodes) for i in by_id) >= 2
    for node_id in by_id:
        windows = sorted((n["busy_from_unix_s"], n["busy_until_unix_s"]) for n in nodes if n["node_id"] == node_id)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(windows, windows[1:]))
    assert all(c.info["worker"]["isolated"] for c in run_.candidates)


@pytest.mark.slow
def test_hardware_label_keeps_the_study_on_its_nodes(digits, cluster, tmp_path):
    run_ = run(digits, cluster, 2, db=tmp_path / "r.sqlite", hardware="b")
    assert [c.status for c in run_.candidates] == ["ok", "ok"]
    assert [c.info["node"]["hardware"] for c in run_.candidates] == ["b", "b"]
    assert run_.config["hardware"] == "b"


@pytest.mark.slow
def test_a_label_no_node_has_is_one_error_before_anything_is_stored(digits, cluster, tmp_path):
    db = tmp_path / "r.sqlite"
    with pytest.raises(ConfigError, match=r"--hardware: no live Ray node has the label effbench-hardware=gpu-x; the labels there: a, b"):
        run(digits, cluster, 1, db=db, hardware="gpu-x")
    assert not db.exists()
    assert not ray.is_initialized()  # the connection it opened is closed again


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free once closed: nothing listens there


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("effbench: error: "), err
    return err[0].removeprefix("effbench: error: ")


def test_an_address_that_does_not_answer_is_one_line_and_exit_2(tmp_path, capsys):
    from effbench.cli import main

    port = _dead_port()
    assert main(["run", "--quick", "--executor", "ray", "--address", f"127.0.0.1:{port}", "--db", str(tmp_path / "r.sqlite")]) == 2
    assert _one_error_line(capsys) == f"--address 127.0.0.1:{port}: no Ray cluster answers at 127.0.0.1:{port} within 5 s (Connection refused)"


def test_ray_address_from_the_environment_is_checked_the_same_way(monkeypatch):
    port = _dead_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ConfigError, match=rf"^RAY_ADDRESS 127.0.0.1:{port}: no Ray cluster answers at 127.0.0.1:{port} within 5 s"):
        connect(ExecutionConfig(batch_sizes=(1,), executor="ray"))
    assert not ray.is_initialized()


@pytest.mark.parametrize("args, message", [
    (["--hardware", "a"], "--address, --hardware: apply to --executor ray only"),
    (["--executor", "ray", "--address", "nowhere"], "--address: expected auto or HOST:PORT (a port from 1 to 65535), got 'nowhere'"),
    (["--executor", "ray", "--address", "127.0.0.1:99999"],
     "--address: expected auto or HOST:PORT (a port from 1 to 65535), got '127.0.0.1:99999'"),
    (["--executor", "ray", "--hardware", "a b"], "hardware 'a b' is not allowed: use letters, digits and _ . + - only"),
])
def test_bad_fleet_options_are_one_line_and_exit_2(args, message, tmp_path, capsys):
    from effbench.cli import main

    assert main(["run", "--quick", *args, "--db", str(tmp_path / "r.sqlite")]) == 2
    assert _one_error_line(capsys) == message


def test_without_ray_installed_one_line_says_so(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r"executor 'ray' needs Ray, which is not installed: pip install 'effbench\[ray\]'"):
        connect(ExecutionConfig(batch_sizes=(1,), executor="ray"))


@pytest.mark.slow
def test_a_node_lost_mid_run_fails_its_candidate_and_the_rest_complete(digits, cluster):
    doomed = cluster.add_node(**node_args("c"))
    cluster.wait_for_nodes()
    X, _ = digits
    config = ExecutionConfig(batch_sizes=(1, 4), repeats=2, timing=TIMING, executor="ray", address=cluster.address)
    lost = []

    def on_node(key, node):  # the moment a candidate is running on node c, take that node away
        if node["hardware"] == "c" and not lost:
            lost.append(key)
            cluster.remove_node(doomed)

    calls = Calls(node=on_node)
    candidates = [wrap(k, m) for k, m in models(digits, 3).items()]
    connect(config)
    execute_ray(candidates, X, config, calls)
    assert len(lost) == 1  # three slots, three candidates: one of them started on node c
    failed = {key: reason for key, reason, *_ in calls.of("failed")}
    assert list(failed) == lost and "was lost" in failed[lost[0]]
    measured = {key for key, *_ in calls.of("latency")}
    assert measured >= {c.key for c in candidates} - set(lost)
    assert len(calls.of("latency")) >= 2 * 2 * 2  # both others: every batch size, every repeat


@pytest.mark.slow
def test_ctrl_c_timeouts_and_driver_errors_end_the_run_without_hanging_and_free_the_slots(digits, cluster):
    X, _ = digits
    candidates = [wrap(k, m) for k, m in models(digits, 2).items()]
    config = ExecutionConfig(batch_sizes=(1,), repeats=1, timing=TIMING, executor="ray", address=cluster.address)

    def interrupt(*args):
        raise KeyboardInterrupt

    connect(config)
    with pytest.raises(KeyboardInterrupt):
        execute_ray(candidates, X, config, Calls(latency=interrupt))
    # a command that does not answer in time fails its candidate alone (here: every one, each with its reason)
    hung = ExecutionConfig(batch_sizes=(1,), repeats=1, timing=TIMING, executor="ray", address=cluster.address,
                           command_timeout_s=1e-4)
    calls = Calls()
    connect(hung)
    execute_ray(candidates, X, hung, calls)
    reasons = {key: reason for key, reason, *_ in calls.of("failed")}
    assert set(reasons) == {c.key for c in candidates}
    assert all("did not answer within 0.0001 s and was killed" in r for r in reasons.values())
    # an error of the driver's own (here the store's) ends the run with it, raised in the main thread

    def store_fails(*args):
        raise StoreError("the store is gone")

    connect(config)
    with pytest.raises(StoreError, match="the store is gone"):
        execute_ray(candidates, X, config, Calls(static=store_fails))
    # both slots are free again: the killed actors let them go
    connect(config)
    try:
        deadline = time.monotonic() + 60
        while ray.available_resources().get(SLOT, 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ray.available_resources().get(SLOT, 0) == 2
    finally:
        from effbench.executors.ray import disconnect

        disconnect()
