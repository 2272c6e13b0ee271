"""Opening the project's SQLite files safely from many processes at once.

WAL lets readers run beside one writer, the busy timeout makes writers queue instead of failing,
and a file that is corrupt or from an incompatible schema is moved aside (kept for inspection)
and replaced by a fresh one, so a broken cache or ledger costs speed, never a run.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_MS = 60_000


class StateFileError(RuntimeError):
    """A state file cannot be created where it is configured."""


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


def open_database(path: Path, schema: str, schema_version: int, env_var: str) -> OpenedDatabase:
    """Open (creating if needed) a state database, self-healing a corrupt or incompatible file."""
    ensure_writable_parent(path, env_var)
    problem = _problem_with(path, schema_version)
    recovered = None
    if problem is not None:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{aside}{suffix}"))
        recovered = f"{path} was unusable ({problem}); moved it to {aside} and started a fresh one"
    connection = connect(path)
    connection.executescript(schema)  # idempotent CREATE ... IF NOT EXISTS statements
    connection.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(schema_version),))
    return OpenedDatabase(connection, recovered)


def ensure_writable_parent(path: Path, env_var: str) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StateFileError(f"cannot create directory {parent} for {path} (set by {env_var}): {error}") from error
    if not os.access(parent, os.W_OK):
        raise StateFileError(f"directory {parent} for {path} is not writable (set by {env_var})")


def _problem_with(path: Path, schema_version: int) -> str | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                return f"quick_check: {check[0] if check else 'no answer'}"
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        return f"{type(error).__name__}: {error}"
    if row is None or row[0] != str(schema_version):
        return f"schema version {row[0] if row else 'missing'}, expected {schema_version}"
    return None


class transaction:  # noqa: N801 - used as a context manager, reads like `with transaction(conn)`
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK: take the write lock up front so writers never deadlock."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.connection.execute("COMMIT" if exc_type is None else "ROLLBACK")
