"""The shared store: the same schema, methods and guarantees as the SQLite file, in PostgreSQL.

``Store("postgresql://user@host:port/dbname")`` returns a :class:`PostgresStore` (psycopg 3,
``pip install effbench[postgres]``). Every write commits when it is made (one short transaction each,
like SQLite), so many processes on many machines can write runs at once, and a writer that dies
loses only the statement it was in. Concurrent first writers create the tables one at a time under a
transaction-level advisory lock. The SQL is :mod:`effbench.store.db`'s; only the dialect differs
(placeholders, upserts, types, the order column): see docs/postgres.md.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from effbench.errors import StoreError
from effbench.store import db
from effbench.store.db import APP_ID, PRIMARY_KEYS, SCHEMA_VERSION, Store

__all__ = ["PostgresStore", "display_url", "postgres_schema"]

SCHEMA_LOCK = 0x6566_6662_656E_6368 & 0x7FFF_FFFF_FFFF_FFFF
"""The advisory lock key ('effbench') the schema creation and upgrades hold."""
CONNECT_TIMEOUT_S = 10
"""How long to wait for an unreachable server, unless the URL sets ``connect_timeout``."""
ORDER_COLUMN = "seq"


def postgres_schema() -> list[str]:
    """The SQLite schema in PostgreSQL's types, each table that keeps an order given a ``seq`` column
    (what SQLite's rowid is): one source of truth for both backends."""
    text = db._SCHEMA
    for old, new in ((" REAL,", " DOUBLE PRECISION,"), (" BLOB ", " BYTEA ")):
        assert old in text, old
        text = text.replace(old, new)
    for table in PRIMARY_KEYS:
        head = f"CREATE TABLE IF NOT EXISTS {table} ("
        assert head in text, head
        text = text.replace(head, f"{head}\n    {ORDER_COLUMN} BIGSERIAL NOT NULL,")
    return [s.strip() for s in text.split(";") if s.strip()]


def _password(url: str) -> str | None:
    """The password a URL holds, as written (None when it holds none)."""
    try:
        return urlsplit(url).password
    except ValueError:  # a URL urllib cannot split (libpq will say what is wrong with it)
        found = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:(.*)@", url)
        return found.group(1) if found else None


def display_url(url: str) -> str:
    """The URL without its password (never shown, never stored)."""
    password = _password(url)
    if not password:
        return url
    scheme, rest = url.split("://", 1)
    user, after = rest.split(":", 1)
    return f"{scheme}://{user}:***{after[len(password):]}"


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise StoreError("--db postgresql://... needs psycopg 3, which is not installed: pip install effbench[postgres]") from None
    return psycopg


class PostgresStore(Store):
    """A result store in a PostgreSQL database (made by :class:`Store` for a ``postgresql://`` URL).

    ``create=True`` (writers) creates the tables in an empty database; ``create=False`` (readers)
    opens a read-only session, so a reader never writes. A database holding other tables, an
    effbench store of a newer schema, an unreachable server, wrong credentials or a missing
    database are refused with one :class:`StoreError` line that never shows the password.
    """

    _KIND = "a PostgreSQL database"
    _ORDER = ORDER_COLUMN

    def __init__(self, path=None, *, create: bool = True, timeout: float = db.BUSY_TIMEOUT_S):
        url = str(path if path is not None else db.default_db_path())
        self.url = url
        self.path = display_url(url)
        self.read_only = not create
        self.timeout = float(timeout)
        self.conn = None
        psycopg = _psycopg()
        self._psycopg = psycopg
        self._where = self._server(url)

        def open_database():
            options = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
            self.conn = psycopg.connect(url, autocommit=True, **options)
            if self.read_only:
                self.conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                if not self._tables():
                    raise StoreError(f"database {self.path!r} holds no effbench store yet; run 'effbench run --db URL' first")
            else:
                self._create_schema()
            self._check_meta()

        self._open_or_close(open_database)

    def _server(self, url: str) -> str:
        """'host H port P' as libpq will try them (for messages)."""
        try:
            info = self._psycopg.conninfo.conninfo_to_dict(url)
        except self._psycopg.Error as exc:
            raise StoreError(f"invalid PostgreSQL URL {display_url(url)!r}: {self._text(exc)};"
                             f" expected postgresql://user[:password]@host[:port]/dbname") from None
        host = info.get("host") or info.get("hostaddr")
        port = info.get("port") or "5432"
        if not all(p.strip().isdigit() and 1 <= int(p) <= 65535 for p in port.split(",")):
            raise StoreError(f"invalid PostgreSQL URL {display_url(url)!r}: port {port!r} is not a port number (1 to 65535);"
                             f" expected postgresql://user[:password]@host[:port]/dbname")
        return f"host {host} port {port}" if host else f"the local Unix socket, port {port} (no host in the URL)"

    # -- the dialect -----------------------------------------------------------------------------------
    def _driver_errors(self):
        return self._psycopg.Error

    def _rollback(self):
        pass  # every write runs in a transaction() block, which rolls back itself

    @staticmethod
    def _sql(sql: str) -> str:
        assert "%" not in sql, sql  # no literal % in our SQL: the patterns are parameters
        return sql.replace("?", "%s")

    def _is_duplicate(self, exc) -> bool:
        return isinstance(exc, _psycopg().errors.UniqueViolation)

    def _execute(self, sql: str, params=()):
        return self.conn.execute(self._sql(sql), params)

    def _executemany(self, sql: str, rows):
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)

    def _transaction(self):
        return self.conn.transaction()

    def _upsert(self, table: str, columns: tuple) -> str:
        key = PRIMARY_KEYS[table]
        updates = [f"{c}=EXCLUDED.{c}" for c in columns if c not in key]
        # a replaced row moves to the end of the order, as SQLite's INSERT OR REPLACE gives it a new rowid
        updates.append(f"{ORDER_COLUMN}=nextval(pg_get_serial_sequence('{table}', '{ORDER_COLUMN}'))")
        return (f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)}")

    def _tables(self) -> set[str]:
        rows = self.conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {r[0] for r in rows}

    def _retry_busy(self, step):
        return step()  # PostgreSQL's locks wait; nothing answers "busy"

    def _create_schema(self):
        """Create the tables in one transaction under the advisory lock: concurrent first writers
        take turns, the later ones find the tables there (CREATE TABLE IF NOT EXISTS alone races)."""
        if {"meta", *PRIMARY_KEYS} <= self._tables():
            return
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            if not self._tables():
                for statement in postgres_schema():
                    self.conn.execute(statement)
                with self.conn.cursor() as cur:
                    cur.executemany("INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                    [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION)), ("created_at", db._now())])

    def _migrate(self):
        """Bring an older store up to SCHEMA_VERSION in one transaction, under the advisory lock."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            version = int(self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            if version < 2:  # the 'reported' provenance
                check = next(s for s in postgres_schema() if "TABLE IF NOT EXISTS metrics" in s)
                allowed = re.search(r"CHECK \((.*?\))\)", check).group(1)
                self.conn.execute("ALTER TABLE metrics DROP CONSTRAINT IF EXISTS metrics_provenance_check")
                self.conn.execute(f"ALTER TABLE metrics ADD CONSTRAINT metrics_provenance_check CHECK ({allowed})")
            self.conn.execute("UPDATE meta SET value=%s WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def verify(self):
        """Nothing to check: the server keeps its pages consistent (SQLite's file check does not apply)."""

    # -- errors ---------------------------------------------------------------------------------------
    def _text(self, exc) -> str:
        """The error's first line (libpq's hints follow on the next ones), the password masked."""
        text = " ".join((str(exc).strip().splitlines() or [""])[0].split())
        password = _password(self.url) if hasattr(self, "url") else None
        return text.replace(password, "***") if password else text

    def _error(self, exc) -> StoreError:
        """The StoreError naming the cause of a psycopg error: unreachable, credentials, no database, ..."""
        text = self._text(exc)
        where = f"PostgreSQL at {getattr(self, '_where', 'the URL')} ({self.path})"
        errors = self._psycopg.errors
        if isinstance(exc, (errors.InvalidPassword, errors.InvalidAuthorizationSpecification)) or "authentication failed" in text \
                or re.search(r'role ".*" does not exist', text):
            return StoreError(f"{where} refused the credentials: {_server_says(text)}; check the user and password in the URL")
        if isinstance(exc, errors.InvalidCatalogName) or re.search(r'database ".*" does not exist', text):
            return StoreError(f"{where}: {_server_says(text)}; create it (createdb) or give another database in the URL")
        if isinstance(exc, self._psycopg.OperationalError) and self.conn is None:
            return StoreError(f"cannot reach {where}: {_server_says(text)}; check that the server runs and accepts connections there")
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return StoreError(f"{where}: a reader does not write ({text})")
        if isinstance(exc, self._psycopg.OperationalError):
            return StoreError(f"{where}: the connection failed ({text}); what was committed before is kept")
        return StoreError(f"{where}: {text}")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _server_says(text: str) -> str:
    """The server's or libpq's reason, without the 'connection failed: connection to server at ...' prefix."""
    reason = text.rsplit(" failed: ", 1)[-1] if " failed: " in text else text
    return reason.replace("FATAL: ", "").strip()
