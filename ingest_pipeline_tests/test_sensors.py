"""sql_files_sensor tick by tick with a controllable clock, and the full_reconcile schedule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import DagsterRunStatus, SkipReason, build_sensor_context, instance_for_test
from dagster._core.test_utils import create_run_for_test
from dagster_prometheus import PrometheusResource

from ingest_pipeline.batching import BatchingPolicy
from ingest_pipeline.definitions import defs
from ingest_pipeline.jobs.assets import asset_config
from ingest_pipeline.resources import LedgerResource
from ingest_pipeline.sensors import BATCH_TAG, RETRY_TAG, build_sql_files_sensor
from ingest_pipeline.state.ledger import FAILED, IngestedFile, Ledger
from ingest_pipeline.sources import sha256_of
from ingest_pipeline_tests.support import graph_snapshot, run_ingest


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """One sensor over one folder and ledger; `tick()` evaluates it like the daemon would."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance, **policy) -> None:
        self.folder = tmp_path / "sql"
        self.folder.mkdir(exist_ok=True)
        monkeypatch.setenv("INGEST_SOURCE_DIR", str(self.folder))
        self.clock = Clock()
        self.ledger_resource = LedgerResource(path=str(tmp_path / "ledger.db"))
        self.prometheus = PrometheusResource(gateway="")
        self.sensor = build_sql_files_sensor(self.clock, BatchingPolicy(**policy))
        self.instance = instance
        self.cursor: str | None = None

    def write(self, name: str, sql: str = "SELECT 1") -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)

    def tick(self, advance: float = 0.0):
        self.clock.now += advance
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"ledger": self.ledger_resource, "prometheus": self.prometheus},
        )
        result = self.sensor(context)
        if not isinstance(result, SkipReason) and result.cursor is not None:
            self.cursor = result.cursor
        return result

    def ledger(self) -> Ledger:
        return Ledger(Path(self.ledger_resource.path))


@pytest.fixture
def instance():
    with instance_for_test() as instance:
        yield instance


def requested_paths(result, harness: Harness) -> list[list[str]]:
    return [harness.ledger().batch_paths(r.tags[BATCH_TAG]) for r in result.run_requests]


def test_debounce_waits_for_a_quiet_folder_and_collapses_repeats(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, debounce_seconds=5)
    assert h.tick().skip_reason.skip_message == "no changes"
    h.write("a.sql")
    h.write("b.sql")
    first = h.tick()
    assert first.run_requests == [] and first.skip_reason.skip_message.startswith("2 change(s) pending, flushing in 5 s")
    assert "quiet for 0.0s of 5.0s" in first.skip_reason.skip_message

    h.write("a.sql", "SELECT 2 FROM changed_again")
    second = h.tick(advance=3)
    assert second.run_requests == []
    assert h.ledger().pending_changes()["a.sql"].sightings == 2

    third = h.tick(advance=5)
    (request,) = third.run_requests
    assert requested_paths(third, h) == [["a.sql", "b.sql"]]
    assert request.run_key == request.tags[BATCH_TAG]
    assert asset_config(request.run_config)["batch_id"] == request.run_key
    assert request.tags["ingest_pipeline/file_count"] == "2" and request.tags["dagster/priority"] == "0"
    assert "in_process" in request.run_config["execution"]["config"]
    assert h.ledger().pending_changes() == {}
    assert h.tick(advance=60).run_requests == []  # in flight: not requested twice


def test_threshold_flushes_without_waiting(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, debounce_seconds=300, batch_threshold=3)
    for i in range(3):
        h.write(f"f{i}.sql")

    assert requested_paths(h.tick(), h) == [["f0.sql", "f1.sql", "f2.sql"]]


def test_realtime_mode_flushes_every_tick(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, debounce_seconds=300, batching_enabled=False)
    h.write("one.sql")

    assert requested_paths(h.tick(), h) == [["one.sql"]]


def test_large_backlog_becomes_several_runs_with_critical_first(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, batch_threshold=1, max_files_per_run=3, critical_globs=("finance/*",))
    for i in range(7):
        h.write(f"f{i}.sql")
    h.write("finance/ledger.sql")

    result = h.tick()

    assert requested_paths(result, h) == [
        ["finance/ledger.sql"],
        ["f0.sql", "f1.sql", "f2.sql"],
        ["f3.sql", "f4.sql", "f5.sql"],
        ["f6.sql"],
    ]
    assert [r.tags["ingest_pipeline/priority"] for r in result.run_requests] == ["CRITICAL"] + ["NORMAL"] * 3
    assert result.run_requests[0].tags["dagster/priority"] == "10"
    assert len({r.run_key for r in result.run_requests}) == 4
    assert json.loads(h.cursor)["seq"] == 4


def test_deleted_and_touched_files(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, batch_threshold=1)
    h.write("keep.sql")
    h.write("gone.sql")
    ledger = h.ledger()
    for name in ("keep.sql", "gone.sql"):
        stat = (h.folder / name).stat()
        ledger.mark_ingested([IngestedFile(name, sha256_of(h.folder / name), stat.st_size, stat.st_mtime_ns)])
    (h.folder / "gone.sql").unlink()
    (h.folder / "keep.sql").touch()  # same bytes, new mtime: not a change

    result = h.tick()

    assert requested_paths(result, h) == [["gone.sql"]]


