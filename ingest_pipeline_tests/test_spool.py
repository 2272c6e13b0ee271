"""The run spool on SQLite and on PostgreSQL: what parse steps leave for their run's writer when the parse cache is off."""

from __future__ import annotations

from ingest_pipeline.state.spool import ABANDONED_AFTER_SECONDS, Spool
from ingest_pipeline_tests.support import Clock


def open_spool(backend, clock=None) -> Spool:
    return Spool(backend.folder / "spool.db", state_url=backend.url, **({"clock": clock} if clock else {}))


def test_entries_are_per_run_and_dropped_with_their_run(backend):
    spool = open_spool(backend)
    spool.put("run-a", {"k1": b"one", "k2": b"two"})
    spool.put("run-b", {"k1": b"other"})
    spool.put("run-a", {"k2": b"two again"})  # a retried parse step replaces its entry

    assert spool.get_many("run-a", ["k1", "k2", "missing"]) == {"k1": b"one", "k2": b"two again"}
    assert spool.get_many("run-b", ["k1", "k2"]) == {"k1": b"other"}

    assert spool.drop("run-a") == 2
    assert spool.get_many("run-a", ["k1", "k2"]) == {}
    assert spool.get_many("run-b", ["k1"]) == {"k1": b"other"}
    spool.close()


def test_a_run_that_died_is_cleared_by_a_later_drop(backend):
    clock = Clock()
    spool = open_spool(backend, clock)
    spool.put("dead-run", {"k": b"left behind"})
    clock.now += ABANDONED_AFTER_SECONDS + 1

    spool.drop("another-run")

    assert spool.get_many("dead-run", ["k"]) == {}
    spool.close()


def test_many_keys_are_read_past_sqlite_variable_limits(backend):
    spool = open_spool(backend)
    blobs = {f"k{i}": str(i).encode() for i in range(2500)}
    spool.put("run", blobs)

    assert spool.get_many("run", sorted(blobs)) == blobs
    spool.close()
