"""The ops of one ingest: plan_batch -> parse_chunk -> write_graph (both per chunk) -> report.

`ingest_steps` wires them; jobs/assets.py wraps that as the `sql_lineage_graph` asset, which the
`ingest_sql_files` and `replay_failed` jobs materialize. No `from __future__ import annotations`
here: Dagster reads the op signatures at import time.
"""


import math
import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dagster import (
    AssetObservation,
    Backoff,
    Config,
    DynamicOut,
    DynamicOutput,
    Failure,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    RetryPolicy,
    op,
)
from dagster_prometheus import PrometheusResource
from pydantic import Field

from ingest_pipeline import dead_letters, handoff, parse_ahead, table_assets, writer_slot
from ingest_pipeline.jobs import summary as run_summary
from ingest_pipeline.jobs.cluster import WRITER_STEP_TAGS
from ingest_pipeline.jobs.executor import default_config, worker_count
from ingest_pipeline.graph import health, table_state
from ingest_pipeline.graph.rows import FileRows
from ingest_pipeline.lineage import FileLineage
from ingest_pipeline.derivation import DialectRules
from ingest_pipeline.parsing import ParsedFile, parse_files
from ingest_pipeline.processes import bulk_allocations
from ingest_pipeline.planning import (
    BatchPlan,
    FileTask,
    keys_to_paths,
    mass_deletion_problem,
    plan_batch as make_plan,
    split_into_chunks,
)
from ingest_pipeline.sources import ScanRules, check_source_name
from ingest_pipeline.metrics import RUN_METRICS, WORKER_METRICS, RunCounts, run_increments
from ingest_pipeline.resources.metrics import push_metrics
from ingest_pipeline.resources import GraphUnavailableError, LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline.resources.neo4j import WriteOutcome
from ingest_pipeline import settings
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline.writing import ChunkFile, WriteCounts, attach_column_rows, column_digest, ingested, rows_for, to_refresh

GRAPH_ASSET = "sql_lineage_graph"
CACHE_ASSET = "parse_cache"
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


@dataclass
class ParseChunk:
    source_dir: str
    tasks: list[FileTask]
    dialect_rules: DialectRules
    time_budget_seconds: float
    column_lineage: bool
    max_file_bytes: int
    # The process that planned the run: a parse step in the same one runs in process.
    planned_in: int = 0
    # Its place in the run: how the parse pool (parse_ahead) knows it.
    index: int = 0


@dataclass
class ParsedChunk:
    """What a parse step hands on: keys of the models it left (handoff), never the models."""

    chunk: ParseChunk
    files: list[ChunkFile]
    unreadable: dict[str, str]
    ingested_at: str
    parsed: int
    from_cache: int
    parse_seconds: list[float]
    statements: int
    parse_errors: int
    step_seconds: float
    # Wall-clock time the op body began: minus the end of plan_batch, it is the step start-up cost.
    body_started_at: float
    # The process that parsed the chunk: the same as report's when the run executed in process.
    pid: int
    # The parse pool's processes when it parsed the chunk ahead (parse_ahead); 0: the step parsed it.
    pool_workers: int = 0


@dataclass
class ChunkWrite:
    """What the writer did with one parse chunk (and the figures the report needs)."""

    parsed: ParsedChunk
    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Files elsewhere whose columns a changed definition made stale (the next run refreshes them).
    stale: list[str] = field(default_factory=list)
    counts: WriteCounts = field(default_factory=lambda: WriteCounts())


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
        ahead = workers > 1 and len(plan.tasks) >= PARSE_AHEAD_MIN_FILES and "celery" not in _execution(context)
        if ahead:
            # A small first chunk, parsed by its own step while the pool starts, lets the writer start early.
            lead, rest = parse_ahead.lead_chunk(plan.tasks, parse_ahead.LEAD_FILES)
            chunks = [lead, *split_into_chunks(rest, chunk_count)]
        else:
            chunks = split_into_chunks(plan.tasks, chunk_count) or [[]]  # one empty chunk keeps the fan-in alive
        active = float(min(workers, len([c for c in chunks if c])))
        push_metrics(
            prometheus, state, context.log, source="workers", names=WORKER_METRICS, gauges={"active_workers": active}, announce=False
        )
    finally:
        state.close()
    _log_plan(context, plan)
    if ahead:
        parse_settings = parse_ahead.ParseSettings(
            str(source_dir), rules, parse_cache.spec(), config.file_time_budget_seconds, config.column_lineage, config.max_file_bytes
        )
        parse_ahead.offer(context.run_id, chunks, parse_settings, workers)
    yield Output(plan, "plan")
    for index, tasks in enumerate(chunks):
        yield DynamicOutput(
            ParseChunk(
                str(source_dir), tasks, rules, config.file_time_budget_seconds, config.column_lineage, config.max_file_bytes,
                planned_in=os.getpid(), index=index,
            ),
            mapping_key=str(index),
            output_name="chunks",
        )


