"""A throwaway PostgreSQL server for the tests (and the benchmark), started the way .ci/run does.

``start()`` runs initdb and pg_ctl in a fresh folder under /tmp, trust authentication on 127.0.0.1,
on a free port; as root it runs them as the ``postgres`` user (the server refuses root). It returns
``(url, stop)`` or raises ``RuntimeError`` saying why no server could start.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> tuple[str, callable]:
    missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{' and '.join(missing)} not on PATH (apt-get install postgresql, or set EFFBENCH_TEST_POSTGRES)")
    as_user: list[str] = []
    folder = tempfile.mkdtemp(prefix="effbench-pg-")
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        try:
            shutil.chown(folder, user="postgres")
        except (LookupError, OSError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"running as root and no 'postgres' user to run the server as ({exc})") from None
    data, port = os.path.join(folder, "data"), _free_port()

    def run(*args):
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")

    def stop():
        subprocess.run([*as_user, "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    try:
        run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        run("pg_ctl", "-D", data, "-l", os.path.join(folder, "log"), "-w", "start",
            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        stop()
        raise RuntimeError(str(exc)) from None
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop
