"""The ops of one ingest: plan_batch -> parse_chunk (fanned out) -> write_graph -> report.

`ingest_steps` wires them; jobs/assets.py wraps that as the `sql_lineage_graph` asset, which the
`ingest_sql_files` and `replay_failed` jobs materialize. No `from __future__ import annotations`
here: Dagster reads the op signatures at import time.
"""


import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from dagster import (
    AssetObservation,
    Backoff,
    Config,
    DynamicOut,
    DynamicOutput,
    Failure,
    In,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    RetryPolicy,
    op,
)
from dagster_prometheus import PrometheusResource
from pydantic import Field

from ingest_pipeline import dead_letters, table_assets, writer_slot
from ingest_pipeline.jobs import summary as run_summary
from ingest_pipeline.jobs.executor import worker_count
from ingest_pipeline.graph import health, table_state
from ingest_pipeline.graph.columns import attach, changed_tables, column_rows, file_definitions
from ingest_pipeline.graph.rows import FileRows, file_rows
from ingest_pipeline.lineage import FileLineage, build_catalog
from ingest_pipeline.derivation import DialectRules
from ingest_pipeline.parsing import parse_files
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
from ingest_pipeline import settings
from ingest_pipeline.state.ledger import IngestedFile, Ledger

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


@dataclass
class ChunkResult:
    rows: list[FileRows]
    # The models behind the rows: column rows are built from them at write time, with the catalog.
    lineages: dict[str, FileLineage]
    unreadable: dict[str, str]
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


@dataclass
class WriteSummary:
    plan: BatchPlan
    chunks: list[ChunkResult]
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    dead_lettered: list[str] = field(default_factory=list)
    write_stats: dict[str, float] = field(default_factory=dict)
    neo4j_batch_seconds: list[float] = field(default_factory=list)


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
        chunk_count = max(workers, math.ceil(len(plan.tasks) / max(1, config.chunk_max_files)))
        chunks = split_into_chunks(plan.tasks, chunk_count) or [[]]  # one empty chunk keeps the fan-in alive
        active = float(min(workers, len([c for c in chunks if c])))
        push_metrics(
            prometheus, state, context.log, source="workers", names=WORKER_METRICS, gauges={"active_workers": active}, announce=False
        )
    finally:
        state.close()
    _log_plan(context, plan)
    yield Output(plan, "plan")
    for index, tasks in enumerate(chunks):
        yield DynamicOutput(
            ParseChunk(
                str(source_dir), tasks, rules, config.file_time_budget_seconds, config.column_lineage, config.max_file_bytes
            ),
            mapping_key=str(index),
            output_name="chunks",
        )


def _guard_writer_slot(context: OpExecutionContext) -> None:
    """Record where this run's worker lives, free the writer slot from runs that died holding it,
    and say up front when the writer will have to wait for another run."""
    execution = (context.run_config.get("execution") or {}).get("config") or {}
    if not execution or {"auto", "in_process", "multiprocess"} & set(execution):
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


