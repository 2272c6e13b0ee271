"""Content-addressed cache of lineage models, shared by parallel parse steps (SQLite file or PostgreSQL).

Key: sha256(file bytes) + the derivation (extractor version, sqlglot version, dialect, column
switch), so an upgrade, another dialect or INGEST_COLUMN_LINEAGE never serves a stale model. Values are zlib-compressed JSON. Recency for LRU is collected in memory
and written once per flush, so a run of cache hits does not become a storm of writes. New entries
go in with INSERT ... ON CONFLICT DO NOTHING: two workers that parsed the same bytes agree.
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
from ingest_pipeline.state.sqlite import PARSE_CACHE_ID
from ingest_pipeline.state.store import StoreSpec, open_store

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
SPEC = StoreSpec("ingest_parse_cache", SCHEMA, SCHEMA_VERSION, "PARSE_CACHE_PATH", PARSE_CACHE_ID, "the parse cache")
_SQLITE_MAX_VARIABLES = 900
_TABLES = ("entries", "counters")


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


@dataclass(frozen=True)
class CacheSpec:
    """How another process (a parse pool's) opens the same cache."""

    path: str
    max_entries: int
    ttl_days: float
    state_url: str = ""

    def open(self) -> ParseCache:
        return ParseCache(Path(self.path), self.max_entries, self.ttl_days, state_url=self.state_url)


class ParseCache:
    """One process's handle on the cache: the SQLite file at `path`, or PostgreSQL when `state_url` is set.

    Not thread-safe; open one per process.
    """

    def __init__(
        self,
        path: Path,
        max_entries: int = 10_000,
        ttl_days: float = 30.0,
        clock: Callable[[], float] = time.time,
        *,
        state_url: str = "",
    ) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self.ttl_days = ttl_days
        self._db = open_store(SPEC, path, state_url)
        # The SQLite file as before, or where in PostgreSQL (a URL without its password): for messages.
        self.path: Path | str = Path(path) if not state_url else self._db.location
        self.recovered = self._db.recovered
        self._touched: set[str] = set()
        # Keys whose stored value did not decode: replaced by the next put, not kept forever.
        self._garbled: set[str] = set()
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
                    self._garbled.add(key)  # a miss; the fresh parse replaces it
        if count:
            self.hits += len(found)
            self.misses += len(set(keys)) - len(found)
        self._touched.update(found)
        return found

    def put_many(self, models: dict[str, FileLineage]) -> None:
        if not models:
            return
        now = self.clock()
        rows = [(key, encode(model), now, now) for key, model in sorted(models.items())]
        garbled = sorted(self._garbled & set(models))
        with self._db.transaction():
            self._db.executemany("DELETE FROM entries WHERE key = ?", [(key,) for key in garbled])
            self._db.executemany(
                "INSERT INTO entries(key, value, created_at, last_used) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
                rows,
            )
            self.evictions += self._evict_over_limit()
        self._garbled -= set(garbled)

    def flush(self) -> None:
        """Write recency of hits and this handle's hit/miss/eviction counts, in one transaction."""
        if not (self._touched or self.hits or self.misses or self.evictions):
            return
        now = self.clock()
        touched = sorted(self._touched)
        with self._db.transaction():
            for start in range(0, len(touched), _SQLITE_MAX_VARIABLES):
                batch = touched[start : start + _SQLITE_MAX_VARIABLES]
                marks = ",".join("?" * len(batch))
                self._db.execute(f"UPDATE entries SET last_used = ? WHERE key IN ({marks})", [now, *batch])
            for name, value in (("hits", self.hits), ("misses", self.misses), ("evictions", self.evictions)):
                if value:
                    self._db.execute(
                        "INSERT INTO counters(name, value) VALUES (?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET value = counters.value + excluded.value",
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
        with self._db.transaction():
            removed = self._db.execute("DELETE FROM entries WHERE last_used < ?", (cutoff,)).rowcount
        return removed

    def vacuum(self) -> None:
        self._db.vacuum(_TABLES)

    def clear(self) -> int:
        with self._db.transaction():
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
        return CacheStats(
            entries=entries,
            size_bytes=self._db.size_bytes(_TABLES),
            value_bytes=value_bytes,
            hits=counters.get("hits", 0),
            misses=counters.get("misses", 0),
            evictions=counters.get("evictions", 0),
            oldest=oldest,
            newest=newest,
        )
