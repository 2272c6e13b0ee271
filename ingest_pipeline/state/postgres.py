"""A store in PostgreSQL (INGEST_STATE_URL), shared by every host of a cluster.

Each store keeps its tables in a schema of its own (`ingest_parse_cache`, `ingest_ledger`, ...),
so one database holds them all and the SQL the stores share with SQLite runs unchanged under
`search_path`. Writers are serialised per store by a transaction-scoped advisory lock, which gives
the same guarantees as SQLite's write lock (batches, metric totals and catalog updates are never
interleaved); reads take no lock. A store of a newer or unreadable version is renamed aside
(`<schema>_aside_<time>`) and started afresh; a schema of that name holding anything else is an
error that names INGEST_STATE_URL and is never changed.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extras

from ingest_pipeline.state.store import STATE_URL_SETTING, StateFileError, StateUnavailableError, StoreSpec, masked

CONNECT_TIMEOUT_SECONDS = 10
_TYPES = ((r"\bBLOB\b", "BYTEA"), (r"\bREAL\b", "DOUBLE PRECISION"), (r"\bINTEGER\b", "BIGINT"))


def postgres_schema(sqlite_schema: str) -> str:
    """The stores' DDL is written in SQLite's types; these are PostgreSQL's equivalents."""
    for pattern, replacement in _TYPES:
        sqlite_schema = re.sub(pattern, replacement, sqlite_schema)
    return sqlite_schema


def connect(url: str, application: str) -> Any:
    """A connection in autocommit mode, or StateUnavailableError naming the setting (never the password)."""
    try:
        connection = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name=application)
    except psycopg2.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StateUnavailableError(
            f"cannot reach PostgreSQL at {masked(url)} (set by {STATE_URL_SETTING}): {reason}"
        ) from None
    connection.autocommit = True
    return connection


def _lock_key(namespace: str) -> int:
    return int.from_bytes(hashlib.sha256(f"ingest-pipeline:{namespace}".encode()).digest()[:8], "big", signed=True)


class PostgresStore:
    """One store's schema in the database at `url`."""

    def __init__(self, url: str, spec: StoreSpec) -> None:
        self.spec = spec
        self.url = masked(url)
        self.location = f"{self.url} (schema {spec.namespace})"
        self.recovered: str | None = None
        self._lock = _lock_key(spec.namespace)
        self._db = connect(url, f"ingest-pipeline {spec.namespace}")
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        spec = self.spec
        cursor = self._db.cursor()
        cursor.execute("SELECT pg_advisory_lock(%s)", (self._lock,))  # one process creates or upgrades at a time
        try:
            problem, version = self._inspect(cursor)
            if problem is None and version is not None and version < spec.version:
                if all(v in spec.migrations for v in range(version, spec.version)):
                    self._migrate(cursor, version)
                else:
                    problem = f"schema version {version} cannot be upgraded to {spec.version}"
            if problem is not None:
                aside = f"{spec.namespace}_aside_{int(time.time())}"
                cursor.execute(f'ALTER SCHEMA "{spec.namespace}" RENAME TO "{aside}"')
                self.recovered = f"{self.location} was unusable ({problem}); renamed it to schema {aside} and started a fresh one"
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{spec.namespace}"')
            cursor.execute(f'SET search_path TO "{spec.namespace}"')
            cursor.execute(postgres_schema(spec.schema))
            cursor.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', %s), ('application', %s) ON CONFLICT (key) DO NOTHING",
                (str(spec.version), spec.label),
            )
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", (self._lock,))

    def _inspect(self, cursor: Any) -> tuple[str | None, int | None]:
        """(why our schema is unusable or None, its version if it has one); StateFileError if it is not ours."""
        namespace = self.spec.namespace
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (namespace,))
        if cursor.fetchone()[0] == 0:
            return None, None
        cursor.execute("SELECT to_regclass(%s)", (f'"{namespace}".meta',))
        rows: dict[str, str] = {}
        if cursor.fetchone()[0] is not None:
            cursor.execute(f'SELECT key, value FROM "{namespace}".meta')
            rows = dict(cursor.fetchall())
        if rows.get("application") != self.spec.label:
            raise StateFileError(
                f"schema {namespace} in {self.url} (set by {STATE_URL_SETTING}) holds tables that are "
                f"not {self.spec.label} of ingest-pipeline; it was left untouched"
            )
        try:
            version = int(rows.get("schema_version", ""))
        except ValueError:
            return f"schema version {rows.get('schema_version')!r}", None
        if version > self.spec.version:
            return f"schema version {version} is newer than this version's {self.spec.version}", None
        return None, version

    def _migrate(self, cursor: Any, version: int) -> None:
        cursor.execute("BEGIN")
        try:
            cursor.execute(f'SET LOCAL search_path TO "{self.spec.namespace}"')
            for step in range(version, self.spec.version):
                cursor.execute(postgres_schema(self.spec.migrations[step]))
            cursor.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(self.spec.version),))
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._db.cursor()
        cursor.execute(_placeholders(sql), tuple(params))
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            psycopg2.extras.execute_batch(self._db.cursor(), _placeholders(sql), [tuple(r) for r in rows], page_size=500)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """BEGIN, then this store's writer lock (released at COMMIT/ROLLBACK), as SQLite's BEGIN IMMEDIATE."""
        cursor = self._db.cursor()
        cursor.execute("BEGIN")
        try:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))
            yield self
        except BaseException:
            if not self._db.closed:
                cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session lock on this connection, held across the block's transactions."""
        key = _lock_key(f"{self.spec.namespace}:{name}")
        cursor = self._db.cursor()
        cursor.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            if not self._db.closed:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def size_bytes(self, tables: Sequence[str]) -> int:
        total = 0
        for table in tables:
            total += self.execute("SELECT pg_total_relation_size(to_regclass(?))", (table,)).fetchone()[0] or 0
        return total

    def vacuum(self, tables: Sequence[str]) -> None:
        for table in tables:
            self.execute(f'VACUUM "{table}"')

    def close(self) -> None:
        self._db.close()


def _placeholders(sql: str) -> str:
    """The stores' `?` placeholders in psycopg2's style (a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
