"""The ops of one ingest: plan_batch (here) -> parse_chunk (parse_step.py) -> write_graph
(write_step.py), both per chunk -> report (report.py).

`ingest_steps` wires them; jobs/assets.py wraps that as the `sql_lineage_graph` asset, which the
`ingest_sql_files` and `replay_failed` jobs materialize. No `from __future__ import annotations`
in the op modules: Dagster reads the op signatures at import time.
"""

import math
import os
from pathlib import Path

from dagster import Config, DynamicOut, DynamicOutput, Failure, OpExecutionContext, Out, Output, op
from dagster_prometheus import PrometheusResource
from pydantic import Field

from ingest_pipeline import dead_letters, parse_ahead, writer_slot
from ingest_pipeline.jobs import summary as run_summary
from ingest_pipeline.jobs.parse_step import ParseChunk, parse_chunk
from ingest_pipeline.jobs.report import report
from ingest_pipeline.jobs.write_step import write_graph
from ingest_pipeline.jobs.executor import execution_of, worker_count
from ingest_pipeline.derivation import DialectRules
from ingest_pipeline.parsing import ParseSettings
from ingest_pipeline.planning import BatchPlan, keys_to_paths, mass_deletion_problem, plan_batch as make_plan, split_into_chunks
from ingest_pipeline.sources import ScanRules, check_source_name
from ingest_pipeline.metrics import WORKER_METRICS
from ingest_pipeline.resources.metrics import push_metrics
from ingest_pipeline.resources import GraphUnavailableError, LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline import settings
from ingest_pipeline.state.ledger import Ledger


GRAPH_ASSET = "sql_lineage_graph"
REPLAY_JOB = "replay_failed"  # its runs replay the dead-letter file, whatever replay_failed in the config says


class IngestConfig(Config):
    """What one run ingests. With neither paths nor a batch, the whole source folder is scanned."""

    source_dir: str = settings.INGEST_SOURCE_DIR.config_field()
    paths: list[str] = Field(default=[], description="Only these paths (relative to source_dir); [] = all.")
    batch_id: str = Field(
        default="", description="Set by sql_files_sensor: a batch whose file list is in the ledger. '' = no batch (a manual run)."
    )
    full_scan: bool = Field(default=False, description="Scan the whole folder now, whatever batch_id or paths say.")
    replay_failed: bool = Field(default=False, description="Only the files in the dead-letter file (replay).")
    force: bool = Field(default=False, description="Re-ingest files even when the ledger says they are current.")
    dialect: str = settings.INGEST_DIALECT.config_field("Default SQL dialect; '' is sqlglot's generic dialect.")
    dialect_globs: dict[str, str] = Field(
        default={}, description="Path glob -> dialect, first match wins; a `-- dialect:` first line beats both."
    )
    include: list[str] = settings.INGEST_INCLUDE.config_field("Globs (file name or relative path) of the files to ingest.")
    ignore: list[str] = settings.INGEST_IGNORE.config_field("Globs of files to leave out, even when included.")
    workers: int = settings.INGEST_WORKERS.config_field("Parse chunks to aim for; 0 = the CPU count.")
    chunk_max_files: int = settings.INGEST_CHUNK_MAX_FILES.config_field()
    file_time_budget_seconds: float = settings.INGEST_FILE_TIME_BUDGET_SECONDS.config_field()
    max_file_bytes: int = settings.INGEST_MAX_FILE_BYTES.config_field()
    column_lineage: bool = settings.INGEST_COLUMN_LINEAGE.config_field()
    source_name: str = settings.INGEST_SOURCE_NAME.config_field()
    follow_symlinks: bool = settings.INGEST_FOLLOW_SYMLINKS.config_field()
    max_delete_fraction: float = settings.INGEST_MAX_DELETE_FRACTION.config_field()
    allow_mass_delete: bool = Field(
        default=False,
        description="Confirm a run that deletes more than max_delete_fraction of the source's files, or empties it.",
    )


