"""Several runs, one study: hardware identity, matching by candidate key, merged run, tables, tail join."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from effbench.analysis.batching import LatencyObjective
from effbench.analysis.multirun import (
    combine_runs,
    hardware_identity,
    hardware_slug,
    is_tail_run,
    join_tail,
    split_hardware_column,
)
from effbench.analysis.run_batching import study_batching
from effbench.errors import ConfigError, DataError
from effbench.store.db import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from multirun_runs import add_run, add_tail_run, env

FAST = {"small": [1e-3] * 5, "mid": [2e-3] * 5, "big": [3e-3] * 5}
GPU = {"small": [3e-3] * 5, "mid": [1e-3] * 5, "big": [2e-3] * 5}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "m.sqlite") as s:
        yield s


def test_hardware_identity_names_cpu_cores_and_gpus():
    assert hardware_identity(env("Intel(R) Xeon(R) Gold 6230", 8)) == ("intel-xeon-gold-6230-8c", "Intel(R) Xeon(R) Gold 6230, 8 cores")
    label, desc = hardware_identity(env("AMD EPYC 7763", 16, ["NVIDIA H200", "NVIDIA H200"]))
    assert label == "amd-epyc-7763-16c-2xnvidia-h200"
    assert desc == "AMD EPYC 7763, 16 cores, GPU 2 x NVIDIA H200"
    assert hardware_identity({}) == ("unknown-cpu", "unknown CPU")
    # the affinity (cores this process may use) wins over the machine's count
    assert hardware_identity({"cpu": {"model": "x"}, "cores_logical": 64, "affinity_count": 4})[0] == "x-4c"
    assert hardware_slug("A  B/(TM)c") == "a-b-c"
    assert split_hardware_column("latency_p99_s_b1@cpu-a") == ("latency_p99_s_b1", "cpu-a")
    assert split_hardware_column("accuracy") == ("accuracy", None)


def test_two_machines_become_hardware_columns(store):
    a = add_run(store, FAST, environment=env("cpu-a", 8))
    b = add_run(store, GPU, environment=env("cpu-b", 16, ["NVIDIA H200"]))
    study = combine_runs([store.load_run(a), store.load_run(b)])
    assert study.hardware == ("cpu-a-8c", "cpu-b-16c-nvidia-h200")
    assert study.keys == ("small/torch", "mid/torch", "big/torch")
    keys, values, columns, per_hw, common = study.hardware_table(["accuracy", "latency_p99_s_b1"])
    assert keys == list(study.keys)
    assert columns == ["accuracy", "latency_p99_s_b1@cpu-a-8c", "latency_p99_s_b1@cpu-b-16c-nvidia-h200"]
    assert common == ["accuracy"]
    assert per_hw == {"cpu-a-8c": ["latency_p99_s_b1@cpu-a-8c"],
                      "cpu-b-16c-nvidia-h200": ["latency_p99_s_b1@cpu-b-16c-nvidia-h200"]}
    np.testing.assert_allclose(values, [[0.8, 1e-3, 3e-3], [0.9, 2e-3, 1e-3], [1.0, 3e-3, 2e-3]])
    merged = study.merged()
    assert [c.key for c in merged.candidates] == [f"{m}/torch@{hw}" for hw in study.hardware for m in ("small", "mid", "big")]
    assert merged.candidate("mid/torch@cpu-b-16c-nvidia-h200").info["source_run"] == b
    assert merged.candidate("mid/torch@cpu-b-16c-nvidia-h200").predictions == store.load_run(b).candidate("mid/torch").predictions
    assert merged.run_id == f"{a}+{b}"
    assert merged.environment["hardware"]["cpu-b-16c-nvidia-h200"] == "cpu-b, 16 cores, GPU NVIDIA H200"
    np.testing.assert_allclose(merged.sample_set("small/torch@cpu-b-16c-nvidia-h200", 1).values, GPU["small"])


def test_nodes_give_the_hardware_and_a_run_label_overrides_everything(store):
    node = {"hostname": "n1", "node_id": "abc", "hardware": None, "environment": env("node-cpu", 4)}
    labelled = {"hostname": "n2", "node_id": "def", "hardware": "gpu-node", "environment": env("x", 4)}
    a = add_run(store, FAST, environment=env("cpu-a"), nodes={m: node for m in FAST})
    b = add_run(store, FAST, environment=env("cpu-b"), nodes={m: labelled for m in FAST})
    c = add_run(store, FAST, environment=env("cpu-c"))
    runs = [store.load_run(r) for r in (a, b, c)]
    study = combine_runs(runs, {c: "laptop"})
    assert study.hardware == ("node-cpu-4c", "gpu-node", "laptop")
    assert study.descriptions == {"node-cpu-4c": "node-cpu, 4 cores", "gpu-node": "gpu-node (x, 4 cores)",
                                  "laptop": "laptop (cpu-c, 8 cores)"}
    assert combine_runs(runs, {a: "one", b: "two"}).hardware == ("one", "two", "cpu-c-8c")
    # one run whose candidates ran on different nodes: none is on every hardware
    mixed = add_run(store, FAST, environment=env("cpu-a"), nodes={"small": node, "mid": labelled})
    with pytest.raises(DataError) as err:
        combine_runs([store.load_run(mixed)], {})
    assert str(err.value).startswith(f"no candidate of run(s) {mixed} is measured on every one of their 3 hardware "
                                     "(node-cpu-4c: small/torch; gpu-node: mid/torch; cpu-a-8c: big/torch)")
    # the run's label is an override: the whole run on one hardware
    assert combine_runs([store.load_run(mixed)], {mixed: "one"}).hardware == ("one",)
    with pytest.raises(ConfigError, match=r"--hw-label nope=\.\.\.: nope is not one of the runs given"):
        combine_runs([store.load_run(a)], {"nope": "x"})


def test_candidates_in_some_runs_only_are_named(store):
    a = add_run(store, FAST, environment=env("cpu-a"))
    b = add_run(store, {"mid": [1e-3], "big": [2e-3]}, environment=env("cpu-b"))
    study = combine_runs([store.load_run(a), store.load_run(b)])
    assert study.keys == ("mid/torch", "big/torch")
    left_out = (f"small/torch left out: measured on cpu-a-8c (run {a}) only, not on cpu-b-8c "
                "(candidates are matched by key model/backend)")
    assert study.notes == (left_out,)
    c = add_run(store, {"small": [1e-3]}, environment=env("cpu-c"))
    with pytest.raises(DataError) as err:
        combine_runs([store.load_run(b), store.load_run(c)])
    assert str(err.value) == (f"runs {b}, {c} have no candidate in common ({b}: mid/torch, big/torch; {c}: small/torch); "
                              "candidates are matched by key model/backend")


def test_runs_on_one_machine_add_up_and_the_last_wins(store):
    a = add_run(store, {"small": [1e-3], "mid": [2e-3]})
    b = add_run(store, {"mid": [5e-3], "big": [3e-3]})
    study = combine_runs([store.load_run(a), store.load_run(b)])
    assert not study.several_hardware
    assert study.keys == ("small/torch", "mid/torch", "big/torch")
    assert study.value("mid/torch", study.hardware[0], "latency_p50_s_b1") == 5e-3
    assert study.notes == (f"mid/torch on cpu-x-8c is in runs {a} and {b}; its values are those of {b} (the last given)",)
    assert [c.key for c in study.merged().candidates] == ["small/torch", "mid/torch", "big/torch"]
    with pytest.raises(ConfigError, match="is given more than once"):
        combine_runs([store.load_run(a), store.load_run(a)])


def test_wide_rows_one_per_candidate_and_hardware(store):
    a = add_run(store, FAST, environment=env("cpu-a"))
    b = add_run(store, GPU, environment=env("cpu-b"))
    header, rows = combine_runs([store.load_run(a), store.load_run(b)]).wide_rows(["accuracy", "latency_p50_s_b1", "params"])
    assert header == ["key", "candidate", "model", "backend", "hardware", "run_id", "status", "weights", "accuracy", "latency_p50_s_b1",
                      "latency_p50_s_b1_ci95_low", "latency_p50_s_b1_ci95_high", "params"]
    assert [(r["key"], r["latency_p50_s_b1"]) for r in rows] == [
        ("small/torch@cpu-a-8c", 1e-3), ("mid/torch@cpu-a-8c", 2e-3), ("big/torch@cpu-a-8c", 3e-3),
        ("small/torch@cpu-b-8c", 3e-3), ("mid/torch@cpu-b-8c", 1e-3), ("big/torch@cpu-b-8c", 2e-3)]
    assert rows[0]["run_id"] == a and rows[3]["run_id"] == b and rows[2]["params"] == 10_000
    from effbench.estimates import quantile_ci

    samples = store.load_run(a).sample_set("small/torch", 1).values
    assert not quantile_ci(samples, 0.5, 0.95).has_interval  # 5 samples: the median's interval needs 6
    assert (rows[0]["latency_p50_s_b1_ci95_low"], rows[0]["latency_p50_s_b1_ci95_high"]) == ("", "")
    with pytest.raises(ConfigError, match="unknown indicator 'nope'"):
        combine_runs([store.load_run(a)]).wide_rows(["nope"])


def test_a_cost_run_finds_its_linked_tail_run_of_any_tail_suite(store):
    from effbench.store.runs import linked_tail_runs

    a = add_run(store, FAST, environment=env("cpu-a"))
    mine = add_tail_run(store, ["small"], cost_run=a, suite="study-tail")   # a suite file's tail run
    add_tail_run(store, ["small"], cost_run=a, suite="study")               # not a tail suite: never read
    assert [r.run_id for r in linked_tail_runs(store, [store.load_run(a)])] == [mine]


def test_tail_runs_join_their_cost_run(store):
    a = add_run(store, FAST, environment=env("cpu-a"))
    b = add_run(store, GPU, environment=env("cpu-b"))
    t = add_tail_run(store, ["small", "big", "other"], cost_run=a)
    tail = store.load_run(t)
    assert is_tail_run(tail) and not is_tail_run(store.load_run(a))
    study = combine_runs([store.load_run(a), store.load_run(b)], tail_runs=[tail])
    merged = study.merged()
    with_tail = sorted(c.key for c in merged.candidates if "tail" in c.info)
    assert with_tail == ["big/torch@cpu-a-8c", "small/torch@cpu-a-8c"]  # linked to run a only
    assert merged.candidate("small/torch@cpu-a-8c").info["tail"]["tail_run"] == t
    assert merged.config["tail_runs"] == [t]
    assert f"tail run {t}: other/torch has no cost measurement in the runs given; left out" in study.notes
    with pytest.raises(ConfigError, match=f"tail run {t} is linked to cost run {a}, which is not among the runs given"):
        combine_runs([store.load_run(b)], tail_runs=[tail])
    # an unlinked tail run joins every cost run
    u = store.load_run(add_tail_run(store, ["mid"]))
    joined = join_tail(combine_runs([store.load_run(a), store.load_run(b)]), [u]).merged()
    assert sorted(c.key for c in joined.candidates if "tail" in c.info) == ["mid/torch@cpu-a-8c", "mid/torch@cpu-b-8c"]
    with pytest.raises(ConfigError, match="got only tail-quality runs"):
        combine_runs([], tail_runs=[u])


def test_batching_reads_each_run_idle_power(store):
    e = {"small": 0.01, "mid": 0.02, "big": 0.03}
    a = add_run(store, {m: [1e-3] * 20 for m in e}, environment={**env("cpu-a"), "energy": {"idle_power_w": 10.0}}, energy=e)
    b = add_run(store, {m: [1e-3] * 20 for m in e}, environment={**env("cpu-b"), "energy": {"idle_power_w": 50.0}}, energy=e)
    study = combine_runs([store.load_run(a), store.load_run(b)])
    result = study_batching(study, ["small/torch@cpu-a-8c", "small/torch@cpu-b-8c"], 100.0, LatencyObjective(0.05, 99.0),
                            n_requests=500, seed=0)
    idle = {k: v.recommendation.to_dict()["idle_power_w"] for k, v in result.candidates.items()}
    assert idle == {"small/torch@cpu-a-8c": 10.0, "small/torch@cpu-b-8c": 50.0}
    a_j = result.candidates["small/torch@cpu-a-8c"].recommendation.to_dict()
    b_j = result.candidates["small/torch@cpu-b-8c"].recommendation.to_dict()
    # same service times and batch energy: the difference per sample is the idle power x idle time per request
    assert a_j["best"]["energy_per_sample_j"] < b_j["best"]["energy_per_sample_j"]