# A run with more than one worker and at least this many files offers its chunks to a parse pool
# (parse_ahead), taken up if its steps execute in the planning process; fewer files parse faster
# in that process than a pool starts (forkserver and parser imports).
PARSE_AHEAD_MIN_FILES = 300


def _execution(context: OpExecutionContext) -> dict:
    """The run's executor config: what its run config says, else INGEST_EXECUTOR's default."""
    return (context.run_config.get("execution") or {}).get("config") or default_config()


def _guard_writer_slot(context: OpExecutionContext) -> None:
    """Record where this run's worker lives, free the writer slot from runs that died holding it,
    and say up front when the writer will have to wait for another run."""
    execution = _execution(context)
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


@op(description="Parse one chunk of files (through the parse cache); hand the models on by key.")
@bulk_allocations()
def parse_chunk(context: OpExecutionContext, chunk: ParseChunk, parse_cache: ParseCacheResource) -> ParsedChunk:
    body_started_at = time.time()
    started = time.perf_counter()
    # Without a cache, a writer in another process finds the models in the run's spool.
    shared = _steps_share_process(context, chunk)
    pool = parse_ahead.for_run(context.run_id, context.log.info) if shared else None
    parsed = _parsed_ahead(context, chunk, pool) if pool is not None else None
    pool_workers = pool.workers if parsed is not None and pool is not None else 0
    if parsed is None:
        parsed = _parse_here(chunk, parse_cache)
    readable = [p for p in parsed if p.read_error is None and p.lineage is not None]
    spool = parse_cache.open_spool() if not parse_cache.enabled and not shared else None
    try:
        handoff.leave(context.run_id, {p.key: p.lineage for p in readable}, spool, in_memory=shared)
    finally:
        if spool is not None:
            spool.close()
    fresh = [p for p in readable if not p.from_cache]
    context.log.info(
        run_summary.parse_line(
            [t.key for t in chunk.tasks],
            parsed=len(fresh),
            from_cache=len(readable) - len(fresh),
            errors=sum(p.lineage.error_count for p in readable),
            elapsed=time.perf_counter() - started,
            pool_workers=pool_workers,
        )
    )
    return ParsedChunk(
        chunk=chunk,
        files=[ChunkFile(p.task, p.key, p.derivation) for p in readable],
        unreadable={p.task.key: p.read_error for p in parsed if p.read_error is not None},
        ingested_at=datetime.now(timezone.utc).isoformat(),
        parsed=len(fresh),
        from_cache=len(readable) - len(fresh),
        parse_seconds=[p.seconds for p in fresh],
        statements=sum(len(p.lineage.statements) for p in readable),
        parse_errors=sum(p.lineage.error_count for p in readable),
        step_seconds=time.perf_counter() - started,
        body_started_at=body_started_at,
        pid=os.getpid(),
        pool_workers=pool_workers,
    )


def _parse_here(chunk: ParseChunk, parse_cache: ParseCacheResource) -> list[ParsedFile]:
    cache = parse_cache.open()
    try:
        return parse_files(
            Path(chunk.source_dir),
            chunk.tasks,
            chunk.dialect_rules,
            cache,
            chunk.time_budget_seconds,
            chunk.column_lineage,
            chunk.max_file_bytes,
        )
    finally:
        if cache is not None:
            cache.close()


def _parsed_ahead(context: OpExecutionContext, chunk: ParseChunk, pool: parse_ahead.ParseAhead) -> list[ParsedFile] | None:
    """The chunk as the run's parse pool parsed it; None when the pool was not given it, or broke
    (the step then parses the chunk itself, and so do the run's later steps)."""
    if not pool.has(context.run_id, chunk.index):
        return None
    try:
        return pool.collect(context.run_id, chunk.index)
    except BrokenProcessPool as error:
        context.log.warning(f"the parse pool broke ({error or 'a pool process died'}): the run parses its remaining chunks itself")
        parse_ahead.discard()
        return None
    except BaseException:
        pool.forget(context.run_id)  # interrupted: the pool stops on this run's chunks
        raise


