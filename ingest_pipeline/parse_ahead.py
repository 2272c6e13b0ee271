"""Parsing a run's chunks ahead, in a pool of worker processes, while the run's own process writes.

In process, a run's steps take turns: a chunk is parsed, then written, then the next one. With more
than one worker, the run is planned as a small lead chunk and the usual chunks; its first parse step
parses the lead chunk itself and hands the others to a pool, which parses them in chunk order, small
batches of files at a time, while the run writes what is ready. No step process is started: the
pool's processes fork from a forkserver and live as long as the run's process.

A pool that breaks (a worker killed, out of memory) is reported to the caller, which parses the
chunk itself; results are matched to their chunk by run id and chunk index.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from dataclasses import dataclass
from typing import Any

from ingest_pipeline.parsing import ParsedFile, ParseSettings
from ingest_pipeline.planning import FileTask
from ingest_pipeline.processes import bulk_allocations
from ingest_pipeline.state.parse_cache import CacheSpec, ParseCache

# Files per pool task: small enough that both workers share the first chunk and a slow file holds
# back little, large enough that each task's round trip (pickled tasks out, models back) is noise.
BATCH_FILES = 25

# Files of a run's first chunk, which its own step parses while the pool starts (about as long as
# the pool's processes take to import the parser and the run's main module). The pool's first chunk
# is twice that: parsed by the time the writer has written the lead chunk, where one of the run's
# usual chunks kept the writer waiting (0.3-0.9 s of a 1,000-file run).
LEAD_FILES = 100

# Chunks parsed ahead of the one the run is writing: enough to keep the pool busy meanwhile.
CHUNKS_AHEAD = 2

# What the forkserver imports once, so that each pool process starts with the parser loaded.
PRELOAD_MODULES = ["ingest_pipeline.parsing"]


@dataclass(frozen=True)
class RunParsing:
    """What a pool task needs besides its files: how the run parses, and the run's parse cache."""

    settings: ParseSettings
    cache: CacheSpec | None


# The parse cache each pool process keeps open between its tasks.
_OPEN_CACHES: dict[CacheSpec, ParseCache] = {}


# Niceness of the pool's processes: the run's process (the single writer) and a local Neo4j, which
# bound the run, get the cores first; the pool parses with what they leave.
POOL_NICENESS = 10


def _start_pool_process(run_process: Connection) -> None:
    """Yield the cores to the writer, and leave with the run's process: killed (SIGKILL, OOM), it
    closes nothing, and a pool process would otherwise wait for work forever (and keep the
    forkserver alive). SIGTERM ends a pool process whatever the run's process inherited: a run
    process started by multiprocessing terminates its daemonic children at exit and waits for them,
    and a SIGTERM ignored by whoever started the run (inherited through the forkserver) hung it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.nice(POOL_NICENESS)
    threading.Thread(target=_exit_with, args=(run_process,), name="exit-with-the-run", daemon=True).start()


def _exit_with(run_process: Connection) -> None:
    try:
        run_process.recv_bytes()  # nothing is ever sent: returns or raises when the run's process is gone
    except (EOFError, OSError):
        pass
    os._exit(0)


def parse_batch(run: RunParsing, tasks: list[FileTask]) -> list[ParsedFile]:
    """One pool task: parse the files, through the parse cache when the run has one."""
    cache = None
    if run.cache is not None:
        cache = _OPEN_CACHES.get(run.cache)
        if cache is None:
            cache = _OPEN_CACHES[run.cache] = run.cache.open()
    with bulk_allocations():
        return run.settings.parse(tasks, cache)


ParseBatch = Callable[[RunParsing, list[FileTask]], list[ParsedFile]]


class _PoolProcess(multiprocessing.context.ForkServerProcess):
    """Daemonic, so that a run's process exiting with its pool open ends the pool rather than waits
    for it: a process started by multiprocessing (Dagster's code server starts run workers so) joins
    its non-daemonic children before anything would shut the pool down."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.daemon = True


class _PoolContext(multiprocessing.context.ForkServerContext):
    Process = _PoolProcess


class ParseAhead:
    """A pool of parse processes and the runs' chunks, by (run id, chunk index). At most
    CHUNKS_AHEAD chunks of a run are parsed before the run collects them, so a run's memory holds
    a few chunks' models, whatever its size."""

    def __init__(self, workers: int, parse: ParseBatch = parse_batch) -> None:
        context = _PoolContext()
        context.set_forkserver_preload(PRELOAD_MODULES)
        self.workers = workers
        # The run's process holds the only writing end: the pool's processes see it close when it exits.
        lifeline, self._lifeline = context.Pipe(duplex=False)
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_pool_process, initargs=(lifeline,))
        self._parse = parse
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[int, list[FileTask], RunParsing]]] = {}  # run id -> chunks not yet queued
        self._queued: dict[tuple[str, int], list[Future]] = {}

    def submit(self, run_id: str, chunks: list[tuple[int, list[FileTask]]], run: RunParsing) -> None:
        """Take a run's chunks (index, tasks); the first CHUNKS_AHEAD are queued now, the next one each
        time one is collected."""
        with self._lock:
            self._waiting[run_id] = [(index, tasks, run) for index, tasks in chunks]
            for _ in range(CHUNKS_AHEAD):
                self._queue_next(run_id)

    def _queue_next(self, run_id: str) -> None:
        waiting = self._waiting.get(run_id)
        if not waiting:
            self._waiting.pop(run_id, None)
            return
        index, tasks, run = waiting.pop(0)
        if not waiting:
            del self._waiting[run_id]
        self._queued[(run_id, index)] = [
            self._pool.submit(self._parse, run, tasks[start : start + BATCH_FILES]) for start in range(0, len(tasks), BATCH_FILES)
        ]

    def queued(self, run_id: str) -> list[int]:
        """The run's chunks given to the pool processes and not collected yet."""
        with self._lock:
            return sorted(index for run, index in self._queued if run == run_id)

    def runs(self) -> set[str]:
        """The runs with chunks waiting or queued here."""
        with self._lock:
            return set(self._waiting) | {run for run, _ in self._queued}

    def collect(self, run_id: str, index: int) -> list[ParsedFile] | None:
        """The chunk's parsed files, in task order, once the pool has parsed them all; None when the
        pool was not given the chunk (or forgot it). Raises BrokenProcessPool when a pool process died."""
        with self._lock:
            while (run_id, index) not in self._queued:  # collected out of order: queue up to it
                if not any(i == index for i, _, _ in self._waiting.get(run_id, [])):
                    return None
                self._queue_next(run_id)
            futures = self._queued.pop((run_id, index))
            self._queue_next(run_id)
        try:
            return [parsed for future in futures for parsed in future.result()]
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def forget(self, run_id: str) -> None:
        """Drop a run's chunks that no step collected (a failed or interrupted run)."""
        with self._lock:
            self._waiting.pop(run_id, None)
            for key in [k for k in self._queued if k[0] == run_id]:
                for future in self._queued.pop(key):
                    future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._lifeline.close()


