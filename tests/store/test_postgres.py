"""The shared store: many writers at once and a writer killed mid-run (on both backends), and what
only PostgreSQL has: URLs, the server's errors (never with the password), a database that is not a
store, a newer schema, read-only readers."""

import multiprocessing
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from effbench.cli import main
from effbench.errors import StoreError
from effbench.records import CandidateRecord, Metric, SampleSet
from effbench.store.db import SCHEMA_VERSION, Store
from effbench.store.postgres import display_url

SRC = str(Path(__file__).resolve().parents[2] / "src")
CANDIDATES, METRICS_EACH, BATCHES = 3, 4, (1, 8)


def _write_run(args):
    """One writer process: a whole run, every measurement committed when taken, as a run does."""
    barrier, location, i = args
    barrier.wait()
    with Store(location) as store:
        run_id = store.create_run(suite="s", config={}, environment={"writer": i}, task={"name": "t"},
                                  effbench_version="0", run_id=f"writer-{i}")
        for c in range(CANDIDATES):
            key = f"m{c}/torch"
            store.add_candidate(run_id, CandidateRecord(key, f"m{c}", "torch", status="pending"))
            for b in BATCHES:
                store.add_samples(run_id, SampleSet(key, b, "latency_per_call", "s", np.full(50 + i, (i + 1) * 1e-3 + c)))
            store.add_metrics(run_id, [Metric(key, f"x{k}", float(i * 100 + c * 10 + k), "s", "measured") for k in range(METRICS_EACH)])
            store.update_candidate(run_id, key, status="ok")
        store.finish_run(run_id, "complete")
    return run_id


def test_many_processes_write_runs_at_once_and_all_are_intact(new_db):
    db = new_db()  # empty: the writers also race to create the tables
    n = 6
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            ids = pool.map(_write_run, [(barrier, db, i) for i in range(n)])
    with Store(db, create=False) as store:
        assert sorted(r["run_id"] for r in store.list_runs()) == sorted(ids)
        for i, run_id in enumerate(ids):
            run = store.load_run(run_id)
            assert run.status == "complete" and run.environment == {"writer": i}
            assert [c.key for c in run.candidates] == [f"m{c}/torch" for c in range(CANDIDATES)]
            assert all(c.status == "ok" for c in run.candidates)
            assert len(run.metrics) == CANDIDATES * METRICS_EACH and len(run.samples) == CANDIDATES * len(BATCHES)
            assert run.value("m2/torch", "x3") == i * 100 + 23
            np.testing.assert_array_equal(run.sample_set("m1/torch", 8).values, np.full(50 + i, (i + 1) * 1e-3 + 1))


