"""Content-addressed cache of lineage models in SQLite, shared by parallel parse steps.

Key: sha256(file bytes) + the derivation (extractor version, sqlglot version, dialect, column
switch), so an upgrade, another dialect or INGEST_COLUMN_LINEAGE never serves a stale model. Values are zlib-compressed JSON. Recency for LRU is collected in memory
and written once per flush, so a run of cache hits does not become a storm of writes.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.derivation import Derivation
from ingest_pipeline.lineage.model import FileLineage
from ingest_pipeline.state.sqlite import PARSE_CACHE_ID, open_database, transaction

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created_at REAL NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_last_used ON entries(last_used);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_SQLITE_MAX_VARIABLES = 900


def cache_key(sha256: str, derivation: Derivation) -> str:
    """The bytes and everything they were derived with (extractor, sqlglot, dialect, column switch)."""
    return hashlib.sha256(f"{sha256}|{derivation.signature}".encode()).hexdigest()


def encode(lineage: FileLineage) -> bytes:
    return zlib.compress(json.dumps(lineage.to_dict(), separators=(",", ":")).encode(), 6)


def decode(blob: bytes) -> FileLineage:
    return FileLineage.from_dict(json.loads(zlib.decompress(blob)))


@dataclass
class CacheStats:
    entries: int
    size_bytes: int
    value_bytes: int
    hits: int
    misses: int
    evictions: int
    oldest: float | None
    newest: float | None

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def counts(self) -> dict[str, int | float]:
        """The numbers every report of the cache shows (CLI, maintenance job)."""
        return {
            "entries": self.entries,
            "size_bytes": self.size_bytes,
            "value_bytes": self.value_bytes,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(self.hit_rate, 4),
            "evictions": self.evictions,
        }


class ParseCache:
    """One process's handle on the cache file. Not thread-safe; open one per process."""

    def __init__(
        self,
        path: Path,
        max_entries: int = 10_000,
        ttl_days: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.clock = clock
        self.max_entries = max_entries
        self.ttl_days = ttl_days
        opened = open_database(path, SCHEMA, SCHEMA_VERSION, "PARSE_CACHE_PATH", PARSE_CACHE_ID)
        self._db = opened.connection
        self.recovered = opened.recovered
        self._touched: set[str] = set()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def close(self) -> None:
        self.flush()
        self._db.close()

    def get_many(self, keys: list[str], count: bool = True) -> dict[str, FileLineage]:
        """Cached models for the keys that have one; counts hits and misses (unless `count` is off:
        a writer taking what a parse step of its run just stored is not a cache hit)."""
        found: dict[str, FileLineage] = {}
        for start in range(0, len(keys), _SQLITE_MAX_VARIABLES):
            batch = keys[start : start + _SQLITE_MAX_VARIABLES]
            marks = ",".join("?" * len(batch))
            for key, blob in self._db.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", batch):
                try:
                    found[key] = decode(blob)
                except (zlib.error, ValueError, KeyError, TypeError):
                    continue  # a garbled entry is a miss; the fresh parse overwrites it
        if count:
            self.hits += len(found)
            self.misses += len(set(keys)) - len(found)
        self._touched.update(found)
        return found

    def put_many(self, models: dict[str, FileLineage]) -> None:
        if not models:
            return
        now = self.clock()
        rows = [(key, encode(model), now, now) for key, model in models.items()]
        with transaction(self._db):
            self._db.executemany(
                "INSERT INTO entries(key, value, created_at, last_used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, last_used = excluded.last_used",
                rows,
            )
            self.evictions += self._evict_over_limit()

    def flush(self) -> None:
        """Write recency of hits and this handle's hit/miss/eviction counts, in one transaction."""
        if not (self._touched or self.hits or self.misses or self.evictions):
            return
        now = self.clock()
        touched = sorted(self._touched)
        with transaction(self._db):
            for start in range(0, len(touched), _SQLITE_MAX_VARIABLES):
                batch = touched[start : start + _SQLITE_MAX_VARIABLES]
                marks = ",".join("?" * len(batch))
                self._db.execute(f"UPDATE entries SET last_used = ? WHERE key IN ({marks})", [now, *batch])
            for name, value in (("hits", self.hits), ("misses", self.misses), ("evictions", self.evictions)):
                if value:
                    self._db.execute(
                        "INSERT INTO counters(name, value) VALUES (?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                        (name, value),
                    )
        self._touched.clear()
        self.hits = self.misses = self.evictions = 0

    def _evict_over_limit(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()
        excess = count - self.max_entries
        if excess <= 0:
            return 0
        self._db.execute(
            "DELETE FROM entries WHERE key IN (SELECT key FROM entries ORDER BY last_used, key LIMIT ?)", (excess,)
        )
        return excess

    def expire(self) -> int:
        """Drop entries unused for longer than the TTL; returns how many."""
        cutoff = self.clock() - self.ttl_days * 86_400
        with transaction(self._db):
            removed = self._db.execute("DELETE FROM entries WHERE last_used < ?", (cutoff,)).rowcount
        return removed

    def vacuum(self) -> None:
        self._db.execute("VACUUM")

    def clear(self) -> int:
        with transaction(self._db):
            removed = self._db.execute("DELETE FROM entries").rowcount
            self._db.execute("DELETE FROM counters")
        self._touched.clear()
        self.vacuum()
        return removed

    def stats(self) -> CacheStats:
        self.flush()
        entries, value_bytes, oldest, newest = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0), MIN(created_at), MAX(created_at) FROM entries"
        ).fetchone()
        counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        size = sum(Path(f"{self.path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{self.path}{suffix}").exists())
        return CacheStats(
            entries=entries,
            size_bytes=size,
            value_bytes=value_bytes,
            hits=counters.get("hits", 0),
            misses=counters.get("misses", 0),
            evictions=counters.get("evictions", 0),
            oldest=oldest,
            newest=newest,
        )
