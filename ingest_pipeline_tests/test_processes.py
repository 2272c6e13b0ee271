"""Local process helpers: liveness, usable cores, and the collector's settings during bulk work."""

from __future__ import annotations

import gc
import os

import pytest

from ingest_pipeline.processes import BULK_GEN0_THRESHOLD, bulk_allocations, process_alive, usable_cpus


def test_bulk_work_collects_young_objects_less_often_and_restores_the_collector():
    before = gc.get_threshold()

    with bulk_allocations():
        assert gc.get_threshold() == (BULK_GEN0_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0  # the heap that existed is out of the collector's walks

    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_collector_is_restored_when_the_work_fails_and_cycles_are_still_collected():
    before = gc.get_threshold()

    class Node:
        pass

    with pytest.raises(RuntimeError), bulk_allocations():
        for _ in range(3 * BULK_GEN0_THRESHOLD):  # parent/child cycles, like sqlglot trees
            a, b = Node(), Node()
            a.child, b.parent = b, a
        alive = sum(isinstance(o, Node) for o in gc.get_objects())
        assert alive < 2 * BULK_GEN0_THRESHOLD  # 6 x threshold nodes were made: most were collected on the way
        raise RuntimeError("parse failed")

    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


@bulk_allocations()
def _decorated() -> tuple[int, int, int]:
    return gc.get_threshold()


def test_as_a_decorator_each_call_is_bulk_work():
    assert _decorated()[0] == BULK_GEN0_THRESHOLD and _decorated()[0] == BULK_GEN0_THRESHOLD
    assert gc.get_threshold()[0] != BULK_GEN0_THRESHOLD


def test_this_process_is_alive_and_may_use_at_least_one_core():
    assert process_alive(os.getpid())
    assert usable_cpus() >= 1