def test_failed_run_is_requested_again_with_backoff_then_parked(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, batch_threshold=1, max_attempts=2, retry_backoff_seconds=100)
    h.write("flaky.sql")

    def fail(request) -> None:
        create_run_for_test(instance, job_name="ingest_sql_files", status=DagsterRunStatus.FAILURE, tags=dict(request.tags))

    (first,) = h.tick(advance=1).run_requests
    fail(first)
    assert h.tick(advance=1).run_requests == []  # settles the failed batch, then backs off
    entry = h.ledger().get("flaky.sql")
    assert (entry.status, entry.attempts) == (FAILED, 1) and "failed" in entry.last_error
    assert h.tick(advance=98).run_requests == []  # 99 s after the failure: still inside the 100 s backoff

    (second,) = h.tick(advance=2).run_requests
    assert second.run_key != first.run_key
    assert second.tags[RETRY_TAG] == "attempt 2/2 after 100 s backoff: flaky.sql" and RETRY_TAG not in first.tags
    fail(second)
    parked = h.tick(advance=1)
    assert parked.run_requests == [] and h.ledger().get("flaky.sql").attempts == 2
    assert parked.skip_reason.skip_message.startswith("no changes; 1 file(s) parked after INGEST_MAX_ATTEMPTS=2 failed runs")
    assert parked.skip_reason.skip_message.endswith(": flaky.sql")
    (observation,) = parked.asset_events
    assert observation.metadata["parked_files"].value == 1 and observation.metadata["parked_paths"].value == ["flaky.sql"]
    assert h.tick(advance=10_000).run_requests == []  # parked stays parked...

    h.write("flaky.sql", "SELECT 42")  # ...until its bytes change
    assert requested_paths(h.tick(advance=1), h) == [["flaky.sql"]]


def test_back_pressure_on_queue_and_memory(tmp_path, monkeypatch, instance):
    monkeypatch.setenv("INGEST_MAX_QUEUED_RUNS", "2")
    h = Harness(tmp_path, monkeypatch, instance, batch_threshold=1)
    h.write("a.sql")
    for _ in range(2):
        create_run_for_test(instance, job_name="ingest_sql_files", status=DagsterRunStatus.NOT_STARTED)

    skipped = h.tick()
    assert isinstance(skipped, SkipReason) and skipped.skip_message.startswith("back-pressure: 2 ingest runs queued (INGEST_MAX_QUEUED_RUNS=2)")

    monkeypatch.setenv("INGEST_MAX_QUEUED_RUNS", "50")
    monkeypatch.setenv("INGEST_MIN_AVAILABLE_MEMORY_MB", str(10**9))
    hungry = Harness(tmp_path, monkeypatch, instance, batch_threshold=1)
    low_memory = hungry.tick()
    assert isinstance(low_memory, SkipReason) and "INGEST_MIN_AVAILABLE_MEMORY_MB" in low_memory.skip_message


def test_cursor_stays_tiny_whatever_the_folder_size(tmp_path, monkeypatch, instance):
    h = Harness(tmp_path, monkeypatch, instance, batch_threshold=10**6, debounce_seconds=1, max_files_per_run=500)
    for i in range(3000):
        h.write(f"d{i % 30}/f{i}.sql")

    h.tick()
    result = h.tick(advance=2)

    assert len(result.run_requests) == 6
    assert len(h.cursor.encode()) < 4096
    assert all(len(json.dumps(r.run_config)) < 1024 for r in result.run_requests)


def test_full_reconcile_schedule_requests_a_batch_priority_full_scan():
    schedule = defs.resolve_schedule_def("full_reconcile")
    assert schedule.job_name == "ingest_sql_files" and schedule.cron_schedule == "0 2 * * *"


def test_sensor_driven_runs_equal_one_full_ingest(tmp_path, monkeypatch, instance, resources):
    h = Harness(tmp_path, monkeypatch, instance, batch_threshold=1)
    h.ledger_resource = resources["ledger"]
    shutil.copytree(Path(__file__).parent / "fixtures" / "warehouse", h.folder, dirs_exist_ok=True)

    def drain() -> None:
        for request in h.tick(advance=10).run_requests:
            config = asset_config(request.run_config)
            result = run_ingest(
                resources, Path(config["source_dir"]), instance=instance, tags=request.tags, batch_id=config["batch_id"]
            )
            assert result.success
        h.tick(advance=10)  # settles the finished batches

    drain()
    (h.folder / "staging.sql").write_text("INSERT INTO staging.orders SELECT * FROM raw.orders_v2;\n")
    (h.folder / "raw" / "orders.sql").unlink()
    h.write("marts/extra.sql", "CREATE VIEW marts.extra AS SELECT * FROM marts.revenue")
    drain()
    driven = graph_snapshot(resources["neo4j"])

    resources["neo4j"].query("MATCH (n) DETACH DELETE n")
    fresh_resources = {**resources, "ledger": LedgerResource(path=str(tmp_path / "fresh-ledger.db"))}
    run_ingest(fresh_resources, h.folder)

    assert graph_snapshot(resources["neo4j"]) == driven
    assert ("marts.extra", "DEPENDS_ON", "marts.revenue") in driven[0]
    assert not any(a == "raw/orders.sql" for a, _, _ in driven[0])
