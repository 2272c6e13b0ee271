"""ingest_sql_files end to end: real Dagster, real Neo4j."""

from __future__ import annotations

import shutil
from pathlib import Path

from ingest_pipeline.resources import Neo4jResource, ParseCacheResource
from ingest_pipeline.state.ledger import FAILED, INGESTED, Ledger
from ingest_pipeline_tests.support import WAREHOUSE_EDGES as EXPECTED_EDGES, graph_edges, graph_metadata, run_ingest



def test_ingest_writes_exact_graph(resources, warehouse):
    result = run_ingest(resources, warehouse)

    assert result.success
    neo4j = resources["neo4j"]
    assert graph_edges(neo4j) == EXPECTED_EDGES
    labels = {row["label"]: row["n"] for row in neo4j.query("MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n")}
    assert labels == {"SqlFile": 3, "Statement": 6, "Table": 5, "Column": 12, "IngestMeta": 1}
    kinds = {row["fqn"]: row["kind"] for row in neo4j.query("MATCH (t:Table) RETURN t.fqn AS fqn, t.kind AS kind")}
    assert kinds["staging.customers"] == "view" and kinds["marts.revenue"] == "table"
    (error,) = neo4j.query("MATCH (s:Statement {kind: 'ERROR'}) RETURN s.id AS id, s.line AS line, s.error AS error")
    assert error["id"] == "marts/revenue.sql#1" and error["line"] == 8 and error["error"]
    (revenue,) = neo4j.query("MATCH (f:SqlFile {path: 'marts/revenue.sql'}) RETURN f AS f")
    assert revenue["f"]["dialect"] == "postgres"
    assert revenue["f"]["statement_count"] == 2 and revenue["f"]["error_count"] == 1
    metadata = graph_metadata(result)
    assert metadata["files_seen"] == 3 and metadata["files_ingested"] == 3 and metadata["files_failed"] == 0
    assert metadata["statements"] == 6 and metadata["tables"] == 5 and metadata["parse_errors"] == 1
    assert metadata["columns"] == 12 and metadata["column_edges"] == 7
    assert metadata["executor"] == "in_process" and metadata["workers"] == 1


def test_rerun_is_idempotent_and_skips_unchanged(resources, warehouse):
    run_ingest(resources, warehouse)
    before = resources["neo4j"].counts()

    second = run_ingest(resources, warehouse)
    forced = run_ingest(resources, warehouse, force=True)

    assert resources["neo4j"].counts() == before
    assert graph_edges(resources["neo4j"]) == EXPECTED_EDGES
    unchanged = graph_metadata(second)
    assert unchanged["files_unchanged"] == 3 and unchanged["files_parsed"] == 0
    assert unchanged["neo4j_batches"] == 0 and unchanged["graph_rows_written"] == 0
    assert graph_metadata(forced)["files_ingested"] == 3


def test_modified_file_loses_its_old_edges(resources, warehouse):
    run_ingest(resources, warehouse)
    (warehouse / "staging.sql").write_text("INSERT INTO staging.orders SELECT * FROM raw.orders_v2;\n")

    result = run_ingest(resources, warehouse)

    assert result.success
    edges = graph_edges(resources["neo4j"])
    assert ("staging.sql#0", "READS", "raw.orders_v2") in edges
    assert ("staging.sql#0", "READS", "raw.customers") not in edges
    assert ("staging.orders", "DEPENDS_ON", "raw.customers") not in edges
    assert not any(edge[0] == "staging.sql#1" for edge in edges)
    # staging.customers is still read by marts/revenue.sql, so it stays; it is no longer a view.
    kinds = {r["fqn"]: r["kind"] for r in resources["neo4j"].query("MATCH (t:Table) RETURN t.fqn AS fqn, t.kind AS kind")}
    assert kinds["staging.customers"] == "table"
    assert graph_metadata(result)["files_ingested"] == 1


