"""Kill trials, Ctrl-C and resume on the quick suite: what survives, what is left running, how long it takes.

For each phase (training, loading, measuring, energy) an ``effbench run --quick`` is started in a
fresh database and killed with SIGKILL (the parent only) as soon as its progress output enters the
phase. Then: the database's integrity check, the run's status as ``effbench show`` reports it, the
processes of the run still alive 2 s later (workers and the multiprocessing resource tracker), and
whether ``effbench run --resume`` completes the run. A last trial sends SIGINT (Ctrl-C) while
measuring and times the exit.

    python benchmarks/bench_reliability.py            # prints one table row per trial
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import psutil

EFFBENCH = [sys.executable, "-m", "effbench"]
PHASES = {
    "training": re.compile(r"^training "),
    "loading": re.compile(r"loading \S+/"),
    "measuring": re.compile(r": latency at batch"),
    "energy": re.compile(r": energy at batch"),
}


def _start(db: str) -> subprocess.Popen:
    return subprocess.Popen(EFFBENCH + ["run", "--quick", "--db", db], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, bufsize=1)


def _wait_for(proc: subprocess.Popen, pattern: re.Pattern, limit_s: float = 300) -> bool:
    t0 = time.monotonic()
    for line in proc.stderr:
        if pattern.search(line):
            return True
        if time.monotonic() - t0 > limit_s:
            break
    return False


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _alive(procs) -> list[int]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.Error:
            pass
    return out


def _integrity(db: str) -> str:
    if not os.path.exists(db):
        return "no database"
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _status(db: str) -> str:
    if not os.path.exists(db):
        return "no run"
    out = subprocess.run(EFFBENCH + ["show", "--db", db], capture_output=True, text=True).stdout
    for word in ("interrupted", "running", "complete", "failed"):
        if word in out:
            return word
    return "no run"


def _resume(db: str) -> tuple[str, float]:
    if _status(db) == "no run":
        return "nothing to resume", 0.0
    t0 = time.monotonic()
    r = subprocess.run(EFFBENCH + ["run", "--resume", "latest", "--db", db, "--quiet"], capture_output=True, text=True)
    took = time.monotonic() - t0
    return ("complete" if r.returncode == 0 and _status(db) == "complete" else f"rc {r.returncode}: {r.stderr.strip()[-120:]}"), took


def kill_trial(phase: str, folder: str) -> dict:
    db = os.path.join(folder, f"kill-{phase}.sqlite")
    proc = _start(db)
    reached = _wait_for(proc, PHASES[phase])
    family = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    t0 = time.monotonic()
    time.sleep(2.0)
    orphans_2s = _alive(family)
    _, still = psutil.wait_procs([p for p in family if p.pid in orphans_2s], timeout=28)
    last_s = round(time.monotonic() - t0, 1) if orphans_2s and not still else None
    for p in still:  # leave the machine clean for the next trial
        p.kill()
    status = _status(db)
    resumed, took = _resume(db)
    return {"phase": phase, "reached": reached, "integrity": _integrity(db), "status": status,
            "processes": len(family), "orphans_after_2s": len(orphans_2s), "orphans_after_30s": len(still),
            "last_gone_after_s": last_s, "resume": resumed, "resume_s": round(took, 1)}


def ctrl_c_trial(folder: str) -> dict:
    db = os.path.join(folder, "ctrl-c.sqlite")
    proc = _start(db)
    reached = _wait_for(proc, PHASES["measuring"])
    family = _descendants(proc.pid)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait()
    took = time.monotonic() - t0
    time.sleep(0.5)
    last = [ln for ln in rest.splitlines() if ln.startswith("effbench:")]
    return {"phase": "Ctrl-C while measuring", "reached": reached, "exit_s": round(took, 2), "rc": proc.returncode,
            "message": last[-1] if last else "", "status": _status(db), "integrity": _integrity(db),
            "orphans_after_0.5s": len(_alive(family))}


def main() -> None:
    if shutil.which("sqlite3") is None:
        pass  # the integrity check uses Python's sqlite3 module
    folder = tempfile.mkdtemp(prefix="effbench-reliability-")
    print(f"load average at start: {os.getloadavg()}")
    for phase in PHASES:
        print(kill_trial(phase, folder), flush=True)
    print(ctrl_c_trial(folder), flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
