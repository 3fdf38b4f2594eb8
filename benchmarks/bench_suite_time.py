"""How long effbench's own commands take on this machine (the foundation issue's figures).

    .venv/bin/python benchmarks/bench_suite_time.py            # --help x10, run --quick, run
    .venv/bin/python benchmarks/bench_suite_time.py --no-full  # skip the full suite

Each command runs as a user would start it (the console script, a fresh process, a temporary
database). Prints wall times; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def effbench_exe() -> str:
    local = Path(sys.executable).with_name("effbench")
    return str(local) if local.exists() else shutil.which("effbench") or "effbench"


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-full", action="store_true", help="skip the full default suite")
    ap.add_argument("--help-repeats", type=int, default=10)
    args = ap.parse_args()
    exe = effbench_exe()
    tmp = Path(tempfile.mkdtemp(prefix="effbench-bench-"))
    env = {**os.environ, "EFFBENCH_DB": str(tmp / "bench.sqlite")}
    print(f"machine: {os.cpu_count()} logical cores, load average before {os.getloadavg()[0]:.2f}")
    helps = [timed([exe, "--help"], env) for _ in range(args.help_repeats)]
    print(f"effbench --help: median {statistics.median(helps):.3f} s, max {max(helps):.3f} s over {len(helps)} runs")
    quick = timed([exe, "run", "--quick"], env)
    print(f"effbench run --quick: {quick:.1f} s")
    if not args.no_full:
        full = timed([exe, "run"], env)
        print(f"effbench run: {full:.1f} s ({full / 60:.2f} min)")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
