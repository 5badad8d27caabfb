"""The shared backend: PostgreSQL (psycopg 3, the optional extra ``[postgres]``) for hubs on
several machines. Each hub process holds one connection; what one hub commits, every hub reads on
its next query (advisor sessions are checked per request: revocation reaches every hub at once).

The SQL the hub modules write is SQLite's parameter style (``?``, ``:name``); :func:`translate`
turns it into psycopg's (``%s``, ``%(name)s``), leaving string literals alone:

    >>> translate("SELECT 'a?' || x FROM t WHERE a = ? AND b LIKE '5%' AND c = :c")
    "SELECT 'a?' || x FROM t WHERE a = %s AND b LIKE '5%%' AND c = %(c)s"
"""

from __future__ import annotations

import re
import select
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from videokiosk.logs import redact

from ..errors import StorageError
from .base import NotFoundError, Params

CONNECT_TIMEOUT_S = 5  # a connect blocks the event loop: short, and not tried again at once (below)
# After a failed connect, calls fail at once for this many times as long as that connect took: a
# refused one (server restarting: a millisecond) is tried again by the next request, one that
# waited for its timeout (a dead network path) blocks the event loop a tenth of the time at most.
RECONNECT_PAUSE_FACTOR = 10
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|(?<![:\w]):([A-Za-z_]\w*)|%")


def translate(sql: str) -> str:
    def swap(m: re.Match) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if m.group(1):
            return f"%({m.group(1)})s"
        return token.replace("%", "%%")  # a literal, a quoted name or a cast: as written

    return _TOKENS.sub(swap, sql)


def unreachable(exc: Exception) -> StorageError:
    """The hub's error for a database it cannot reach, with libpq's reason (a password redacted)."""
    return StorageError(f"cannot reach the hub database (store.database_url): {redact(str(exc))}".strip())


@contextmanager
def _storage_errors() -> Iterator[None]:
    """A connection that fails under a statement: the hub's :class:`StorageError`, not psycopg's."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise unreachable(exc) from None


def _hung_up(conn: psycopg.Connection) -> bool:
    """An idle connection's socket has something to read only when the server said goodbye
    (terminated the session: a restart, a failover) or closed it: no round trip to find out."""
    try:
        return bool(select.select([conn.fileno()], [], [], 0)[0])
    except (OSError, ValueError, psycopg.OperationalError):
        return True


def lock_key(name: str) -> int:
    """A stable 32-bit key for ``pg_advisory_lock`` from a lock's name."""
    return zlib.crc32(f"videokiosk:{name}".encode()) - 2**31


@dataclass(frozen=True)
class Inserted:
    last_pk: Any


