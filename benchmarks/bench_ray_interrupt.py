"""Ctrl-C during a Ray run (docs/fleet.md, "Measured"): starts `effbench run --quick --executor ray
--no-energy` (a one-node Ray started by effbench on this machine) in a child process with the default
SIGINT handling, sends SIGINT 2 s after the first latency cell began, and prints the exit code and how
long the child took to exit. Then `effbench show --db DB` shows the run interrupted, and
`effbench run --resume RUN_ID --db DB` completes it.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_ray_interrupt.py [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.path.join(tempfile.mkdtemp(prefix="effbench-ray-int-"), "r.sqlite"))
    db = ap.parse_args().db
    os.makedirs(os.path.dirname(os.path.abspath(db)), exist_ok=True)
    log = db + ".log"
    with open(log, "w") as out:
        p = subprocess.Popen([sys.executable, "-m", "effbench", "run", "--quick", "--executor", "ray", "--no-energy", "--db", db],
                             stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell's '&' ignores SIGINT
        while "latency at batch" not in open(log).read():
            if p.poll() is not None:
                print(open(log).read())
                return 1
            time.sleep(0.5)
        time.sleep(2)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=300)
    print(f"exit code {rc}, {time.monotonic() - t0:.1f} s after SIGINT; store {db}; last line: {open(log).read().strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
