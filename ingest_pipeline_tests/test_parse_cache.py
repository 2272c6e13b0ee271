"""The parse cache: keys, LRU, TTL, self-healing and many processes at once, on SQLite and on PostgreSQL.

Tests taking the `backend` fixture run on both stores (one suite, two implementations); the
others exercise what only one of them has (a damaged file, an unreachable server).
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import psycopg2
import pytest

from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.derivation import Derivation
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline.state.parse_cache import ParseCache, cache_key
from ingest_pipeline.state.sqlite import StateFileError
from ingest_pipeline.state.store import StateUnavailableError
from ingest_pipeline_tests.support import Clock


def model(table: str):
    return extract_lineage(f"INSERT INTO {table} SELECT * FROM src_{table}", "postgres")


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(Derivation("snowflake", True), id="dialect"),
        pytest.param(Derivation("postgres", False), id="column-switch"),
        pytest.param(Derivation("postgres", True, extractor="next"), id="extractor"),
        pytest.param(Derivation("postgres", True, sqlglot="99.0.0"), id="sqlglot"),
    ],
)
def test_key_depends_on_bytes_and_every_part_of_the_derivation(other):
    sha, base = "0" * 64, Derivation("postgres", True)
    assert cache_key(sha, base) == cache_key(sha, Derivation("postgres", True))
    assert cache_key(sha, base) != cache_key("1" * 64, base)
    assert cache_key(sha, base) != cache_key(sha, other)


def test_round_trip_and_counters(backend):
    cache = backend.cache()
    cache.put_many({"k1": model("a")})

    found = cache.get_many(["k1", "k2"])

    assert found == {"k1": model("a")}
    stats = cache.stats()
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
    assert 0 < stats.value_bytes < 200  # compressed JSON, not a pickle of the AST


def test_lru_evicts_the_least_recently_used(backend):
    clock = Clock()
    cache = backend.cache(max_entries=3, clock=clock)
    for key in ("a", "b", "c"):
        cache.put_many({key: model(key)})
        clock.advance(1)
    cache.get_many(["a"])  # a becomes the most recently used...
    cache.flush()  # ...once recency is flushed (batched, not one write per hit)
    clock.advance(1)

    cache.put_many({"d": model("d")})

    assert set(cache.get_many(["a", "b", "c", "d"])) == {"a", "c", "d"}
    assert cache.stats().evictions == 1


def test_ttl_expiry_drops_only_stale_entries(backend):
    clock = Clock()
    cache = backend.cache(ttl_days=30, clock=clock)
    cache.put_many({"old": model("old")})
    clock.advance(20 * 86_400)
    cache.put_many({"new": model("new")})
    clock.advance(15 * 86_400)

    assert cache.expire() == 1
    assert set(cache.get_many(["old", "new"])) == {"new"}


def test_garbled_entry_is_a_miss_and_the_next_put_replaces_it(backend):
    cache = backend.cache()
    cache.put_many({"k": model("a")})
    cache._db.execute("UPDATE entries SET value = ?", (b"\x00\xff",))

    assert cache.get_many(["k"]) == {}
    cache.put_many({"k": model("a")})
    assert cache.get_many(["k"]) == {"k": model("a")}


def test_the_first_writer_of_a_key_wins(backend):
    """Two workers that parsed the same bytes: INSERT ... ON CONFLICT DO NOTHING keeps the first entry."""
    first, second = backend.cache(), backend.cache()
    first.put_many({"k": model("a")})
    second.put_many({"k": model("b")})

    assert second.get_many(["k"]) == {"k": model("a")}
    assert first.stats().entries == 1


def test_a_cache_of_a_newer_version_is_moved_aside_and_replaced(backend):
    cache = backend.cache()
    cache.put_many({"k": model("a")})
    cache._db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    cache.close()

    reopened = backend.cache()

    assert reopened.recovered and "schema version 999 is newer" in reopened.recovered
    assert reopened.stats().entries == 0
    reopened.put_many({"k": model("a")})
    assert set(reopened.get_many(["k"])) == {"k"}


def _corrupt_pages(path: Path) -> None:
    """Garble everything after the first page: the header (and our application id) survives."""
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    path.write_bytes(bytes(data))


def test_a_damaged_cache_file_is_moved_aside_and_replaced(tmp_path):
    path = tmp_path / "c.db"
    cache = ParseCache(path)
    cache.put_many({f"k{i}": model(f"t{i}") for i in range(200)})  # several pages
    cache.close()
    _corrupt_pages(path)

    cache = ParseCache(path)

    assert cache.recovered and "moved it to" in cache.recovered
    assert len([p for p in tmp_path.glob("c.db.corrupt-*") if p.name[-1].isdigit()]) == 1
    cache.put_many({"k": model("a")})
    assert set(cache.get_many(["k"])) == {"k"}


def _other_application(path: Path) -> None:
    sqlite3.connect(path).execute("CREATE TABLE invoices (id INTEGER)").connection.commit()


@pytest.mark.parametrize(
    "make, says",
    [
        pytest.param(lambda p: p.mkdir(), "is a directory", id="folder"),
        pytest.param(lambda p: p.write_bytes(b"my notes, not a database" * 100), "not a SQLite database", id="text-file"),
        pytest.param(_other_application, "another application", id="foreign-sqlite"),
        pytest.param(lambda p: Ledger(p).close(), "the ingestion ledger", id="the-ledger"),
    ],
)
def test_anything_not_ours_is_an_error_naming_the_variable_and_left_untouched(tmp_path, make, says):
    path = tmp_path / "target"
    make(path)
    before = sorted(q.name for q in tmp_path.iterdir())
    content = path.read_bytes() if path.is_file() else None

    with pytest.raises(StateFileError, match="PARSE_CACHE_PATH") as error:
        ParseCache(path)

    assert says in str(error.value)
    assert sorted(q.name for q in tmp_path.iterdir()) == before
    assert (path.read_bytes() if path.is_file() else None) == content


def test_unwritable_location_names_the_path_and_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(StateFileError, match="PARSE_CACHE_PATH") as error:
        ParseCache(blocker / "sub" / "c.db")
    assert str(blocker) in str(error.value)


def _hammer(path: str, url: str, worker: int, count: int) -> None:
    cache = ParseCache(Path(path), max_entries=100_000, state_url=url)
    for i in range(count):
        cache.put_many({f"w{worker}-{i}": model(f"t{worker}_{i}")})
        cache.get_many([f"w{(worker + 1) % 4}-{i}", f"w{worker}-{i}"])
        if i % 10 == 0:
            cache.flush()
    cache.close()


def test_many_processes_lose_and_garble_nothing(backend):
    backend.cache().close()
    count = 150 if backend.name == "sqlite" else 60  # a network round trip per statement: fewer, same contention
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(str(backend.folder / "c.db"), backend.url, w, count)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]

    cache = backend.cache()
    keys = [f"w{w}-{i}" for w in range(4) for i in range(count)]
    found = cache.get_many(keys)
    assert len(found) == 4 * count
    assert all(found[f"w{w}-{i}"] == model(f"t{w}_{i}") for w in range(4) for i in range(count))
    stats = cache.stats()
    assert stats.hits + stats.misses == 4 * count * 2 + 4 * count


def test_an_unreachable_postgres_is_one_error_naming_the_setting_not_the_password():
    from ingest_pipeline_tests.services import free_port

    url = f"postgresql://ingest:s3cret@127.0.0.1:{free_port()}/state"

    with pytest.raises(StateUnavailableError, match="INGEST_STATE_URL") as error:
        ParseCache(Path("unused.db"), state_url=url)

    assert "s3cret" not in str(error.value) and "ingest:***@127.0.0.1" in str(error.value)


def test_a_schema_of_another_application_is_an_error_and_left_untouched(postgres):
    database = postgres.create_database()
    url = postgres.url(database)
    foreign = psycopg2.connect(url)
    foreign.autocommit = True
    foreign.cursor().execute("CREATE SCHEMA ingest_parse_cache; CREATE TABLE ingest_parse_cache.invoices (id INTEGER)")
    try:
        with pytest.raises(StateFileError, match="INGEST_STATE_URL") as error:
            ParseCache(Path("unused.db"), state_url=url)
        assert "not the parse cache" in str(error.value)
        cursor = foreign.cursor()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'ingest_parse_cache'")
        assert cursor.fetchall() == [("invoices",)]
    finally:
        foreign.close()
        postgres.drop_database(database)


def open_fresh_cache(path: str, start, results) -> None:
    """One process of several opening the same new cache file at the same moment."""
    start.wait()
    try:
        ParseCache(Path(path)).close()
        results.put("ok")
    except Exception as error:  # noqa: BLE001 - reported to the test
        results.put(f"{type(error).__name__}: {error}")


def test_processes_creating_the_same_cache_at_once_all_open_it(tmp_path):
    context = multiprocessing.get_context("fork")
    for round_ in range(5):
        path = tmp_path / f"round{round_}" / "cache.db"
        start, results = context.Barrier(6), context.Queue()
        processes = [context.Process(target=open_fresh_cache, args=(str(path), start, results)) for _ in range(6)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)

        assert outcomes == ["ok"] * 6
        assert not list(path.parent.glob("*.corrupt-*"))  # nothing was taken for damaged and moved aside
