"""When a Celery worker dies, the run ends once every submitted step has ended (dagster-celery would wait forever)."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType

from ingest_pipeline.jobs.lost_workers import stuck_on_lost_steps

SUCCESS, FAILURE = DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE


def submitted(step: str):
    return (step, DagsterEventType.ENGINE_EVENT, f'Submitting celery task for step "{step}" to queue "dagster".')


def lost(step: str):
    return (None, None, f"Step {step} finished without success or failure event. Downstream steps will not execute.")


def ended(step: str, event_type=SUCCESS):
    return (step, event_type, f'Finished execution of step "{step}" in 12ms.')


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ([submitted("a"), submitted("b"), ended("a")], []),  # b still runs: no worker lost
        ([submitted("a"), submitted("b"), lost("a")], []),  # b still runs on another worker: wait for it
        ([submitted("a"), submitted("b"), lost("a"), ended("b")], ["a"]),  # nothing left in flight: stuck
        ([submitted("a"), lost("a")], ["a"]),
        ([submitted("a"), submitted("b"), ended("b", FAILURE), lost("a")], ["a"]),
        ([submitted("a"), ended("a"), submitted("b"), ended("b")], []),  # a normal run
    ],
    ids=["no-loss", "loss-with-steps-in-flight", "loss-then-rest-done", "only-step-lost", "failure-and-loss", "normal"],
)
def test_a_run_is_stuck_only_when_a_worker_was_lost_and_nothing_else_runs(log, expected):
    assert stuck_on_lost_steps(log) == expected