def opening_chunks(tasks: list[FileTask]) -> tuple[list[list[FileTask]], list[FileTask]]:
    """The run's first chunks (a lead chunk, then the pool's first, twice as large) and the tasks
    left for the usual chunks."""
    lead, rest = lead_chunk(tasks, LEAD_FILES)
    second, rest = lead_chunk(rest, 2 * LEAD_FILES)
    return [lead, second], rest


def lead_chunk(tasks: list[FileTask], files: int) -> tuple[list[FileTask], list[FileTask]]:
    """A small first chunk spread evenly over the tasks, and the others. Its step parses it while
    the pool starts, so the writer starts on it early."""
    stride = max(1, -(-len(tasks) // max(1, files)))
    return tasks[::stride], [task for i, task in enumerate(tasks) if i % stride]


# One pool per process, reused by the runs that process executes (a run worker executes one).
_POOL: ParseAhead | None = None
_POOL_LOCK = threading.Lock()


def pool(workers: int) -> ParseAhead:
    """This process's pool with `workers` processes (a pool of another size is replaced)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None and _POOL.workers != workers:
            _POOL.close()
            _POOL = None
        if _POOL is None:
            _POOL = ParseAhead(workers)
        return _POOL


def current() -> ParseAhead | None:
    """This process's pool, when a run here started one."""
    return _POOL


# Runs planned in this process whose chunks a pool may parse: run id -> (workers, chunks, how to parse).
_OFFERS: dict[str, tuple[int, list[tuple[int, list[FileTask]]], RunParsing]] = {}


def offer(run_id: str, chunks: list[list[FileTask]], run: RunParsing, workers: int) -> None:
    """Offer a run's chunks but the first (the lead chunk, which its own step parses while the pool
    starts), when it is planned. The planning step cannot tell where the run's parse steps will execute
    (auto chooses when the run starts); the first one that executes in this process takes the
    offer up. A step process that planned exits with its offer."""
    if len(chunks) > 1:
        _OFFERS[run_id] = (workers, list(enumerate(chunks))[1:], run)


def for_run(run_id: str, say: Callable[[str], None], warn: Callable[[str], None]) -> ParseAhead | None:
    """The pool parsing the run's chunks: started (or reused) by the run's first parse step in the
    process that planned it; None when the run offered none, or no pool could take it (the steps
    then parse their chunks). Taking an offer drops what earlier runs of this process left (a run
    that failed before its report)."""
    taken = _OFFERS.pop(run_id, None)
    if taken is not None:
        for run in ({*_OFFERS} | (_POOL.runs() if _POOL is not None else set())) - {run_id}:
            forget(run)
        workers, chunks, run = taken
        for attempt in (1, 2):  # a pool left broken by an earlier run is replaced once
            try:
                pool(workers).submit(run_id, chunks, run)
            except (BrokenProcessPool, OSError, RuntimeError) as error:
                discard()
                if attempt == 2:
                    warn(f"the parse pool could not start ({error}): the run parses its chunks in its own process")
                    return None
            else:
                break
        say(f"parsing ahead in {workers} pool processes: each chunk is written while the next ones are parsed")
    return _POOL if _POOL is not None and run_id in _POOL.runs() else None


def forget(run_id: str) -> None:
    """Drop what a finished (or failed) run left: its offer, its chunks no step collected."""
    _OFFERS.pop(run_id, None)
    if _POOL is not None:
        _POOL.forget(run_id)


def discard() -> None:
    """Close this process's pool: after it broke, the next run starts a fresh one."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None