def test_a_writer_killed_mid_run_keeps_what_it_committed(new_db):
    db = new_db()
    script = textwrap.dedent(f"""
        import sys, time
        import numpy as np
        sys.path.insert(0, {SRC!r})
        from effbench.records import CandidateRecord, Metric, SampleSet
        from effbench.store.db import Store
        store = Store({str(db)!r})
        run_id = store.create_run(suite="s", config={{}}, environment={{}}, task={{}}, effbench_version="0", run_id="dies")
        store.add_candidate(run_id, CandidateRecord("a/torch", "a", "torch", status="ok"))
        store.add_metrics(run_id, [Metric("a/torch", "params", 10, "count", "analytic")])
        store.add_samples(run_id, SampleSet("a/torch", 1, "latency_per_call", "s", np.array([1e-3, 2e-3])))
        print("committed", flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "committed"
    finally:
        proc.kill()  # SIGKILL: no close, no rollback, no finish_run
        proc.wait(timeout=60)
    with Store(db) as store:  # and the store takes new writes at once
        run = store.load_run("dies")
        assert run.status == "running" and [c.key for c in run.candidates] == ["a/torch"]
        assert run.value("a/torch", "params") == 10
        np.testing.assert_array_equal(run.sample_set("a/torch", 1).values, [1e-3, 2e-3])
        store.add_metrics("dies", [Metric("a/torch", "size_bytes", 4, "bytes", "measured")])
        store.finish_run("dies", "interrupted")
        assert store.load_run("dies").status == "interrupted"


# -- PostgreSQL only ------------------------------------------------------------------------------

def _sql(url, *statements):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [conn.execute(s).fetchall() if s.lstrip().upper().startswith("SELECT") else conn.execute(s) for s in statements][-1]


def test_a_newer_schema_is_refused_by_writers_and_readers(postgres_db):
    url = postgres_db()
    Store(url).close()
    _sql(url, "UPDATE meta SET value='99' WHERE key='schema_version'")
    for create in (True, False):
        with pytest.raises(StoreError, match="schema version 99, newer than this effbench supports"):
            Store(url, create=create)
    assert _sql(url, "SELECT value FROM meta WHERE key='schema_version'") == [("99",)]


def test_a_version_1_store_is_read_as_is_and_upgraded_by_a_writer(postgres_db):
    url = postgres_db()
    with Store(url) as store:
        run_id = store.create_run(suite="s", config={}, environment={}, task={}, effbench_version="0")
        store.add_metrics(run_id, [Metric("m/torch", "params", 10, "count", "analytic")])
    _sql(url, "ALTER TABLE metrics DROP CONSTRAINT metrics_provenance_check",
         "ALTER TABLE metrics ADD CONSTRAINT metrics_provenance_check CHECK (provenance IN ('measured', 'estimated', 'analytic'))",
         "UPDATE meta SET value='1' WHERE key='schema_version'")
    with Store(url, create=False) as reader:
        assert reader.schema_version == 1
    with Store(url) as writer:
        assert writer.schema_version == SCHEMA_VERSION
        writer.add_metrics(run_id, [Metric("m/torch", "train_time_s", 3.0, "s", "reported")])
        assert [m.provenance for m in writer.load_run(run_id).metrics] == ["analytic", "reported"]


def test_a_database_with_other_tables_is_refused_and_untouched(postgres_db):
    url = postgres_db()
    _sql(url, "CREATE TABLE accounts (id int)")
    with pytest.raises(StoreError, match=r"not an effbench database \(a PostgreSQL database with tables accounts, no effbench metadata\)"):
        Store(url)
    assert _sql(url, "SELECT table_name FROM information_schema.tables WHERE table_schema='public'") == [("accounts",)]


def test_a_reader_never_creates_or_writes(postgres_db):
    url = postgres_db()
    with pytest.raises(StoreError, match="holds no effbench store yet"):
        Store(url, create=False)
    assert _sql(url, "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'") == [(0,)]
    Store(url).close()
    import psycopg

    with Store(url, create=False) as reader, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        reader._execute("DELETE FROM meta")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_an_unreachable_server_is_one_line_with_host_and_port_and_no_password(capsys):
    port = _closed_port()
    url = f"postgresql://alice:s3cr3t-pw@127.0.0.1:{port}/effbench"
    assert main(["show", "--db", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "s3cr3t-pw" not in err[0], err
    assert f"cannot reach PostgreSQL at host 127.0.0.1 port {port}" in err[0]
    assert "postgresql://alice:***@127.0.0.1" in err[0]


def test_wrong_credentials_and_a_missing_database_say_so(postgres_server, capsys):
    base = postgres_server.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]  # host:port
    assert main(["show", "--db", f"postgresql://nobody:hunter2@{base}/postgres"]) == 2
    err = capsys.readouterr().err
    assert 'refused the credentials: role "nobody" does not exist' in err and "hunter2" not in err
    assert main(["show", "--db", f"postgresql://postgres:hunter2@{base}/no_such_db"]) == 2
    err = capsys.readouterr().err
    assert 'database "no_such_db" does not exist' in err and "hunter2" not in err and len(err.strip().splitlines()) == 1


def test_bad_urls_and_a_missing_driver(monkeypatch, capsys):
    assert main(["show", "--db", "postgresql://me@host:port/db"]) == 2
    assert "port 'port' is not a port number (1 to 65535)" in capsys.readouterr().err
    assert main(["show", "--db", "postgresql://me@127.0.0.1:99999/db"]) == 2
    assert "port '99999' is not a port number (1 to 65535)" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(StoreError, match=r"needs psycopg 3, which is not installed: pip install effbench\[postgres\]"):
        Store("postgresql://me@localhost/db")


def test_display_url_hides_the_password():
    assert display_url("postgresql://u:p%40ss@h:5/d?sslmode=require") == "postgresql://u:***@h:5/d?sslmode=require"
    assert display_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert display_url("postgresql://u:pw@[::1/d") == "postgresql://u:***@[::1/d"  # urllib cannot split it


@pytest.mark.parametrize("url", ["postgresql://u:p%zzsecret@127.0.0.1:1/d", "postgresql://u:secret@[::1/d"])
def test_a_malformed_url_is_one_line_without_the_password(url, capsys):
    assert main(["show", "--db", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "secret" not in err[0] and "postgresql://u:***@" in err[0], err
