"""`sql_files_sensor` and the `full_reconcile` schedule: Dagster's shell around ingest_pipeline.batching.

The sensor's cursor is a few numbers (the batch sequence and how many files are parked); the file
state lives in the ledger's SQLite tables, and a run request carries only its batch id.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import (
    AssetObservation,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster_prometheus import PrometheusResource

from ingest_pipeline import writer_slot
from ingest_pipeline.batching import BATCH, PRIORITY_TAG_VALUES, BatchingPolicy, NewBatch, decide_tick
from ingest_pipeline.jobs.executor import IN_PROCESS_CONFIG, default_config
from ingest_pipeline.jobs.ingest import GRAPH_ASSET, ingest_sql_files
from ingest_pipeline.sources import sha256_or_none, split_key
from ingest_pipeline.metrics import SENSOR_METRICS
from ingest_pipeline.resources import LedgerResource
from ingest_pipeline.resources.metrics import push_metrics
from ingest_pipeline import settings as s
from ingest_pipeline.state.ledger import INGESTED, Ledger

BATCH_TAG = "ingest_pipeline/batch_id"
FILE_COUNT_TAG = "ingest_pipeline/file_count"
PRIORITY_TAG = "ingest_pipeline/priority"
_FINISHED_BAD = {DagsterRunStatus.FAILURE: "failed", DagsterRunStatus.CANCELED: "was canceled"}
_WAITING = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]


def policy_from_settings(config: s.Settings) -> BatchingPolicy:
    return BatchingPolicy(
        debounce_seconds=config[s.INGEST_DEBOUNCE_SECONDS],
        batch_threshold=config[s.INGEST_BATCH_THRESHOLD],
        max_files_per_run=config[s.INGEST_MAX_FILES_PER_RUN],
        batching_enabled=config[s.ENABLE_BATCHING],
        max_attempts=config[s.INGEST_MAX_ATTEMPTS],
        retry_backoff_seconds=config[s.INGEST_RETRY_BACKOFF_SECONDS],
        critical_globs=config[s.INGEST_CRITICAL_GLOBS],
        include=config[s.INGEST_INCLUDE],
        ignore=config[s.INGEST_IGNORE],
        follow_symlinks=config[s.INGEST_FOLLOW_SYMLINKS],
        source=config[s.INGEST_SOURCE_NAME],
    )


def available_memory_mb() -> float | None:
    """MemAvailable from /proc/meminfo, or None where there is no such file."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_config_for(batch: NewBatch, source_dir: str, source: str, in_process_max_files: int) -> dict[str, Any]:
    """Small batches run in process (step start-up would dominate), large ones fan out."""
    small = len(batch.paths) < in_process_max_files
    return {
        "ops": {"plan_batch": {"config": {"source_dir": source_dir, "source_name": source, "batch_id": batch.batch_id}}},
        "execution": {"config": IN_PROCESS_CONFIG if small else default_config()},
    }


def _settle_finished_batches(context: SensorEvaluationContext, ledger: Ledger, folder: Path, now: float) -> None:
    """Close batches whose runs ended; a failed or canceled run's unwritten files count an attempt."""
    open_ids = ledger.open_batches()
    if not open_ids:
        return
    runs = context.instance.get_runs(RunsFilter(job_name=ingest_sql_files.name, tags={BATCH_TAG: open_ids}))
    by_batch = {run.tags[BATCH_TAG]: run for run in runs}
    for batch_id, run in sorted(by_batch.items()):
        if run.status == DagsterRunStatus.SUCCESS:
            ledger.close_batch(batch_id, "succeeded", now)
        elif run.status in _FINISHED_BAD:
            unwritten = [k for k in ledger.batch_paths(batch_id) if (e := ledger.get(k)) is None or e.status != INGESTED]
            ledger.mark_failed(
                {k: f"run {run.run_id} {_FINISHED_BAD[run.status]}" for k in unwritten},
                sha256s={k: sha for k in unwritten if (sha := sha256_or_none(folder / split_key(k)[1]))},
                now=now,
            )
            ledger.close_batch(batch_id, "failed", now)
            context.log.warning(f"batch {batch_id}: run {run.run_id} {_FINISHED_BAD[run.status]}; {len(unwritten)} file(s) will be retried")


def _back_pressure(context: SensorEvaluationContext, max_queued: int, min_memory_mb: float) -> str | None:
    queued = context.instance.get_runs_count(RunsFilter(job_name=ingest_sql_files.name, statuses=_WAITING))
    if queued >= max_queued:
        return f"{queued} ingest run(s) already queued (INGEST_MAX_QUEUED_RUNS={max_queued}); waiting for the queue to drain"
    memory = available_memory_mb()
    if memory is not None and memory < min_memory_mb:
        return f"only {memory:.0f} MB of memory available (INGEST_MIN_AVAILABLE_MEMORY_MB={min_memory_mb:.0f})"
    return None


