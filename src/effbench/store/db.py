"""The embedded result store: one SQLite file, a versioned schema, every value with unit and provenance.

The same SQL serves PostgreSQL (``--db postgresql://...``, :mod:`effbench.store.postgres`, which
overrides only the dialect hooks below). Location: ``--db PATH`` or ``$EFFBENCH_DB``, else ``$XDG_DATA_HOME/effbench/effbench.sqlite``
(``~/.local/share/effbench/effbench.sqlite``). Every measurement is committed as soon as it
arrives, so an interrupted run keeps what it had measured. A file that is not an effbench store,
or one written by a newer effbench, is refused and never modified.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import re
import sqlite3
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from effbench.errors import DataError, StoreError, UnknownRunError
from effbench.records import PROVENANCES, TRACK_SUITE, TRAIN_TIME_S, CandidateRecord, Metric, RunRecord, SampleSet

__all__ = ["Store", "default_db_path", "new_run_id", "SCHEMA_VERSION", "APP_ID",
           # the record types live in effbench.records; these names stay importable from here
           "CandidateRecord", "Metric", "RunRecord", "SampleSet", "PROVENANCES"]

APP_ID = "effbench"
SCHEMA_VERSION = 2
"""1: the first layout. 2: a metric's provenance may also be 'reported' (typed in by a user)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    suite TEXT,
    effbench_version TEXT,
    config_json TEXT NOT NULL DEFAULT '{}',
    environment_json TEXT NOT NULL DEFAULT '{}',
    task_json TEXT NOT NULL DEFAULT '{}',
    notes_json TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS candidates (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    family TEXT,
    parent TEXT,
    status TEXT NOT NULL,
    error TEXT,
    info_json TEXT NOT NULL DEFAULT '{}',
    predictions_json TEXT,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    candidate TEXT NOT NULL,
    batch_size INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    value REAL,
    unit TEXT NOT NULL,
    provenance TEXT NOT NULL CHECK (provenance IN ('measured', 'estimated', 'analytic', 'reported')),
    detail_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, candidate, batch_size, name)
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    candidate TEXT NOT NULL,
    batch_size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    meta_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, candidate, batch_size, kind)
);
"""


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location) -> bool:
    """Whether a ``--db`` value is a PostgreSQL URL (``postgresql://...`` or ``postgres://...``)."""
    return isinstance(location, str) and location.lower().startswith(POSTGRES_SCHEMES)


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _refuse_other_urls(location) -> None:
    """A URL of another kind (``mysql://``, ``sqlite://``, ``http://``) is refused, never taken for a
    file path (it would make folders named ``mysql:``)."""
    found = _URL.match(str(location)) if isinstance(location, (str, os.PathLike)) else None
    if found and not is_postgres_url(str(location)):
        raise StoreError(f"database {found.group(0)}... is not a store effbench can use: give an SQLite file path"
                         f" or a postgresql://user@host:port/dbname URL")


def default_db_path() -> Path | str:
    """``$EFFBENCH_DB`` (a file path, or a PostgreSQL URL kept as the string it is), else the
    default SQLite file."""
    env = os.environ.get("EFFBENCH_DB")
    if env:
        return env if is_postgres_url(env) else Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "effbench" / "effbench.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]


def _is_busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(exc)


def _store_errors(method):
    """Turn any database error of a store method (SQLite, or PostgreSQL in a
    :class:`~effbench.store.postgres.PostgresStore`) into the StoreError naming its cause."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except self._driver_errors() as exc:
            self._rollback()
            raise self._error(exc) from None
    return wrapper


# -- the database ------------------------------------------------------------------------------------

SQLITE_HEADER = b"SQLite format 3\x00"
RUN_ID_DRAWS = 20
"""How many new run ids ``create_run`` draws before it gives up (each collision has odds 1/65536)."""
BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's lock before saying the database is locked."""


class Store:
    """Access to one SQLite result file. Use as a context manager or call :meth:`close`.

    ``Store("postgresql://user@host:port/dbname")`` (or ``$EFFBENCH_DB`` holding such a URL) opens a
    PostgreSQL database instead: the same schema, the same methods and guarantees
    (:class:`effbench.store.postgres.PostgresStore`, see docs/postgres.md).

    ``create=True`` (the writers: run, import) creates the file when it is absent; several
    processes may create the same new file at once. ``create=False`` (the readers: show, export,
    report, ...) opens the file read-only, so a database in a read-only folder can be read, and
    a reader never writes. A file that is not an effbench store, has a newer schema, or is
    corrupt is refused with a :class:`StoreError` naming the cause, and is never modified.
    """

    _KIND = "an SQLite file"
    _ORDER = "rowid"
    """The column that keeps a table's rows in the order they were written (SQLite: its rowid)."""

    def __new__(cls, path=None, *args, **kwargs):
        if cls is Store and is_postgres_url(path if path is not None else default_db_path()):
            from effbench.store.postgres import PostgresStore

            cls = PostgresStore
        return super().__new__(cls)

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True, timeout: float = BUSY_TIMEOUT_S):
        _refuse_other_urls(path if path is not None else default_db_path())
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.read_only = not create
        self.timeout = float(timeout)
        self.conn = None
        if self.path.is_dir():
            raise StoreError(f"database path {str(self.path)!r} is a directory; give a file path")
        exists = self.path.exists()
        if not exists and not create:
            raise StoreError(f"database {str(self.path)!r} does not exist; run 'effbench run' first or give --db PATH")
        if exists:
            self._check_header()
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the database folder {str(self.path.parent)!r}: {exc.strerror}") from None
        if create:
            self._check_writable(exists)

        def open_file():
            self.conn = self._connect()
            self._execute("PRAGMA foreign_keys = ON")
            if create:
                self._create_schema()
            self._check_meta()
            if create:
                self._use_wal()

        self._open_or_close(open_file)

    def _open_or_close(self, steps):
        """Run the opening ``steps``; on any failure, close what was opened and raise the StoreError naming it."""
        try:
            steps()
        except self._driver_errors() as exc:
            error = self._error(exc)
            self.close()
            raise error from None
        except StoreError:
            self.close()
            raise

    # -- opening: never modify a foreign, newer or corrupt file ---------------------------------------
    def _check_header(self):
        try:
            with open(self.path, "rb") as f:
                head = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise StoreError(f"cannot read database {str(self.path)!r}: {exc.strerror}") from None
        if not head and self.read_only:
            raise StoreError(f"{str(self.path)!r} is empty (0 bytes): not an effbench database yet; run 'effbench run' first or give another --db path")
        if head and head != SQLITE_HEADER:
            raise StoreError(f"{str(self.path)!r} is not an effbench database: not an SQLite file (its first 16 bytes are not the SQLite header;"
                             f" if it was a database, its first page is damaged); it was not modified; give another --db path")

    def _check_writable(self, exists: bool):
        folder = self.path.resolve().parent
        if exists and not os.access(self.path, os.W_OK):
            raise StoreError(f"database {str(self.path)!r} is read-only (file permissions): it can be read (show, export, report)"
                             f" but not written; give a writable --db path")
        side_files = all(Path(f"{self.path}{suffix}").exists() for suffix in ("-wal", "-shm"))
        if not os.access(folder, os.W_OK | os.X_OK) and not side_files:
            what = "it can be read (show, export, report) but not written" if exists else "it cannot be created"
            raise StoreError(f"database {str(self.path)!r} is in a read-only folder {str(folder)!r} (SQLite must create its -wal and -shm"
                             f" files there): {what}; give --db in a writable folder")

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(str(self.path), timeout=self.timeout)
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=self.timeout)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError:
            # a WAL database in a read-only folder: SQLite cannot make its -shm file there. With no
            # -wal file, no process is writing it, so it can be read as an immutable file.
            conn.close()
            if Path(f"{self.path}-wal").exists() or os.access(self.path.resolve().parent, os.W_OK):
                raise
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=self.timeout)
        return conn

    # -- the SQL dialect: what PostgresStore overrides ----------------------------------------------
    @staticmethod
    def _driver_errors():
        return sqlite3.Error

    def _rollback(self):
        if self.conn is not None and self.conn.in_transaction:
            self.conn.rollback()

    def _execute(self, sql: str, params=()):
        return self.conn.execute(sql, params)

    def _executemany(self, sql: str, rows):
        return self.conn.executemany(sql, rows)

    def _transaction(self):
        """A context that commits on success and rolls back on error (sqlite3's connection is one)."""
        return self.conn

    def _upsert(self, table: str, columns: tuple) -> str:
        """Insert a row, replacing the one with the same primary key (it moves to the end of the order)."""
        return f"INSERT OR REPLACE INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

    def _tables(self) -> set[str]:
        return {r[0] for r in self._execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _create_schema(self):
        """Create the tables of an empty (new) file in one transaction. Several processes may be
        creating the same file: the first takes the write lock and creates, the others wait for it
        (busy timeout) and find the tables there."""
        if self._tables():
            return

        def create():
            self._execute("BEGIN IMMEDIATE")
            try:
                if not self._tables():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._execute(statement)
                    self._executemany("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                                          [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION)), ("created_at", _now())])
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                raise

        self._retry_busy(create)

    def _use_wal(self):
        if self._execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._retry_busy(lambda: self._execute("PRAGMA journal_mode = WAL").fetchone())

    def _retry_busy(self, step):
        """Run ``step``, again while another process holds the lock (up to the busy timeout)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.005, 0.05))

    def _check_meta(self):
        tables = self._tables()
        if "meta" not in tables:
            raise StoreError(f"{str(self.path)!r} is not an effbench database ({self._KIND} with tables"
                             f" {', '.join(sorted(tables)[:5]) or 'none'}, no effbench metadata); it was not modified; give another --db path")
        rows = dict(self._execute("SELECT key, value FROM meta").fetchall())
        if rows.get("app") != APP_ID:
            raise StoreError(f"{str(self.path)!r} is not an effbench database (app={rows.get('app')!r}); it was not modified; give another --db path")
        try:
            version = int(rows.get("schema_version", "0"))
        except (TypeError, ValueError):
            raise StoreError(f"database {str(self.path)!r} is corrupt: its schema_version is {rows.get('schema_version')!r}; it was not modified") from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{str(self.path)!r} has schema version {version}, newer than this effbench supports ({SCHEMA_VERSION}); upgrade effbench"
            )
        if version < SCHEMA_VERSION and not self.read_only:
            self._retry_busy(self._migrate)

    def _migrate(self):
        """Bring an older file up to SCHEMA_VERSION, step by step, in one transaction (a reader
        never migrates: it reads older layouts as they are)."""
        self._execute("BEGIN IMMEDIATE")
        try:
            version = int(self._execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            if version < 2:
                # SQLite cannot alter a CHECK constraint: rebuild the metrics table with the new one
                create = next(s for s in _SCHEMA.split(";") if "TABLE IF NOT EXISTS metrics" in s)
                self._execute("ALTER TABLE metrics RENAME TO metrics_v1")
                self._execute(create)
                self._execute("INSERT INTO metrics SELECT * FROM metrics_v1 ORDER BY rowid")
                self._execute("DROP TABLE metrics_v1")
            self._execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def verify(self):
        """Refuse a corrupt database before writing to it (``PRAGMA quick_check``: reads every page)."""
        try:
            rows = self._execute("PRAGMA quick_check(1)").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        if rows != [("ok",)]:
            raise self._corrupt(str(rows[0][0]) if rows else "quick_check returned nothing")

    def _corrupt(self, what: str) -> StoreError:
        what = " ".join(what.split())
        return StoreError(f"database {str(self.path)!r} is corrupt (malformed: {what}); it was not modified;"
                          f" restore it from a backup or a JSON export, or give another --db path")

    def _error(self, exc: sqlite3.Error) -> StoreError:
        """The StoreError naming the cause of an SQLite error: locked, corrupt, read-only, full, ..."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        where = str(self.path)
        if _is_busy(exc):
            return StoreError(f"database {where!r} is locked: another process holds it (waited {self.timeout:g} s);"
                              f" try again when that process has finished")
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
            return self._corrupt(text)
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return StoreError(f"database {where!r} cannot be written ({text}): the file or its folder is read-only")
        if name.startswith("SQLITE_FULL"):
            return StoreError(f"database {where!r} cannot be written: the disk is full ({text}); nothing was changed")
        if name.startswith("SQLITE_CANTOPEN"):
            return StoreError(f"cannot open database {where!r} ({text}): check that it and its folder can be read")
        return StoreError(f"database {where!r}: {text}")

    @property
    @_store_errors
    def schema_version(self) -> int:
        return int(self._execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing (each call commits: an interrupted run keeps everything written so far) -----------
    @_store_errors
    def create_run(self, *, suite, config, environment, task, effbench_version, run_id=None) -> str:
        """A new run, ``running``. Without ``run_id``, a new id (UTC second + 4 hex digits): another
        writer of a shared store may take the same one in the same second, so a taken id is drawn again."""
        self.verify()  # a run is minutes of work: never start one in a damaged file
        for _ in range(RUN_ID_DRAWS):
            rid = run_id or new_run_id()
            with self._transaction():
                taken = self._execute(
                    "INSERT INTO runs(run_id, created_at, status, suite, effbench_version, config_json, environment_json, task_json)"
                    " VALUES (?, ?, 'running', ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
                    (rid, _now(), suite, effbench_version, _dumps(config), _dumps(environment), _dumps(task)),
                ).rowcount == 0
            if not taken:
                return rid
            if run_id:
                raise StoreError(f"run id {run_id!r} is already in {str(self.path)!r}; give another")
        raise StoreError(f"no free run id in {str(self.path)!r} after {RUN_ID_DRAWS} draws")

    @_store_errors
    def finish_run(self, run_id: str, status: str, notes: list | None = None, environment_after: dict | None = None):
        with self._transaction():
            self._update_environment(run_id, environment_after)
            self._execute(
                "UPDATE runs SET status=?, finished_at=?, notes_json=? WHERE run_id=?",
                (status, _now(), _dumps(notes or []), run_id),
            )

    @_store_errors
    def reopen_run(self, run_id: str, notes: list, environment_after: dict | None = None):
        """Mark a stored run ``running`` again (to resume it), with its notes and environment updated."""
        with self._transaction():
            self._update_environment(run_id, environment_after)
            self._execute("UPDATE runs SET status='running', finished_at=NULL, notes_json=? WHERE run_id=?",
                              (_dumps(notes), run_id))

    def _update_environment(self, run_id: str, changes: dict | None):
        """Merge ``changes`` into a run's environment (inside the caller's transaction)."""
        if changes:
            env = self.run_environment(run_id)
            env.update(changes)
            self._execute("UPDATE runs SET environment_json=? WHERE run_id=?", (_dumps(env), run_id))

    # Each public writer commits on its own (an interrupted run keeps what was written); the _insert_*
    # helpers write without committing, so import_run can put a whole run in one transaction.
    def _insert_candidate(self, run_id: str, c: CandidateRecord):
        self._execute(
            self._upsert("candidates", _CANDIDATE_COLUMNS),
            (run_id, c.key, c.model, c.backend, c.family, c.parent, c.status, c.error, _dumps(c.info),
             None if c.predictions is None else _dumps(_labels(c.predictions))),
        )

    def _insert_metrics(self, run_id: str, metrics: list[Metric]):
        for m in metrics:
            if m.provenance not in PROVENANCES:
                raise StoreError(f"metric {m.name!r}: provenance must be one of {', '.join(PROVENANCES)}; got {m.provenance!r}")
        self._executemany(self._upsert("metrics", _METRIC_COLUMNS), [_metric_row(run_id, m) for m in metrics])

    def _insert_samples(self, run_id: str, s: SampleSet):
        values = np.ascontiguousarray(s.values, dtype="<f8")
        self._execute(
            self._upsert("samples", _SAMPLE_COLUMNS),
            (run_id, s.candidate, int(s.batch_size), s.kind, s.unit, int(values.size), values.tobytes(), _dumps(s.meta)),
        )

    @_store_errors
    def add_candidate(self, run_id: str, c: CandidateRecord):
        with self._transaction():
            self._insert_candidate(run_id, c)

    @_store_errors
    def update_candidate(self, run_id: str, key: str, *, status=None, error=None, info=None, predictions=None):
        with self._transaction():
            if status is not None:
                self._execute("UPDATE candidates SET status=?, error=? WHERE run_id=? AND key=?", (status, error, run_id, key))
            if info is not None:
                old = json.loads(self._execute("SELECT info_json FROM candidates WHERE run_id=? AND key=?", (run_id, key)).fetchone()[0])
                old.update(info)
                self._execute("UPDATE candidates SET info_json=? WHERE run_id=? AND key=?", (_dumps(old), run_id, key))
            if predictions is not None:
                self._execute("UPDATE candidates SET predictions_json=? WHERE run_id=? AND key=?",
                                  (_dumps(_labels(predictions)), run_id, key))

    @_store_errors
    def add_metrics(self, run_id: str, metrics: list[Metric]):
        with self._transaction():
            self._insert_metrics(run_id, metrics)

    @_store_errors
    def add_samples(self, run_id: str, s: SampleSet):
        with self._transaction():
            self._insert_samples(run_id, s)

    @_store_errors
    def import_run(self, run: RunRecord) -> str:
        """Insert a whole run (e.g. loaded from JSON) in one transaction: all of it or nothing.
        Refuses a run id that is already stored, and a corrupt database (checked first, so a
        damaged file is never written to)."""
        self.verify()
        if self._execute("SELECT 1 FROM runs WHERE run_id=?", (run.run_id,)).fetchone():
            raise StoreError(f"run {run.run_id!r} is already in {str(self.path)!r}; nothing was imported")
        self._write_run(run, replace=False, what="imported")
        return run.run_id

    @_store_errors
    def push_run(self, run: RunRecord) -> str:
        """Copy a run from another store here, in one transaction (``effbench push``). Returns what
        happened: ``"copied"`` (it was not here), ``"already there"`` (the copy here is the same, nothing
        changed), or ``"updated"`` (the copy here was unfinished, ``running``, and the given run differs:
        e.g. it was pushed while it ran and has finished since; the copy here is replaced whole). A
        finished copy here that differs is never overwritten: :class:`StoreError`, nothing changed."""
        from effbench.store.export import run_to_dict
        from effbench.store.files import dumps_json

        self.verify()
        row = self._execute("SELECT status FROM runs WHERE run_id=?", (run.run_id,)).fetchone()
        if row is None:
            self._write_run(run, replace=False, what="pushed")
            return "copied"
        if dumps_json(run_to_dict(self._load_run(run.run_id))) == dumps_json(run_to_dict(run)):
            return "already there"
        if row[0] != "running":
            raise StoreError(f"run {run.run_id!r} is already in {str(self.path)!r}, {row[0]}, and differs from the copy pushed;"
                             f" a finished run is never overwritten; nothing was changed (export it and import it under another id to keep both)")
        self._write_run(run, replace=True, what="pushed")
        return "updated"

    @_store_errors
    def import_stream(self, header: RunRecord, items) -> str:
        """Insert a run whose metrics and samples arrive one at a time (``items``: ``("metric", Metric)``
        and ``("sample", SampleSet)``, e.g. read from a large export by :mod:`effbench.store.json_stream`),
        in one transaction: all of it or nothing. Memory: one block of metric rows at a time. An item
        ``items`` refuses (a :class:`~effbench.errors.DataError`) rolls everything back; so does a
        metric or sample set given twice (the same candidate, batch size and name or kind)."""
        self.verify()
        if self._execute("SELECT 1 FROM runs WHERE run_id=?", (header.run_id,)).fetchone():
            raise StoreError(f"run {header.run_id!r} is already in {str(self.path)!r}; nothing was imported")
        insert_metric = f"INSERT INTO metrics({', '.join(_METRIC_COLUMNS)}) VALUES ({', '.join('?' * len(_METRIC_COLUMNS))})"
        insert_sample = f"INSERT INTO samples({', '.join(_SAMPLE_COLUMNS)}) VALUES ({', '.join('?' * len(_SAMPLE_COLUMNS))})"
        rid, block = header.run_id, []

        def flush():
            if block:
                self._executemany(insert_metric, block)
                block.clear()

        try:
            with self._transaction():
                self._insert_run_row(header)
                for c in header.candidates:
                    self._insert_candidate(rid, c)
                for kind, record in items:
                    if kind == "metric":
                        block.append(_metric_row(rid, record))
                        if len(block) >= _IMPORT_BLOCK:
                            flush()
                    else:
                        flush()
                        values = np.ascontiguousarray(record.values, dtype="<f8")
                        self._execute(insert_sample, (rid, record.candidate, int(record.batch_size), record.kind, record.unit,
                                                      int(values.size), values.tobytes(), _dumps(record.meta)))
                flush()
        except self._driver_errors() as exc:
            if not self._is_duplicate(exc):
                raise
            self._rollback()
            raise DataError(f"run {rid!r}: a metric or sample set appears twice (the same candidate, batch size and name or kind);"
                            f" nothing was imported") from None
        except DataError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise StoreError(f"run {rid!r} could not be imported ({type(exc).__name__}: {exc}); nothing was imported") from None
        return rid

    def _is_duplicate(self, exc) -> bool:
        """Is ``exc`` a primary-key violation (a row given twice)?"""
        return isinstance(exc, sqlite3.IntegrityError)

    def _insert_run_row(self, run: RunRecord):
        self._execute(
            "INSERT INTO runs(run_id, created_at, finished_at, status, suite, effbench_version, config_json, environment_json, task_json, notes_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.run_id, run.created_at or _now(), run.finished_at, run.status or "complete", run.suite, run.effbench_version,
             _dumps(run.config), _dumps(run.environment), _dumps(run.task), _dumps(run.notes)),
        )

    def _write_run(self, run: RunRecord, *, replace: bool, what: str):
        """Insert a whole run in one transaction (after deleting the stored copy when ``replace``)."""
        bad = next((m for m in run.metrics if m.provenance not in PROVENANCES), None)
        if bad is not None:
            raise StoreError(f"metric {bad.name!r}: provenance must be one of {', '.join(PROVENANCES)}; got {bad.provenance!r}; nothing was {what}")
        try:
            with self._transaction():
                if replace:
                    for table in ("samples", "metrics", "candidates", "runs"):
                        self._execute(f"DELETE FROM {table} WHERE run_id=?", (run.run_id,))
                self._insert_run_row(run)
                for c in run.candidates:
                    self._insert_candidate(run.run_id, c)
                # one executemany over a generator: no per-row list
                self._executemany(self._upsert("metrics", _METRIC_COLUMNS), (_metric_row(run.run_id, m) for m in run.metrics))
                for s in run.samples:
                    self._insert_samples(run.run_id, s)
        except (TypeError, ValueError, OverflowError) as exc:
            raise StoreError(f"run {run.run_id!r} could not be {what} ({type(exc).__name__}: {exc}); nothing was {what}") from None

    # -- reading -------------------------------------------------------------------------------------
    @_store_errors
    def list_runs(self) -> list[dict]:
        rows = self._execute(
            "SELECT r.run_id, r.created_at, r.finished_at, r.status, r.suite, r.effbench_version,"
            " (SELECT COUNT(*) FROM candidates c WHERE c.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM candidates c WHERE c.run_id = r.run_id AND c.status = 'failed')"
            " FROM runs r ORDER BY r.created_at, r.run_id"
        ).fetchall()
        keys = ("run_id", "created_at", "finished_at", "status", "suite", "effbench_version", "n_candidates", "n_failed")
        return [dict(zip(keys, row)) for row in rows]

    @_store_errors
    def run_environment(self, run_id: str) -> dict:
        """One run's environment, without loading its records (e.g. to see which process runs it)."""
        return json.loads(self._execute("SELECT environment_json FROM runs WHERE run_id=?", (run_id,)).fetchone()[0])

    @_store_errors
    def resolve_run_id(self, run_id: str, *, needs: str | None = None) -> str:
        """Exact id, a unique prefix, or 'latest'. With ``needs`` (a sample kind, e.g.
        ``latency_per_call``), 'latest' is the latest run that holds samples of that kind, so a
        command that needs latencies never lands on a tail-only run by accident."""
        if run_id == "latest":
            return self._latest(needs)
        rows = [r[0] for r in self._execute("SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\'", (_like_prefix(run_id),))]
        if run_id in rows:
            return run_id
        if len(rows) == 1:
            return rows[0]
        if not rows:
            known = [r["run_id"] for r in self.list_runs()][-5:]
            hint = f"; recent runs: {', '.join(known)}" if known else "; the database holds no run yet"
            raise UnknownRunError(f"unknown run id {run_id!r} in {str(self.path)!r}{hint} (or 'latest')")
        raise UnknownRunError(f"run id prefix {run_id!r} is ambiguous: it matches {', '.join(rows[:5])}; give more characters")

    @_store_errors
    def latest_run_of(self, suite: str, model: str, statuses=("complete",)) -> str | None:
        """The latest run of ``suite`` with a candidate of model ``model`` (and a status in ``statuses``), or None.
        Runs of the same second are ordered by when their candidate was written."""
        rows = self._execute(
            "SELECT r.run_id, r.status FROM runs r JOIN candidates c ON c.run_id = r.run_id WHERE r.suite = ? AND c.model = ?"
            f" ORDER BY r.created_at DESC, c.{self._ORDER} DESC", (suite, model)).fetchall()
        return next((run_id for run_id, status in rows if statuses is None or status in statuses), None)

    @_store_errors
    def run_models(self, suite: str) -> list[str]:
        """The model names of the candidates of every run of ``suite`` (e.g. the names of the trackings)."""
        return [r[0] for r in self._execute(
            "SELECT DISTINCT c.model FROM candidates c JOIN runs r ON r.run_id = c.run_id WHERE r.suite = ? ORDER BY c.model", (suite,))]

    @_store_errors
    def tracking_uses(self, run_id: str) -> list[tuple[str, str]]:
        """(run id, candidate key) of every candidate of another run that took its training figures from
        tracking run ``run_id`` (the ``tracking_run`` its ``train_time_s`` records), in the order of the runs."""
        rows = self._execute(
            "SELECT m.run_id, m.candidate, m.detail_json FROM metrics m JOIN runs r ON r.run_id = m.run_id"
            " WHERE m.name = ? AND m.run_id <> ? AND m.detail_json LIKE ?"
            " ORDER BY r.created_at, m.run_id, m.candidate", (TRAIN_TIME_S, run_id, f"%{run_id}%")).fetchall()
        return [(r, c) for r, c, detail in rows if json.loads(detail).get("tracking_run") == run_id]

    def _latest(self, needs: str | None) -> str:
        if needs is None:  # 'latest' is the latest measurement run: trackings (suite 'track') are named by id
            row = self._execute("SELECT run_id FROM runs WHERE suite IS NULL OR suite <> ?"
                                " ORDER BY created_at DESC, run_id DESC LIMIT 1", (TRACK_SUITE,)).fetchone()
        else:
            row = self._execute(
                "SELECT r.run_id FROM runs r WHERE EXISTS (SELECT 1 FROM samples s WHERE s.run_id = r.run_id AND s.kind = ?)"
                " ORDER BY r.created_at DESC, r.run_id DESC LIMIT 1", (needs,)).fetchone()
        if row is None:
            what = "no run yet" if needs is None else f"no run with {needs} samples yet"
            raise UnknownRunError(f"run 'latest': the database {str(self.path)!r} holds {what}")
        return row[0]

    @_store_errors
    def load_run(self, run_id: str, *, needs: str | None = None) -> RunRecord:
        """One run (see :meth:`resolve_run_id` for ``run_id`` and ``needs``)."""
        run_id = self.resolve_run_id(run_id, needs=needs)
        try:
            return self._load_run(run_id)
        except (ValueError, TypeError) as exc:  # a stored JSON text or sample blob that does not decode
            raise self._corrupt(f"run {run_id!r} holds a value that cannot be decoded: {exc}") from None

    def _load_run(self, run_id: str) -> RunRecord:
        r = self._execute(
            "SELECT run_id, created_at, finished_at, status, suite, effbench_version, config_json, environment_json, task_json, notes_json"
            " FROM runs WHERE run_id=?", (run_id,)
        ).fetchone()
        run = RunRecord(
            run_id=r[0], created_at=r[1], finished_at=r[2], status=r[3], suite=r[4], effbench_version=r[5],
            config=json.loads(r[6]), environment=json.loads(r[7]), task=json.loads(r[8]), notes=json.loads(r[9]),
        )
        for row in self._execute(
            "SELECT key, model, backend, family, parent, status, error, info_json, predictions_json FROM candidates WHERE run_id=?"
            f" ORDER BY {self._ORDER}",
            (run_id,),
        ):
            run.candidates.append(CandidateRecord(
                key=row[0], model=row[1], backend=row[2], family=row[3], parent=row[4], status=row[5], error=row[6],
                info=json.loads(row[7]), predictions=None if row[8] is None else json.loads(row[8]),
            ))
        for row in self._execute(
            f"SELECT candidate, batch_size, name, value, unit, provenance, detail_json FROM metrics WHERE run_id=? ORDER BY {self._ORDER}", (run_id,)
        ):
            run.metrics.append(Metric(candidate=row[0], batch_size=row[1], name=row[2], value=row[3], unit=row[4], provenance=row[5], detail=json.loads(row[6])))
        for row in self._execute(
            f"SELECT candidate, batch_size, kind, unit, data, meta_json FROM samples WHERE run_id=? ORDER BY {self._ORDER}", (run_id,)
        ):
            run.samples.append(SampleSet(candidate=row[0], batch_size=row[1], kind=row[2], unit=row[3],
                                         values=np.frombuffer(row[4], dtype="<f8").copy(), meta=json.loads(row[5])))
        return run


_CANDIDATE_COLUMNS = ("run_id", "key", "model", "backend", "family", "parent", "status", "error", "info_json", "predictions_json")
_IMPORT_BLOCK = 10_000
"""Metric rows written at a time by :meth:`Store.import_stream`."""
_METRIC_COLUMNS = ("run_id", "candidate", "batch_size", "name", "value", "unit", "provenance", "detail_json")
_SAMPLE_COLUMNS = ("run_id", "candidate", "batch_size", "kind", "unit", "n", "data", "meta_json")
PRIMARY_KEYS = {"candidates": ("run_id", "key"), "metrics": ("run_id", "candidate", "batch_size", "name"),
                "samples": ("run_id", "candidate", "batch_size", "kind")}
"""The primary key of each table a writer may write again (a resumed run re-measures a cell)."""


def _metric_row(run_id: str, m: Metric) -> tuple:
    # NaN is stored as NULL: SQLite does so on its own, PostgreSQL is told to (both read back None)
    value = None if m.value is None or math.isnan(float(m.value)) else float(m.value)
    return (run_id, m.candidate, int(m.batch_size), m.name, value, m.unit, m.provenance, _dumps(m.detail) if m.detail else "{}")


def _labels(predictions) -> list:
    """Predicted labels as JSON values of their own type (ints, strings, floats), never truncated."""
    return np.asarray(predictions).ravel().tolist()


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _dumps(obj) -> str:
    from effbench.store.files import json_default

    return json.dumps(obj, default=json_default, allow_nan=True)
