"""Time `effbench import` of one run with many metrics (default 1,000,000), end to end in-process.

    PYTHONPATH=src python benchmarks/bench_import.py [N_METRICS]

The file is written first (not timed); then `python -m effbench import FILE --db NEW.sqlite` runs in
its own process, started by a small launcher process so that the launcher's
``getrusage(RUSAGE_CHILDREN)`` is the import's own: the wall time of that process (start-up
included) and its peak resident memory are printed. (Measured from this process instead, a child
forked from it may be charged this process's memory, which holds the whole document.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def document(n_metrics: int, n_candidates: int = 100) -> dict:
    cands = [{"key": f"m{i}/torch", "model": f"m{i}", "backend": "torch", "family": "nn", "parent": None,
              "status": "ok", "error": None, "info": {}, "predictions": None} for i in range(n_candidates)]
    metrics = [{"candidate": f"m{i % n_candidates}/torch", "batch_size": 0, "name": f"metric_{i // n_candidates}",
                "value": float(i), "unit": "s", "provenance": "measured", "detail": {}} for i in range(n_metrics)]
    return {"format": "effbench-run", "schema_version": 2,
            "run": {"run_id": "bench-import", "created_at": "2026-11-29T00:00:00+00:00", "finished_at": None, "status": "complete",
                    "suite": "bench", "effbench_version": "0", "config": {}, "environment": {}, "task": {}, "notes": []},
            "candidates": cands, "metrics": metrics, "samples": []}


LAUNCHER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(json.dumps([rc, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "run.json"
        src.write_text(json.dumps(document(n)))
        size = src.stat().st_size
        cmd = [sys.executable, "-m", "effbench", "import", str(src), "--db", str(Path(tmp) / "db.sqlite")]
        out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], check=True, capture_output=True, text=True).stdout
        rc, dt, peak = json.loads(out.strip().splitlines()[-1])
    print(f"import of {n:,} metrics ({size / 1e6:.0f} MB of JSON): exit {rc}, {dt:.1f} s; peak RSS of the process {peak:.0f} MB")


if __name__ == "__main__":
    main()
