"""Step outputs kept in the state store, so steps on different hosts hand each other results
through PostgreSQL instead of a shared filesystem.

A value is the pickled output of one step (its run, step key, output name and mapping key make
the name). A step that runs again in the same run (a retry) replaces its value. Values older than
the retention are dropped: a failed run can be re-executed from failure within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ingest_pipeline.state.sqlite import STEP_OUTPUTS_ID
from ingest_pipeline.state.store import StoreSpec, open_store

RETENTION_SECONDS = 7 * 86_400
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS outputs_created_at ON outputs(created_at);
"""
SPEC = StoreSpec("ingest_step_outputs", SCHEMA, SCHEMA_VERSION, "INGEST_STATE_URL", STEP_OUTPUTS_ID, "the step-output store")


class StepOutputs:
    """One process's handle on the step-output store (SQLite file at `path`, or PostgreSQL at `state_url`)."""

    def __init__(self, path: Path | str, *, state_url: str = "", clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._db = open_store(SPEC, path, state_url)
        self.location = self._db.location

    def put(self, run_id: str, name: str, value: bytes) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO outputs(run_id, name, value, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(run_id, name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
                (run_id, name, value, self.clock()),
            )

    def get(self, run_id: str, name: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM outputs WHERE run_id = ? AND name = ?", (run_id, name)).fetchone()
        return bytes(row[0]) if row else None

    def expire(self, retention_seconds: float = RETENTION_SECONDS) -> int:
        """Drop values older than the retention; returns how many."""
        with self._db.transaction():
            return self._db.execute("DELETE FROM outputs WHERE created_at < ?", (self.clock() - retention_seconds,)).rowcount

    def close(self) -> None:
        self._db.close()
