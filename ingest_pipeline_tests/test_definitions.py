"""The code location loads, and the job runs through the real `dagster job execute` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest_pipeline.definitions import defs
from ingest_pipeline_tests.support import JOB_EXECUTE, WAREHOUSE_EDGES, cli_env, graph_edges

BIN = Path(sys.executable).parent


def test_definitions_load_with_the_documented_names():
    job = defs.resolve_job_def("ingest_sql_files")
    assert {node.name for node in job.graph.nodes} == {"plan_batch", "parse_chunk", "write_graph", "report"}
    assert set(defs.resources) >= {"neo4j", "parse_cache", "ledger"}


def test_password_comes_from_the_environment_and_is_not_shown(monkeypatch):
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-value")
    from ingest_pipeline.resources.configured import neo4j_resource

    resource = neo4j_resource()
    assert "s3cret-value" not in repr(resource.password)


def test_a_bad_setting_fails_the_code_location_load_with_the_one_line_messages(tmp_path):
    completed = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "ingest_pipeline.definitions"],
        cwd=tmp_path,
        env={**os.environ, "INGEST_WORKERS": "two", "ENABLE_BATCHING": "maybe"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    message = (
        "ingest_pipeline.settings.SettingsError: invalid settings (environment variables or .env):\n"
        "  INGEST_WORKERS='two' (environment): expected a whole number >= 0\n"
        "  ENABLE_BATCHING='maybe' (environment): expected one of true, false, 1, 0, yes, no, on, off\n"
    )
    assert message in output, output[-3000:]
    # What Dagster shows under the message is the load call, not a wall of frames.
    assert output.count('  File "') <= 2, output[-3000:]


def test_dagster_job_execute_cli(neo4j, warehouse, tmp_path):
    env = cli_env(neo4j.uri, warehouse, tmp_path, tmp_path / "dagster_home")

    completed = subprocess.run(JOB_EXECUTE, env=env, capture_output=True, text=True, timeout=300)

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stderr + completed.stdout
    assert graph_edges(neo4j) == WAREHOUSE_EDGES
