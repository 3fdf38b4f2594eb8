import os
import uuid

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """No test ever touches the user's default database."""
    monkeypatch.setenv("EFFBENCH_DB", str(tmp_path / "effbench-test.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COLUMNS", raising=False)  # tables are laid out for $COLUMNS when set: tests set it themselves
    yield


def pytest_configure(config):
    os.environ.setdefault("PYTHONHASHSEED", "0")


# -- PostgreSQL: the store's tests run against both backends --------------------------------------

@pytest.fixture(scope="session")
def postgres_server():
    """The admin URL of a PostgreSQL server: $EFFBENCH_TEST_POSTGRES (what .ci/run starts), else a
    throwaway server this session starts itself; where none can start, the PostgreSQL cases skip."""
    url = os.environ.get("EFFBENCH_TEST_POSTGRES")
    if url:
        yield url
        return
    from postgres_server import start  # tests/ is on sys.path (rootdir conftest)

    try:
        url, stop = start()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield url
    finally:
        stop()


@pytest.fixture
def postgres_db(postgres_server):
    """A factory of fresh, empty PostgreSQL databases (URLs); each is dropped after the test."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install effbench[postgres])")
    made = []

    def new() -> str:
        name = f"effbench_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return postgres_server.rsplit("/", 1)[0] + "/" + name

    yield new
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def new_db(request, tmp_path):
    """A factory of fresh, empty stores' locations, once per backend: a new SQLite file path, or a
    new PostgreSQL database's URL (dropped after the test)."""
    if request.param == "sqlite":
        names = iter(range(1_000_000))
        return lambda: tmp_path / f"store-{next(names)}.sqlite"
    return request.getfixturevalue("postgres_db")