def _steps_share_process(context: OpExecutionContext, chunk: ParseChunk) -> bool:
    """Whether the run's other steps execute in this process (in process, or `auto` choosing it):
    never on Celery, whose long-lived worker processes serve many runs and steps."""
    execution = _execution(context)
    return "celery" not in execution and chunk.planned_in == os.getpid()


# A parsed chunk is written before the next chunk's parse step runs: in process, the writer then
# starts on the first chunk while the parse pool (if any) parses the rest.
WRITE_FIRST = {"dagster/priority": "1"}


@op(
    pool="neo4j_writer",
    tags={**WRITER_STEP_TAGS, **WRITE_FIRST},  # on Celery: the single writer worker's queue
    retry_policy=RetryPolicy(max_retries=1, delay=5, backoff=Backoff.EXPONENTIAL),
    description="The single writer, once per parse chunk as it finishes: replace each file's part of the graph, then mark it in the ledger.",
)
@bulk_allocations()
def write_graph(
    context: OpExecutionContext, parsed: ParsedChunk, neo4j: Neo4jResource, ledger: LedgerResource, parse_cache: ParseCacheResource
) -> ChunkWrite:
    state = ledger.open()
    write = ChunkWrite(parsed, failed=dict(parsed.unreadable))
    try:
        if parsed.unreadable:
            state.mark_failed(parsed.unreadable)
        with state.writer_lock():
            files, lineages = _models(context, parsed.files, parsed.chunk, parse_cache)
            rows = rows_for(files, lineages, parsed.ingested_at)
            write.stale = attach_column_rows(rows, {f.task.key: lineages[f.key] for f in files}, [], state)
            outcome = _write(context, neo4j, state, rows, [], {f.task.key: f.task.mtime_ns for f in files})
    finally:
        state.close()
    write.written = outcome.written
    write.failed.update(outcome.dead_lettered)
    write.counts.add(rows, set(outcome.written), outcome.stats.as_metadata(), outcome.stats.batch_seconds)
    return write


def _models(
    context: OpExecutionContext, files: list[ChunkFile], chunk: ParseChunk, parse_cache: ParseCacheResource
) -> tuple[list[ChunkFile], dict[str, FileLineage]]:
    """The files' models from wherever the parse step left them; a model lost on the way (evicted
    from a full cache) is parsed again, as the file is now."""
    cache = parse_cache.open()
    spool = parse_cache.open_spool() if cache is None else None
    try:
        lineages = handoff.take(context.run_id, [f.key for f in files], cache, spool)
    finally:
        for store in (cache, spool):
            if store is not None:
                store.close()
    lost = [f for f in files if f.key not in lineages]
    if not lost:
        return files, lineages
    context.log.info(f"{len(lost)} parse result(s) were no longer in the parse cache: parsing them again")
    again = parse_files(
        Path(chunk.source_dir), [f.task for f in lost], chunk.dialect_rules, None,
        chunk.time_budget_seconds, chunk.column_lineage, chunk.max_file_bytes,
    )  # fmt: skip
    found = {p.task.path: p for p in again if p.lineage is not None}
    kept = [f for f in files if f.key in lineages]
    for parsed in found.values():
        kept.append(ChunkFile(parsed.task, parsed.key, parsed.derivation))
        lineages[parsed.key] = parsed.lineage
    return kept, lineages


