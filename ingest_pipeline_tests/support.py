"""Helpers the tests share: running the job and reading the graph back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest_pipeline.jobs.ingest import ingest_sql_files
from ingest_pipeline.resources import Neo4jResource


def run_ingest(resources: dict[str, Any], source_dir: Path, **config: Any):
    """Run ingest_sql_files in process; returns the result (raise_on_error off so tests can inspect failures)."""
    run_config = {"ops": {"plan_batch": {"config": {"source_dir": str(source_dir), **config}}}}
    return ingest_sql_files.execute_in_process(run_config=run_config, resources=resources, raise_on_error=False)


def graph_metadata(result) -> dict[str, Any]:
    """The sql_lineage_graph materialization's metadata values, by name."""
    (materialization,) = [
        m for m in result.asset_materializations_for_node("report") if m.asset_key.to_user_string() == "sql_lineage_graph"
    ]
    return {key: value.value for key, value in materialization.metadata.items()}


def graph_edges(neo4j: Neo4jResource) -> set[tuple[str, str, str]]:
    """Every relationship as (start key, type, end key), keys being path / id / fqn."""
    rows = neo4j.query(
        "MATCH (a)-[r]->(b) "
        "RETURN coalesce(a.path, a.id, a.fqn) AS a, type(r) AS r, coalesce(b.path, b.id, b.fqn) AS b"
    )
    return {(row["a"], row["r"], row["b"]) for row in rows}
