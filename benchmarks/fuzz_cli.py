"""Fuzz the command line of pareto, misnomer, timeline and tail analyze: count clean errors, successes,
tracebacks and hangs over N seeded cases per command (the strategies of tests/cli/fuzz_strategies.py).

    python benchmarks/fuzz_cli.py [N] [COMMAND...]    # default 10000 per command, every command

A case that runs longer than 20 s is counted as a hang; one that raises anything is a traceback
(the first few are printed with their input).
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import signal
import sys
import tempfile
import time

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cli"))
from fuzz_strategies import CASES  # noqa: E402

from effbench.cli import main as effbench_main  # noqa: E402

HANG_S = 20


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def fuzz(command: str, n: int) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    shown = []
    folder = tempfile.mkdtemp(prefix="effbench-fuzz-")

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(CASES[command]())
    def one(case):
        files, args = case
        os.makedirs(folder, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(folder, name), "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(text)
        argv = [a.replace("{dir}", folder) for a in args]
        signal.alarm(HANG_S)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                rc = effbench_main(argv)
            counts["success" if rc == 0 else "clean error" if rc == 2 else f"exit {rc}"] += 1
        except Hang:
            counts["hang"] += 1
        except BaseException as exc:  # noqa: BLE001 - counted, and the first few shown
            counts["traceback"] += 1
            if len(shown) < 3:
                shown.append((type(exc).__name__, str(exc)[:200], argv, files))
        finally:
            signal.alarm(0)

    one()
    for item in shown:
        print("  traceback:", item, file=sys.stderr)
    return counts


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    commands = sys.argv[2:] or list(CASES)
    signal.signal(signal.SIGALRM, _alarm)
    print(f"load average at start: {os.getloadavg()}")
    print("| command | cases | clean error | success | traceback | hang | seconds |")
    print("|---|---|---|---|---|---|---|")
    for command in commands:
        t0 = time.monotonic()
        c = fuzz(command, n)
        print(f"| {command} | {sum(c.values())} | {c['clean error']} | {c['success']} | {c['traceback']} | {c['hang']} | "
              f"{time.monotonic() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
