"""The ingest job under the multiprocess executor, and terminated runs that leave nothing half-written."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from dagster import execute_job, instance_for_test, reconstructable

from ingest_pipeline import parse_ahead
from ingest_pipeline.jobs import ingest as ingest_ops
from ingest_pipeline.jobs.assets import files_in_reach, ingest_run_config
from ingest_pipeline.jobs.executor import IN_PROCESS_CONFIG, multiprocess_config, runs_in_process
from ingest_pipeline.parse_ahead import ParseAhead
from ingest_pipeline_tests.support import (
    JOB_EXECUTE,
    cli_env,
    graph_metadata,
    graph_snapshot,
    ingest_job_with_resources,
    interrupt_mid_write,
    ledger_ingested,
    run_ingest,
    write_chain_corpus,
    write_star_chain_corpus,
)
from ingest_pipeline_tests.test_parse_ahead import die


def resource_config(neo4j, state: Path, **neo4j_overrides) -> dict:
    return {
        "neo4j": {"config": {"uri": neo4j.uri, **neo4j_overrides}},
        "parse_cache": {"config": {"path": str(state / "cache.db")}},
        "ledger": {"config": {"path": str(state / "ledger.db")}},
    }


def multiprocess_run(neo4j, tmp_path: Path, corpus: Path, chunk_max_files: int, **parse_cache) -> tuple[dict, list[str]]:
    """A 2-worker run under the multiprocess executor (state in mp-state): its graph metadata and log lines."""
    (tmp_path / "home").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        config = resource_config(neo4j, tmp_path / "mp-state")
        config["parse_cache"]["config"].update(parse_cache)
        run_config = {
            **ingest_run_config(source_dir=str(corpus), workers=2, chunk_max_files=chunk_max_files),
            "resources": config,
            "execution": {"config": multiprocess_config(2)},
        }
        with execute_job(reconstructable(ingest_job_with_resources), instance=instance, run_config=run_config) as result:
            assert result.success
            return graph_metadata(result), [r.user_message for r in instance.all_logs(result.run_id)]


@pytest.mark.parametrize("cache", [True, False], ids=["parse cache", "cache off (spool)"])
def test_multiprocess_run_builds_the_same_graph_as_in_process(neo4j, resources, tmp_path, cache, parse_pool):
    corpus = write_star_chain_corpus(tmp_path / "corpus", 12)
    run_ingest(resources, corpus)
    in_process = graph_snapshot(neo4j)
    neo4j.query("MATCH (n) DETACH DELETE n")

    metadata, _ = multiprocess_run(neo4j, tmp_path, corpus, 3, enabled=cache, spool_path=str(tmp_path / "mp-state" / "spool.db"))

    assert graph_snapshot(neo4j) == in_process
    assert metadata["executor"] == "multiprocess" and metadata["workers"] == 2 and metadata["chunks"] == 4
    assert metadata["parse_pool_workers"] == 0
    assert metadata["files_ingested"] == 12 and metadata["step_startup_seconds_p50"] > 0


def test_models_evicted_before_the_writer_takes_them_are_parsed_again(neo4j, resources, tmp_path):
    """A parse cache too small for a chunk: the writer, in a process of its own, finds most models
    gone and parses those files again, as they are now."""
    corpus = write_star_chain_corpus(tmp_path / "corpus", 12)
    run_ingest(resources, corpus)
    in_process = graph_snapshot(neo4j)
    neo4j.query("MATCH (n) DETACH DELETE n")

    _, logs = multiprocess_run(neo4j, tmp_path, corpus, 6, max_entries=1)

    assert graph_snapshot(neo4j) == in_process
    assert ledger_ingested(tmp_path / "mp-state" / "ledger.db") == 12
    # Each chunk's writer (and the report, rewriting files a later chunk made stale) kept one model at most.
    again = [int(line.split()[0]) for line in logs if line.endswith("no longer in the parse cache: parsing them again")]
    assert len(again) >= 2 and all(count >= 5 for count in again)


def test_in_process_choice_by_run_config(neo4j, tmp_path):
    corpus = write_chain_corpus(tmp_path / "corpus", 3)
    (tmp_path / "home").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        run_config = {
            **ingest_run_config(source_dir=str(corpus)),
            "resources": resource_config(neo4j, tmp_path / "state"),
            "execution": {"config": IN_PROCESS_CONFIG},
        }
        with execute_job(reconstructable(ingest_job_with_resources), instance=instance, run_config=run_config) as result:
            assert result.success
            assert graph_metadata(result)["executor"] == "in_process"


def test_auto_runs_a_small_folder_in_process_without_being_told(neo4j, tmp_path):
    corpus = write_chain_corpus(tmp_path / "corpus", 3)
    (tmp_path / "home").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        run_config = {**ingest_run_config(source_dir=str(corpus)), "resources": resource_config(neo4j, tmp_path / "state")}
        with execute_job(reconstructable(ingest_job_with_resources), instance=instance, run_config=run_config) as result:
            assert result.success
            assert graph_metadata(result)["executor"] == "in_process"
            said = [r.user_message for r in instance.all_logs(result.run_id) if r.user_message.startswith("executor:")]
    assert said == [f"executor: in process — 3 files in {corpus} (fewer than in_process_max_files=5000)"]


@pytest.mark.parametrize(
    ("job", "config", "expected"),
    [
        ("ingest_sql_files", {"paths": ["a.sql", "b.sql"]}, (2, "2 path(s) given")),
        ("ingest_sql_files", {"batch_id": "b00000001-abc"}, (None, "sensor batch b00000001-abc")),
        ("ingest_sql_files", {"paths": ["a.sql"], "full_scan": True}, (5, "5 files in {folder}")),
        ("ingest_sql_files", {}, (5, "5 files in {folder}")),
        ("replay_failed", {}, (1, "1 dead-lettered file(s) to replay")),
    ],
    ids=["paths", "sensor-batch", "full-scan-wins", "whole-folder", "replay-job"],
)
def test_auto_counts_the_files_a_run_can_touch(tmp_path, monkeypatch, job, config, expected):
    folder = write_chain_corpus(tmp_path / "corpus", 5)
    (folder / "notes.txt").write_text("not SQL")
    dead = tmp_path / "dead.jsonl"
    dead.write_text('{"file": "f0001.sql"}\n')
    monkeypatch.setenv("INGEST_DEAD_LETTER_PATH", str(dead))

    count, why = files_in_reach(job, ingest_run_config(source_dir=str(folder), **config))

    assert (count, why) == (expected[0], expected[1].format(folder=folder))


@pytest.fixture
def parse_pool(monkeypatch):
    """Runs of any size parse ahead when they may; the pool is closed afterwards."""
    monkeypatch.setattr(ingest_ops, "PARSE_AHEAD_MIN_FILES", 1)
    monkeypatch.setattr(parse_ahead, "LEAD_FILES", 5)
    yield
    parse_ahead.discard()


def auto_run(neo4j, tmp_path: Path, corpus: Path, state: str, **config):
    """An auto-executor run through execute_job: its success, graph metadata and log lines."""
    home = tmp_path / f"home-{state}"
    home.mkdir()
    with instance_for_test(temp_dir=str(home)) as instance:
        run_config = {**ingest_run_config(source_dir=str(corpus), **config), "resources": resource_config(neo4j, tmp_path / state)}
        with execute_job(reconstructable(ingest_job_with_resources), instance=instance, run_config=run_config) as result:
            logs = [r.user_message for r in instance.all_logs(result.run_id)]
            return result.success, graph_metadata(result), logs


def test_in_process_with_two_workers_parses_ahead_and_builds_the_same_graph(neo4j, resources, tmp_path, parse_pool):
    corpus = write_star_chain_corpus(tmp_path / "corpus", 40)
    run_ingest(resources, corpus, workers=1)
    serial = graph_snapshot(neo4j)
    neo4j.query("MATCH (n) DETACH DELETE n")

    success, metadata, logs = auto_run(neo4j, tmp_path, corpus, "state", workers=2, chunk_max_files=7)

    assert success and graph_snapshot(neo4j) == serial
    assert ledger_ingested(tmp_path / "state" / "ledger.db") == 40
    assert [line for line in logs if line.startswith("parsing ahead")] == [
        "parsing ahead in 2 pool processes: each chunk is written while the next ones are parsed"
    ]
    # A lead chunk of 5 files parsed by its step; by the pool, one of 9 files (twice the lead, spread over the
    # other 35), then 6 chunks (40 files / chunk_max_files 7, to a multiple of 2).
    assert (metadata["executor"], metadata["workers"], metadata["parse_pool_workers"], metadata["chunks"]) == ("in_process", 2, 2, 8)
    assert sum(line.startswith("read ") and "ahead in 2 pool processes" in line for line in logs) == 7


def test_a_parse_pool_that_breaks_mid_run_leaves_the_chunks_to_the_steps(neo4j, resources, tmp_path, parse_pool):
    corpus = write_chain_corpus(tmp_path / "corpus", 60)
    run_ingest(resources, corpus, workers=1)
    serial = graph_snapshot(neo4j)
    neo4j.query("MATCH (n) DETACH DELETE n")
    parse_ahead.discard()
    parse_ahead._POOL = ParseAhead(2, parse=die)  # its processes die on their first batch

    success, _, logs = auto_run(neo4j, tmp_path, corpus, "state", workers=2, chunk_max_files=30)

    assert success and graph_snapshot(neo4j) == serial
    assert ledger_ingested(tmp_path / "state" / "ledger.db") == 60
    assert [line for line in logs if line.startswith("the parse pool broke")]
    assert parse_ahead.current() is None  # the next run starts a fresh pool


def test_terminated_run_then_rerun_equals_one_clean_run(neo4j, resources, tmp_path):
    corpus = write_chain_corpus(tmp_path / "corpus", 400)
    run_ingest(resources, corpus)
    clean = graph_snapshot(neo4j)
    neo4j.query("MATCH (n) DETACH DELETE n")

    state = tmp_path / "state"
    # Over processes: a step process stops at the signal; in process, Dagster lets the step finish first.
    env = cli_env(neo4j.uri, corpus, state, tmp_path / "home", NEO4J_FILES_PER_TRANSACTION="5", INGEST_EXECUTOR="multiprocess")
    interrupt_mid_write(env, state / "ledger.db", signal.SIGINT)
    partial = ledger_ingested(state / "ledger.db")
    assert 0 < partial < 400, "the run should have been interrupted part-way through the write"

    rerun = subprocess.run(JOB_EXECUTE, env=env, capture_output=True, text=True, timeout=300)

    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert ledger_ingested(state / "ledger.db") == 400
    assert graph_snapshot(neo4j) == clean


@pytest.mark.parametrize(
    ("files", "workers", "in_process"),
    [
        (10, 2, True),  # small: step start-up would outweigh the parallel parse
        (6000, 2, False),  # large, several workers: fan out
        (6000, 1, True),  # one worker: processes would only add start-up
        (None, 2, False),  # size unknown (a sensor batch): fan out
        (None, 1, True),
        (6000, None, False),  # workers elsewhere (Celery): never in process because of them
    ],
)
def test_auto_runs_in_process_when_small_or_with_one_worker(files, workers, in_process):
    assert runs_in_process(files, 5000, workers) is in_process


def test_the_sensor_runs_a_large_batch_in_process_when_there_is_one_worker(monkeypatch):
    from ingest_pipeline.batching import NewBatch
    from ingest_pipeline.sensors import run_config_for

    big = NewBatch("b1", [f"f{i}.sql" for i in range(300)], "normal")
    monkeypatch.setenv("INGEST_EXECUTOR", "auto")
    monkeypatch.setenv("INGEST_WORKERS", "1")
    assert run_config_for(big, "src", "default", in_process_max_files=200)["execution"]["config"] == IN_PROCESS_CONFIG
    monkeypatch.setenv("INGEST_WORKERS", "2")
    assert run_config_for(big, "src", "default", in_process_max_files=200)["execution"]["config"] == multiprocess_config(2)


def test_ingest_executor_setting_picks_the_default_and_the_sensor_keeps_it(monkeypatch):
    from ingest_pipeline.batching import NewBatch
    from ingest_pipeline.jobs.executor import default_config
    from ingest_pipeline.sensors import run_config_for

    big = NewBatch("b1", [f"f{i}.sql" for i in range(300)], "normal")
    for choice, expected in (("celery", {"celery": {}}), ("in_process", IN_PROCESS_CONFIG), ("multiprocess", multiprocess_config())):
        monkeypatch.setenv("INGEST_EXECUTOR", choice)
        assert default_config() == expected
        assert run_config_for(big, "src", "default", in_process_max_files=200)["execution"]["config"] == expected
