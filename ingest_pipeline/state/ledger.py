"""The ingestion ledger: per source file, what the graph is known to hold.

A file is `ingested` only after the graph write that carried it committed, and only for the graph
it was written to: the ledger remembers the identity of that graph (a random id the graph keeps in
a node of its own), so a wiped database or a different NEO4J_URI makes every file pending again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.state.sqlite import open_database, transaction

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    size_bytes INTEGER,
    mtime_ns INTEGER,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ingested', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    ingested_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
"""

PENDING, INGESTED, FAILED = "pending", "ingested", "failed"


@dataclass(frozen=True)
class LedgerEntry:
    path: str
    sha256: str | None
    size_bytes: int | None
    mtime_ns: int | None
    status: str
    attempts: int
    last_error: str | None
    ingested_at: float | None


@dataclass(frozen=True)
class IngestedFile:
    path: str
    sha256: str
    size_bytes: int
    mtime_ns: int


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        opened = open_database(path, SCHEMA, SCHEMA_VERSION, "INGEST_LEDGER_PATH")
        self._db = opened.connection
        self.recovered = opened.recovered

    def close(self) -> None:
        self._db.close()

    def bind_graph(self, graph_id: str) -> bool:
        """Make the ledger speak for graph_id. True if it spoke for another graph (now reset)."""
        with transaction(self._db):
            row = self._db.execute("SELECT value FROM meta WHERE key = 'graph_id'").fetchone()
            if row is not None and row[0] == graph_id:
                return False
            self._db.execute(
                "UPDATE files SET status = ?, ingested_at = NULL, updated_at = ? WHERE status = ?",
                (PENDING, time.time(), INGESTED),
            )
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('graph_id', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (graph_id,),
            )
            return row is not None

    def entries(self) -> dict[str, LedgerEntry]:
        rows = self._db.execute(
            "SELECT path, sha256, size_bytes, mtime_ns, status, attempts, last_error, ingested_at FROM files"
        )
        return {row[0]: LedgerEntry(*row) for row in rows}

    def get(self, path: str) -> LedgerEntry | None:
        row = self._db.execute(
            "SELECT path, sha256, size_bytes, mtime_ns, status, attempts, last_error, ingested_at "
            "FROM files WHERE path = ?",
            (path,),
        ).fetchone()
        return LedgerEntry(*row) if row else None

    def mark_ingested(self, files: Iterable[IngestedFile]) -> None:
        now = time.time()
        rows = [(f.path, f.sha256, f.size_bytes, f.mtime_ns, INGESTED, now, now) for f in files]
        with transaction(self._db):
            self._db.executemany(
                "INSERT INTO files(path, sha256, size_bytes, mtime_ns, status, attempts, last_error, "
                "ingested_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes, "
                "mtime_ns = excluded.mtime_ns, status = excluded.status, attempts = 0, last_error = NULL, "
                "ingested_at = excluded.ingested_at, updated_at = excluded.updated_at",
                rows,
            )

    def mark_failed(self, failures: dict[str, str], sha256s: dict[str, str] | None = None) -> None:
        """Record a failed attempt per path (error message), counting attempts."""
        now = time.time()
        sha256s = sha256s or {}
        with transaction(self._db):
            for path, error in sorted(failures.items()):
                self._db.execute(
                    "INSERT INTO files(path, sha256, status, attempts, last_error, updated_at) "
                    "VALUES (?, ?, ?, 1, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET status = excluded.status, attempts = attempts + 1, "
                    "last_error = excluded.last_error, updated_at = excluded.updated_at, "
                    "sha256 = COALESCE(excluded.sha256, sha256)",
                    (path, sha256s.get(path), FAILED, error[:2000], now),
                )

    def forget(self, paths: Iterable[str]) -> None:
        """Drop deleted files once their removal from the graph committed."""
        with transaction(self._db):
            self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall())
