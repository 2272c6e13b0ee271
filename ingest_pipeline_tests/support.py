"""Helpers the tests share: running the job and reading the graph back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest_pipeline.jobs.ingest import ingest_sql_files
from ingest_pipeline.resources import Neo4jResource

# The exact relationships an ingest of fixtures/warehouse produces.
WAREHOUSE_EDGES = {
    ("raw/orders.sql", "HAS_STATEMENT", "raw/orders.sql#0"),
    ("raw/orders.sql", "HAS_STATEMENT", "raw/orders.sql#1"),
    ("raw/orders.sql#0", "WRITES", "raw.orders"),
    ("raw/orders.sql#1", "WRITES", "raw.customers"),
    ("staging.sql", "HAS_STATEMENT", "staging.sql#0"),
    ("staging.sql", "HAS_STATEMENT", "staging.sql#1"),
    ("staging.sql#0", "READS", "raw.orders"),
    ("staging.sql#0", "READS", "raw.customers"),
    ("staging.sql#0", "WRITES", "staging.orders"),
    ("staging.sql#1", "READS", "raw.customers"),
    ("staging.sql#1", "WRITES", "staging.customers"),
    ("marts/revenue.sql", "HAS_STATEMENT", "marts/revenue.sql#0"),
    ("marts/revenue.sql", "HAS_STATEMENT", "marts/revenue.sql#1"),
    ("marts/revenue.sql#0", "READS", "staging.orders"),
    ("marts/revenue.sql#0", "READS", "staging.customers"),
    ("marts/revenue.sql#0", "WRITES", "marts.revenue"),
    ("staging.orders", "DEPENDS_ON", "raw.orders"),
    ("staging.orders", "DEPENDS_ON", "raw.customers"),
    ("staging.customers", "DEPENDS_ON", "raw.customers"),
    ("marts.revenue", "DEPENDS_ON", "staging.orders"),
    ("marts.revenue", "DEPENDS_ON", "staging.customers"),
}


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
