"""The ingestion ledger on SQLite and on PostgreSQL: status transitions, attempts, graph binding,
batches claimed by concurrent sensors, metric totals, the catalog and the OpenLineage outbox."""

from __future__ import annotations

import multiprocessing
import queue
import sqlite3
from pathlib import Path

import pytest
from ingest_pipeline.sources import sha256_of
from ingest_pipeline.lineage.model import ColumnRef, TableRef
from ingest_pipeline.state.ledger import FAILED, INGESTED, IngestedFile, Ledger


def ingest_all(ledger: Ledger, root, paths):
    ledger.mark_ingested(IngestedFile(p, sha256_of(root / p), 1, 1) for p in paths)


def test_failed_attempts_count_up_and_success_resets(backend):
    ledger = backend.ledger()
    ledger.mark_failed({"a.sql": "boom"})
    ledger.mark_failed({"a.sql": "boom again"})
    assert (ledger.get("a.sql").status, ledger.get("a.sql").attempts) == (FAILED, 2)
    assert ledger.get("a.sql").last_error == "boom again"

    ledger.mark_ingested([IngestedFile("a.sql", "f" * 64, 10, 5)])

    entry = ledger.get("a.sql")
    assert (entry.status, entry.attempts, entry.last_error, entry.sha256) == (INGESTED, 0, None, "f" * 64)
    assert entry.ingested_at is not None


def test_another_graph_makes_everything_pending(backend):
    source = backend.folder / "src"
    source.mkdir()
    (source / "a.sql").write_text("SELECT 1")
    ledger = backend.ledger()
    assert ledger.bind_graph("graph-1") is False  # first binding: nothing to reset
    ingest_all(ledger, source, ["a.sql"])
    assert ledger.bind_graph("graph-1") is False
    assert ledger.get("a.sql").status == INGESTED

    assert ledger.bind_graph("graph-2") is True

    assert ledger.get("a.sql").status == "pending"
    assert ledger.counts() == {"pending": 1}


def test_a_version_1_ledger_is_upgraded_in_place(tmp_path):
    path = tmp_path / "l.db"
    legacy = sqlite3.connect(path)
    legacy.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE files (path TEXT PRIMARY KEY, sha256 TEXT, size_bytes INTEGER, mtime_ns INTEGER, "
        "status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, ingested_at REAL, updated_at REAL NOT NULL);"
        "INSERT INTO files VALUES ('a.sql', 'abc', 1, 1, 'ingested', 0, NULL, 1.0, 1.0);"
    )
    legacy.commit()
    legacy.close()

    ledger = Ledger(path)

    assert ledger.recovered is None
    entry = ledger.get("a.sql")
    assert (entry.status, entry.sha256, entry.derivation) == (INGESTED, "abc", None)


def test_openlineage_outbox_keeps_first_queued_order_and_survives_reopening(backend):
    ledger = backend.ledger()
    assert ledger.queue_exports(["b.sql", "a.sql"], now=1.0) == ["a.sql", "b.sql"]
    assert ledger.queue_exports(["c.sql", "a.sql"], now=2.0) == ["a.sql", "b.sql", "c.sql"]  # a.sql keeps its place
    ledger.clear_exports(["a.sql", "c.sql"])
    ledger.close()

    reopened = backend.ledger()
    assert reopened.queue_exports([], now=3.0) == ["b.sql"]
    reopened.close()


def _claim(path: str, url: str, worker: int, paths: list[str], claimed) -> None:
    ledger = Ledger(Path(path), state_url=url)
    for start in range(0, len(paths), 5):
        claimed.put(ledger.create_batch(f"w{worker}-{start}", paths[start : start + 5], "normal", 1.0))
    ledger.close()


def test_concurrent_sensors_claim_each_pending_change_exactly_once(backend):
    paths = [f"f{i:03d}.sql" for i in range(60)]
    ledger = backend.ledger()
    ledger.note_changes({p: (1, 1) for p in paths}, now=1.0)
    context = multiprocessing.get_context("spawn")
    claimed = context.Queue()
    workers = [
        context.Process(target=_claim, args=(str(backend.folder / "l.db"), backend.url, w, paths[w * 7 :] + paths[: w * 7], claimed))
        for w in range(3)
    ]
    for process in workers:
        process.start()
    batches = [claimed.get(timeout=120) for _ in range(3 * 12)]
    for process in workers:
        process.join(timeout=60)

    every_claim = sorted(p for batch in batches for p in batch)
    assert every_claim == paths  # each file in exactly one batch
    assert sorted(p for b in ledger.open_batches() for p in ledger.batch_paths(b)) == paths
    assert ledger.pending_changes() == {}
    assert ledger.create_batch("late", paths[:5], "normal", 2.0) == []  # nothing left to claim: no batch
    assert "late" not in ledger.open_batches()


def _accumulate(path: str, url: str, count: int) -> None:
    ledger = Ledger(Path(path), state_url=url)
    for _ in range(count):
        ledger.accumulate_metrics({("files_total", "source=a"): 1.0, ("runs_total", ""): 0.5})
    ledger.close()


def test_metric_totals_from_many_processes_add_up(backend):
    backend.ledger().close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_accumulate, args=(str(backend.folder / "l.db"), backend.url, 40)) for _ in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)

    totals = backend.ledger().accumulate_metrics({})
    assert totals == {("files_total", "source=a"): 120.0, ("runs_total", ""): 60.0}


def test_catalog_dependencies_and_stale_dependents(backend):
    ledger = backend.ledger()
    orders = TableRef("", "raw", "orders")
    assert ledger.definitions_version() is None
    version = ledger.replace_definitions(["a.sql"], {"a.sql": [(0, "raw.orders", [ColumnRef(orders, "id", ()), ColumnRef(orders, "amount", ())])]})
    ledger.mark_ingested([IngestedFile("b.sql", "b" * 64, 1, 1), IngestedFile("c.sql", "c" * 64, 1, 1)])
    ledger.replace_definition_dependencies(["b.sql", "c.sql"], {"b.sql": {"raw.orders"}, "c.sql": {"raw.other"}})

    assert ledger.definitions() == {"raw.orders": [ColumnRef(orders, "id", ()), ColumnRef(orders, "amount", ())]}
    assert ledger.defined_tables(["a.sql", "b.sql"]) == {"raw.orders"} and ledger.defined_tables(["b.sql"]) == set()
    assert ledger.definitions_version() == version
    assert ledger.mark_dependents_stale({"raw.orders"}, exclude=set()) == ["b.sql"]
    assert ledger.get("b.sql").status == "pending" and ledger.get("c.sql").status == INGESTED


def _take_writer_lock(path: str, url: str, ready, acquired) -> None:
    ledger = Ledger(Path(path), state_url=url)
    ready.put(True)
    with ledger.writer_lock():
        acquired.put(True)
    ledger.close()


def test_the_writer_lock_makes_writers_on_one_ledger_take_turns(backend):
    ledger = backend.ledger()
    context = multiprocessing.get_context("spawn")
    ready, acquired = context.Queue(), context.Queue()
    with ledger.writer_lock():
        other = context.Process(target=_take_writer_lock, args=(str(backend.folder / "l.db"), backend.url, ready, acquired))
        other.start()
        ready.get(timeout=120)
        with pytest.raises(queue.Empty):
            acquired.get(timeout=2)  # the other writer waits while this one holds the lock
    assert acquired.get(timeout=60)  # and gets it once released
    other.join(timeout=60)
    ledger.close()
