"""The writer step of an ingest: one parsed chunk replaced in the graph, file by file, each marked in
the ledger as its transaction commits. One writer at a time (the neo4j_writer pool, the ledger's
writer lock)."""

from dataclasses import dataclass, field
from pathlib import Path

from dagster import Backoff, Failure, OpExecutionContext, RetryPolicy, op

from ingest_pipeline import dead_letters, handoff
from ingest_pipeline.jobs import summary as run_summary
from ingest_pipeline.jobs.cluster import WRITER_STEP_TAGS
from ingest_pipeline.jobs.parse_step import ParseChunk, ParsedChunk
from ingest_pipeline.graph.rows import FileRows
from ingest_pipeline.lineage import FileLineage
from ingest_pipeline.processes import bulk_allocations
from ingest_pipeline.resources import GraphUnavailableError, LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline.resources.neo4j import WriteOutcome
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline.writing import ChunkFile, WriteCounts, attach_column_rows, ingested, rows_for


@dataclass
class ChunkWrite:
    """What the writer did with one parse chunk (and the figures the report needs)."""

    parsed: ParsedChunk
    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Files elsewhere whose columns a changed definition made stale (the next run refreshes them).
    stale: list[str] = field(default_factory=list)
    counts: WriteCounts = field(default_factory=lambda: WriteCounts())


# The writer's steps (write_graph, report) go first: in process, a parsed chunk is written before
# the next chunk's parse step runs, so the writer starts on the first chunk while the parse pool (if
# any) parses the rest; between runs, their writer steps claim the neo4j_writer slot as equals.
# dagster-celery orders by its own tag: its default (5) keeps Celery's order, and says it is meant.
WRITE_FIRST = {"dagster/priority": "1", "dagster-celery/priority": "5"}


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
            files, lineages = models_of(context, parsed.files, parsed.chunk, parse_cache)
            rows = rows_for(files, lineages, parsed.ingested_at)
            write.stale = attach_column_rows(rows, {f.task.key: lineages[f.key] for f in files}, [], state)
            outcome = write_files(context, neo4j, state, rows, [], {f.task.key: f.task.mtime_ns for f in files})
    finally:
        state.close()
    if parse_cache.enabled:
        handoff.release(context.run_id, [f.key for f in files])
    write.written = outcome.written
    write.failed.update(outcome.dead_lettered)
    write.counts.add(rows, set(outcome.written), outcome.stats.as_metadata(), outcome.stats.batch_seconds)
    return write


def models_of(
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
    again = chunk.settings.parse([f.task for f in lost], None)
    found = {p.task.path: p for p in again if p.lineage is not None}
    kept = [f for f in files if f.key in lineages]
    for parsed in found.values():
        kept.append(ChunkFile(parsed.task, parsed.key, parsed.derivation))
        lineages[parsed.key] = parsed.lineage
    return kept, lineages


def write_files(
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


