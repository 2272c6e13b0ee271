"""The parse step of an ingest: one chunk of files read and parsed (or collected from the run's
parse pool), its models handed to the writer by key (handoff.py), never by value."""

import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone

from dagster import OpExecutionContext, op

from ingest_pipeline import handoff, parse_ahead
from ingest_pipeline.jobs import summary as run_summary
from ingest_pipeline.jobs.executor import execution_of
from ingest_pipeline.parsing import ParsedFile, ParseSettings
from ingest_pipeline.processes import bulk_allocations
from ingest_pipeline.planning import FileTask
from ingest_pipeline.resources import ParseCacheResource
from ingest_pipeline.writing import ChunkFile


@dataclass
class ParseChunk:
    """What plan_batch hands each parse step: the chunk's files and how to parse them."""

    settings: ParseSettings
    tasks: list[FileTask]
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


@op(description="Parse one chunk of files (through the parse cache); hand the models on by key.")
@bulk_allocations()
def parse_chunk(context: OpExecutionContext, chunk: ParseChunk, parse_cache: ParseCacheResource) -> ParsedChunk:
    body_started_at = time.time()
    started = time.perf_counter()
    # Without a cache, a writer in another process finds the models in the run's spool.
    shared = _steps_share_process(context, chunk)
    pool = parse_ahead.for_run(context.run_id, context.log.info, context.log.warning) if shared else None
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
        return chunk.settings.parse(chunk.tasks, cache)
    finally:
        if cache is not None:
            cache.close()


def _parsed_ahead(context: OpExecutionContext, chunk: ParseChunk, pool: parse_ahead.ParseAhead) -> list[ParsedFile] | None:
    """The chunk as the run's parse pool parsed it; None when the pool was not given it, or broke
    (the step then parses the chunk itself, and so do the run's later steps)."""
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
    execution = execution_of(context.run_config)
    return "celery" not in execution and chunk.planned_in == os.getpid()