def _write(
    context: OpExecutionContext, neo4j: Neo4jResource, state: Ledger, rows: list[FileRows], deleted: list[str], mtimes: dict[str, int]
) -> WriteOutcome:
    """Write rows (and remove deleted files), marking each file in the ledger as its transaction commits."""
    by_path = {r.path: r for r in rows}

    def record(written: list[str], gone: list[str]) -> None:
        """Mark files right after their transaction commits: an interruption later loses nothing."""
        state.mark_ingested(ingested([by_path[p] for p in written], mtimes))
        state.forget(gone)

    try:
        state.bind_graph(neo4j.graph_id())
        outcome = neo4j.write(rows, deleted, run_id=context.run_id, on_commit=record)
    except GraphUnavailableError as error:
        headline = run_summary.unreachable_headline(
            neo4j.uri, error, "Files committed before stay ingested; the others stay pending for the next run."
        )
        raise Failure(description=headline, metadata={"neo4j_error": str(error)}, allow_retries=True) from None
    dead_letters.prune(Path(neo4j.dead_letter_path), outcome.written)
    if outcome.dead_lettered:
        state.mark_failed(outcome.dead_lettered, {p: by_path[p].file["sha256"] for p in outcome.dead_lettered})
    for path, reason in sorted(outcome.dead_lettered.items()):
        context.log.warning(f"file not ingested: {path}: {reason}")
    context.log.info(run_summary.write_line(outcome.stats.as_metadata(), outcome.written, outcome.deleted, outcome.dead_lettered))
    return outcome


@op(
    pool="neo4j_writer",
    tags=WRITER_STEP_TAGS,
    retry_policy=RetryPolicy(max_retries=1, delay=5, backoff=Backoff.EXPONENTIAL),
    out=Out(Nothing, description="The graph in Neo4j itself: the asset's value lives there, not in Dagster's storage."),
    description="Finish the run: remove deleted files, rewrite this run's files whose columns a later definition "
    "changed, and record what it did: the sql_lineage_graph summary, a parse_cache observation, metrics, table assets.",
)
@bulk_allocations()
def report(
    context: OpExecutionContext,
    plan: BatchPlan,
    writes: list[ChunkWrite],
    parse_cache: ParseCacheResource,
    ledger: LedgerResource,
    prometheus: PrometheusResource,
    neo4j: Neo4jResource,
):
    finish = _finish_graph(context, plan, writes, neo4j, ledger, parse_cache)
    chunks = [w.parsed for w in writes]
    counts = WriteCounts()
    for w in [*writes, finish]:
        counts.merge(w.counts)
    written = sorted({p for w in writes for p in w.written})
    unreadable = {**plan.unreadable, **{p: e for w in writes for p, e in w.parsed.unreadable.items()}}
    failed = {**plan.unreadable, **{p: e for w in writes for p, e in w.failed.items()}, **finish.failed}
    for path, reason in sorted(unreadable.items()):
        context.log.warning(f"file not ingested: {path}: {reason}")
    if plan.unreadable:
        state = ledger.open()
        try:
            state.mark_failed(plan.unreadable)
        finally:
            state.close()
    run_stats = context.instance.get_run_stats(context.run_id)
    wall = max(time.time() - (run_stats.start_time or time.time()), 1e-9)
    write = counts.neo4j
    if written or finish.deleted:
        neo4j.query(health.STAMP_CONTRACT, version=health.CONTRACT_VERSION)
    dead_letter_path = Path(neo4j.dead_letter_path)
    digests = {p: f.facts_digest for p, f in counts.files.items()}
    tables_saved = _save_table_assets(neo4j, plan, digests, finish.deleted, {"run_id": context.run_id, "files": written})
    facts = run_summary.RunFacts(
        source=plan.source,
        source_dir=str(Path(plan.source_dir).resolve()),
        files_seen=plan.files_seen,
        ingested=written,
        unchanged=len(plan.unchanged),
        deleted=finish.deleted,
        failed=failed,
        dead_lettered=sorted(set(failed) - set(unreadable)),
        parsed=sum(c.parsed for c in chunks),
        from_cache=sum(c.from_cache for c in chunks),
        statements=sum(c.statements for c in chunks),
        parse_errors=sum(c.parse_errors for c in chunks),
        tables=len(counts.tables),
        columns=len(counts.columns),
        column_edges=counts.total("column_edges"),
        column_edges_ambiguous=counts.total("ambiguous_edges"),
        graph_rows_written=counts.rows,
        wall_seconds=wall,
        write=write,
        parallelism=_parallelism(context, chunks),
        parse_seconds=[s for c in chunks for s in c.parse_seconds],
        parse_error_list=health.parse_errors(neo4j.query(health.FILE_PARSE_ERRORS, paths=written, limit=run_summary.TABLE_ROWS)),
        skipped=plan.skipped,
        rejected=plan.rejected,
        dead_letter_path=str(dead_letter_path.resolve()),
        dead_letter_entries=len(dead_letters.read(dead_letter_path)),
        table_assets=tables_saved,
        refreshed=len(finish.refreshed),
    )
    context.add_output_metadata(run_summary.graph_metadata(facts))
    context.log.info(run_summary.run_line(facts))

    cache = parse_cache.open()
    stats = None
    if cache is not None:
        stats = cache.stats()
        cache.close()
    context.log_event(
        AssetObservation(
            asset_key=CACHE_ASSET,
            description="The parse cache as this ingest run used it.",
            metadata=run_summary.cache_metadata(cache is not None, facts.from_cache, facts.parsed, stats.counts() if stats else None),
        )
    )

    run_counts = RunCounts(
        cache_hits=facts.from_cache,
        cache_misses=facts.parsed,
        files_processed=len(written),
        files_failed=len(failed),
        files_unchanged=len(plan.unchanged),
        files_deleted=len(finish.deleted),
        parse_errors=facts.parse_errors,
        neo4j_batches=int(write.get("batches", 0)),
        neo4j_entities=int(write.get("entities", 0)),
        neo4j_relationships=int(write.get("relationships", 0)),
        neo4j_retries=int(write.get("retries", 0)),
        neo4j_splits=int(write.get("splits", 0)),
        neo4j_dead_letters=int(write.get("dead_letters", 0)),
        batch_files=len(plan.tasks) + len(plan.deleted),
        run_seconds=wall,
        neo4j_batch_seconds=counts.batch_seconds,
    )
    gauges = {"parse_cache_entries": float(stats.entries)} if stats else {}
    state = ledger.open()
    try:
        push_metrics(prometheus, state, context.log, source="runs", names=RUN_METRICS, increments=run_increments(run_counts), gauges=gauges)
        push_metrics(
            prometheus, state, context.log, source="workers", names=WORKER_METRICS, gauges={"active_workers": 0.0}, announce=False
        )
    finally:
        state.close()
    # Opt-in, best-effort OpenLineage export (OPENLINEAGE_URL); imported here so step processes skip the client.
    from ingest_pipeline.openlineage_export import export_run_changes

    export_run_changes(context.log, ledger, neo4j, plan.source_dir, [*written, *finish.deleted])


