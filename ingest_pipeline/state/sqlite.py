"""Opening the project's SQLite files safely from many processes at once.

WAL lets readers run beside one writer, the busy timeout makes writers queue instead of failing,
and a file of ours that is damaged or from a newer schema is moved aside (kept for inspection) and
replaced by a fresh one, so a broken cache or ledger costs speed, never a run. A file that is not
recognisably ours (a folder, another program's data) is never touched: that is a clear error.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest_pipeline.state.store import StateFileError, StoreSpec

BUSY_TIMEOUT_MS = 60_000
SQLITE_HEADER = b"SQLite format 3\x00"
# SQLite application ids (`PRAGMA application_id`) that mark our files: "IPC1", "IPL1", "IPS1", "IPR1".
PARSE_CACHE_ID = 0x49504331
LEDGER_ID = 0x49504C31
STEP_OUTPUTS_ID = 0x49505331
SPOOL_ID = 0x49505231
_KNOWN_IDS = {
    PARSE_CACHE_ID: "the parse cache",
    LEDGER_ID: "the ingestion ledger",
    STEP_OUTPUTS_ID: "the step-output store",
    SPOOL_ID: "the run spool",
}


@dataclass
class OpenedDatabase:
    connection: sqlite3.Connection
    # Set when the previous file was unusable and was moved aside; says where and why.
    recovered: str | None = None


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def open_database(
    path: Path,
    schema: str,
    schema_version: int,
    env_var: str,
    application_id: int,
    migrations: Mapping[int, str] | None = None,
) -> OpenedDatabase:
    """Open (creating if needed) a state database of ours, self-healing a damaged or incompatible one.

    `application_id` marks the file as ours (SQLite keeps it in the header, readable even when the
    pages are damaged). Anything that is not recognisably ours - a folder, a foreign file, another
    application's database - is a StateFileError naming env_var and is never moved or changed.
    `migrations[v]` upgrades a file of schema version v to v + 1 in place.
    """
    ensure_writable_parent(path, env_var)
    # One process at a time: another one creating the file (its header written, its schema not yet)
    # would otherwise look foreign, or damaged and be moved aside. The folder is locked, so nothing
    # is added beside a file that is not ours.
    with _host_lock(path.parent):
        return _open(path, schema, schema_version, env_var, application_id, migrations)


def _open(
    path: Path, schema: str, schema_version: int, env_var: str, application_id: int, migrations: Mapping[int, str] | None
) -> OpenedDatabase:
    problem, version = _inspect(path, schema_version, env_var, application_id)
    recovered = None
    if problem is None and version is not None and version < schema_version:
        if all(v in (migrations or {}) for v in range(version, schema_version)):
            _migrate(path, version, schema_version, migrations or {})
        else:
            problem = f"schema version {version} cannot be upgraded to {schema_version}"
    if problem is not None:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{aside}{suffix}"))
        recovered = f"{path} was unusable ({problem}); moved it to {aside} and started a fresh one"
    connection = connect(path)
    connection.execute(f"PRAGMA application_id = {int(application_id)}")
    connection.executescript(schema)  # idempotent CREATE ... IF NOT EXISTS statements
    connection.execute(
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO NOTHING", (str(schema_version),)
    )
    return OpenedDatabase(connection, recovered)


@contextmanager
def _host_lock(path: Path | str, flags: int = os.O_RDONLY) -> Iterator[None]:
    """An exclusive lock between the processes of this host: flock on `path` (a folder, or a lock
    file that O_CREAT in `flags` creates), released when its descriptor closes."""
    descriptor = os.open(path, flags, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _migrate(path: Path, version: int, target: int, migrations: Mapping[int, str]) -> None:
    connection = connect(path)
    try:
        with transaction(connection):
            for step in range(version, target):
                for statement in migrations[step].split(";"):
                    if statement.strip():
                        connection.execute(statement)
            connection.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(target),))
    finally:
        connection.close()


def ensure_writable_parent(path: Path, env_var: str) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StateFileError(f"cannot create directory {parent} for {path} (set by {env_var}): {error}") from error
    if not os.access(parent, os.W_OK):
        raise StateFileError(f"directory {parent} for {path} is not writable (set by {env_var})")


def _inspect(path: Path, schema_version: int, env_var: str, application_id: int) -> tuple[str | None, int | None]:
    """(why a file of ours is unusable or None, its schema version if readable); StateFileError if not ours."""
    if path.is_dir():
        raise StateFileError(f"{path} (set by {env_var}) is a directory; point {env_var} at a database file, e.g. {path / path.name}.db")
    if not path.exists():
        return None, None
    if not path.is_file():
        raise StateFileError(f"{path} (set by {env_var}) is not a regular file; point {env_var} at a database file")
    with path.open("rb") as handle:
        header = handle.read(100)
    if not header:
        return None, None
    if not header.startswith(SQLITE_HEADER):
        raise StateFileError(
            f"{path} (set by {env_var}) is not a SQLite database of ingest-pipeline; it was left untouched. "
            f"Point {env_var} at another path, or remove the file if it is yours to delete"
        )
    found_id = int.from_bytes(header[68:72], "big") if len(header) >= 72 else 0
    if found_id not in (0, application_id):
        raise StateFileError(
            f"{path} (set by {env_var}) is {_KNOWN_IDS.get(found_id, 'a database of another application')}, "
            f"not the one {env_var} names; it was left untouched"
        )
    ours = found_id == application_id
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                problem = f"quick_check: {check[0] if check else 'no answer'}"
                if ours:
                    return problem, None
                raise StateFileError(f"{path} (set by {env_var}) is a damaged SQLite database ({problem}) that ingest-pipeline cannot recognise as its own; it was left untouched")
            has_meta = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if has_meta else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        if ours:
            return f"{type(error).__name__}: {error}", None
        raise StateFileError(f"{path} (set by {env_var}) cannot be read as a database of ingest-pipeline ({error}); it was left untouched") from error
    if row is None:
        if ours:
            return "no schema version", None
        raise StateFileError(f"{path} (set by {env_var}) is a SQLite database of another application; it was left untouched")
    try:
        version = int(row[0])
    except ValueError:
        return f"schema version {row[0]!r}", None
    if version > schema_version:
        return f"schema version {version} is newer than this version's {schema_version}", None
    return None, version


class transaction:  # noqa: N801 - used as a context manager, reads like `with transaction(conn)`
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK: take the write lock up front so writers never deadlock."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.connection.execute("COMMIT" if exc_type is None else "ROLLBACK")


class SqliteStore:
    """A store in a SQLite file of ours (see state/store.py): one host, many processes."""

    def __init__(self, path: Path, spec: StoreSpec) -> None:
        opened = open_database(path, spec.schema, spec.version, spec.path_setting, spec.application_id, spec.migrations)
        self.path = path
        self.location = str(path)
        self.recovered = opened.recovered
        self._db = opened.connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def transaction(self) -> transaction:
        return transaction(self._db)

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Held by one process of this host at a time (a lock file beside the database)."""
        return _host_lock(f"{self.path}.{name}.lock", os.O_WRONLY | os.O_CREAT)

    def size_bytes(self, tables: Sequence[str]) -> int:
        """The file and its write-ahead log (every table of the store lives in the one file)."""
        files = (Path(f"{self.path}{suffix}") for suffix in ("", "-wal"))
        return sum(f.stat().st_size for f in files if f.exists())

    def vacuum(self, tables: Sequence[str]) -> None:
        self._db.execute("VACUUM")

    def close(self) -> None:
        self._db.close()