def test_deleted_file_disappears_with_orphan_tables(resources, warehouse):
    run_ingest(resources, warehouse)
    (warehouse / "marts" / "revenue.sql").unlink()

    result = run_ingest(resources, warehouse)

    assert result.success
    edges = graph_edges(resources["neo4j"])
    assert not any("marts" in a or "marts" in b for a, _, b in edges)
    tables = {r["fqn"] for r in resources["neo4j"].query("MATCH (t:Table) RETURN t.fqn AS fqn")}
    assert tables == {"raw.orders", "raw.customers", "staging.orders", "staging.customers"}
    assert graph_metadata(result)["files_deleted"] == 1
    assert Ledger(Path(resources["ledger"].path)).get("marts/revenue.sql") is None


def test_bad_bytes_and_unreadable_files_keep_the_run_green(resources, warehouse):
    (warehouse / "latin1.sql").write_bytes("INSERT INTO t SELECT 'caf\xe9' FROM s;".encode("latin-1"))
    # Tests run as root, who can read any mode: a dangling symlink is a file nobody can read.
    (warehouse / "locked.sql").symlink_to(warehouse / "missing-target.sql")

    result = run_ingest(resources, warehouse)

    assert result.success
    (latin1,) = resources["neo4j"].query("MATCH (f:SqlFile {path: 'latin1.sql'}) RETURN f.decode_errors AS flag")
    assert latin1["flag"] is True
    assert ("latin1.sql#0", "READS", "s") in graph_edges(resources["neo4j"])
    ledger = Ledger(Path(resources["ledger"].path))
    assert ledger.get("latin1.sql").status == INGESTED
    assert ledger.get("locked.sql").status == FAILED
    assert "locked.sql" in ledger.get("locked.sql").last_error
    assert graph_metadata(result)["files_failed"] == 1


def test_unreachable_neo4j_fails_the_write_naming_the_uri(resources, warehouse, tmp_path):
    resources = {**resources, "neo4j": Neo4jResource(uri="bolt://127.0.0.1:1", max_retries=1, backoff_seconds=0.01)}

    result = run_ingest(resources, warehouse)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "write_graph"
    assert "NEO4J_URI=bolt://127.0.0.1:1" in failure.event_specific_data.user_failure_data.description
    assert Ledger(Path(resources["ledger"].path)).counts().get(INGESTED, 0) == 0


def test_wiped_graph_is_reingested_from_the_cache(resources, warehouse):
    run_ingest(resources, warehouse)
    resources["neo4j"].query("MATCH (n) DETACH DELETE n")

    result = run_ingest(resources, warehouse)

    assert graph_edges(resources["neo4j"]) == EXPECTED_EDGES
    metadata = graph_metadata(result)
    assert metadata["files_ingested"] == 3 and metadata["files_parsed"] == 0
    cache = next(m for m in result.asset_materializations_for_node("report") if m.asset_key.to_user_string() == "parse_cache")
    assert cache.metadata["hits"].value == 3


def test_disabled_cache_gives_the_same_graph(resources, warehouse):
    disabled = ParseCacheResource(path=resources["parse_cache"].path, enabled=False)
    resources = {**resources, "parse_cache": disabled}

    result = run_ingest(resources, warehouse)

    assert result.success and graph_edges(resources["neo4j"]) == EXPECTED_EDGES
    assert not Path(resources["parse_cache"].path).exists()


def test_missing_source_dir_fails_clearly(resources, tmp_path):
    result = run_ingest(resources, tmp_path / "nope")

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "does not exist" in failure.event_specific_data.error.message


def test_ignore_globs_and_explicit_paths(resources, warehouse):
    shutil.copy(warehouse / "staging.sql", warehouse / "scratch.sql")

    result = run_ingest(resources, warehouse, ignore=["scratch.sql"], paths=["staging.sql", "raw/orders.sql"])

    files = {r["path"] for r in resources["neo4j"].query("MATCH (f:SqlFile) RETURN f.path AS path")}
    assert files == {"staging.sql", "raw/orders.sql"}
    assert graph_metadata(result)["files_seen"] == 2
