"""Many writers into one PostgreSQL store: N processes each make one real quick run
(`effbench run --quick --candidates logreg --backends sklearn --batch-sizes 1`) at the same time
into a fresh database, then every run is checked whole: status, candidates, metrics and samples
counts equal to those of the same run made alone into an SQLite file, and every stored sample
blob holding the number of values its row says.

    .venv/bin/python benchmarks/bench_postgres.py                       # starts a throwaway server
    .venv/bin/python benchmarks/bench_postgres.py --url postgresql://postgres@127.0.0.1:54329/postgres

--url is an admin URL of a running server (it creates, and drops after, a database of its own);
without it (and without $EFFBENCH_TEST_POSTGRES), a throwaway server is started as the tests do.
Prints the figures; exit 1 if a run is missing or not intact.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ["run", "--quick", "--candidates", "logreg", "--backends", "sklearn", "--batch-sizes", "1"]


def _effbench(db, log) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "effbench", *RUN, "--db", str(db)], stdout=log, stderr=subprocess.STDOUT, env=env)


def _counts(run) -> tuple:
    return (run.status, len(run.candidates), sum(c.status == "ok" for c in run.candidates), len(run.metrics), len(run.samples),
            sum(len(s.values) > 0 for s in run.samples))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=os.environ.get("EFFBENCH_TEST_POSTGRES"), help="admin URL of a running server")
    ap.add_argument("--processes", type=int, default=8)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import psycopg

    from effbench.store.db import Store

    stop = None
    if not args.url:
        sys.path.insert(0, str(ROOT / "tests"))
        from postgres_server import start

        args.url, stop = start()
    name = f"effbench_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.url.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            with open(os.path.join(tmp, "alone.log"), "w") as log:
                alone = _effbench(Path(tmp) / "alone.sqlite", log).wait()
            t_alone = time.perf_counter() - t0
            if alone:
                print(f"the reference run alone failed (exit {alone}); see it with: effbench {' '.join(RUN)}")
                return 1
            with Store(Path(tmp) / "alone.sqlite", create=False) as store:
                expected = _counts(store.load_run("latest"))

            logs = [open(os.path.join(tmp, f"w{i}.log"), "w") for i in range(args.processes)]
            t0 = time.perf_counter()
            procs = [_effbench(url, log) for log in logs]  # the first writers also race to create the tables
            codes = [p.wait() for p in procs]
            t_all = time.perf_counter() - t0
            for log in logs:
                log.close()
            failed_logs = [Path(log.name).read_text().strip().splitlines()[-1:] for log, c in zip(logs, codes) if c]

        with Store(url, create=False) as store:
            runs = [store.load_run(r["run_id"]) for r in store.list_runs()]
            blobs = store._execute("SELECT COUNT(*), SUM(CASE WHEN length(data) = 8 * n THEN 1 ELSE 0 END) FROM samples").fetchone()
        intact = [r for r in runs if _counts(r) == expected]
        print(f"{args.processes} processes x 1 run ({' '.join(RUN)}) at once into PostgreSQL {store.path.rsplit('/', 1)[0]}/<fresh db>")
        print(f"  one run alone into SQLite: {t_alone:.1f} s; all {args.processes} concurrently into PostgreSQL: {t_all:.1f} s wall")
        print(f"  exit codes: {codes}{'; last lines of failed runs: ' + repr(failed_logs) if failed_logs else ''}")
        print(f"  expected per run (status, candidates, ok, metrics, sample sets, non-empty): {expected}")
        print(f"  runs stored: {len(runs)}; intact (same counts): {len(intact)}; distinct run ids: {len({r.run_id for r in runs})}")
        print(f"  sample rows: {blobs[0]}, whose blob holds exactly n float64 values: {blobs[1]}")
        return 0 if len(intact) == len(runs) == args.processes and codes == [0] * args.processes and blobs[0] == blobs[1] else 1
    finally:
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if stop is not None:
            stop()


if __name__ == "__main__":
    sys.exit(main())
