"""Fuzz `effbench import` and every reader of what it accepts; print the outcome counts.

    PYTHONPATH=src python benchmarks/fuzz_import.py [N_CASES] [--html-every K]

Cases come from tests/store/fuzz_cases.py (mutated valid exports of schema versions 2 and 1,
random JSON, random bytes), drawn by hypothesis with a fixed seed, so a rerun draws the same cases.
Each case is counted as clean error (exit 2, one line), success (imported, then show, export and
report all exit 0), traceback (any other exception, or a reader that refused an accepted run),
or hang (over 20 s). Tracebacks are printed in short, with the input that caused them.
"""

from __future__ import annotations

import collections
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from fuzz_cases import documents, run_case  # noqa: E402

HANG_S = 20


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10_000
    html_every = int(sys.argv[sys.argv.index("--html-every") + 1]) if "--html-every" in sys.argv else 50
    counts = collections.Counter()
    examples = []
    signal.signal(signal.SIGALRM, _alarm)
    tmp = Path(tempfile.mkdtemp(prefix="effbench-fuzz-"))
    t0 = time.perf_counter()

    @seed(20261129)
    @settings(max_examples=n, database=None, deadline=None, phases=["generate"],
              suppress_health_check=list(HealthCheck))
    @given(documents)
    def case(data):
        i = sum(counts.values())
        signal.alarm(HANG_S)
        try:
            outcome = run_case(data, tmp, i, html=(i % html_every == 0))
        except Hang:
            outcome = "hang"
        except BaseException as exc:  # noqa: BLE001 - counting is the point
            outcome = "traceback"
            if len(examples) < 20:
                examples.append((data[:300], "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]))
        finally:
            signal.alarm(0)
            for p in tmp.glob(f"case{i}.*"):
                p.unlink()
            for p in tmp.glob(f"case{i}.sqlite-*"):
                p.unlink()
        counts[outcome] += 1

    try:
        case()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dt = time.perf_counter() - t0
    total = sum(counts.values())
    print(f"{total} cases in {dt:.0f} s: " + ", ".join(f"{k} {counts[k]}" for k in ("clean error", "success", "traceback", "hang")))
    for data, error in examples:
        print(f"--- input {data!r}\n{error}")
    return 0 if counts["traceback"] == counts["hang"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
