"""The first code a spawned worker runs: tie its life to the parent's, then serve its candidate.

This module imports nothing heavy (no numpy, no effbench module beyond the package), so the child
arms its parent-death signal a few milliseconds after it starts, before it imports anything that
can take seconds on a loaded machine; :mod:`effbench.measure.worker` is imported after that.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
import traceback
import warnings

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
"""The thread-pool variables a worker sets to its thread count before any library reads them."""

PARENT_POLL_S = 0.5


def die_with_parent() -> None:
    """End this process when its parent dies, in any phase (loading, a hung call, idle).

    On Linux the kernel sends SIGKILL the moment the parent dies (``PR_SET_PDEATHSIG``); elsewhere a
    daemon thread checks the parent every ``PARENT_POLL_S`` (on Linux no thread runs beside the timed
    calls). A parent that died before this took effect is caught by comparing the parent's pid with
    the one multiprocessing handed over. Either way no worker, and so no multiprocessing resource
    tracker waiting for its workers, outlives ``effbench``.
    """
    import multiprocessing

    origin = multiprocessing.parent_process()
    parent = origin.pid if origin is not None else os.getppid()
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            armed = ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if armed:
        return

    def watch():
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:
                os._exit(1)

    import threading

    threading.Thread(target=watch, name="effbench-parent-watch", daemon=True).start()


def worker_main(conn, threads: int):
    """Entry point of a spawned worker process: fix the threads, receive the pickled candidate, serve commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    die_with_parent()
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    try:
        candidate_bytes = conn.recv_bytes()
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # e.g. torch's TypedStorage deprecation when quantized modules unpickle
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            candidate = pickle.loads(candidate_bytes)
        load_time_s = time.perf_counter() - t0
        from effbench.measure.worker import WorkerState

        state = WorkerState(candidate, threads)
        conn.send(("ready", {**state.ready_info(), "load_time_s": load_time_s}))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send(("error", f"could not load the candidate: {type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    while True:
        try:
            cmd = conn.recv()
        except EOFError:
            return
        if cmd[0] == "exit":
            return
        try:
            reply = state.handle(cmd)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, the worker goes on
            reply = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        conn.send(reply)
