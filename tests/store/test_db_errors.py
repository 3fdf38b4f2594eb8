"""Database errors name the real cause (read-only, locked, corrupt, newer, foreign); a damaged file
is never written to; several processes can create the same new database at once."""

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from effbench.cli import main
from effbench.errors import StoreError
from effbench.records import CandidateRecord, Metric, SampleSet
from effbench.store.db import SCHEMA_VERSION, Store, is_postgres_url
from effbench.store.export import run_to_dict

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _filled(path, n_metrics=2000) -> str:
    with Store(path) as store:
        run_id = store.create_run(suite="t", config={}, environment={}, task={"name": "t"}, effbench_version="0")
        store.add_candidate(run_id, CandidateRecord("m/torch", "m", "torch", status="ok"))
        store.add_metrics(run_id, [Metric("m/torch", f"metric_{i}", float(i), "s", "measured") for i in range(n_metrics)])
        store.add_samples(run_id, SampleSet("m/torch", 1, "latency_per_call", "s", np.linspace(1e-3, 2e-3, 50)))
        store.finish_run(run_id, "complete")
    return run_id


def _run_json(tmp_path, run_id="other-run") -> Path:
    doc = {"format": "effbench-run", "schema_version": 2,
           "run": {"run_id": run_id, "created_at": "2026-01-01T00:00:00+00:00", "status": "complete"},
           "candidates": [{"key": "m/torch", "model": "m", "backend": "torch", "status": "ok"}],
           "metrics": [{"candidate": "m/torch", "name": "params", "value": 10, "unit": "count", "provenance": "analytic"}],
           "samples": []}
    path = tmp_path / f"{run_id}.json"
    import json

    path.write_text(json.dumps(doc))
    return path


def _damage(path: Path, page: int, offset: int = 0, length: int | None = None):
    with sqlite3.connect(path) as con:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(path, "r+b") as f:
        f.seek((page - 1) * page_size + offset)
        f.write(b"\xff" * (length or page_size - offset))


# -- corrupt files ----------------------------------------------------------------------------------

