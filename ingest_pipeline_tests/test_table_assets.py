"""Warehouse tables as external assets: saved by every ingest run, loaded by the code location."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster import build_sensor_context, instance_for_test

from ingest_pipeline import table_assets
from ingest_pipeline.table_assets import build_table_assets_refresh, reload_location
from ingest_pipeline_tests.support import EXAMPLES, graph_metadata, job_resources, run_ingest

# What the code location holds after examples/sql is ingested: each table's key and its deps.
LOAD_SCRIPT = """
import json
from ingest_pipeline.warehouse_definitions import defs
specs = [s for s in defs.resolve_all_asset_specs() if s.key.path[0] == "warehouse"]
print(json.dumps({
    s.key.to_user_string(): {
        "deps": sorted(d.asset_key.to_user_string() for d in s.deps),
        "group": s.group_name,
        "kinds": sorted(s.kinds),
        "metadata": sorted(s.metadata),
        "code_references": [(r.file_path, r.line_number) for r in s.metadata["dagster/code_references"].code_references]
        if "dagster/code_references" in s.metadata else [],
        "column_lineage": {c: sorted((d.asset_key.to_user_string(), d.column_name) for d in deps)
                           for c, deps in s.metadata["dagster/column_lineage"].deps_by_column.items()}
        if "dagster/column_lineage" in s.metadata else {},
    }
    for s in specs
}))
"""


def test_after_ingesting_the_examples_the_code_location_holds_their_tables(neo4j, tmp_path):
    state = tmp_path / "table_assets.json"
    os.environ["INGEST_TABLE_ASSETS_PATH"], saved = str(state), os.environ["INGEST_TABLE_ASSETS_PATH"]
    try:
        result = run_ingest(job_resources(neo4j, tmp_path), EXAMPLES)
    finally:
        os.environ["INGEST_TABLE_ASSETS_PATH"] = saved
    assert result.success
    # Each table a file of the run writes is observed, by the refresh sensor, once per saved state: the
    # Lineage page says when its lineage was read and by which run. The run itself spends nothing on it.
    assert not [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION" and e.asset_key.path[0] == "warehouse"]
    sensor = build_table_assets_refresh(table_assets.signature(state), "29 tables shown")
    with instance_for_test(overrides={}) as instance:
        os.environ["INGEST_TABLE_ASSETS_PATH"] = str(state)
        try:
            first = sensor(build_sensor_context(instance=instance))
            again = sensor(build_sensor_context(instance=instance, cursor=first.cursor))
        finally:
            os.environ["INGEST_TABLE_ASSETS_PATH"] = saved
    observed = {e.asset_key.to_user_string(): e for e in first.asset_events}
    assert len(observed) == 29 and all(key.startswith("warehouse/") for key in observed)
    revenue = observed["warehouse/marts/daily_revenue"]
    assert revenue.description == f"Lineage read from marts/daily_revenue.sql by run {result.run_id}."
    assert first.skip_reason.skip_message == "table assets up to date: 29 tables shown; observed 29 table(s) the last ingest run wrote"
    assert again.asset_events == [] and again.skip_reason.skip_message == "table assets up to date: 29 tables shown"

    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT],
        env={**os.environ, "INGEST_TABLE_ASSETS_PATH": str(state)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assets = json.loads(loaded.stdout)

    assert len(assets) == 29
    assert {key.split("/")[1] for key in assets} == {"raw", "staging", "marts"}
    assert assets["warehouse/marts/daily_revenue"]["deps"] == ["warehouse/marts/fct_orders"]
    assert assets["warehouse/marts/fct_orders"]["deps"] == [
        f"warehouse/staging/{name}" for name in ("stg_customers", "stg_order_items", "stg_orders", "stg_payments", "stg_refunds")
    ]
    assert assets["warehouse/raw/orders"]["deps"] == []
    revenue = assets["warehouse/marts/daily_revenue"]
    assert revenue["group"] == "marts" and revenue["kinds"] == ["sql", "table"]
    assert {"dagster/table_name", "dagster/column_schema", "dagster/column_lineage", "dagster/code_references"} <= set(revenue["metadata"])
    assert revenue["code_references"] == [[str(EXAMPLES / "marts" / "daily_revenue.sql"), 3]]
    assert assets["warehouse/marts/dim_products"]["kinds"] == ["sql", "view"]
    lineage = assets["warehouse/staging/stg_customers"]["column_lineage"]
    assert lineage and all(source[0] == "warehouse/raw/customers" for deps in lineage.values() for source in deps)


def _table(fqn: str, deps: list[str] = (), kind: str = "table") -> dict:
    db, name = fqn.split(".")
    return {"fqn": fqn, "name": name, "db": db, "catalog": None, "kind": kind, "deps": list(deps), "columns": ["id"],
            "lineage": {"id": [[d, "id"] for d in deps]}, "writers": [{"file": f"{name}.sql", "source": "default", "line": 1, "kinds": ["INSERT"]}]}


def test_names_that_would_meet_get_distinct_keys_and_a_large_graph_shows_none():
    state = {"table_count": 3, "sources": {"default": "/srv/sql"}, "tables": [
        _table("raw.a b"), _table("raw.a_b"), _table('raw."x/y"', kind="view")
    ]}
    state["tables"][2]["name"] = "x/y"

    keys = sorted(spec.key.to_user_string() for spec in table_assets.specs(state, limit=3))

    assert keys[0] == "warehouse/raw/a_b" and keys[1].startswith("warehouse/raw/a_b_") and keys[2] == "warehouse/raw/x_y"
    assert table_assets.specs(state, limit=2) == []
    assert table_assets.shown_count(state, 2) == (0, "3 tables is more than INGEST_TABLE_ASSETS_MAX=2: none shown")
    assert table_assets.shown_count({}, 2)[1] == "no ingest run has saved table assets yet"


def test_refresh_sensor_says_when_the_saved_tables_changed(tmp_path, monkeypatch):
    state = tmp_path / "table_assets.json"
    monkeypatch.setenv("INGEST_TABLE_ASSETS_PATH", str(state))
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "")
    table_assets.save(state, {"table_count": 1, "tables": [_table("raw.a")]}, "default", str(tmp_path))
    sensor = build_table_assets_refresh(table_assets.signature(state), "1 tables shown")

    with instance_for_test() as instance:
        current = sensor(build_sensor_context(instance=instance))
        table_assets.save(state, {"table_count": 2, "tables": [_table("raw.a"), _table("raw.b", ["raw.a"])]}, "default", str(tmp_path))
        changed = sensor(build_sensor_context(instance=instance))

    assert current.skip_reason.skip_message == "table assets up to date: 1 tables shown"
    assert "reload the definitions (Deployment → Reload)" in changed.skip_reason.skip_message
    assert json.loads(Path(state).read_text())["sources"] == {"default": str(tmp_path.resolve())}
    # The reload itself is Dagster's GraphQL client against the UI (the browser test sees it work).
    answer = reload_location("http://127.0.0.1:9", "ingest_pipeline")  # nothing listens on port 9
    assert answer.startswith("the UI at DAGSTER_WEBSERVER_URL=http://127.0.0.1:9 did not answer")


def _tables(state: Path) -> dict[str, dict]:
    return {t["fqn"]: t for t in json.loads(state.read_text())["tables"]}


def _two_table_folder(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """The saved-state file (INGEST_TABLE_ASSETS_PATH) and a folder where b.sql reads what a.sql writes."""
    state = tmp_path / "table_assets.json"
    monkeypatch.setenv("INGEST_TABLE_ASSETS_PATH", str(state))
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "a.sql").write_text("INSERT INTO mart.a SELECT id FROM raw.src;\n")
    (folder / "b.sql").write_text("INSERT INTO mart.b SELECT id FROM mart.a;\n")
    return state, folder


def test_tables_are_read_again_only_when_a_file_says_something_new_about_them(neo4j, tmp_path, monkeypatch):
    state, folder = _two_table_folder(tmp_path, monkeypatch)
    resources = job_resources(neo4j, tmp_path)
    neo4j.query("MATCH (n) DETACH DELETE n")
    assert run_ingest(resources, folder).success
    first = state.read_bytes()

    (folder / "a.sql").write_text("-- reformatted, same lineage\nINSERT INTO mart.a SELECT id FROM raw.src;\n")
    same = run_ingest(resources, folder)  # the writing line moved: the state must follow

    assert same.success and state.read_bytes() != first
    assert _tables(state)["mart.a"]["writers"][0]["line"] == 2

    kept = state.read_bytes()
    (folder / "b.sql").write_text("INSERT INTO mart.b SELECT id FROM mart.a;\n-- a comment at the end\n")
    unchanged = run_ingest(resources, folder)  # same tables, lines, columns and lineage: nothing to read again

    assert unchanged.success and state.read_bytes() == kept
    assert "Table assets**: unchanged" in str(graph_metadata(unchanged)["summary"])

    (folder / "b.sql").write_text("INSERT INTO mart.b SELECT id, name FROM mart.a JOIN raw.names USING (id);\n")
    changed = run_ingest(resources, folder)

    assert changed.success
    assert _tables(state)["mart.b"]["deps"] == ["mart.a", "raw.names"]
    (folder / "a.sql").unlink()
    assert run_ingest(resources, folder, allow_mass_delete=True).success  # a deletion always reads again
    assert "mart.a" in _tables(state) and _tables(state)["mart.a"]["writers"] == []


def test_a_saved_state_of_another_graph_is_read_again(neo4j, tmp_path, monkeypatch):
    state, folder = _two_table_folder(tmp_path, monkeypatch)
    neo4j.query("MATCH (n) DETACH DELETE n")
    assert run_ingest(job_resources(neo4j, tmp_path / "first"), folder).success
    assert "mart.b" in _tables(state)

    neo4j.query("MATCH (n) DETACH DELETE n")  # another graph, which will hold a.sql alone
    (folder / "b.sql").unlink()
    assert run_ingest(job_resources(neo4j, tmp_path / "second"), folder).success

    assert "mart.b" not in _tables(state)  # a.sql's digest matches, but the saved state spoke for the old graph
