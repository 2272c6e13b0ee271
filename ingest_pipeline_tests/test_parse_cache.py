"""The SQLite parse cache: keys, LRU, TTL, self-healing, and many processes at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.state.parse_cache import ParseCache, cache_key
from ingest_pipeline.state.sqlite import StateFileError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def model(table: str):
    return extract_lineage(f"INSERT INTO {table} SELECT * FROM src_{table}", "postgres")


def test_key_depends_on_bytes_dialect_and_extractor_version(monkeypatch):
    sha = "0" * 64
    assert cache_key(sha, "postgres") != cache_key(sha, "snowflake")
    assert cache_key(sha, "postgres") != cache_key("1" * 64, "postgres")
    before = cache_key(sha, "postgres")
    monkeypatch.setattr("ingest_pipeline.state.parse_cache.EXTRACTOR_VERSION", "next")
    assert cache_key(sha, "postgres") != before


def test_round_trip_and_counters(tmp_path):
    cache = ParseCache(tmp_path / "c.db")
    cache.put_many({"k1": model("a")})

    found = cache.get_many(["k1", "k2"])

    assert found == {"k1": model("a")}
    stats = cache.stats()
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
    assert 0 < stats.value_bytes < 200  # compressed JSON, not a pickle of the AST


def test_lru_evicts_the_least_recently_used(tmp_path):
    clock = Clock()
    cache = ParseCache(tmp_path / "c.db", max_entries=3, clock=clock)
    for key in ("a", "b", "c"):
        cache.put_many({key: model(key)})
        clock.advance(1)
    cache.get_many(["a"])  # a becomes the most recently used...
    cache.flush()  # ...once recency is flushed (batched, not one write per hit)
    clock.advance(1)

    cache.put_many({"d": model("d")})

    assert set(cache.get_many(["a", "b", "c", "d"])) == {"a", "c", "d"}
    assert cache.stats().evictions == 1


def test_ttl_expiry_drops_only_stale_entries(tmp_path):
    clock = Clock()
    cache = ParseCache(tmp_path / "c.db", ttl_days=30, clock=clock)
    cache.put_many({"old": model("old")})
    clock.advance(20 * 86_400)
    cache.put_many({"new": model("new")})
    clock.advance(15 * 86_400)

    assert cache.expire() == 1
    assert set(cache.get_many(["old", "new"])) == {"new"}


def test_garbled_entry_is_a_miss(tmp_path):
    cache = ParseCache(tmp_path / "c.db")
    cache.put_many({"k": model("a")})
    sqlite3.connect(tmp_path / "c.db").execute("UPDATE entries SET value = x'00ff'").connection.commit()

    assert cache.get_many(["k"]) == {}


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"this is not a database" * 100), id="not-sqlite"),
        pytest.param(
            lambda p: sqlite3.connect(p).execute("UPDATE meta SET value = '999'").connection.commit(), id="newer-schema"
        ),
    ],
)
def test_unusable_file_is_moved_aside_and_replaced(tmp_path, damage):
    path = tmp_path / "c.db"
    ParseCache(path).close()
    damage(path)

    cache = ParseCache(path)

    assert cache.recovered and "moved it to" in cache.recovered
    assert len([p for p in tmp_path.glob("c.db.corrupt-*") if p.suffix == ".db" or p.name[-1].isdigit()]) == 1
    cache.put_many({"k": model("a")})
    assert set(cache.get_many(["k"])) == {"k"}


def test_unwritable_location_names_the_path_and_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(StateFileError, match="PARSE_CACHE_PATH") as error:
        ParseCache(blocker / "sub" / "c.db")
    assert str(blocker) in str(error.value)


def _hammer(path: str, worker: int, count: int) -> None:
    cache = ParseCache(Path(path), max_entries=100_000)
    for i in range(count):
        cache.put_many({f"w{worker}-{i}": model(f"t{worker}_{i}")})
        cache.get_many([f"w{(worker + 1) % 4}-{i}", f"w{worker}-{i}"])
        if i % 10 == 0:
            cache.flush()
    cache.close()


def test_many_processes_lose_and_garble_nothing(tmp_path):
    path = tmp_path / "c.db"
    ParseCache(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(str(path), w, 150)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]

    cache = ParseCache(path)
    keys = [f"w{w}-{i}" for w in range(4) for i in range(150)]
    found = cache.get_many(keys)
    assert len(found) == 600
    assert all(found[f"w{w}-{i}"] == model(f"t{w}_{i}") for w in range(4) for i in range(150))
    stats = cache.stats()
    assert stats.hits + stats.misses == 600 * 2 + 600
