"""The ingestion ledger: status transitions, attempts, graph binding, and the planner's use of it."""

from __future__ import annotations

from ingest_pipeline.planning import plan_batch, sha256_of
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


def test_planner_skips_only_unchanged_ingested_files(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.sql", "b.sql", "c.sql"):
        (source / name).write_text(f"SELECT 1 FROM {name[0]}")
    ledger = Ledger(tmp_path / "l.db")
    ingest_all(ledger, source, ["a.sql", "b.sql", "c.sql"])
    ledger.mark_failed({"c.sql": "rejected"})
    (source / "b.sql").write_text("SELECT 2 FROM b")
    ledger.mark_ingested([IngestedFile("gone.sql", "0" * 64, 1, 1)])

    plan = plan_batch(source, ledger.entries())

    assert plan.unchanged == ["a.sql"]
    assert [t.path for t in plan.tasks] == ["b.sql", "c.sql"]
    assert plan.deleted == ["gone.sql"]
    assert [t.path for t in plan_batch(source, ledger.entries(), force=True).tasks] == ["a.sql", "b.sql", "c.sql"]


def test_another_graph_makes_everything_pending(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.sql").write_text("SELECT 1")
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.bind_graph("graph-1") is False  # first binding: nothing to reset
    ingest_all(ledger, source, ["a.sql"])
    assert ledger.bind_graph("graph-1") is False
    assert plan_batch(source, ledger.entries()).unchanged == ["a.sql"]

    assert ledger.bind_graph("graph-2") is True

    assert plan_batch(source, ledger.entries()).unchanged == []
    assert ledger.counts() == {"pending": 1}


def test_openlineage_outbox_keeps_first_queued_order_and_survives_reopening(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.queue_exports(["b.sql", "a.sql"], now=1.0) == ["a.sql", "b.sql"]
    assert ledger.queue_exports(["c.sql", "a.sql"], now=2.0) == ["a.sql", "b.sql", "c.sql"]  # a.sql keeps its place
    ledger.clear_exports(["a.sql", "c.sql"])
    ledger.close()

    reopened = Ledger(tmp_path / "l.db")
    assert reopened.queue_exports([], now=3.0) == ["b.sql"]
    reopened.close()
