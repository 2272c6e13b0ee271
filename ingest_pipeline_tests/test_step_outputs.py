"""The step-output store on SQLite and on PostgreSQL: values by run and name, retries replace, old runs expire."""

from __future__ import annotations

import pickle

from ingest_pipeline.state.step_outputs import RETENTION_SECONDS, StepOutputs
from ingest_pipeline_tests.support import Clock


def test_values_by_run_and_name_a_retry_replaces_and_old_runs_expire(backend):
    clock = Clock()
    store = StepOutputs(backend.folder / "outputs.db", state_url=backend.url, clock=clock)
    store.put("run-1", "parse_chunk[0]/result", pickle.dumps({"rows": [1, 2]}))
    store.put("run-1", "plan_batch/chunks/0", b"\x00" * 10)
    store.put("run-1", "parse_chunk[0]/result", pickle.dumps({"rows": [3]}))  # the step ran again
    clock.now += RETENTION_SECONDS / 2
    store.put("run-2", "plan_batch/chunks/0", b"later")

    assert pickle.loads(store.get("run-1", "parse_chunk[0]/result")) == {"rows": [3]}
    assert store.get("run-2", "plan_batch/chunks/0") == b"later"
    assert store.get("run-2", "parse_chunk[0]/result") is None

    clock.now += RETENTION_SECONDS / 2 + 1
    assert store.expire() == 2  # run-1's two values, older than the retention
    assert store.get("run-1", "plan_batch/chunks/0") is None and store.get("run-2", "plan_batch/chunks/0") == b"later"
    store.close()
