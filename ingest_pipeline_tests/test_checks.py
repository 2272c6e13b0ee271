"""The sql_lineage_graph asset checks: they run with every ingest, alone too, and each one fails for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetCheckSeverity, AssetSelection, Definitions, define_asset_job

from ingest_pipeline.jobs.assets import sql_lineage_graph
from ingest_pipeline.jobs.checks import CONTRACT, FAILED_FILES, LEDGER, ORPHANS, PARSE_ERRORS, graph_checks
from ingest_pipeline.resources import Neo4jResource
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline_tests.support import EXAMPLES, graph_metadata, run_ingest

ALL = {LEDGER, ORPHANS, FAILED_FILES, PARSE_ERRORS, CONTRACT}


def run_checks_alone(resources) -> dict:
    """The checks without an ingest, as *Execute checks* in the UI launches them."""
    job = define_asset_job("checks_alone", selection=AssetSelection.checks_for_assets(sql_lineage_graph))
    defs = Definitions(assets=[sql_lineage_graph], asset_checks=[graph_checks], jobs=[job], resources=resources)
    result = defs.resolve_job_def("checks_alone").execute_in_process(raise_on_error=False)
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_every_ingest_runs_the_checks_and_a_clean_graph_passes_them(resources, warehouse, monkeypatch):
    monkeypatch.setenv("INGEST_PARSE_ERROR_RATE_MAX", "0.2")  # the fixture warehouse: 1 of 6 statements does not parse

    result = run_ingest(resources, warehouse)

    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == ALL
    assert all(e.passed for e in evaluations.values()), {n: e.description for n, e in evaluations.items() if not e.passed}
    assert evaluations[CONTRACT].description == "graph contract v2"


def _drop_a_file(neo4j: Neo4jResource) -> None:
    neo4j.query("MATCH (f:SqlFile {path: 'staging.sql'}) DETACH DELETE f")


def _add_orphans(neo4j: Neo4jResource) -> None:
    neo4j.query("CREATE (:Table {fqn: 'ghost.table'}) CREATE (:Column {fqn: 'ghost.table.c', name: 'c', table: 'ghost.table'})")


def _newer_contract(neo4j: Neo4jResource) -> None:
    neo4j.query("MATCH (m:IngestMeta {key: 'graph'}) SET m.contract_version = 99")


@pytest.mark.parametrize(
    ("breakage", "failing", "listed"),
    [
        (_drop_a_file, LEDGER, "staging.sql: marked ingested, not in the graph"),
        (_add_orphans, ORPHANS, "Column ghost.table.c"),
        (_newer_contract, CONTRACT, "contract v99, newer than v2"),
    ],
    ids=["ledger-and-graph-disagree", "orphans", "newer-contract"],
)
def test_a_check_fails_when_the_graph_is_broken_behind_the_pipelines_back(resources, warehouse, monkeypatch, breakage, failing, listed):
    monkeypatch.setenv("INGEST_PARSE_ERROR_RATE_MAX", "0.2")
    assert run_ingest(resources, warehouse).success

    breakage(resources["neo4j"])
    evaluations = run_checks_alone(resources)

    assert {name for name, e in evaluations.items() if not e.passed} == {failing}
    assert evaluations[failing].severity == AssetCheckSeverity.ERROR
    assert listed in evaluations[failing].description


def test_dead_lettered_parked_and_unparsed_files_warn_with_their_names(resources, warehouse, tmp_path):
    huge = "x" * 40_000  # longer than an index key may be: Neo4j refuses the table, the file is dead-lettered
    (warehouse / "huge.sql").write_text(f'INSERT INTO "{huge}" SELECT * FROM raw.orders;')
    neo4j = Neo4jResource(uri=resources["neo4j"].uri, max_retries=0, dead_letter_path=str(tmp_path / "dead.jsonl"))
    resources = {**resources, "neo4j": neo4j}

    result = run_ingest(resources, warehouse)
    ledger = Ledger(Path(resources["ledger"].path))
    for _ in range(3):  # three failed sensor runs, as the sensor records them: parked (INGEST_MAX_ATTEMPTS=3)
        ledger.mark_failed({"staging.sql": "run r1 failed"})
    ledger.close()

    evaluations = run_checks_alone(resources)
    failed = evaluations[FAILED_FILES]
    assert not failed.passed and failed.severity == AssetCheckSeverity.WARN
    assert "- `huge.sql (dead-lettered)`" in failed.description and "- `staging.sql (parked after 3 failed runs)`" in failed.description
    errors = evaluations[PARSE_ERRORS]
    assert not errors.passed and errors.severity == AssetCheckSeverity.WARN
    assert "1 of 6 statements have parse errors (16.7%" in errors.description
    assert "- `marts/revenue.sql:8: " in errors.description
    # The run's own summary names the same files, with the dead-letter file to look at.
    metadata = graph_metadata(result)
    assert ("huge.sql", "dead-lettered") in {(r.data["path"], r.data["status"]) for r in metadata["failed_files"].records}
    assert metadata["dead_letter_file"] == str((tmp_path / "dead.jsonl").resolve())
    neo4j.close()


def test_the_example_warehouse_leaves_no_orphan_nodes(resources):
    result = run_ingest(resources, EXAMPLES)

    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[ORPHANS].passed, evaluations[ORPHANS].description
