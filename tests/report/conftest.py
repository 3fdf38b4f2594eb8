"""Fixtures of the report tests: the hand-made run of report_runs.py, in memory and in a store."""

from __future__ import annotations

import pytest
from report_runs import make_run


@pytest.fixture
def run():
    return make_run()


@pytest.fixture
def stored_run(tmp_path):
    """(database path, run) with the hand-made run imported into a fresh store."""
    from effbench.store.db import Store

    path = tmp_path / "report.sqlite"
    r = make_run()
    with Store(path) as store:
        store.import_run(r)
    return path, r
