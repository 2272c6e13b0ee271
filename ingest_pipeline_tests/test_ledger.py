"""The ingestion ledger: status transitions, attempts, graph binding, and the planner's use of it."""

from __future__ import annotations

import sqlite3

from ingest_pipeline.sources import sha256_of
from ingest_pipeline.state.ledger import FAILED, INGESTED, IngestedFile, Ledger


def ingest_all(ledger: Ledger, root, paths):
    ledger.mark_ingested(IngestedFile(p, sha256_of(root / p), 1, 1) for p in paths)


def test_failed_attempts_count_up_and_success_resets(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    ledger.mark_failed({"a.sql": "boom"})
    ledger.mark_failed({"a.sql": "boom again"})
    assert (ledger.get("a.sql").status, ledger.get("a.sql").attempts) == (FAILED, 2)
    assert ledger.get("a.sql").last_error == "boom again"

    ledger.mark_ingested([IngestedFile("a.sql", "f" * 64, 10, 5)])

    entry = ledger.get("a.sql")
    assert (entry.status, entry.attempts, entry.last_error, entry.sha256) == (INGESTED, 0, None, "f" * 64)
    assert entry.ingested_at is not None


def test_another_graph_makes_everything_pending(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.sql").write_text("SELECT 1")
    ledger = Ledger(tmp_path / "l.db")
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


def test_openlineage_outbox_keeps_first_queued_order_and_survives_reopening(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.queue_exports(["b.sql", "a.sql"], now=1.0) == ["a.sql", "b.sql"]
    assert ledger.queue_exports(["c.sql", "a.sql"], now=2.0) == ["a.sql", "b.sql", "c.sql"]  # a.sql keeps its place
    ledger.clear_exports(["a.sql", "c.sql"])
    ledger.close()

    reopened = Ledger(tmp_path / "l.db")
    assert reopened.queue_exports([], now=3.0) == ["b.sql"]
    reopened.close()