@op(
    out={"plan": Out(BatchPlan), "chunks": DynamicOut(ParseChunk)},
    description="Hash the candidate files, consult the ledger, and split the work into parse chunks.",
)
def plan_batch(
    context: OpExecutionContext,
    config: IngestConfig,
    ledger: LedgerResource,
    neo4j: Neo4jResource,
    prometheus: PrometheusResource,
    parse_cache: ParseCacheResource,
):
    context.log.info(f"Neo4j for this run: NEO4J_URI={neo4j.uri}, database {neo4j.database!r}")
    source_dir = Path(config.source_dir)
    if not source_dir.is_dir():
        raise Failure(f"source directory {source_dir.resolve()} does not exist (INGEST_SOURCE_DIR or run config source_dir)")
    try:
        source = check_source_name(config.source_name)
    except ValueError as error:
        raise Failure(f"{error} (INGEST_SOURCE_NAME or run config source_name)") from None
    rules = DialectRules(config.dialect, tuple(config.dialect_globs.items()))
    if context.job_name == REPLAY_JOB:
        config = config.model_copy(update={"replay_failed": True})
    _guard_writer_slot(context)
    state = ledger.open()
    try:
        try:
            neo4j.check_reachable()
            if state.bind_graph(neo4j.graph_id()):
                context.log.warning("the graph is not the one the ledger was written for: re-ingesting every file")
            graph_files = neo4j.source_files(source)
        except GraphUnavailableError as error:
            headline = run_summary.unreachable_headline(neo4j.uri, error, "Nothing was planned or written.")
            raise Failure(description=headline, metadata={"neo4j_error": str(error)}, allow_retries=False) from None
        plan = make_plan(
            source_dir,
            state.entries(),
            graph_files,
            source=source,
            dialects=rules,
            columns=config.column_lineage,
            only_paths=_selected_paths(config, state, neo4j, source),
            force=config.force,
            scan_rules=ScanRules(tuple(config.include), tuple(config.ignore), config.follow_symlinks),
        )
        problem = None if config.allow_mass_delete else mass_deletion_problem(plan, config.max_delete_fraction)
        if problem:
            raise Failure(description=problem, allow_retries=False)
        workers = config.workers or worker_count()
        # A multiple of the workers: the last round of parse steps keeps every worker busy.
        chunk_count = math.ceil(max(workers, math.ceil(len(plan.tasks) / max(1, config.chunk_max_files))) / workers) * workers
        # Not when the config says the steps run elsewhere (auto decides only when the run starts).
        elsewhere = {"celery", "multiprocess"} & set(execution_of(context.run_config))
        ahead = workers > 1 and len(plan.tasks) >= PARSE_AHEAD_MIN_FILES and not elsewhere
        if ahead:
            # Small first chunks (the lead one parsed by its own step while the pool starts) let the writer start early.
            opening, rest = parse_ahead.opening_chunks(plan.tasks)
            chunks = [*opening, *split_into_chunks(rest, chunk_count)]
        else:
            chunks = split_into_chunks(plan.tasks, chunk_count) or [[]]  # one empty chunk keeps the fan-in alive
        active = float(min(workers, len([c for c in chunks if c])))
        push_metrics(
            prometheus, state, context.log, source="workers", names=WORKER_METRICS, gauges={"active_workers": active}, announce=False
        )
    finally:
        state.close()
    _log_plan(context, plan)
    parse_settings = ParseSettings(str(source_dir), rules, config.file_time_budget_seconds, config.column_lineage, config.max_file_bytes)
    if ahead:
        parse_ahead.offer(context.run_id, chunks, parse_ahead.RunParsing(parse_settings, parse_cache.spec()), workers)
    yield Output(plan, "plan")
    for index, tasks in enumerate(chunks):
        yield DynamicOutput(
            ParseChunk(parse_settings, tasks, planned_in=os.getpid(), index=index), mapping_key=str(index), output_name="chunks"
        )


# A run with more than one worker and at least this many files offers its chunks to a parse pool
# (parse_ahead), taken up if its steps execute in the planning process; fewer files parse faster
# in that process than a pool starts (forkserver and parser imports).
PARSE_AHEAD_MIN_FILES = 300


def _guard_writer_slot(context: OpExecutionContext) -> None:
    """Record where this run's worker lives, free the writer slot from runs that died holding it,
    and say up front when the writer will have to wait for another run."""
    execution = execution_of(context.run_config)
    if {"auto", "in_process", "multiprocess"} & set(execution):
        # Orchestrated on this host: the run worker's pid can be checked here later.
        context.instance.add_run_tags(context.run_id, {writer_slot.HOST_TAG: writer_slot.host_identity()})
    writer_slot.free_dead_holders(context.instance, context.log.warning)
    waiting = writer_slot.waiting_message(context.instance, context.run_id)
    if waiting:
        context.log.warning(waiting)


def _log_plan(context: OpExecutionContext, plan: BatchPlan) -> None:
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(plan.reasons().items()))
    context.log.info(
        f"{plan.files_seen} files seen in source {plan.source!r}: {len(plan.tasks)} to parse"
        f"{f' ({reasons})' if reasons else ''}, {len(plan.unchanged)} unchanged, {len(plan.deleted)} deleted, "
        f"{len(plan.unreadable)} unreadable"
    )
    rederived = sorted({task.reason for task in plan.tasks if task.reason.startswith("re-derive")})
    for reason in rederived:
        context.log.info(f"files are derived again because of an upgrade or a settings change: {reason}")
    for path, reason in sorted(plan.skipped.items()):
        context.log.warning(f"skipped {path}: {reason}")
    for path, reason in sorted(plan.rejected.items()):
        context.log.warning(f"paths entry {path!r}: {reason}")


def _selected_paths(config: IngestConfig, state: Ledger, neo4j: Neo4jResource, source: str) -> list[str] | None:
    """None means the whole folder: a full scan, or neither a batch, a replay nor paths given."""
    if config.full_scan:
        return None
    if config.replay_failed:
        return keys_to_paths(source, dead_letters.failed_files(Path(neo4j.dead_letter_path)))
    if config.batch_id:
        keys = state.batch_paths(config.batch_id)
        if not keys:
            raise Failure(f"batch {config.batch_id!r} is not in the ledger {state.path} (INGEST_LEDGER_PATH)")
        return keys_to_paths(source, keys)
    return config.paths or None


def ingest_steps():
    """The op wiring of one ingest, composed inside the sql_lineage_graph asset (jobs/assets.py):
    plan, parse chunks fanned out, each chunk written as soon as it is parsed (one writer at a time:
    the neo4j_writer pool and the ledger's writer lock), then report, which removes deleted files,
    settles the catalog and carries the asset's metadata."""
    plan, chunks = plan_batch()
    return report(plan, chunks.map(parse_chunk).map(write_graph).collect())
