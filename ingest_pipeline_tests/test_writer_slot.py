"""A run killed (SIGKILL) while holding the neo4j_writer slot must not block every later run."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter, build_sensor_context

from ingest_pipeline import writer_slot
from ingest_pipeline.sensors import writer_slot_watchdog
from ingest_pipeline_tests.support import (
    JOB_EXECUTE,
    cli_env,
    graph_snapshot,
    interrupt_mid_write,
    ledger_ingested,
    run_ingest,
    write_chain_corpus,
)

ROOT = Path(__file__).resolve().parents[1]
FILES = 120


@pytest.fixture
def killed_writer(neo4j, resources, tmp_path):
    """A `dagster job execute` run SIGKILLed (with its whole process tree) in the middle of its write,
    on an instance configured by the shipped dagster.yaml; yields (instance, env, command, clean graph)."""
    corpus = write_chain_corpus(tmp_path / "corpus", FILES)
    run_ingest(resources, corpus)
    clean = graph_snapshot(neo4j)
    neo4j.query("MATCH (n) DETACH DELETE n")
    home, state = tmp_path / "home", tmp_path / "state"
    env = cli_env(neo4j.uri, corpus, state, home, NEO4J_FILES_PER_TRANSACTION="1")
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    interrupt_mid_write(env, state / "ledger.db", signal.SIGKILL)
    assert 0 < ledger_ingested(state / "ledger.db") < FILES, "the run should have died part-way through the write"
    with DagsterInstance.from_config(str(home)) as instance:
        (dead,) = instance.get_runs(RunsFilter(job_name="ingest_sql_files"))
        # The failure this guards against: the dead run still STARTED, still holding the slot.
        assert dead.status == DagsterRunStatus.STARTED
        assert [h.run_id for h in writer_slot.holders(instance)] == [dead.run_id]
        yield instance, env, clean, dead.run_id, state


def test_the_next_run_frees_a_dead_runs_writer_slot_and_completes(killed_writer, neo4j):
    instance, env, clean, dead_run, state = killed_writer

    rerun = subprocess.run(JOB_EXECUTE, env=env, capture_output=True, text=True, timeout=300)

    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert instance.get_run_by_id(dead_run).status == DagsterRunStatus.FAILURE
    assert writer_slot.holders(instance) == []
    assert ledger_ingested(state / "ledger.db") == FILES
    assert graph_snapshot(neo4j) == clean


def test_the_watchdog_sensor_frees_it_without_a_new_run(killed_writer):
    instance, *_, dead_run, _ = killed_writer

    result = writer_slot_watchdog(build_sensor_context(instance=instance))

    assert dead_run in result.skip_message
    assert instance.get_run_by_id(dead_run).status == DagsterRunStatus.FAILURE
    assert writer_slot.holders(instance) == []
    # A live holder is left alone: a second tick has nothing to do.
    assert writer_slot_watchdog(build_sensor_context(instance=instance)).skip_message.endswith("slot free")
