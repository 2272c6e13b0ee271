"""The code location loads, and the job runs through the real `dagster job execute` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest_pipeline import settings
from ingest_pipeline.definitions import defs
from ingest_pipeline_tests.support import JOB_EXECUTE, WAREHOUSE_EDGES, cli_env, graph_edges

BIN = Path(sys.executable).parent


def test_definitions_load_with_the_documented_names():
    job = defs.resolve_job_def("ingest_sql_files")
    assert {node.name for node in job.graph.nodes} == {"sql_lineage_graph", "sql_lineage_graph_checks"}
    (asset,) = [a for a in defs.resolve_all_asset_specs() if a.key.to_user_string() == "sql_lineage_graph"]
    assert asset.group_name == "sql_lineage" and set(asset.kinds) == {"neo4j", "sql"} and asset.owners and asset.description
    assert {"plan_batch", "parse_chunk", "write_graph", "report"} <= {n.name for n in job.graph.node_named("sql_lineage_graph").definition.nodes}
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {"ledger_matches_graph", "no_orphan_nodes", "no_failed_files", "parse_error_rate", "graph_contract_version"}
    assert {job.name for job in defs.jobs} >= {"ingest_sql_files", "replay_failed", "cache_maintenance"}
    assert set(defs.resources) >= {"neo4j", "parse_cache", "ledger"}


# Asset keys and sensors of a code location module, loaded in a fresh process as a code server does.
LOCATION_SCRIPT = """
import json, sys, importlib
defs = importlib.import_module(sys.argv[1]).defs
print(json.dumps({"assets": sorted(s.key.to_user_string() for s in defs.resolve_all_asset_specs()),
                  "sensors": sorted(s.name for s in defs.sensors or [])}))
"""


def test_the_warehouse_tables_are_a_code_location_of_their_own(tmp_path):
    """Run and step processes load the ingest location: it must not build the (many) table specs."""
    import json

    from ingest_pipeline import table_assets
    from ingest_pipeline_tests.test_table_assets import _table

    state = tmp_path / "table_assets.json"
    table_assets.save(state, {"table_count": 2, "tables": [_table("raw.a"), _table("mart.b", ["raw.a"])]}, "default", str(tmp_path))

    def location(module: str) -> dict:
        loaded = subprocess.run(
            [sys.executable, "-c", LOCATION_SCRIPT, module],
            env={**os.environ, "INGEST_TABLE_ASSETS_PATH": str(state)}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        return json.loads(loaded.stdout)

    ingest, warehouse = location("ingest_pipeline.definitions"), location("ingest_pipeline.warehouse_definitions")

    assert ingest["assets"] == ["parse_cache", "sql_lineage_graph"]
    assert "table_assets_refresh" not in ingest["sensors"]
    assert warehouse == {"assets": ["warehouse/mart/b", "warehouse/raw/a"], "sensors": ["table_assets_refresh"]}
    workspace = (Path(__file__).resolve().parents[1] / "workspace.yaml").read_text()
    assert "ingest_pipeline.definitions" in workspace and "ingest_pipeline.warehouse_definitions" in workspace


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


def _fields(config_type, *path: str):
    for name in path:
        config_type = config_type.fields[name].config_type
    return config_type.fields


def test_the_launchpad_shows_every_field_described_with_its_effective_default():
    schema = defs.resolve_job_def("ingest_sql_files").run_config_schema.config_type
    asset = _fields(schema, "ops", "sql_lineage_graph", "config")
    assert asset["source_dir"].default_value == settings.INGEST_SOURCE_DIR.current()
    assert asset["dialect"].default_value == settings.INGEST_DIALECT.current()
    assert "'' = no batch" in asset["batch_id"].description
    sections = [asset] + [_fields(schema, "resources", name, "config") for name in ("neo4j", "ledger", "parse_cache")]
    sections.append(_fields(schema, "execution", "config", "auto"))
    undescribed = [name for fields in sections for name, field in fields.items() if not field.description]
    assert undescribed == []
