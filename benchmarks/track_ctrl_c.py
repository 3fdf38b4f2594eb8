"""Ctrl-C on `effbench track NAME -- COMMAND`: how long until effbench exits, its exit code, what is stored.

    PYTHONPATH=src python3 benchmarks/track_ctrl_c.py [--db /tmp/track-ctrl-c.sqlite]

Starts `effbench track sleeper -- python3 -c "import time; time.sleep(30)"` in a new process group,
sends SIGINT to the whole group after 4 s (what a terminal's Ctrl-C does), and prints the time to
exit, the exit code and the stored tracking's status and time. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/track-ctrl-c.sqlite")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "effbench", "track", "sleeper", "--db", args.db, "--quiet", "--",
           sys.executable, "-c", "import time; time.sleep(30)"]
    # SIGINT at its default in the new group (a shell's background job would ignore it)
    p = subprocess.Popen(cmd, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                         stderr=subprocess.DEVNULL)
    time.sleep(4)
    t0 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)
    code = p.wait()
    print(f"exit code {code}, {time.monotonic() - t0:.2f} s after Ctrl-C")
    from effbench.store.db import Store

    with Store(args.db, create=False) as store:
        run = store.load_run(store.latest_run_of("track", "sleeper", statuses=None))
    print(f"tracking {run.run_id}: {run.status}, train_time_s {run.value('sleeper/track', 'train_time_s'):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
