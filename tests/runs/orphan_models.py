"""Candidates for tests/runs/test_lifecycle.py's orphan test (importable by the worker processes)."""

import os
import time

import numpy as np


def ok(X):
    return np.zeros(len(X), dtype=np.int64)


def hangs(X):
    with open(f"/tmp/effbench-orphan-{os.getpid()}", "w") as f:  # tells the test this worker is inside its call
        f.write("hang")
    while True:
        time.sleep(3600)
