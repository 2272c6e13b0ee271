"""The parse pool: real worker processes parse a run's chunks ahead, as the run's process would."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from ingest_pipeline import parse_ahead
from ingest_pipeline.derivation import DialectRules
from ingest_pipeline.parse_ahead import CHUNKS_AHEAD, ParseAhead, RunParsing, lead_chunk, parse_batch
from ingest_pipeline.parsing import ParsedFile, ParseSettings, parse_files
from ingest_pipeline.planning import FileTask
from ingest_pipeline.processes import process_alive
from ingest_pipeline.sources import sha256_bytes
from ingest_pipeline.state.parse_cache import CacheSpec
from ingest_pipeline_tests.support import write_chain_corpus


def tasks_for(folder: Path) -> list[FileTask]:
    tasks = []
    for path in sorted(folder.rglob("*.sql")):
        raw = path.read_bytes()
        key = path.relative_to(folder).as_posix()
        tasks.append(FileTask(key, sha256_bytes(raw), len(raw), path.stat().st_mtime_ns))
    return tasks


def settings_for(folder: Path, cache: CacheSpec | None) -> RunParsing:
    return RunParsing(ParseSettings(str(folder), DialectRules("")), cache)


def as_compared(parsed: list[ParsedFile]) -> list[tuple]:
    return [(p.task.path, p.key, p.derivation, p.read_error, p.lineage) for p in parsed]


def die_on_second_batch(run: RunParsing, tasks: list[FileTask]) -> list[ParsedFile]:
    """A pool process killed mid-run (as the kernel's OOM killer would)."""
    if any(t.path.endswith("0030.sql") for t in tasks):
        os._exit(1)
    return parse_batch(run, tasks)


def die(run: RunParsing, tasks: list[FileTask]) -> list[ParsedFile]:
    os._exit(1)


def niceness(run: RunParsing, tasks: list[FileTask]) -> list[int]:
    return [os.nice(0)]


def pid_of_pool_process(run: RunParsing, tasks: list[FileTask]) -> list[int]:
    return [os.getpid()]


# A run's process that starts a pool, says its processes' pids, and waits to be killed.
RUN_PROCESS = """
import sys, time
from ingest_pipeline.parse_ahead import ParseAhead
from ingest_pipeline.planning import FileTask
from ingest_pipeline_tests.test_parse_ahead import pid_of_pool_process, settings_for
from pathlib import Path
if __name__ == "__main__":
    pool = ParseAhead(2, parse=pid_of_pool_process)
    pool.submit("run-1", [(i, [FileTask(f"f{i}.sql", "0" * 64, 1, 0)]) for i in range(2)], settings_for(Path("."), None))
    pids = {pid for i in range(2) for pid in pool.collect("run-1", i)}
    pids |= {pid for pid in pool._pool._processes}
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(600)
"""


def record_batch(run: RunParsing, tasks: list[FileTask]) -> list[ParsedFile]:
    """Leaves a mark per parsed file in the source folder's `parsed/` folder."""
    for task in tasks:
        (Path(run.settings.source_dir) / "parsed" / task.path).touch()
    return parse_batch(run, tasks)


@pytest.fixture
def pool():
    pool = ParseAhead(2)
    yield pool
    pool.close()


@pytest.mark.parametrize("cached", [True, False], ids=["parse cache", "no cache"])
def test_the_pool_parses_each_chunk_as_the_run_process_would(tmp_path, pool, cached):
    folder = write_chain_corpus(tmp_path / "corpus", 60)
    tasks = tasks_for(folder)
    spec = CacheSpec(str(tmp_path / "cache.db"), 1000, 30.0) if cached else None
    chunks = [tasks[:35], tasks[35:]]

    pool.submit("run-1", list(enumerate(chunks)), settings_for(folder, spec))
    ahead = [pool.collect("run-1", 0), pool.collect("run-1", 1)]

    expected = [parse_files(folder, chunk, DialectRules(""), None) for chunk in chunks]
    assert [as_compared(c) for c in ahead] == [as_compared(c) for c in expected]
    assert not any(p.from_cache for chunk in ahead for p in chunk)
    if cached:  # what the pool parsed is in the run's parse cache
        again = parse_files(folder, tasks, DialectRules(""), spec.open())
        assert all(p.from_cache for p in again)


def test_a_run_has_at_most_chunks_ahead_queued_beyond_what_it_collected(tmp_path):
    folder = write_chain_corpus(tmp_path / "corpus", 6)
    (folder / "parsed").mkdir()
    chunks = [[task] for task in tasks_for(folder)]
    pool = ParseAhead(2, parse=record_batch)
    try:
        pool.submit("run-1", list(enumerate(chunks)), settings_for(folder, None))
        assert pool.queued("run-1") == list(range(CHUNKS_AHEAD))
        pool.collect("run-1", 0)
        assert pool.queued("run-1") == list(range(1, CHUNKS_AHEAD + 1))
        pool.collect("run-1", 4)  # out of order: queued up to it
        assert pool.queued("run-1") == [1, 2, 3, 5]
        for index in (1, 2, 3, 5):
            pool.collect("run-1", index)
        assert sorted(p.name for p in (folder / "parsed").iterdir()) == sorted(t.path for [t] in chunks)
    finally:
        pool.close()


def test_a_pool_process_that_dies_breaks_the_pool(tmp_path):
    folder = write_chain_corpus(tmp_path / "corpus", 60)
    tasks = tasks_for(folder)
    pool = ParseAhead(2, parse=die_on_second_batch)
    try:
        pool.submit("run-1", [(0, tasks)], settings_for(folder, None))
        with pytest.raises(BrokenProcessPool):
            pool.collect("run-1", 0)
    finally:
        pool.close()


def test_pool_processes_yield_the_cores_to_the_writer(tmp_path):
    folder = write_chain_corpus(tmp_path / "corpus", 1)
    pool = ParseAhead(1, parse=niceness)
    try:
        pool.submit("run-1", [(0, tasks_for(folder))], settings_for(folder, None))
        assert pool.collect("run-1", 0) == [min(os.nice(0) + parse_ahead.POOL_NICENESS, 19)]
    finally:
        pool.close()


def test_pool_processes_exit_when_the_run_process_is_killed(tmp_path):
    script = tmp_path / "run_process.py"
    script.write_text(RUN_PROCESS)
    root = str(Path(__file__).parents[1])
    run = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": root})
    try:
        pids = [int(pid) for pid in run.stdout.readline().split()]
        assert len(pids) == 2 and all(process_alive(pid) for pid in pids)
    finally:
        run.kill()  # SIGKILL: nothing in the run's process gets to close the pool
        run.wait()
    deadline = time.monotonic() + 30
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if process_alive(pid)]


