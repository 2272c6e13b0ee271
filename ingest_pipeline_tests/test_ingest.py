"""ingest_sql_files end to end: real Dagster, real Neo4j."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ingest_pipeline import handoff
from ingest_pipeline.resources import Neo4jResource, ParseCacheResource
from ingest_pipeline.state.ledger import FAILED, INGESTED, Ledger
from ingest_pipeline_tests.support import (
    WAREHOUSE_EDGES as EXPECTED_EDGES,
    asset_event_metadata,
    clean_ingest_snapshot,
    failure_description,
    graph_edges,
    graph_metadata,
    graph_snapshot,
    run_ingest,
    write_star_chain_corpus,
)



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
    assert revenue["f"]["dialect"] == "postgres" and revenue["f"]["source"] == "default"
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


def test_unreachable_neo4j_fails_the_plan_at_once_naming_the_uri(resources, warehouse, tmp_path):
    # Default retry settings: a refused connection must not be retried for half a minute.
    resources = {**resources, "neo4j": Neo4jResource(uri="bolt://127.0.0.1:1")}

    started = time.monotonic()
    result = run_ingest(resources, warehouse)

    assert not result.success
    assert time.monotonic() - started < 20
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key.endswith("plan_batch")
    assert failure.event_specific_data.user_failure_data.description == (
        "Neo4j unreachable at NEO4J_URI=bolt://127.0.0.1:1 (connection refused): start it with `ingest-pipeline neo4j start` "
        "or point NEO4J_URI at a running server. Nothing was planned or written."
    )
    assert Ledger(Path(resources["ledger"].path)).counts().get(INGESTED, 0) == 0


def test_wiped_graph_is_reingested_from_the_cache(resources, warehouse):
    run_ingest(resources, warehouse)
    resources["neo4j"].query("MATCH (n) DETACH DELETE n")

    result = run_ingest(resources, warehouse)

    assert graph_edges(resources["neo4j"]) == EXPECTED_EDGES
    metadata = graph_metadata(result)
    assert metadata["files_ingested"] == 3 and metadata["files_parsed"] == 0
    assert asset_event_metadata(result, "parse_cache", "ASSET_OBSERVATION")["hits"] == 3


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


def test_an_empty_or_switched_folder_is_refused_until_confirmed(resources, warehouse, tmp_path):
    neo4j = resources["neo4j"]
    run_ingest(resources, warehouse)
    before = graph_snapshot(neo4j)
    empty = tmp_path / "unmounted"
    empty.mkdir()
    switched = tmp_path / "other_warehouse"
    switched.mkdir()
    (switched / "x.sql").write_text("INSERT INTO other.t SELECT * FROM other.s")

    for folder in (empty, switched):
        refused = run_ingest(resources, folder)

        assert not refused.success
        assert "refusing to delete 3 file(s)" in failure_description(refused)
        assert "allow_mass_delete: true" in failure_description(refused)
        assert graph_snapshot(neo4j) == before
        assert Ledger(Path(resources["ledger"].path)).counts() == {INGESTED: 3}

    confirmed = run_ingest(resources, empty, allow_mass_delete=True)

    assert confirmed.success
    assert neo4j.query("MATCH (f:SqlFile) RETURN count(f) AS n")[0]["n"] == 0


def test_sources_share_one_graph_and_each_run_deletes_only_its_own(resources, warehouse, tmp_path):
    erp = tmp_path / "erp"
    erp.mkdir()
    for i in range(3):
        (erp / f"e{i}.sql").write_text(f"INSERT INTO erp.t{i} SELECT * FROM raw.orders")
    run_ingest(resources, warehouse)
    run_ingest(resources, erp, source_name="erp")
    (erp / "e2.sql").unlink()

    result = run_ingest(resources, erp, source_name="erp")

    assert result.success and graph_metadata(result)["files_deleted"] == 1
    files = {(r["path"], r["source"]) for r in resources["neo4j"].query("MATCH (f:SqlFile) RETURN f.path AS path, f.source AS source")}
    assert files == {
        ("raw/orders.sql", "default"),
        ("staging.sql", "default"),
        ("marts/revenue.sql", "default"),
        ("erp//e0.sql", "erp"),
        ("erp//e1.sql", "erp"),
    }
    edges = graph_edges(resources["neo4j"])
    assert EXPECTED_EDGES <= edges and ("erp//e1.sql#0", "WRITES", "erp.t1") in edges


def test_files_deleted_while_the_ledger_was_reset_leave_the_graph(resources, warehouse, tmp_path):
    run_ingest(resources, warehouse)
    ledger_path = Path(resources["ledger"].path)
    ledger_path.rename(ledger_path.with_name("moved-aside.db"))  # the documented repair for a damaged ledger
    (warehouse / "marts" / "revenue.sql").unlink()

    result = run_ingest(resources, warehouse)

    assert result.success and graph_metadata(result)["files_deleted"] == 1
    assert graph_snapshot(resources["neo4j"]) == clean_ingest_snapshot(resources, warehouse, tmp_path)


def test_a_lineage_changing_setting_re_derives_every_file(resources, warehouse, tmp_path):
    run_ingest(resources, warehouse)

    switched = run_ingest(resources, warehouse, column_lineage=False)

    assert switched.success and graph_metadata(switched)["files_ingested"] == 3
    assert graph_snapshot(resources["neo4j"]) == clean_ingest_snapshot(resources, warehouse, tmp_path, column_lineage=False)


@pytest.mark.parametrize("cache", [True, False], ids=["parse cache", "cache off (spool)"])
def test_chunks_written_as_they_finish_give_the_graph_of_one_clean_ingest(resources, tmp_path, cache):
    corpus = write_star_chain_corpus(tmp_path / "corpus", 8)
    oracle = clean_ingest_snapshot(resources, corpus, tmp_path)  # one chunk: every expansion sees the whole catalog
    resources["neo4j"].query("MATCH (n) DETACH DELETE n")
    parse_cache = ParseCacheResource(path=resources["parse_cache"].path, enabled=cache, spool_path=str(tmp_path / "spool.db"))

    # One chunk per file: a file's star is expanded before or after the file defining its source.
    result = run_ingest({**resources, "parse_cache": parse_cache}, corpus, chunk_max_files=1)

    assert result.success
    assert graph_snapshot(resources["neo4j"]) == oracle
    metadata = graph_metadata(result)
    assert metadata["chunks"] == 8 and metadata["files_ingested"] == 8 and metadata["files_refreshed"] > 0
    assert Ledger(Path(resources["ledger"].path)).counts() == {INGESTED: 8}


@pytest.mark.parametrize("cache, most_held", [(True, 1), (False, 8)], ids=["parse cache", "cache off"])
def test_a_run_in_process_holds_only_the_models_not_yet_written(resources, tmp_path, monkeypatch, cache, most_held):
    """With the parse cache on, each chunk's models leave memory once written (the report takes
    what it rewrites from the cache), so a run's memory does not grow with its size; with the
    cache off, memory is where the report finds them."""
    corpus = write_star_chain_corpus(tmp_path / "corpus", 8)
    held: list[int] = []
    leave = handoff.leave

    def counting_leave(run_id, models, spool, *, in_memory):
        leave(run_id, models, spool, in_memory=in_memory)
        held.append(len(handoff._MEMO.get(run_id, {})))

    monkeypatch.setattr(handoff, "leave", counting_leave)
    parse_cache = ParseCacheResource(path=resources["parse_cache"].path, enabled=cache, spool_path=str(tmp_path / "spool.db"))

    result = run_ingest({**resources, "parse_cache": parse_cache}, corpus, chunk_max_files=1)

    assert result.success and graph_metadata(result)["files_refreshed"] > 0
    assert len(held) == 8 and max(held) == most_held


def test_routines_and_locations_a_changed_file_stops_naming_are_tidied(resources, tmp_path):
    """The clean-up after a replace (orphan routines and locations, routine kinds) against a clean ingest."""
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "proc.sql").write_text(
        "-- dialect: tsql\nCREATE PROCEDURE dbo.load_orders AS\nBEGIN\n"
        "  INSERT INTO dbo.orders SELECT id FROM dbo.staging_orders;\nEND\nGO\nEXEC dbo.load_orders;\n"
    )
    (folder / "ext.sql").write_text(
        "-- dialect: hive\nCREATE EXTERNAL TABLE db.ext (a INT) STORED AS PARQUET LOCATION 's3://bucket/ext/';\n"
    )
    neo4j = resources["neo4j"]
    neo4j.query("MATCH (n) DETACH DELETE n")
    assert run_ingest(resources, folder).success
    assert neo4j.query("MATCH (p:Routine) RETURN p.fqn AS fqn, p.kind AS kind") == [{"fqn": "dbo.load_orders", "kind": "procedure"}]
    assert neo4j.query("MATCH (l:Location) RETURN l.uri AS uri") == [{"uri": "s3://bucket/ext/"}]

    (folder / "proc.sql").write_text("-- dialect: tsql\nINSERT INTO dbo.orders SELECT id FROM dbo.staging_orders;\n")
    (folder / "ext.sql").write_text("-- dialect: hive\nCREATE TABLE db.ext (a INT);\n")
    assert run_ingest(resources, folder).success

    assert neo4j.query("MATCH (n) WHERE n:Routine OR n:Location RETURN count(n) AS n") == [{"n": 0}]
    replaced = graph_snapshot(neo4j)
    assert replaced == clean_ingest_snapshot(resources, folder, tmp_path / "oracle")
