"""The last step of an ingest: deletions, files rewritten against the settled column catalog, and
what the run did — the sql_lineage_graph summary, a parse_cache observation, metrics, the saved
table state, the OpenLineage export."""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import AssetObservation, Backoff, Nothing, OpExecutionContext, Out, RetryPolicy, op
from dagster_prometheus import PrometheusResource

from ingest_pipeline import dead_letters, handoff, parse_ahead, table_assets
from ingest_pipeline.jobs import summary as run_summary
from ingest_pipeline.jobs.cluster import WRITER_STEP_TAGS
from ingest_pipeline.jobs.parse_step import ParsedChunk
from ingest_pipeline.jobs.write_step import WRITE_FIRST, ChunkWrite, models_of, write_files
from ingest_pipeline.jobs.executor import execution_of, worker_count
from ingest_pipeline.graph import health, table_state
from ingest_pipeline.processes import bulk_allocations
from ingest_pipeline.planning import BatchPlan
from ingest_pipeline.metrics import RUN_METRICS, WORKER_METRICS, RunCounts, run_increments
from ingest_pipeline.resources.metrics import push_metrics
from ingest_pipeline.resources import LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline import settings
from ingest_pipeline.writing import WriteCounts, attach_column_rows, column_digest, ingested, rows_for, to_refresh


CACHE_ASSET = "parse_cache"


@op(
    pool="neo4j_writer",
    tags={**WRITER_STEP_TAGS, **WRITE_FIRST},
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
                outcome = write_files(context, neo4j, state, [], plan.deleted, {})
                finish.deleted = outcome.deleted
                finish.counts.add([], set(), outcome.stats.as_metadata(), outcome.stats.batch_seconds)
            refresh = to_refresh({key: f for key, (f, _) in run_files.items()}, state)
            if refresh:
                parsed = run_files[refresh[0].task.key][1]
                files, lineages = models_of(context, refresh, parsed.chunk, parse_cache)
                rows = rows_for(files, lineages, parsed.ingested_at)
                attach_column_rows(rows, {f.task.key: lineages[f.key] for f in files}, [], state)
                mtimes = {f.task.key: f.task.mtime_ns for f in files}
                # What the chunk wrote is what the settled catalog gives for most: only the others are rewritten.
                written_as = {p: f.column_digest for w in writes for p, f in w.counts.files.items()}
                same = [r for r in rows if written_as.get(r.path) == column_digest(r)]
                state.mark_ingested(ingested(same, mtimes))
                changed = [r for r in rows if written_as.get(r.path) != column_digest(r)]
                outcome = write_files(context, neo4j, state, changed, [], mtimes)
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
    execution = execution_of(context.run_config)
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