def build_sql_files_sensor(
    clock: Callable[[], float] = time.time, policy: BatchingPolicy | None = None, name: str = "sql_files_sensor"
) -> SensorDefinition:
    """The sensor, with the clock and policy injectable so tests can drive it tick by tick."""
    config = s.load()
    policy = policy or policy_from_settings(config)
    source_dir = config[s.INGEST_SOURCE_DIR]
    max_queued = config[s.INGEST_MAX_QUEUED_RUNS]
    min_memory_mb = config[s.INGEST_MIN_AVAILABLE_MEMORY_MB]
    in_process_max_files = config[s.INGEST_INPROCESS_MAX_FILES]

    @sensor(
        name=name,
        job=ingest_sql_files,
        minimum_interval_seconds=config[s.INGEST_SENSOR_INTERVAL_SECONDS],
        default_status=DefaultSensorStatus.STOPPED,
        description="Debounced batches of new, changed and deleted SQL files under INGEST_SOURCE_DIR.",
    )
    def sql_files_sensor(
        context: SensorEvaluationContext, ledger: LedgerResource, prometheus: PrometheusResource
    ) -> SensorResult | SkipReason:
        cursor = json.loads(context.cursor) if context.cursor else {"seq": 0, "parked": 0}
        now = clock()
        folder = Path(source_dir)
        if not folder.is_dir():
            return SkipReason(f"source directory {folder.resolve()} does not exist (INGEST_SOURCE_DIR)")
        state = ledger.open()
        try:
            _settle_finished_batches(context, state, folder, now)
            pressure = _back_pressure(context, max_queued, min_memory_mb)
            if pressure:
                return SkipReason(pressure)
            decision = decide_tick(folder, state, policy, now, cursor["seq"])
            push_metrics(
                prometheus,
                state,
                context.log,
                source="sensor",
                names=SENSOR_METRICS,
                increments={("events_deduplicated_total", ""): decision.deduplicated},
                gauges={"queue_size": float(decision.pending + decision.in_flight)},
                announce=False,
            )
        finally:
            state.close()
        events = []
        if len(decision.parked) != cursor["parked"]:
            context.log.warning(f"{len(decision.parked)} file(s) parked after INGEST_MAX_ATTEMPTS failures: {decision.parked[:20]}")
            events.append(
                AssetObservation(
                    asset_key=GRAPH_ASSET,
                    metadata={"parked_files": len(decision.parked), "parked_paths": decision.parked[:100]},
                )
            )
        new_cursor = json.dumps({"seq": cursor["seq"] + len(decision.batches), "parked": len(decision.parked)})
        requests = [
            RunRequest(
                run_key=batch.batch_id,
                run_config=run_config_for(batch, source_dir, policy.source, in_process_max_files),
                tags={
                    "dagster/priority": PRIORITY_TAG_VALUES[batch.priority],
                    PRIORITY_TAG: batch.priority,
                    BATCH_TAG: batch.batch_id,
                    FILE_COUNT_TAG: str(len(batch.paths)),
                },
            )
            for batch in decision.batches
        ]
        if requests:
            context.log.info(
                f"{len(requests)} batch(es), {sum(len(b.paths) for b in decision.batches)} file(s); "
                f"{decision.deduplicated} repeated change(s) collapsed"
            )
            return SensorResult(run_requests=requests, cursor=new_cursor, asset_events=events)
        reason = decision.waiting or f"no changes ({decision.in_flight} file(s) in runs still going)"
        return SensorResult(skip_reason=reason, cursor=new_cursor, asset_events=events)

    return sql_files_sensor


sql_files_sensor = build_sql_files_sensor()

full_reconcile_schedule = ScheduleDefinition(
    name="full_reconcile",
    job=ingest_sql_files,
    cron_schedule=s.INGEST_RECONCILE_CRON.current(),
    run_config={"ops": {"plan_batch": {"config": {"full_scan": True}}}},
    tags={"dagster/priority": PRIORITY_TAG_VALUES[BATCH], PRIORITY_TAG: BATCH},
    description="Daily full rescan at BATCH priority, repairing anything a sensor tick missed (INGEST_RECONCILE_CRON).",
)


@sensor(
    name="writer_slot_watchdog",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Frees the neo4j_writer slot from runs that died holding it (their worker process is gone), so waiting "
        "runs continue; ships running, touches nothing else."
    ),
)
def writer_slot_watchdog(context: SensorEvaluationContext) -> SkipReason:
    freed = writer_slot.free_dead_holders(context.instance, context.log.warning)
    if freed:
        return SkipReason(f"freed the {writer_slot.POOL} slot held by dead run(s) {', '.join(freed)}")
    holders = writer_slot.holders(context.instance)
    if holders:
        return SkipReason(f"{writer_slot.POOL} slot held by run {holders[0].run_id} ({holders[0].status}), which is alive")
    return SkipReason(f"{writer_slot.POOL} slot free")
