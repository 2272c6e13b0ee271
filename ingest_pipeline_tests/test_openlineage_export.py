"""OpenLineage export end to end: the ingest job's opt-in step and `ingest-pipeline openlineage export`,
posting to a stand-in for Marquez on 127.0.0.1, compared with the graph they were built from."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from ingest_pipeline.cli import main
from ingest_pipeline.resources import Neo4jResource
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline_tests.support import EXAMPLES, LineageServer, load_openlineage, run_ingest


@pytest.fixture
def server(monkeypatch) -> Iterator[LineageServer]:
    """A lineage server, with the ingest job pointed at it (OPENLINEAGE_URL)."""
    server = LineageServer()
    monkeypatch.setenv("OPENLINEAGE_URL", server.url)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "test-jobs")
    monkeypatch.setenv("OPENLINEAGE_DATASET_NAMESPACE", "test-warehouse")
    yield server
    server.close()


def outbox(resources) -> list[str]:
    """The files whose events wait in the ledger's outbox."""
    ledger = Ledger(Path(resources["ledger"].path))
    try:
        return ledger.queue_exports([], time.time())
    finally:
        ledger.close()


def graph_lineage(neo4j: Neo4jResource) -> dict[str, dict[str, set]]:
    """Per file, straight from the graph: tables read, tables written, column edges."""
    found: dict[str, dict[str, set]] = defaultdict(lambda: {"inputs": set(), "outputs": set(), "columns": set()})
    for row in neo4j.query("MATCH (f:SqlFile) RETURN f.path AS path"):
        found[row["path"]]  # files with no table still have a job
    accesses = neo4j.query(
        "MATCH (f:SqlFile)-[:HAS_STATEMENT]->()-[r:READS|WRITES]->(t:Table) RETURN f.path AS path, type(r) AS r, t.fqn AS fqn"
    )
    for row in accesses:
        found[row["path"]]["inputs" if row["r"] == "READS" else "outputs"].add(row["fqn"])
    edges = neo4j.query(
        "MATCH (a:Column)-[d:DERIVES_FROM]->(b:Column) RETURN d.file AS path, a.table AS t, a.name AS c, b.table AS st, b.name AS sc"
    )
    for row in edges:
        found[row["path"]]["columns"].add((row["t"], row["c"], row["st"], row["sc"]))
    return dict(found)


def event_lineage(events: list[dict]) -> dict[str, dict[str, set]]:
    """The same, from received events (each checked against the OpenLineage client's models first)."""
    found = {}
    for event in events:
        load_openlineage(event)
        columns = {
            (output["name"], column, source["name"], source["field"])
            for output in event["outputs"]
            for column, field in output.get("facets", {}).get("columnLineage", {}).get("fields", {}).items()
            for source in field["inputFields"]
        }
        found[event["job"]["name"]] = {
            "inputs": {d["name"] for d in event["inputs"]},
            "outputs": {d["name"] for d in event["outputs"]},
            "columns": columns,
        }
    return found


