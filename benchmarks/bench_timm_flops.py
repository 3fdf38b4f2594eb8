"""Parameters and FLOPs of seven timm architectures, measured by ``effbench run``, against timm's tables.

timm does not import on this machine (it needs torchvision, which does not import beside this torch
build), so the models are the stand-ins of ``benchmarks/timm_standins.py``, written from timm's
definitions, with random weights. Each architecture is one cheap ``effbench run`` of a suite file:

    [[candidates]]
    model = "python:timm_standins:create_model"
    args = { model_name = "resnet18" }
    weights = "random"
    backends = ["torch", "onnxruntime"]

with ``[data] input = "3x224x224"``, ``task = "none"`` (cost only), batch size 1, then
``effbench run SUITE --no-energy --repeats 1 --max-time 0.3``. It prints a Markdown table: effbench's
parameters and FLOPs per sample on torch and on ONNX Runtime against timm's published
``param_count`` and 2 x ``infer_gmacs`` (224 x 224, benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv),
the estimated share of work the counters could not count, and the wall time of each run.

    PYTHONPATH=src python benchmarks/bench_timm_flops.py [--timm-dir ../shared/data/timm] [--models a,b]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("resnet18", "resnet50", "vgg11", "mobilenetv2_100", "convnext_atto", "vit_tiny_patch16_224", "vit_small_patch16_224")
SUITE = """name = "timm-{name}"
batch_sizes = [1]
threads = 1

[data]
input = "3x224x224"
task = "none"

[[candidates]]
name = "{name}"
model = "python:timm_standins:create_model"
args = {{ model_name = "{name}" }}
weights = "random"
backends = ["torch", "onnxruntime"]
"""


def published(timm_dir: Path) -> dict[str, tuple[float, float]]:
    """architecture -> (param_count in millions, GMACs) at 224 x 224."""
    out = {}
    with open(timm_dir / "benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["infer_img_size"] == "224" and row["param_count"] and row["infer_gmacs"]:
                out[row["model"]] = (float(row["param_count"].replace(",", "")), float(row["infer_gmacs"].replace(",", "")))
    return out


def run_one(name: str, workdir: Path) -> tuple[float, dict]:
    """(wall seconds of the effbench run, {backend: flops detail, params, p50}) for one architecture."""
    suite = workdir / f"{name}.toml"
    suite.write_text(SUITE.format(name=name))
    db, out = workdir / f"{name}.sqlite", workdir / f"{name}.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]), PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "effbench", "run", str(suite), "--no-energy", "--repeats", "1", "--max-time", "0.3",
           "--db", str(db), "--json", str(out), "--quiet"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    summary = json.loads(out.read_text())
    from effbench.store.db import Store

    with Store(db, create=False) as store:
        run = store.load_run(summary["run_id"])
    result = {}
    for row in summary["costs"]:
        m = run.metric(row["candidate"], "flops_per_sample")
        result[row["backend"]] = {"params": row["params"]["value"], "flops": row["flops_per_sample"]["value"],
                                  "detail": m.detail, "p50": row["latency_p50_s_b1"]["value"]}
    return wall, result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timm-dir", type=Path, default=HERE.parents[1] / "shared" / "data" / "timm")
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args(argv)
    pub = published(args.timm_dir)
    print("| model | params torch | params ONNX | timm (M) | diff | GFLOPs torch | GFLOPs ONNX | 2 x timm GMACs | diff "
          "| uncounted work torch / ONNX | run wall time | p50 b=1 torch / ONNX |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            wall, r = run_one(name, Path(tmp))
            t, o = r["torch"], r["onnxruntime"]
            p_m, gmacs = pub[name]
            share = " / ".join("-" if x["detail"].get("uncounted_work_share") is None else f"{100 * x['detail']['uncounted_work_share']:.2f}%" for x in (t, o))
            print(f"| {name} | {t['params']:,} | {o['params']:,} | {p_m:.2f} | {100 * (t['params'] / 1e6 - p_m) / p_m:+.2f}% "
                  f"| {t['flops'] / 1e9:.3f} | {o['flops'] / 1e9:.3f} | {2 * gmacs:.2f} | {100 * (t['flops'] / 1e9 - 2 * gmacs) / (2 * gmacs):+.1f}% "
                  f"| {share} | {wall:.0f} s | {1e3 * t['p50']:.0f} / {1e3 * o['p50']:.0f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