@dataclass
class _Finish:
    """What the run's last writes did: deletions, and files rewritten against the final catalog."""

    deleted: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    counts: WriteCounts = field(default_factory=WriteCounts)


def _finish_graph(
    context: OpExecutionContext,
    plan: BatchPlan,
    writes: list[ChunkWrite],
    neo4j: Neo4jResource,
    ledger: LedgerResource,
    parse_cache: ParseCacheResource,
) -> _Finish:
    """Remove the deleted files, then rewrite the run's files whose column expansion a later
    chunk's definitions changed, against the final catalog; forget what the steps handed over."""
    finish = _Finish()
    run_files = {f.task.key: (f, w.parsed) for w in writes for f in w.parsed.files if f.task.key in set(w.written)}
    stale = [p for w in writes for p in w.stale]
    state = ledger.open()
    try:
        with state.writer_lock():
            if plan.deleted:
                stale += attach_column_rows([], {}, plan.deleted, state)
                outcome = _write(context, neo4j, state, [], plan.deleted, {})
                finish.deleted = outcome.deleted
                finish.counts.add([], set(), outcome.stats.as_metadata(), outcome.stats.batch_seconds)
            refresh = to_refresh({key: f for key, (f, _) in run_files.items()}, state)
            if refresh:
                parsed = run_files[refresh[0].task.key][1]
                files, lineages = _models(context, refresh, parsed.chunk, parse_cache)
                rows = rows_for(files, lineages, parsed.ingested_at)
                attach_column_rows(rows, {f.task.key: lineages[f.key] for f in files}, [], state)
                mtimes = {f.task.key: f.task.mtime_ns for f in files}
                # What the chunk wrote is what the settled catalog gives for most: only the others are rewritten.
                written_as = {p: f.column_digest for w in writes for p, f in w.counts.files.items()}
                same = [r for r in rows if written_as.get(r.path) == column_digest(r)]
                state.mark_ingested(ingested(same, mtimes))
                changed = [r for r in rows if written_as.get(r.path) != column_digest(r)]
                outcome = _write(context, neo4j, state, changed, [], mtimes)
                finish.refreshed = outcome.written
                finish.failed = outcome.dead_lettered
                finish.counts.add(changed, set(outcome.written), outcome.stats.as_metadata(), outcome.stats.batch_seconds)
                context.log.info(
                    f"{len(outcome.written)} file(s) of this run rewritten ({len(same)} checked unchanged): "
                    "a later chunk changed a definition their columns use"
                )
    finally:
        state.close()
    outside = sorted(set(stale) - set(run_files))
    if outside:
        context.log.info(f"{len(outside)} file(s) read a table whose definition changed; the next run refreshes their columns")
    spool = parse_cache.open_spool() if not parse_cache.enabled else None
    handoff.forget(context.run_id, spool)
    parse_ahead.forget(context.run_id)
    if spool is not None:
        spool.close()
    return finish