@op(description="Parse one chunk of files (through the parse cache) into graph rows.")
def parse_chunk(context: OpExecutionContext, chunk: ParseChunk, parse_cache: ParseCacheResource) -> ChunkResult:
    body_started_at = time.time()
    started = time.perf_counter()
    cache = parse_cache.open()
    try:
        parsed = parse_files(
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
    context.log.info(
        run_summary.parse_line(
            [t.key for t in chunk.tasks],
            parsed=sum(1 for p in parsed if p.lineage is not None and not p.from_cache),
            from_cache=sum(1 for p in parsed if p.from_cache),
            errors=sum(p.lineage.error_count for p in parsed if p.lineage is not None),
            elapsed=time.perf_counter() - started,
        )
    )
    ingested_at = datetime.now(timezone.utc).isoformat()
    rows, unreadable = [], {}
    for result in parsed:
        if result.read_error is not None:
            unreadable[result.task.key] = result.read_error
            continue
        rows.append(file_rows(result.task, result.lineage, ingested_at, derivation=result.derivation))
    lineages = [p.lineage for p in parsed if p.lineage is not None]
    return ChunkResult(
        rows=rows,
        lineages={p.task.key: p.lineage for p in parsed if p.lineage is not None and p.read_error is None},
        unreadable=unreadable,
        parsed=sum(1 for p in parsed if p.lineage is not None and not p.from_cache),
        from_cache=sum(1 for p in parsed if p.from_cache),
        parse_seconds=[p.seconds for p in parsed if p.lineage is not None and not p.from_cache],
        statements=sum(len(l.statements) for l in lineages),
        parse_errors=sum(l.error_count for l in lineages),
        step_seconds=time.perf_counter() - started,
        body_started_at=body_started_at,
        pid=os.getpid(),
    )


@op(
    ins={"plan": In(BatchPlan), "chunks": In(list[ChunkResult])},
    pool="neo4j_writer",
    retry_policy=RetryPolicy(max_retries=1, delay=5, backoff=Backoff.EXPONENTIAL),
    description="The single writer: replace each file's contribution in Neo4j, then mark it in the ledger.",
)
def write_graph(
    context: OpExecutionContext, plan: BatchPlan, chunks: list[ChunkResult], neo4j: Neo4jResource, ledger: LedgerResource
) -> WriteSummary:
    rows = [r for chunk in chunks for r in chunk.rows]
    unreadable = {**plan.unreadable, **{p: e for chunk in chunks for p, e in chunk.unreadable.items()}}
    by_path = {r.path: r for r in rows}
    mtimes = {t.key: t.mtime_ns for t in plan.tasks}

    def record(written: list[str], deleted: list[str]) -> None:
        """Mark files right after their transaction commits: an interruption later loses nothing."""
        state.mark_ingested(
            IngestedFile(p, by_path[p].file["sha256"], by_path[p].file["size_bytes"], mtimes.get(p, 0), by_path[p].derivation)
            for p in written
        )
        state.forget(deleted)

    state = ledger.open()
    try:
        lineages = {path: lineage for chunk in chunks for path, lineage in chunk.lineages.items()}
        stale = _attach_column_rows(rows, lineages, plan.deleted, state)
        if stale:
            context.log.info(f"{len(stale)} file(s) read a table whose definition changed; the next run refreshes their columns")
        try:
            state.bind_graph(neo4j.graph_id())
            outcome = neo4j.write(rows, plan.deleted, run_id=context.run_id, on_commit=record)
        except GraphUnavailableError as error:
            headline = run_summary.unreachable_headline(
                neo4j.uri, error, "Files committed before stay ingested; the others stay pending for the next run."
            )
            raise Failure(description=headline, metadata={"neo4j_error": str(error)}, allow_retries=True) from None
        dead_letters.prune(Path(neo4j.dead_letter_path), outcome.written)
        failed = {**unreadable, **outcome.dead_lettered}
        if failed:
            state.mark_failed(failed, {p: by_path[p].file["sha256"] for p in outcome.dead_lettered})
    finally:
        state.close()
    for path, reason in sorted(failed.items()):
        context.log.warning(f"file not ingested: {path}: {reason}")
    stats = outcome.stats.as_metadata()
    context.log.info(run_summary.write_line(stats, outcome.written, outcome.deleted, failed))
    return WriteSummary(
        plan=plan,
        chunks=chunks,
        written=outcome.written,
        deleted=outcome.deleted,
        failed=failed,
        dead_lettered=sorted(outcome.dead_lettered),
        write_stats=stats,
        neo4j_batch_seconds=outcome.stats.batch_seconds,
    )


def _attach_column_rows(rows: list[FileRows], lineages: dict[str, FileLineage], deleted: list[str], state: Ledger) -> list[str]:
    """Update the corpus catalog with this batch, expand each file's column lineage against it, and
    mark files elsewhere whose expansions used a definition that changed; returns those files."""
    if not lineages and not deleted:
        return []  # a run where nothing changed leaves the catalog alone
    before = state.definitions()
    paths = [*lineages, *deleted]
    state.replace_definitions(paths, {path: file_definitions(lineage) for path, lineage in lineages.items()})
    definitions = state.definitions()
    old_catalog, catalog = build_catalog(before), build_catalog(definitions)
    dependencies = {}
    for file in rows:
        columns = column_rows(file.path, lineages[file.path], catalog, definitions)
        attach(file, columns)
        dependencies[file.path] = columns.depends_on_definitions
    state.replace_definition_dependencies(paths, dependencies)
    return state.mark_dependents_stale(changed_tables(old_catalog, catalog), exclude=set(paths))


@op(
    out=Out(Nothing, description="The graph in Neo4j itself: the asset's value lives there, not in Dagster's storage."),
    description="Record what the run did: the sql_lineage_graph summary, a parse_cache observation, metrics, table assets.",
)
def report(
    context: OpExecutionContext,
    summary: WriteSummary,
    parse_cache: ParseCacheResource,
    ledger: LedgerResource,
    prometheus: PrometheusResource,
    neo4j: Neo4jResource,
):
    chunks = summary.chunks
    run_stats = context.instance.get_run_stats(context.run_id)
    wall = max(time.time() - (run_stats.start_time or time.time()), 1e-9)
    written = set(summary.written)
    rows = [r for c in chunks for r in c.rows if r.path in written]
    if summary.written or summary.deleted:
        neo4j.query(health.STAMP_CONTRACT, version=health.CONTRACT_VERSION)
    dead_letter_path = Path(neo4j.dead_letter_path)
    tables_saved, tables = _save_table_assets(neo4j, summary.plan)
    facts = run_summary.RunFacts(
        source=summary.plan.source,
        source_dir=str(Path(summary.plan.source_dir).resolve()),
        files_seen=summary.plan.files_seen,
        ingested=summary.written,
        unchanged=len(summary.plan.unchanged),
        deleted=summary.deleted,
        failed=summary.failed,
        dead_lettered=summary.dead_lettered,
        parsed=sum(c.parsed for c in chunks),
        from_cache=sum(c.from_cache for c in chunks),
        statements=sum(c.statements for c in chunks),
        parse_errors=sum(c.parse_errors for c in chunks),
        tables=len({t["fqn"] for r in rows for t in r.tables}),
        columns=len({c["fqn"] for r in rows for c in r.columns}),
        column_edges=sum(len(r.derives) for r in rows),
        column_edges_ambiguous=sum(1 for r in rows for d in r.derives if d["ambiguous"]),
        graph_rows_written=sum(r.row_count for r in rows),
        wall_seconds=wall,
        write=summary.write_stats,
        parallelism=_parallelism(context, chunks),
        parse_seconds=[s for c in chunks for s in c.parse_seconds],
        parse_error_list=health.parse_errors(
            neo4j.query(health.FILE_PARSE_ERRORS, paths=sorted(written), limit=run_summary.TABLE_ROWS)
        ),
        skipped=summary.plan.skipped,
        rejected=summary.plan.rejected,
        dead_letter_path=str(dead_letter_path.resolve()),
        dead_letter_entries=len(dead_letters.read(dead_letter_path)),
        table_assets=tables_saved,
    )
    context.add_output_metadata(run_summary.graph_metadata(facts))
    context.log.info(run_summary.run_line(facts))
    for observation in table_assets.observations(tables, summary.written, context.run_id):
        context.log_event(observation)

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

    write = summary.write_stats
    counts = RunCounts(
        cache_hits=facts.from_cache,
        cache_misses=facts.parsed,
        files_processed=len(summary.written),
        files_failed=len(summary.failed),
        files_unchanged=len(summary.plan.unchanged),
        files_deleted=len(summary.deleted),
        parse_errors=facts.parse_errors,
        neo4j_batches=int(write.get("batches", 0)),
        neo4j_entities=int(write.get("entities", 0)),
        neo4j_relationships=int(write.get("relationships", 0)),
        neo4j_retries=int(write.get("retries", 0)),
        neo4j_splits=int(write.get("splits", 0)),
        neo4j_dead_letters=int(write.get("dead_letters", 0)),
        batch_files=len(summary.plan.tasks) + len(summary.deleted),
        run_seconds=wall,
        neo4j_batch_seconds=summary.neo4j_batch_seconds,
    )
    gauges = {"parse_cache_entries": float(stats.entries)} if stats else {}
    state = ledger.open()
    try:
        push_metrics(prometheus, state, context.log, source="runs", names=RUN_METRICS, increments=run_increments(counts), gauges=gauges)
        push_metrics(
            prometheus, state, context.log, source="workers", names=WORKER_METRICS, gauges={"active_workers": 0.0}, announce=False
        )
    finally:
        state.close()
    # Opt-in, best-effort OpenLineage export (OPENLINEAGE_URL); imported here so step processes skip the client.
    from ingest_pipeline.openlineage_export import export_run_changes

    export_run_changes(context.log, ledger, neo4j, summary.plan.source_dir, [*summary.written, *summary.deleted])


def _save_table_assets(neo4j: Neo4jResource, plan: BatchPlan) -> tuple[str, dict]:
    """Save the graph's tables for the Lineage page (INGEST_TABLE_ASSETS): what was saved, in words, and the state."""
    config = settings.load()
    if not config[settings.INGEST_TABLE_ASSETS]:
        return "", {}
    limit = config[settings.INGEST_TABLE_ASSETS_MAX]
    path = Path(config[settings.INGEST_TABLE_ASSETS_PATH])
    if not (plan.tasks or plan.deleted) and path.exists():
        return f"unchanged (nothing written), in `{path.resolve()}`", {}
    state = table_state.snapshot(neo4j.query, limit)
    table_assets.save(path, state, plan.source, plan.source_dir)
    _, why = table_assets.shown_count(state, limit)
    return f"{why}, saved to `{path.resolve()}`; they appear in the Lineage page when the definitions reload", state


def _parallelism(context: OpExecutionContext, chunks: list[ChunkResult]) -> dict[str, float | int | str]:
    """Workers, chunking and step start-up cost (plan_batch's end to each parse body's start)."""
    execution = (context.run_config.get("execution") or {}).get("config") or {}
    multiprocess = execution.get("multiprocess") or (execution.get("auto") or {}).get("multiprocess") or {}
    mode = "in_process" if all(c.pid == os.getpid() for c in chunks) else "multiprocess"
    workers = 1 if mode == "in_process" else multiprocess.get("max_concurrent") or worker_count()
    plan_end = next(
        (s.end_time for s in context.instance.get_run_step_stats(context.run_id) if s.step_key.endswith("plan_batch")), None
    )
    startups = sorted(c.body_started_at - plan_end for c in chunks if plan_end is not None)
    busy = [c for c in chunks if c.rows or c.unreadable]
    return {
        "executor": mode,
        "workers": workers,
        "chunks": len(busy),
        "files_per_chunk": round(sum(len(c.rows) + len(c.unreadable) for c in busy) / len(busy), 1) if busy else 0,
        "step_startup_seconds_p50": run_summary.percentile(startups, 50),
        "step_startup_seconds_max": startups[-1] if startups else 0.0,
    }


def ingest_steps():
    """The op wiring of one ingest, composed inside the sql_lineage_graph asset (jobs/assets.py):
    plan, parse chunks fanned out, the single writer, the report that carries the asset's metadata."""
    plan, chunks = plan_batch()
    return report(write_graph(plan, chunks.map(parse_chunk).collect()))