def test_corrupt_first_page_is_called_corrupt_not_foreign(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    run_id = _filled(db)
    _damage(db, page=1, offset=100)  # the SQLite header is intact, the schema page behind it is not
    before = db.read_bytes()
    for args in (["show"], ["show", run_id], ["export", run_id], ["import", str(_run_json(tmp_path))]):
        assert main(args + ["--db", str(db)]) == 2
        line = _one_error_line(capsys)
        assert "is corrupt (malformed" in line and "it was not modified" in line, line
        assert "not an effbench database" not in line
    assert db.read_bytes() == before


def test_corrupt_later_page_gives_one_line_and_is_never_written(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    run_id = _filled(db)
    with sqlite3.connect(db) as con:
        # a leaf in the middle of the metrics table: reading the run needs it, an insert does not
        leaves = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name='metrics' AND pagetype='leaf' ORDER BY pageno")]
    con.close()
    assert len(leaves) > 3
    _damage(db, page=leaves[len(leaves) // 2])
    before = db.read_bytes()
    assert main(["show", "--db", str(db)]) == 0  # the run list does not touch the damaged page
    capsys.readouterr()
    for args in (["show", run_id], ["export", run_id], ["report", run_id, "--format", "markdown", "-o", "-"]):
        assert main(args + ["--db", str(db)]) == 2
        assert "is corrupt (malformed" in _one_error_line(capsys)
    # an import is refused before it writes anything (quick_check), and so is a new run
    assert main(["import", str(_run_json(tmp_path)), "--db", str(db)]) == 2
    assert "is corrupt (malformed" in _one_error_line(capsys)
    with Store(db) as store, pytest.raises(StoreError, match="is corrupt"):
        store.create_run(suite="t", config={}, environment={}, task={}, effbench_version="0")
    assert db.read_bytes() == before


def test_undecodable_stored_value_is_called_corrupt(tmp_path):
    db = tmp_path / "r.sqlite"
    run_id = _filled(db, n_metrics=1)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE metrics SET detail_json='{nope'")
    con.close()
    with Store(db, create=False) as store, pytest.raises(StoreError, match=f"corrupt .*run {run_id!r} holds a value that cannot be decoded"):
        store.load_run(run_id)


def test_foreign_sqlite_file_names_its_tables(tmp_path):
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE songs (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not an effbench database .*tables songs"):
        Store(other, create=False)


def test_empty_file_is_not_a_database_for_readers_and_becomes_one_for_writers(tmp_path):
    empty = tmp_path / "e.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(StoreError, match=r"is empty \(0 bytes\)"):
        Store(empty, create=False)
    with Store(empty) as store:  # what another process that is creating it right now leaves
        assert store.schema_version == SCHEMA_VERSION
        assert store.list_runs() == []


# -- locks --------------------------------------------------------------------------------------------

def test_locked_database_names_the_lock(tmp_path):
    db = tmp_path / "r.sqlite"
    _filled(db, n_metrics=1)
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Store(db, timeout=0.05) as store:
            with pytest.raises(StoreError, match="is locked: another process holds it"):
                store.add_metrics("x", [Metric("m/torch", "x", 1.0, "s", "measured")])
    finally:
        holder.rollback()
        holder.close()


# -- several processes creating one new database ----------------------------------------------------

def _import_in_process(args):
    barrier, json_path, db = args
    barrier.wait()
    return main(["import", json_path, "--db", db])


def test_eight_processes_create_the_same_new_database(tmp_path, new_db):
    db = new_db()  # PostgreSQL: an empty database (its first writers race to create the tables)
    if not is_postgres_url(db):
        db = tmp_path / "new" / "r.sqlite"  # SQLite: not even its folder exists
    files = [str(_run_json(tmp_path, f"run-{i}")) for i in range(8)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            codes = pool.map(_import_in_process, [(barrier, f, str(db)) for f in files])
    assert codes == [0] * 8
    with Store(db, create=False) as store:
        assert sorted(r["run_id"] for r in store.list_runs()) == [f"run-{i}" for i in range(8)]
        assert store._execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 3
        if not is_postgres_url(db):
            assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- read-only files and folders ------------------------------------------------------------------

def test_writer_refuses_a_read_only_folder_and_reader_still_reads(tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    run_id = _filled(db, n_metrics=1)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path.resolve() else real_access(p, mode))
    with pytest.raises(StoreError, match="is in a read-only folder .*can be read .* but not written"):
        Store(db)
    with pytest.raises(StoreError, match="read-only folder .*it cannot be created"):
        Store(tmp_path / "new.sqlite")
    with Store(db, create=False) as store:
        assert store.load_run(run_id).value("m/torch", "metric_0") == 0.0


def test_writer_refuses_a_read_only_file(tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    _filled(db, n_metrics=1)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == db else real_access(p, mode))
    with pytest.raises(StoreError, match=r"is read-only \(file permissions\)"):
        Store(db)


def test_a_real_read_only_folder(tmp_path):
    """A database in a folder that this user cannot write: readers read it, writers say why not.
    As root (CI containers), the commands run as user 'nobody', for whom the permissions hold."""
    folder = Path(tempfile.mkdtemp(prefix="effbench-ro-"))
    try:
        db = folder / "r.sqlite"
        run_id = _filled(db, n_metrics=3)
        assert not Path(f"{db}-wal").exists()
        json_path = folder / "run.json"
        json_path.write_text(_run_json(tmp_path).read_text())
        os.chmod(db, 0o666)  # the file is writable: only the folder is not
        os.chmod(json_path, 0o644)
        os.chmod(folder, 0o555)
        as_nobody = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root, whom folder permissions do not stop, and setpriv is not there to run as 'nobody'")
            as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}

        def effbench(*args):
            return subprocess.run([*as_nobody, sys.executable, "-m", "effbench", *args, "--db", str(db)], capture_output=True, text=True,
                                  env=env, cwd=str(folder), timeout=120)

        shown = effbench("show", run_id)
        assert shown.returncode == 0, shown.stderr
        assert "m/torch" in shown.stdout
        imported = effbench("import", str(json_path))
        assert imported.returncode == 2
        assert imported.stderr.strip().splitlines() == [
            f"effbench: error: database {str(db)!r} is in a read-only folder {str(folder)!r} (SQLite must create its -wal and -shm files"
            " there): it can be read (show, export, report) but not written; give --db in a writable folder"]
        assert sorted(p.name for p in folder.iterdir()) == ["r.sqlite", "run.json"]
    finally:
        os.chmod(folder, 0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


def test_reader_never_creates_or_changes_the_file(tmp_path):
    db = tmp_path / "r.sqlite"
    run_id = _filled(db, n_metrics=1)
    before = db.read_bytes()
    with Store(db, create=False) as store:
        store.load_run(run_id)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.conn.execute("DELETE FROM runs")
    assert db.read_bytes() == before
    assert run_to_dict(Store(db, create=False).load_run(run_id))["run"]["run_id"] == run_id


def test_busy_steps_are_retried_until_the_timeout(tmp_path):
    """What SQLite answers SQLITE_BUSY without waiting (a journal-mode switch while another process
    reads) is retried; any other error, or busy past the timeout, is not."""
    store = Store(tmp_path / "r.sqlite", timeout=0.2)
    calls = []

    def busy_twice():
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert store._retry_busy(busy_twice) == "done" and len(calls) == 3

    def always_busy():
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store._retry_busy(always_busy)

    def other():
        calls.append(1)
        raise sqlite3.OperationalError("no such table: x")

    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store._retry_busy(other)
    assert len(calls) == 1
    store.close()


@pytest.mark.parametrize("url", ["mysql://user:secret@127.0.0.1/x", "sqlite:///tmp/x.db", "http://example/db"])
def test_a_url_of_another_kind_is_refused_never_taken_for_a_path(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=r"is not a store effbench can use: give an SQLite file path or a postgresql://"):
        Store(url)
    assert list(tmp_path.iterdir()) == []  # no folder named 'mysql:' was made
    with pytest.raises(StoreError) as err:
        Store(url, create=False)
    assert "secret" not in str(err.value)