def test_each_run_sends_what_it_changed_and_it_matches_the_graph(resources, server, tmp_path, monkeypatch, capsys):
    assert run_ingest(resources, EXAMPLES).success

    neo4j = resources["neo4j"]
    expected = graph_lineage(neo4j)
    assert len(server.events) == len(expected) == 24
    assert event_lineage(server.events) == expected
    assert sum(len(v["columns"]) for v in expected.values()) == 178  # every DERIVES_FROM edge went out (count(*) edges to t.* included)
    by_job = {e["job"]["name"]: e for e in server.events}
    clv = by_job["marts/customer_lifetime_value.sql"]
    assert clv["job"]["namespace"] == "test-jobs" and {d["namespace"] for d in clv["inputs"]} == {"test-warehouse"}
    assert clv["job"]["facets"]["sql"]["query"] == (EXAMPLES / "marts/customer_lifetime_value.sql").read_text()
    location = clv["job"]["facets"]["sourceCodeLocation"]["url"]
    assert location.endswith("/examples/sql/marts/customer_lifetime_value.sql#L4")  # its CREATE TABLE
    assert outbox(resources) == []  # nothing left to send

    # An unchanged folder sends nothing more.
    assert run_ingest(resources, EXAMPLES).success
    assert len(server.events) == 24

    # The CLI exports the same lineage, over HTTP (to a DataHub-style URL with a path and a token) and to a file.
    monkeypatch.setenv("NEO4J_URI", neo4j.uri)
    monkeypatch.delenv("OPENLINEAGE_URL")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "secret-token")
    server.events.clear()
    server.authorization.clear()
    server.path = "/openapi/openlineage/api/v1/lineage"
    url = f"{server.url}/openapi/openlineage"
    assert main(["openlineage", "export", "--url", url, "--source-dir", str(EXAMPLES), "--namespace", "cli"]) == 0
    assert "exported 24 events, 35 inputs, 34 outputs, 178 column edges for 24 file(s)" in capsys.readouterr().out
    assert event_lineage(server.events) == expected and {e["job"]["namespace"] for e in server.events} == {"cli"}
    assert set(server.authorization) == {"Bearer secret-token"}
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("INGEST_SOURCE_DIR", str(tmp_path))  # not where the SQL is: no `sql` facet
    assert main(["openlineage", "export", "--transport", "file", "--file", str(events_file), "--event-type", "job"]) == 0
    written = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert event_lineage(written) == expected and all(e["schemaURL"].endswith("/JobEvent") for e in written)
    assert all("sql" not in e["job"]["facets"] for e in written)


def test_a_failing_server_never_fails_the_run_and_the_next_run_sends_the_rest(resources, server, warehouse):
    server.status = 500

    assert run_ingest(resources, warehouse).success

    assert server.requests >= 1 and server.events == []
    assert outbox(resources) == ["marts/revenue.sql", "raw/orders.sql", "staging.sql"]

    server.status = 200
    assert run_ingest(resources, warehouse).success  # nothing changed: only the outbox goes out
    assert sorted(e["job"]["name"] for e in server.events) == ["marts/revenue.sql", "raw/orders.sql", "staging.sql"]
    assert event_lineage(server.events) == graph_lineage(resources["neo4j"])
    assert outbox(resources) == []

    (warehouse / "staging.sql").unlink()
    assert run_ingest(resources, warehouse).success
    retired = server.events[-1]
    assert load_openlineage(retired) and retired["job"]["name"] == "staging.sql"
    assert retired["inputs"] == [] and retired["outputs"] == []


def test_an_unreachable_server_is_logged_not_raised(resources, warehouse, monkeypatch):
    server = LineageServer()
    server.close()  # nothing listens on its port any more
    monkeypatch.setenv("OPENLINEAGE_URL", server.url)

    with DagsterInstance.ephemeral() as instance:
        result = run_ingest(resources, warehouse, instance=instance)
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]

    assert result.success
    (warning,) = [m for m in messages if m.startswith("OpenLineage:")]
    assert warning.startswith(f"OpenLineage: sent 0 events, 0 inputs, 0 outputs, 0 column edges to {server.url}; 3 file(s) wait")
    assert "ConnectionError" in warning
    assert len(outbox(resources)) == 3


def test_no_url_means_no_export_and_no_outbox(resources, warehouse, monkeypatch):
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)

    assert run_ingest(resources, warehouse).success

    assert outbox(resources) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event-type", "dataset"], "event type (OPENLINEAGE_EVENT_TYPE, --event-type) must be one of run, job, not 'dataset'"),
        (["--transport", "http"], "--transport http needs --url or OPENLINEAGE_URL"),
    ],
)
def test_export_refuses_bad_settings_before_touching_neo4j(args, message, monkeypatch, capsys):
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")

    assert main(["openlineage", "export", *args]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
