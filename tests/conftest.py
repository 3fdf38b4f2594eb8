import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """No test ever touches the user's default database."""
    monkeypatch.setenv("EFFBENCH_DB", str(tmp_path / "effbench-test.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    yield


def pytest_configure(config):
    os.environ.setdefault("PYTHONHASHSEED", "0")