class PostgresTable:
    """sqlite-utils' table calls that hub modules use, on one PostgreSQL table."""

    def __init__(self, db: "PostgresDatabase", name: str) -> None:
        self.db = db
        self.name = name

    @property
    def pks(self) -> list[str]:
        return self.db.primary_key(self.name)

    def insert(self, record: dict[str, Any]) -> Inserted:
        cols = list(record)
        pk = self.pks[0] if len(self.pks) == 1 else None
        sql = (f'INSERT INTO "{self.name}" ({", ".join(cols)}) VALUES ({", ".join("?" for _ in cols)})'
               + (f" RETURNING {pk}" if pk else ""))
        cursor = self.db.execute(sql, [record[c] for c in cols])
        return Inserted(cursor.fetchone()[0] if pk else None)

    def upsert(self, record: dict[str, Any], pk: str | Sequence[str]) -> "PostgresTable":
        keys = [pk] if isinstance(pk, str) else list(pk)
        cols = list(record)
        rest = [c for c in cols if c not in keys]
        action = f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in rest)}" if rest else "DO NOTHING"
        self.db.execute(f'INSERT INTO "{self.name}" ({", ".join(cols)}) VALUES ({", ".join("?" for _ in cols)}) '
                        f"ON CONFLICT ({', '.join(keys)}) {action}", [record[c] for c in cols])
        return self

    def update(self, pk_value: Any, updates: dict[str, Any]) -> "PostgresTable":
        where, args = self._by_pk(pk_value)
        sets = ", ".join(f"{c} = ?" for c in updates)
        if not self.db.execute(f'UPDATE "{self.name}" SET {sets} WHERE {where}', [*updates.values(), *args]).rowcount:
            raise NotFoundError
        return self

    def get(self, pk_value: Any) -> dict[str, Any]:
        where, args = self._by_pk(pk_value)
        row = next(self.rows_where(where, args), None)
        if row is None:
            raise NotFoundError
        return row

    def rows_where(self, where: str | None = None, where_args: Params = None, order_by: str | None = None,
                   limit: int | None = None, select: str = "*") -> Iterator[dict[str, Any]]:
        sql = f'SELECT {select} FROM "{self.name}"' + (f" WHERE {where}" if where else "")
        sql += (f" ORDER BY {order_by}" if order_by else "") + (f" LIMIT {int(limit)}" if limit is not None else "")
        return self.db.query(sql, where_args)

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        return self.rows_where()

    @property
    def columns_dict(self) -> dict[str, str]:
        return {name: type_ for name, type_ in self.db.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", [self.name])}

    def count_where(self, where: str | None = None, where_args: Params = None) -> int:
        sql = f'SELECT count(*) FROM "{self.name}"' + (f" WHERE {where}" if where else "")
        return self.db.execute(sql, where_args).fetchone()[0]

    @property
    def count(self) -> int:
        return self.count_where()

    def _by_pk(self, pk_value: Any) -> tuple[str, list[Any]]:
        values = list(pk_value) if isinstance(pk_value, (list, tuple)) else [pk_value]
        return " AND ".join(f"{c} = ?" for c in self.pks), values


class PostgresDatabase:
    """One connection per hub process, replaced when it drops (a restarted or failed-over server).

    A statement is never sent twice: a dropped connection is noticed *before* a statement goes
    out (the server's goodbye makes the idle socket readable) and replaced then; a statement that
    fails on the wire raises :class:`StorageError` (the hub answers 503, hub/app.py), and the next
    one reconnects. While the server is down, a reconnect is tried at most every
    ``RECONNECT_PAUSE_FACTOR`` times as long as the last failed attempt took: in between, calls fail
    at once instead of blocking the event loop for a connect timeout each.
    """

    dialect = "postgres"

    def __init__(self, conninfo: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._conninfo = conninfo
        self._clock = clock
        self._retry_at = 0.0
        self._pks: dict[str, list[str]] = {}
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        # Autocommit: a statement outside ``transaction()`` commits at once, as on SQLite. Keepalives:
        # a server behind a dead network path is noticed by the kernel, not after hours.
        started = self._clock()
        try:
            return psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                   keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        except psycopg.OperationalError as exc:  # libpq's words name host and user, never the password
            ended = self._clock()
            self._retry_at = ended + RECONNECT_PAUSE_FACTOR * (ended - started)
            raise unreachable(exc) from None

    def _connection(self) -> psycopg.Connection:
        """The live connection: a dropped one replaced first (outside a transaction only: inside, its
        statements are on the old one, and the block fails as a whole)."""
        conn = self.conn
        if conn.info.transaction_status == TransactionStatus.IDLE and _hung_up(conn):
            conn.close()
        if conn.closed:
            if self._clock() < self._retry_at:
                raise StorageError("the hub database cannot be reached (store.database_url): retrying shortly")
            self.conn = conn = self._connect()
        return conn

    def __getitem__(self, table: str) -> PostgresTable:
        return PostgresTable(self, table)

    def execute(self, sql: str, parameters: Params = None) -> psycopg.Cursor:
        with _storage_errors():
            conn = self._connection()
            if parameters is None:
                return conn.execute(sql)
            return conn.execute(translate(sql), parameters)

    def executescript(self, sql: str) -> None:
        with _storage_errors():
            conn = self._connection()
            with conn.transaction():
                conn.execute(sql)

    def query(self, sql: str, params: Params = None) -> Iterator[dict[str, Any]]:
        with _storage_errors():
            with self._connection().cursor(row_factory=dict_row) as cursor:
                rows = cursor.execute(translate(sql) if params is not None else sql, params).fetchall()
        return iter(rows)

    def table_names(self) -> list[str]:
        return [r[0] for r in self.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = current_schema() ORDER BY table_name")]

    def iterdump(self) -> Iterator[str]:
        """Every row of every table as text, as sqlite3's ``iterdump``: what the privacy checks search."""
        for table in self.table_names():
            for row in self[table].rows:
                yield f"{table}: {row!r}"

    def primary_key(self, table: str) -> list[str]:
        if table not in self._pks:
            self._pks[table] = [r[0] for r in self.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(?) AND i.indisprimary "
                "ORDER BY array_position(i.indkey, a.attnum)", [table])]
        return self._pks[table]

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Transaction]:
        with _storage_errors(), self._connection().transaction() as tx:  # nested: a savepoint
            yield tx

    @contextmanager
    def exclusive(self, name: str, wait: bool = False) -> Iterator[bool]:
        """A session-level advisory lock: held until the block ends, or until this hub's connection
        drops (a hub killed mid-purge frees it at once)."""
        key = lock_key(name)
        if wait:
            self.execute("SELECT pg_advisory_lock(?)", [key])
            held = True
        else:
            held = self.execute("SELECT pg_try_advisory_lock(?)", [key]).fetchone()[0]
        holder = self.conn
        try:
            yield held
        finally:
            if held and holder is self.conn and not holder.closed:  # a lock ends with its connection anyway
                self.execute("SELECT pg_advisory_unlock(?)", [key])

    def after_copy(self) -> None:
        """Identity columns continue after the highest id copied in (hub/storage/copy.py)."""
        for table, column in self.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
            self.execute(f'SELECT setval(pg_get_serial_sequence(\'"{table}"\', \'{column}\'), '
                         f'coalesce(max({column}), 0) + 1, false) FROM "{table}"')

    def erase_now(self) -> None:
        """Nothing to do at once: a deleted row is invisible to every query from its commit on, and
        its bytes leave the table file at the next (auto)vacuum (docs/scale-out.md, "Deleting")."""

    def close(self) -> None:
        self.conn.close()