def _save_table_assets(
    neo4j: Neo4jResource, plan: BatchPlan, digests: dict[str, str], deleted: list[str], observed: dict[str, Any]
) -> str:
    """Save the graph's tables for the Lineage page (INGEST_TABLE_ASSETS), with the run and files the
    refresh sensor reports observations for (`observed`); what was saved, in words. Reading every
    table back costs seconds on a large graph, so a run whose files say the same at table level as
    when the state was saved (`digests`, per file) keeps it."""
    config = settings.load()
    if not config[settings.INGEST_TABLE_ASSETS]:
        return ""
    limit = config[settings.INGEST_TABLE_ASSETS_MAX]
    path = Path(config[settings.INGEST_TABLE_ASSETS_PATH])
    saved, graph = table_assets.load(path), neo4j.graph_id()
    known = (saved.get("file_digests") or {}) if saved.get("graph_id") == graph else {}
    if "tables" in saved and known and not deleted and all(known.get(p) == d for p, d in digests.items()):
        return f"unchanged (the files written say the same about tables), in `{path.resolve()}`"
    state = table_state.snapshot(neo4j.query, limit)
    state["graph_id"] = graph
    state["observed"] = observed
    gone = set(deleted)
    state["file_digests"] = {**{p: d for p, d in known.items() if p not in gone}, **digests}
    table_assets.save(path, state, plan.source, plan.source_dir)
    _, why = table_assets.shown_count(state, limit)
    return f"{why}, saved to `{path.resolve()}`; they appear in the Lineage page when the definitions reload"


def _parallelism(context: OpExecutionContext, chunks: list[ParsedChunk]) -> dict[str, float | int | str]:
    """Workers, chunking and step start-up cost (plan_batch's end to each parse body's start)."""
    execution = _execution(context)
    pooled = max((c.pool_workers for c in chunks), default=0)  # in process, with a parse pool
    if "celery" in execution:
        mode, workers = "celery", len({c.pid for c in chunks})  # the worker processes that parsed
    else:
        multiprocess = execution.get("multiprocess") or (execution.get("auto") or {}).get("multiprocess") or {}
        mode = "in_process" if all(c.pid == os.getpid() for c in chunks) else "multiprocess"
        workers = (pooled or 1) if mode == "in_process" else multiprocess.get("max_concurrent") or worker_count()
    plan_end = next(
        (s.end_time for s in context.instance.get_run_step_stats(context.run_id) if s.step_key.endswith("plan_batch")), None
    )
    startups = sorted(c.body_started_at - plan_end for c in chunks if plan_end is not None)
    busy = [c for c in chunks if c.files or c.unreadable]
    return {
        "executor": mode,
        "workers": workers,
        "parse_pool_workers": pooled,
        "chunks": len(busy),
        "files_per_chunk": round(sum(len(c.files) + len(c.unreadable) for c in busy) / len(busy), 1) if busy else 0,
        "step_startup_seconds_p50": run_summary.percentile(startups, 50),
        "step_startup_seconds_max": startups[-1] if startups else 0.0,
    }


def ingest_steps():
    """The op wiring of one ingest, composed inside the sql_lineage_graph asset (jobs/assets.py):
    plan, parse chunks fanned out, each chunk written as soon as it is parsed (one writer at a time:
    the neo4j_writer pool and the ledger's writer lock), then report, which removes deleted files,
    settles the catalog and carries the asset's metadata."""
    plan, chunks = plan_batch()
    return report(plan, chunks.map(parse_chunk).map(write_graph).collect())
