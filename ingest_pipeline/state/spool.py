"""A run-scoped spool: where parse steps leave their results for the writer when the parse cache is off.

Steps of one run pass keys, never the models themselves: a parse step puts each model's encoded
bytes here under (run id, key), the writer takes them by key, and the run drops its entries when
it finishes. Entries of runs that died before dropping theirs are removed after a day. Like the
other stores it is a SQLite file on one host, or a schema in PostgreSQL (INGEST_STATE_URL) when
the steps run on several.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ingest_pipeline.state.sqlite import SPOOL_ID
from ingest_pipeline.state.store import StoreSpec, open_store

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
SPEC = StoreSpec("ingest_spool", SCHEMA, SCHEMA_VERSION, "INGEST_SPOOL_PATH", SPOOL_ID, "the run spool")
_MAX_VARIABLES = 900
ABANDONED_AFTER_SECONDS = 86_400.0


class Spool:
    """One process's handle on the spool (SQLite file at `path`, or PostgreSQL at `state_url`)."""

    def __init__(self, path: Path | str, *, state_url: str = "", clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._db = open_store(SPEC, path, state_url)
        self.location = self._db.location
        self.recovered = self._db.recovered

    def close(self) -> None:
        self._db.close()

    def put(self, run_id: str, blobs: Mapping[str, bytes]) -> None:
        if not blobs:
            return
        now = self.clock()
        with self._db.transaction():
            self._db.executemany(
                "INSERT INTO entries(run_id, key, value, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
                [(run_id, key, blob, now) for key, blob in blobs.items()],
            )

    def get_many(self, run_id: str, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), _MAX_VARIABLES):
            batch = keys[start : start + _MAX_VARIABLES]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key, value FROM entries WHERE run_id = ? AND key IN ({marks})", [run_id, *batch])
            found.update((key, bytes(value)) for key, value in rows)
        return found

    def drop(self, run_id: str) -> int:
        """Forget the run's entries, and those of runs abandoned more than a day ago; returns how many."""
        with self._db.transaction():
            return self._db.execute(
                "DELETE FROM entries WHERE run_id = ? OR created_at < ?", (run_id, self.clock() - ABANDONED_AFTER_SECONDS)
            ).rowcount
