"""Time ``effbench pareto --csv`` as a user runs it: wall, CPU and peak RSS of the command's process.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_pareto_command.py [--rows 20000 1000000] [--repeat 3]
                  [--json-max-rows N] [--skip-top0]

Writes seeded CSV tables of N rows x 4 objectives (uniform on [0, 1], 6 decimals: the table
benchmarks/bench_pareto.py uses) and runs, for each, the command with the default table
(``--top 25``) and, up to ``--json-max-rows`` rows, with ``--json`` and with ``--top 0`` (both give
every layer and every row's dominator count: quadratic in 3+ objectives, minutes at 10^6 rows, and
``--top 0`` formats every row), plus a trivial run (3 rows)
that shows what the interpreter and the imports take. Each run goes through a small launcher
process, so that ``resource.getrusage(RUSAGE_CHILDREN)`` of the launcher is exactly the command's
own CPU time and peak RSS (``ru_maxrss``). Prints one line per run and the load average, since
the wall time on a shared machine depends on the other work; CPU time depends on it less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

LAUNCHER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                  "maxrss_mb": ru.ru_maxrss / 1024, "stderr": done.stderr[-500:]}))
"""
OBJECTIVES = ["--objective", "a:max", "--objective", "b:max", "--objective", "c:min", "--objective", "d:max"]


def write_csv(path: str, n: int, seed: int = 4) -> int:
    """A seeded N x 4 table (keys m0, m1, ...); returns the bytes written."""
    X = np.random.default_rng(seed).random((n, 4)).round(6)
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,a,b,c,d\n")
        for start in range(0, n, 100_000):
            block = X[start:start + 100_000]
            f.writelines(f"m{start + i},{r[0]:.6f},{r[1]:.6f},{r[2]:.6f},{r[3]:.6f}\n" for i, r in enumerate(block))
    return os.path.getsize(path)


def measure(args: list[str]) -> dict:
    """One run of ``effbench ARGS`` in a fresh launcher: wall s, CPU s, peak RSS MB."""
    cmd = [sys.executable, "-c", LAUNCHER, sys.executable, "-c", "import sys; from effbench.cli import main; sys.exit(main())",
           *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ})
    res = json.loads(out.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"effbench {' '.join(args)} failed ({res['rc']}): {res['stderr']}")
    return res


def best(args: list[str], repeat: int) -> dict:
    """The run with the least CPU of ``repeat`` (the least disturbed by other work)."""
    return min((measure(args) for _ in range(repeat)), key=lambda r: r["cpu"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the least CPU is shown")
    parser.add_argument("--json-max-rows", type=int, default=20_000,
                        help="largest table also run with --json and --top 0 (every row's dominators: quadratic in 3+ objectives)")
    parser.add_argument("--skip-top0", action="store_true", help="no --top 0 runs (formatting every row of 10^6)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':58} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "tiny.csv")
        write_csv(tiny, 3)
        r = best(["pareto", "--csv", tiny, "--key", "id", *OBJECTIVES], args.repeat)
        print(f"{'trivial: 3 rows (interpreter + imports)':58} {r['wall']:7.2f} {r['cpu']:7.2f} {r['maxrss_mb']:12.0f}")
        for n in args.rows:
            path = os.path.join(tmp, f"t{n}.csv")
            size = write_csv(path, n)
            base = ["pareto", "--csv", path, "--key", "id", *OBJECTIVES]
            cases = {"table (--top 25)": base}
            if n <= args.json_max_rows:
                cases["--json"] = base + ["--json", os.path.join(tmp, "out.json"), "--force"]
                if not args.skip_top0:
                    cases["--top 0 (every row)"] = base + ["--top", "0"]
            for name, cmd in cases.items():
                r = best(cmd, args.repeat if n <= 100_000 else 1)
                label = f"{n:,} x 4 ({size / 2**20:.0f} MB CSV, {n * 4 * 8 / 2**20:.0f} MB float64): {name}"
                print(f"{label:58} {r['wall']:7.2f} {r['cpu']:7.2f} {r['maxrss_mb']:12.0f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
