"""A run-scoped spool: where parse steps leave their results for the writer when the parse cache is off.

Steps of one run pass keys, never the models themselves: a parse step puts each model's encoded
bytes here under (run id, key), the writer takes them by key, and the run drops its entries when
it finishes. Entries of runs that died before dropping theirs are removed after a day.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ingest_pipeline.state.sqlite import SPOOL_ID, open_database, transaction

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, key)
);
"""
_SQLITE_MAX_VARIABLES = 900
ABANDONED_AFTER_SECONDS = 86_400.0


class Spool:
    """One process's handle on the spool file (INGEST_SPOOL_PATH)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        opened = open_database(path, SCHEMA, SCHEMA_VERSION, "INGEST_SPOOL_PATH", SPOOL_ID)
        self._db = opened.connection
        self.recovered = opened.recovered

    def close(self) -> None:
        self._db.close()

    def put(self, run_id: str, blobs: Mapping[str, bytes]) -> None:
        if not blobs:
            return
        now = self.clock()
        with transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO entries(run_id, key, value, created_at) VALUES (?, ?, ?, ?)",
                [(run_id, key, blob, now) for key, blob in blobs.items()],
            )

    def get_many(self, run_id: str, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), _SQLITE_MAX_VARIABLES):
            batch = keys[start : start + _SQLITE_MAX_VARIABLES]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key, value FROM entries WHERE run_id = ? AND key IN ({marks})", [run_id, *batch])
            found.update(rows)
        return found

    def drop(self, run_id: str) -> int:
        """Forget the run's entries, and those of runs abandoned more than a day ago; returns how many."""
        with transaction(self._db):
            cursor = self._db.execute(
                "DELETE FROM entries WHERE run_id = ? OR created_at < ?", (run_id, self.clock() - ABANDONED_AFTER_SECONDS)
            )
        return cursor.rowcount