def run_process_child(folder: str) -> None:
    """A run's process started by multiprocessing (as Dagster's code server starts run workers): it
    parses ahead, then returns without closing this process's pool. Still running after 50 s, it
    prints every thread's stack (the test gives up at 60 s), so a hang says where it is."""
    faulthandler.dump_traceback_later(50)
    pool = parse_ahead.pool(2)
    chunks = [[task] for task in tasks_for(Path(folder))]
    pool.submit("run-1", list(enumerate(chunks)), settings_for(Path(folder), None))
    assert [pool.collect("run-1", i)[0].task.path for i in range(len(chunks))] == [c[0].path for c in chunks]


@pytest.mark.parametrize("sigterm", [signal.SIG_DFL, signal.SIG_IGN], ids=["default", "ignored by the run's starter"])
def test_a_run_process_started_by_multiprocessing_exits_with_its_pool_open(tmp_path, sigterm):
    folder = write_chain_corpus(tmp_path / "corpus", 3)
    child = multiprocessing.get_context("spawn").Process(target=run_process_child, args=(str(folder),))
    # An ignored SIGTERM survives exec: the run's process, its forkserver and its pool inherit it.
    before = signal.signal(signal.SIGTERM, sigterm)
    try:
        child.start()
    finally:
        signal.signal(signal.SIGTERM, before)
    child.join(timeout=60)
    stuck = child.exitcode is None
    if stuck:
        child.kill()
    assert not stuck, "the run's process waited for its pool's processes at exit"
    assert child.exitcode == 0


def test_forgetting_a_run_drops_its_chunks(tmp_path, pool):
    folder = write_chain_corpus(tmp_path / "corpus", 4)
    chunks = [[task] for task in tasks_for(folder)]
    pool.submit("run-1", list(enumerate(chunks)), settings_for(folder, None))
    pool.submit("run-2", [(0, chunks[0])], settings_for(folder, None))

    pool.forget("run-1")

    assert pool.queued("run-1") == [] and pool.runs() == {"run-2"}
    assert [p.task.path for p in pool.collect("run-2", 0)] == [chunks[0][0].path]
    assert [pool.collect("run-1", index) for index in range(4)] == [None] * 4  # its steps parse them


