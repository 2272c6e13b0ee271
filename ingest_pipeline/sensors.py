"""`sql_files_sensor`, the `full_reconcile` schedule and the housekeeping sensors: Dagster's shell
around ingest_pipeline.batching.

The sensor's cursor is a few numbers (the batch sequence and how many files are parked); the file
state lives in the ledger's SQLite tables, and a run request carries only its batch id. Every tick
says what it saw: a SkipReason names the pending changes and when they flush, the back-pressure,
or the parked files; a retry request is labelled with its attempt and backoff.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import (
    AssetObservation,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    MetadataValue,
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
from ingest_pipeline.batching import BATCH, PRIORITY_TAG_VALUES, BatchingPolicy, NewBatch, decide_tick, retry_label
from ingest_pipeline.jobs.assets import PRIORITY_TAG, ingest_run_config, ingest_sql_files
from ingest_pipeline.jobs.executor import IN_PROCESS_CONFIG, default_config, multiprocess_config, runs_in_process
from ingest_pipeline.jobs.ingest import GRAPH_ASSET
from ingest_pipeline.jobs.summary import names
from ingest_pipeline.sources import sha256_or_none, split_key
from ingest_pipeline.metrics import SENSOR_METRICS
from ingest_pipeline.resources import LedgerResource
from ingest_pipeline.resources.metrics import push_metrics
from ingest_pipeline import settings as s
from ingest_pipeline.state.ledger import INGESTED, Ledger

BATCH_TAG = "ingest_pipeline/batch_id"
FILE_COUNT_TAG = "ingest_pipeline/file_count"
RETRY_TAG = "ingest_pipeline/retry"
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


def _fan_out_config() -> dict[str, Any]:
    """INGEST_EXECUTOR's choice for a large batch; auto has nothing left to decide: the sensor knows the size."""
    config = default_config()
    return multiprocess_config() if "auto" in config else config


def run_config_for(batch: NewBatch, source_dir: str, source: str, in_process_max_files: int) -> dict[str, Any]:
    """Small batches, and any batch with one worker, run in process (step start-up would dominate);
    large ones fan out."""
    fan_out = _fan_out_config()
    workers = fan_out["multiprocess"]["max_concurrent"] if "multiprocess" in fan_out else None
    in_process = runs_in_process(len(batch.paths), in_process_max_files, workers)
    return {
        **ingest_run_config(source_dir=source_dir, source_name=source, batch_id=batch.batch_id),
        "execution": {"config": IN_PROCESS_CONFIG if in_process else fan_out},
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
        return f"back-pressure: {queued} ingest runs queued (INGEST_MAX_QUEUED_RUNS={max_queued}); waiting for the queue to drain"
    memory = available_memory_mb()
    if memory is not None and memory < min_memory_mb:
        return f"back-pressure: only {memory:.0f} MB of memory available (INGEST_MIN_AVAILABLE_MEMORY_MB={min_memory_mb:.0f})"
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
        description=(
            "Requests one ingest run per burst of new, changed or deleted SQL files under INGEST_SOURCE_DIR (debounced: "
            "INGEST_DEBOUNCE_SECONDS, INGEST_BATCH_THRESHOLD). Ships stopped: switch it on here (Automation → "
            "sql_files_sensor → the toggle) or with `dagster sensor start -m ingest_pipeline.definitions sql_files_sensor`; "
            "the daemon (started by `make dev`) then evaluates it every INGEST_SENSOR_INTERVAL_SECONDS. Each skipped tick "
            "says why (changes pending and when they flush, no changes, back-pressure, parked files)."
        ),
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
        parked = (
            f"{len(decision.parked)} file(s) parked after INGEST_MAX_ATTEMPTS={policy.max_attempts} failed runs, retried when "
            f"their bytes change or by a launch with force: true: {names(decision.parked)}"
            if decision.parked
            else ""
        )
        if len(decision.parked) != cursor["parked"]:
            if parked:
                context.log.warning(parked)
            events.append(
                AssetObservation(
                    asset_key=GRAPH_ASSET,
                    description=parked or "no parked files",
                    metadata={"parked_files": len(decision.parked), "parked_paths": MetadataValue.json(decision.parked[:100])},
                )
            )
        new_cursor = json.dumps({"seq": cursor["seq"] + len(decision.batches), "parked": len(decision.parked)})
        requests = [_run_request(batch, policy, source_dir, in_process_max_files) for batch in decision.batches]
        for batch in decision.batches:
            retry = retry_label(batch, policy)
            context.log.info(
                f"batch {batch.batch_id} ({batch.priority}): {len(batch.paths)} file(s): {names(batch.paths)}"
                + (f"; retry, {retry}" if retry else "")
            )
        if requests:
            if decision.deduplicated:
                context.log.info(f"{decision.deduplicated} repeated change(s) of one file collapsed into one")
            return SensorResult(run_requests=requests, cursor=new_cursor, asset_events=events)
        reason = decision.waiting or "no changes" + (f" ({decision.in_flight} file(s) in runs still going)" if decision.in_flight else "")
        return SensorResult(skip_reason=f"{reason}; {parked}" if parked else reason, cursor=new_cursor, asset_events=events)

    return sql_files_sensor


def _run_request(batch: NewBatch, policy: BatchingPolicy, source_dir: str, in_process_max_files: int) -> RunRequest:
    tags = {
        "dagster/priority": PRIORITY_TAG_VALUES[batch.priority],
        PRIORITY_TAG: batch.priority,
        BATCH_TAG: batch.batch_id,
        FILE_COUNT_TAG: str(len(batch.paths)),
    }
    retry = retry_label(batch, policy)
    if retry:
        tags[RETRY_TAG] = retry
    return RunRequest(
        run_key=batch.batch_id, run_config=run_config_for(batch, source_dir, policy.source, in_process_max_files), tags=tags
    )


sql_files_sensor = build_sql_files_sensor()

full_reconcile_schedule = ScheduleDefinition(
    name="full_reconcile",
    job=ingest_sql_files,
    cron_schedule=s.INGEST_RECONCILE_CRON.current(),
    run_config={**ingest_run_config(full_scan=True), "execution": {"config": _fan_out_config()}},
    tags={"dagster/priority": PRIORITY_TAG_VALUES[BATCH], PRIORITY_TAG: BATCH},
    default_status=DefaultScheduleStatus.RUNNING,
    description=(
        "Daily full rescan of INGEST_SOURCE_DIR at BATCH priority (INGEST_RECONCILE_CRON, default 02:00): repairs "
        "anything a sensor tick missed and removes from the graph what is gone from disk (the mass-delete guard "
        "applies). Ships running; stop it here or with `dagster schedule stop -m ingest_pipeline.definitions full_reconcile`."
    ),
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
