"""The Ray executor against the local one, on one machine (docs/fleet.md, "Measured").

1. The quick suite (`effbench run --quick`) with the local executor, then on a local Ray cluster of two
   nodes (ray.cluster_utils.Cluster: two raylets on this machine, 1 CPU and one effbench slot each):
   the run's wall time (measurement only: from the run's start to its end, as stored) and the
   difference per candidate.
2. Two "machines": the two nodes labelled cpu-1t and cpu-2t; the quick suite once on each
   (`--hardware cpu-1t --threads 1`, `--hardware cpu-2t --threads 2`) into one store, and once
   across both without a label: each candidate's recorded node (info["node"]) and its median latency
   at batch size 1.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_ray_fleet.py [--db PATH]

Both nodes run on this machine's cores: the figures show the executor's overhead, not a fleet's speed-up.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from ray.cluster_utils import Cluster

from effbench.api import run_suite
from effbench.executors.ray import LABEL, SLOT


def node(label: str, cpus: int) -> dict:
    return {"num_cpus": cpus, "object_store_memory": 200 * 2**20, "resources": {SLOT: 1}, "labels": {LABEL: label}}


def timed(**kwargs):
    t0 = time.perf_counter()
    result = run_suite(quick=True, progress=False, **kwargs)
    return result.run, time.perf_counter() - t0


def p50_ms(run, key) -> float:
    s = run.sample_set(key, 1)
    return float(np.median(s.values)) * 1e3 if s is not None and len(s.values) else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.path.join(tempfile.mkdtemp(prefix="effbench-fleet-"), "fleet.sqlite"))
    db = ap.parse_args().db
    print(f"store: {db}; cores here: {os.cpu_count()}; load average before: {os.getloadavg()}")

    local, local_total = timed(db=db)
    cluster = Cluster(initialize_head=True, head_node_args=node("cpu-1t", 1))
    cluster.add_node(**node("cpu-2t", 2))
    cluster.wait_for_nodes()
    try:
        fleet, fleet_total = timed(db=db, executor="ray", address=cluster.address)
        n = len(local.candidates)
        print("\n## 1. quick suite: local executor vs a local two-node Ray cluster\n")
        print("| executor | run id | candidates ok | measurement wall time (s) | whole command (s, training included) |")
        print("|---|---|---|---|---|")
        for name, run, total in (("local", local, local_total), ("ray, 2 nodes", fleet, fleet_total)):
            wall = run.environment.get("after", {}).get("run_wall_time_s") or run.environment.get("run_wall_time_s")
            ok = sum(c.status == "ok" for c in run.candidates)
            print(f"| {name} | {run.run_id} | {ok}/{len(run.candidates)} | {wall:.1f} | {total:.1f} |")
        walls = [r.environment.get("after", {}).get("run_wall_time_s") or r.environment.get("run_wall_time_s") for r in (local, fleet)]
        print(f"\ndifference per candidate (measurement wall time): {(walls[1] - walls[0]) / n:+.2f} s over {n} candidates")

        print("\n## 2. two 'machines' (node labels), the quick suite on each and across both\n")
        runs = [timed(db=db, executor="ray", address=cluster.address, hardware="cpu-1t", threads=1)[0],
                timed(db=db, executor="ray", address=cluster.address, hardware="cpu-2t", threads=2)[0],
                timed(db=db, executor="ray", address=cluster.address)[0]]
        print("| run id | --hardware | --threads | candidate | node hardware | node id | host | Ray CPUs of node | p50 batch 1 (ms) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for run in runs:
            for c in run.candidates:
                nd = c.info.get("node") or {}
                print(f"| {run.run_id} | {run.config.get('hardware') or '(any)'} | {run.config['threads']} | {c.key} | "
                      f"{nd.get('hardware')} | {str(nd.get('node_id'))[:8]} | {nd.get('hostname')} | "
                      f"{(nd.get('ray_resources') or {}).get('CPU')} | {p50_ms(run, c.key):.3f} |")
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