def test_the_process_pool_is_replaced_when_the_worker_count_changes():
    try:
        two = parse_ahead.pool(2)
        assert parse_ahead.pool(2) is two and parse_ahead.current() is two
        three = parse_ahead.pool(3)
        assert three is not two and three.workers == 3 and parse_ahead.current() is three
    finally:
        parse_ahead.discard()
    assert parse_ahead.current() is None


def test_a_run_offer_is_taken_up_by_its_first_parse_step_in_the_planning_process(tmp_path):
    folder = write_chain_corpus(tmp_path / "corpus", 3)
    chunks = [[task] for task in tasks_for(folder)]
    said: list[str] = []
    try:
        parse_ahead.offer("run-one-chunk", [[t for [t] in chunks]], settings_for(folder, None), workers=2)
        assert parse_ahead.for_run("run-one-chunk", said.append, said.append) is None  # its only step parses it
        parse_ahead.offer("run-1", chunks, settings_for(folder, None), workers=2)
        parse_ahead.offer("run-2", chunks, settings_for(folder, None), workers=2)
        assert parse_ahead.for_run("run-0", said.append, said.append) is None  # offered nothing: its steps parse

        pool = parse_ahead.for_run("run-1", said.append, said.append)
        assert pool is not None and pool.workers == 2 and parse_ahead.for_run("run-1", said.append, said.append) is pool
        assert said == ["parsing ahead in 2 pool processes: each chunk is written while the next ones are parsed"]
        assert pool.collect("run-1", 0) is None  # the first chunk's step parses it while the pool starts
        assert [pool.collect("run-1", i)[0].task.path for i in (1, 2)] == [c[0].path for c in chunks[1:]]

        parse_ahead.forget("run-2")  # failed before its first parse step
        assert parse_ahead.for_run("run-2", said.append, said.append) is None and len(said) == 1
    finally:
        parse_ahead.discard()


@pytest.mark.parametrize(
    ("tasks", "files", "lead"),
    [(10, 5, [0, 2, 4, 6, 8]), (10, 3, [0, 4, 8]), (10, 10, list(range(10))), (10, 50, list(range(10))), (0, 5, [])],
    ids=["half", "spread", "all", "fewer-than-asked", "none"],
)
def test_the_lead_chunk_is_spread_over_the_run_and_the_rest_keeps_every_other_task(tasks, files, lead):
    planned = [FileTask(f"f{i:02d}.sql", "0" * 64, 1, 0) for i in range(tasks)]

    first, rest = lead_chunk(planned, files)

    assert [planned.index(t) for t in first] == lead
    assert sorted(first + rest, key=lambda t: t.path) == planned and not set(t.path for t in first) & set(t.path for t in rest)


@pytest.mark.parametrize(
    ("tasks", "sizes"),
    [(1000, [100, 180, 720]), (300, [100, 200, 0]), (120, [60, 60, 0]), (0, [0, 0, 0])],
    ids=["a-run", "smallest-pooled-run", "fewer-than-both", "none"],
)
def test_a_run_opens_with_a_lead_chunk_and_one_twice_as_large(tasks, sizes):
    planned = [FileTask(f"f{i:04d}.sql", "0" * 64, 1, 0) for i in range(tasks)]

    (lead, second), rest = parse_ahead.opening_chunks(planned)

    assert [len(lead), len(second), len(rest)] == sizes
    assert sorted(lead + second + rest, key=lambda t: t.path) == planned


def test_a_run_taking_its_offer_drops_what_failed_runs_left_and_replaces_a_dead_pool(tmp_path):
    folder = write_chain_corpus(tmp_path / "corpus", 3)
    chunks = [[task] for task in tasks_for(folder)]
    said: list[str] = []
    try:
        parse_ahead.offer("failed-before-parsing", chunks, settings_for(folder, None), workers=2)
        parse_ahead.pool(2).submit("failed-while-writing", list(enumerate(chunks)), settings_for(folder, None))
        parse_ahead.current().close()  # as if its processes were gone: the pool takes no more work

        parse_ahead.offer("run-1", chunks, settings_for(folder, None), workers=2)
        pool = parse_ahead.for_run("run-1", said.append, said.append)

        assert pool is not None and pool.runs() == {"run-1"} and parse_ahead.current() is pool
        assert parse_ahead.for_run("failed-before-parsing", said.append, said.append) is None
        assert [pool.collect("run-1", i)[0].task.path for i in (1, 2)] == [c[0].path for c in chunks[1:]]
        assert said == ["parsing ahead in 2 pool processes: each chunk is written while the next ones are parsed"]
    finally:
        parse_ahead.discard()
