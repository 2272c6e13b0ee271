"""The run spool: what parse steps leave for their run's writer when the parse cache is off."""

from __future__ import annotations

from ingest_pipeline.state.spool import ABANDONED_AFTER_SECONDS, Spool


def test_entries_are_per_run_and_dropped_with_their_run(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    spool.put("run-a", {"k1": b"one", "k2": b"two"})
    spool.put("run-b", {"k1": b"other"})

    assert spool.get_many("run-a", ["k1", "k2", "missing"]) == {"k1": b"one", "k2": b"two"}
    assert spool.get_many("run-b", ["k1", "k2"]) == {"k1": b"other"}

    assert spool.drop("run-a") == 2
    assert spool.get_many("run-a", ["k1", "k2"]) == {}
    assert spool.get_many("run-b", ["k1"]) == {"k1": b"other"}


def test_a_run_that_died_is_cleared_by_a_later_drop(tmp_path):
    now = [1_000_000.0]
    spool = Spool(tmp_path / "spool.db", clock=lambda: now[0])
    spool.put("dead-run", {"k": b"left behind"})
    now[0] += ABANDONED_AFTER_SECONDS + 1

    spool.drop("another-run")

    assert spool.get_many("dead-run", ["k"]) == {}


def test_many_keys_are_read_past_sqlite_variable_limits(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    blobs = {f"k{i}": str(i).encode() for i in range(2500)}
    spool.put("run", blobs)

    assert spool.get_many("run", sorted(blobs)) == blobs
