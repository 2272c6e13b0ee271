"""Graph rows -> OpenLineage events (pure), each checked against the client's generated models."""

from __future__ import annotations

import pytest
from openlineage.client.serde import Serde

from ingest_pipeline.openlineage_events import (
    PRODUCER,
    ColumnEdge,
    FileExport,
    Naming,
    event_counts,
    file_event,
    file_exports,
    retire_event,
    run_id,
)
from ingest_pipeline_tests.support import load_openlineage

NAMING = Naming("warehouse-jobs", "postgres://db:5432", "file:///srv/sql")
TIME = "2026-01-02T03:04:05+00:00"
EXPORT = FileExport(
    path="marts/revenue v2.sql",
    sha256="ab" * 32,
    dialect="postgres",
    reads=["staging.customers", "staging.orders"],
    writes=["marts.revenue"],
    line=4,
    column_edges=[
        ColumnEdge("marts.revenue", "total", "staging.orders", "amount"),
        ColumnEdge("marts.revenue", "name", "staging.customers", "name"),
        ColumnEdge("marts.revenue", "total", "staging.orders", "discount"),
    ],
    sql="INSERT INTO marts.revenue SELECT ...;\n",
)


def valid(event) -> dict:
    """The event as sent, after checking it rebuilds identically from the generated models."""
    data = Serde.to_dict(event)
    assert Serde.to_dict(load_openlineage(data)) == data
    return data


def test_a_file_becomes_one_complete_run_of_its_job():
    data = valid(file_event(EXPORT, NAMING, TIME))

    assert data["eventType"] == "COMPLETE" and data["eventTime"] == TIME and data["producer"] == PRODUCER
    assert data["run"]["runId"] == run_id(NAMING, EXPORT.path, EXPORT.sha256)
    assert data["job"]["namespace"] == "warehouse-jobs" and data["job"]["name"] == "marts/revenue v2.sql"
    assert [(d["namespace"], d["name"]) for d in data["inputs"]] == [
        ("postgres://db:5432", "staging.customers"),
        ("postgres://db:5432", "staging.orders"),
    ]
    (output,) = data["outputs"]
    assert output["name"] == "marts.revenue"
    fields = output["facets"]["columnLineage"]["fields"]
    assert {column: [(f["name"], f["field"]) for f in value["inputFields"]] for column, value in fields.items()} == {
        "name": [("staging.customers", "name")],
        "total": [("staging.orders", "amount"), ("staging.orders", "discount")],
    }
    facets = data["job"]["facets"]
    assert facets["sql"]["query"] == EXPORT.sql and facets["sql"]["dialect"] == "postgres"
    location = facets["sourceCodeLocation"]
    assert location["type"] == "file" and location["url"] == "file:///srv/sql/marts/revenue%20v2.sql#L4"
    assert location["path"] == EXPORT.path and location["version"] == EXPORT.sha256


def test_a_repository_url_makes_a_git_location_and_missing_text_no_sql_facet():
    naming = Naming("jobs", "bigquery", "https://git.example.com/org/warehouse/blob/main/sql/")
    export = FileExport("a.sql", "cd" * 32, "", reads=["p.d.src"], writes=["p.d.dst"], line=2)

    data = valid(file_event(export, naming, TIME))

    location = data["job"]["facets"]["sourceCodeLocation"]
    assert location["type"] == "git" and location["url"] == "https://git.example.com/org/warehouse/blob/main/sql/a.sql#L2"
    assert "sql" not in data["job"]["facets"]
    assert data["outputs"] == [{"namespace": "bigquery", "name": "p.d.dst", "facets": {}, "outputFacets": {}}]


def test_a_deleted_file_retires_its_job():
    data = valid(retire_event("old/gone.sql", NAMING, TIME))

    assert data["eventType"] == "COMPLETE" and data["job"]["name"] == "old/gone.sql"
    assert data["inputs"] == [] and data["outputs"] == []
    assert "was deleted" in data["job"]["facets"]["documentation"]["description"]
    assert data["run"]["runId"] != run_id(NAMING, "old/gone.sql", EXPORT.sha256)


def test_job_events_for_static_lineage():
    data = valid(file_event(EXPORT, NAMING, TIME, event_type="job"))

    assert data["schemaURL"].endswith("#/$defs/JobEvent") and "run" not in data and "eventType" not in data
    assert [d["name"] for d in data["outputs"]] == ["marts.revenue"]
    assert valid(retire_event("gone.sql", NAMING, TIME, event_type="job"))["outputs"] == []
    with pytest.raises(ValueError, match="event type"):
        file_event(EXPORT, NAMING, TIME, event_type="dataset")


def test_run_ids_are_stable_per_file_version():
    assert run_id(NAMING, "a.sql", "v1") == run_id(NAMING, "a.sql", "v1")
    assert len({run_id(NAMING, "a.sql", "v1"), run_id(NAMING, "a.sql", "v2"), run_id(NAMING, "b.sql", "v1")}) == 3


def test_exports_are_assembled_from_the_graph_rows():
    files = [{"path": "b.sql", "sha256": "s-b", "dialect": None}, {"path": "a.sql", "sha256": "s-a", "dialect": "duckdb"}]
    tables = [
        {"path": "a.sql", "access": "READS", "fqn": "x.src", "line": 2},
        {"path": "a.sql", "access": "WRITES", "fqn": "x.dst", "line": 7},
        {"path": "a.sql", "access": "READS", "fqn": "x.other", "line": 9},
        {"path": "b.sql", "access": "READS", "fqn": "x.dst", "line": 3},
        {"path": "gone.sql", "access": "READS", "fqn": "x.src", "line": 1},  # not among the files: ignored
    ]
    edges = [{"path": "a.sql", "table": "x.dst", "column": "c", "source_table": "x.src", "source_column": "c"}]

    a, b = file_exports(files, tables, edges, {"a.sql": "text of a"})

    assert (a.path, a.dialect, a.reads, a.writes, a.line, a.sql) == ("a.sql", "duckdb", ["x.other", "x.src"], ["x.dst"], 7, "text of a")
    assert a.column_edges == [ColumnEdge("x.dst", "c", "x.src", "c")]
    # A file that writes nothing is located at its first statement with a table.
    assert (b.path, b.dialect, b.reads, b.writes, b.line, b.sql) == ("b.sql", "", ["x.dst"], [], 3, None)


def test_event_counts():
    events = [file_event(EXPORT, NAMING, TIME), retire_event("gone.sql", NAMING, TIME)]
    assert event_counts(events) == {"events": 2, "inputs": 2, "outputs": 1, "column_edges": 3}
