"""Neo4jResource under real faults: lock timeouts, dropped connections, a restarted server, rejected rows."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
from neo4j.exceptions import ServiceUnavailable

from ingest_pipeline import neo4j_local
from ingest_pipeline.jobs.assets import ingest_run_config
from ingest_pipeline.resources import LedgerResource, Neo4jResource
from ingest_pipeline.state.ledger import FAILED, INGESTED, Ledger
from ingest_pipeline_tests.support import (
    WAREHOUSE_EDGES,
    FlakyProxy,
    clean_ingest_snapshot,
    graph_edges,
    graph_metadata,
    graph_snapshot,
    ingest_job,
    run_ingest,
    when_ledger_has_ingested,
    write_chain_corpus,
)


def fresh_ledger(resources, tmp_path: Path) -> dict:
    """The same resources with an empty ledger, so a fault trigger waits for this run's first commit."""
    return {**resources, "ledger": LedgerResource(path=str(tmp_path / "fault-ledger.db"))}


def resilient(uri: str, tmp_path: Path, **overrides) -> Neo4jResource:
    settings = {"max_retries": 5, "backoff_seconds": 0.5, "files_per_transaction": 5}
    return Neo4jResource(uri=uri, dead_letter_path=str(tmp_path / "dead.jsonl"), **{**settings, **overrides})


def clean_snapshot(resources, corpus: Path):
    run_ingest(resources, corpus)
    snapshot = graph_snapshot(resources["neo4j"])
    resources["neo4j"].query("MATCH (n) DETACH DELETE n")
    return snapshot


def test_writer_blocked_by_another_transaction_retries_after_lock_timeout(resources, warehouse, tmp_path):
    run_ingest(resources, warehouse)
    neo4j = resilient(resources["neo4j"].uri, tmp_path)
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with neo4j.driver().session() as session, session.begin_transaction() as tx:
            tx.run("MATCH (t:Table {fqn: 'raw.orders'}) SET t.held = true REMOVE t.held").consume()
            locked.set()
            release.wait(timeout=60)
            tx.commit()

    def release_after_a_retry() -> None:
        """Keep the lock until a second writer transaction is blocked: the first one timed out and was retried."""
        blocked: set[str] = set()
        deadline = time.monotonic() + 90
        while len(blocked) < 2 and time.monotonic() < deadline:
            rows = neo4j.query(
                "SHOW TRANSACTIONS YIELD transactionId, status WHERE status STARTS WITH 'Blocked' RETURN transactionId"
            )
            blocked |= {row["transactionId"] for row in rows}
            time.sleep(0.05)
        release.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(timeout=30)
    threading.Thread(target=release_after_a_retry, daemon=True).start()

    result = run_ingest({**resources, "neo4j": neo4j}, warehouse, force=True)
    holder.join()

    assert result.success
    assert graph_metadata(result)["neo4j_retries"] >= 1
    assert graph_edges(resources["neo4j"]) == WAREHOUSE_EDGES


def test_dropped_connections_are_retried_and_nothing_is_lost(resources, tmp_path):
    corpus = write_chain_corpus(tmp_path / "corpus", 120)
    expected = clean_snapshot(resources, corpus)
    proxy = FlakyProxy(int(resources["neo4j"].uri.rsplit(":", 1)[1]))
    flaky = {**fresh_ledger(resources, tmp_path), "neo4j": resilient(proxy.uri, tmp_path)}
    when_ledger_has_ingested(Path(flaky["ledger"].path), lambda: proxy.drop_for(2.0))

    result = run_ingest(flaky, corpus)

    proxy.close()
    assert result.success and proxy.dropped > 0
    assert graph_metadata(result)["neo4j_retries"] >= 1
    assert graph_snapshot(resources["neo4j"]) == expected
    assert Ledger(Path(flaky["ledger"].path)).counts() == {INGESTED: 120}


def test_server_stopped_mid_run_then_restarted(resources, tmp_path):
    corpus = write_chain_corpus(tmp_path / "corpus", 150)
    expected = clean_snapshot(resources, corpus)
    data_dir = tmp_path / "own-neo4j"
    server = neo4j_local.start(data_dir, bolt_port=0)
    own = {**fresh_ledger(resources, tmp_path), "neo4j": resilient(server.uri, tmp_path, backoff_seconds=1.0)}
    try:
        restart = lambda: (neo4j_local.stop(data_dir), neo4j_local.start(data_dir, bolt_port=server.port))  # noqa: E731
        trigger = when_ledger_has_ingested(Path(own["ledger"].path), restart)

        result = run_ingest(own, corpus)
        trigger.join(timeout=120)
        if not result.success:  # failing cleanly is allowed: the next run must then complete
            result = run_ingest(own, corpus)

        assert result.success
        assert graph_snapshot(own["neo4j"]) == expected
        assert Ledger(Path(own["ledger"].path)).counts() == {INGESTED: 150}
    finally:
        own["neo4j"].close()
        neo4j_local.stop(data_dir)


def test_rejected_file_is_split_out_dead_lettered_and_replayed(resources, warehouse, tmp_path):
    neo4j = resilient(resources["neo4j"].uri, tmp_path, files_per_transaction=100)
    resources = {**resources, "neo4j": neo4j}
    huge = "x" * 40_000  # longer than a range index key may be: Neo4j refuses the Table node
    (warehouse / "huge.sql").write_text(f'INSERT INTO "{huge}" SELECT * FROM raw.orders;')

    result = run_ingest(resources, warehouse, workers=1)  # one chunk: huge.sql shares its group with the others

    assert result.success
    metadata = graph_metadata(result)
    assert metadata["neo4j_splits"] >= 1 and metadata["neo4j_dead_letters"] == 1 and metadata["files_failed"] == 1
    assert graph_edges(neo4j) == WAREHOUSE_EDGES  # everything else committed
    (entry,) = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert entry["file"] == "huge.sql" and entry["error_class"] == "DatabaseError" and entry["run_id"] == result.run_id
    assert "too large to index" in entry["error"]
    assert Ledger(Path(resources["ledger"].path)).get("huge.sql").status == FAILED

    (warehouse / "huge.sql").write_text("INSERT INTO marts.fixed SELECT * FROM raw.orders;")
    replay = ingest_job("replay_failed").execute_in_process(
        run_config=ingest_run_config(source_dir=str(warehouse), replay_failed=True),
        resources=resources,
    )

    assert replay.success and graph_metadata(replay)["files_ingested"] == 1
    assert (tmp_path / "dead.jsonl").read_text() == ""
    assert ("marts.fixed", "DEPENDS_ON", "raw.orders") in graph_edges(neo4j)
    assert Ledger(Path(resources["ledger"].path)).get("huge.sql").status == INGESTED


@pytest.fixture(scope="module")
def small_memory_server(tmp_path_factory):
    """A second bundled Neo4j whose transactions may use 10 MB at most: a big file's replace exceeds it."""
    data_dir = tmp_path_factory.mktemp("neo4j-small-memory")
    instance = neo4j_local.start(data_dir, bolt_port=0, extra_settings={"db.memory.transaction.max": "10m"})
    yield instance
    neo4j_local.stop(data_dir)


def test_a_file_past_the_transaction_memory_is_replaced_in_stages_not_retried(small_memory_server, resources, tmp_path):
    corpus = tmp_path / "big"
    corpus.mkdir()
    small = resilient(small_memory_server.uri, tmp_path, max_rows_per_transaction=1_000_000)
    small.query("MATCH (n) DETACH DELETE n")
    on_small = {**resources, "neo4j": small, "ledger": LedgerResource(path=str(tmp_path / "small-ledger.db"))}

    for version in ("a", "b"):  # the first ingest, then a replace of every statement
        (corpus / "big.sql").write_text("".join(f"INSERT INTO mart.t{i % 50} SELECT a, b_{version} FROM raw.s{i % 30};\n" for i in range(2000)))
        result = run_ingest(on_small, corpus)

        assert result.success
        metadata = graph_metadata(result)
        assert metadata["files_ingested"] == 1 and metadata["files_failed"] == 0
        assert metadata["neo4j_splits"] >= 1 and metadata["neo4j_retries"] == 0  # split, never retried as transient

    (sha,) = small.query("MATCH (f:SqlFile {path: 'big.sql'}) RETURN f.sha256 AS sha")
    assert sha["sha"] is not None  # complete: the last stage restored it
    assert graph_snapshot(small) == clean_ingest_snapshot(resources, corpus, tmp_path)


def test_files_above_the_row_limit_go_staged_and_give_the_same_graph(resources, warehouse, tmp_path):
    staged = resilient(resources["neo4j"].uri, tmp_path, max_rows_per_transaction=10, batch_size=3)

    result = run_ingest({**resources, "neo4j": staged}, warehouse)

    assert result.success and graph_metadata(result)["neo4j_transactions"] > 10
    assert graph_edges(resources["neo4j"]) == WAREHOUSE_EDGES


def test_each_retry_of_a_transient_fault_is_one_log_line_with_attempt_backoff_and_cause(caplog):
    resource = Neo4jResource(uri="bolt://127.0.0.1:1", max_retries=3, backoff_seconds=0.01, backoff_jitter=0.0)
    faults = iter([ServiceUnavailable("Connection lost"), ServiceUnavailable("Connection lost")])

    def work() -> str:
        fault = next(faults, None)
        if fault is not None:
            raise fault
        return "written"

    with caplog.at_level(logging.WARNING):
        assert resource._retrying(work) == "written"

    lines = [r.getMessage() for r in caplog.records if "transient" in r.getMessage()]
    assert lines == [
        "Neo4j at bolt://127.0.0.1:1: transient ServiceUnavailable (Connection lost); retry attempt 1/3 after 0.0 s backoff",
        "Neo4j at bolt://127.0.0.1:1: transient ServiceUnavailable (Connection lost); retry attempt 2/3 after 0.0 s backoff",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "RETURN 1 AS n, 2.5 AS x, 'a' AS s, true AS b, null AS nothing",
        "RETURN [[1, 'a', [2.0, null]], []] AS nested, {k: [1, {m: 'v'}], e: {}} AS mapping",
        "UNWIND range(1, 3) AS i RETURN i, [j IN range(1, i) | [j, toString(j)]] AS pairs",
        "RETURN date('2026-12-01') AS day, datetime('2026-12-01T07:00:00Z') AS at, duration('P1D') AS span",
        "CREATE (a:Probe {name: 'a'})-[r:PROBES {w: 1}]->(b:Probe {name: 'b'}) RETURN a, r, [a, b] AS both, {node: b} AS inside",
        "MATCH p = (:Probe {name: 'a'})-[:PROBES]->(:Probe) RETURN p, 1 AS one",
    ],
    ids=["scalars", "nested-lists-and-maps", "many-records", "temporal", "nodes-and-relationships", "path"],
)
def test_query_returns_what_the_driver_gives_as_record_data(resources, query):
    """query() reads plain values without the driver's per-element conversion, and must still return
    exactly what Record.data() does, graph entities included."""
    neo4j = resources["neo4j"]
    try:
        with neo4j.driver().session(database=neo4j.database) as session:
            expected = [record.data() for record in session.run(query)]
        assert neo4j.query(query) == expected
    finally:
        neo4j.query("MATCH (p:Probe) DETACH DELETE p")


# Each write mode runs the one write plan (graph.write_plan): a first ingest, then a replace that
# leaves a procedure, a location, a view and columns without their last reference, and a deletion,
# must leave exactly the graph a clean ingest of the final files gives.
WRITE_MODES = {
    "one transaction per group": {},
    "one transaction per entity": {"batching": False},
    "staged": {"max_rows_per_transaction": 10, "batch_size": 3},
}
MODE_CORPUS = {
    "proc.sql": "-- dialect: tsql\nCREATE PROCEDURE dbo.load_orders AS\nBEGIN\n"
    "    SELECT id, amount INTO #stage FROM dbo.src\n    INSERT INTO dbo.orders SELECT id, amount FROM #stage\n"
    "    EXEC dbo.audit_load\nEND\n",
    "load.sql": "-- dialect: redshift\nCOPY s.events FROM 's3://bucket/in/' IAM_ROLE 'arn:aws:iam::1:role/r';\n",
    "views.sql": "CREATE VIEW mart.v AS SELECT o.id, o.amount * 2 AS doubled FROM dbo.orders AS o;\n"
    "CREATE TABLE mart.t AS SELECT * FROM mart.v;\n",
    "reader.sql": "INSERT INTO mart.r SELECT doubled FROM mart.v;\n",
}
MODE_CORPUS_AFTER = {
    "proc.sql": "-- dialect: tsql\nCREATE PROCEDURE dbo.load_orders AS\nINSERT INTO dbo.orders SELECT id FROM dbo.src\n",
    "views.sql": "CREATE TABLE mart.v AS SELECT id FROM dbo.orders;\n",
    "reader.sql": MODE_CORPUS["reader.sql"],
}


def whole_graph(neo4j: Neo4jResource) -> tuple[set, set]:
    """Every node with its labels and properties, every relationship with its properties (the run's
    timestamps and the graph's own id left out): equal only when two graphs are the same."""
    volatile = ["ingested_at", "graph_id", "created_at"]
    nodes = neo4j.query(
        "MATCH (n) RETURN labels(n) AS labels, [k IN keys(n) WHERE NOT k IN $volatile | [k, n[k]]] AS props",
        volatile=volatile,
    )
    edges = neo4j.query(
        "MATCH (a)-[r]->(b) RETURN coalesce(a.path, a.id, a.fqn, a.uri) AS a, type(r) AS type, "
        "coalesce(b.path, b.id, b.fqn, b.uri) AS b, [k IN keys(r) | [k, r[k]]] AS props"
    )
    return (
        {(tuple(n["labels"]), repr(sorted(map(tuple, n["props"])))) for n in nodes},
        {(e["a"], e["type"], e["b"], repr(sorted(map(tuple, e["props"])))) for e in edges},
    )


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_every_write_mode_leaves_the_graph_of_a_clean_ingest(mode, resources, tmp_path):
    corpus = tmp_path / "sql"
    corpus.mkdir()
    for name, text in MODE_CORPUS.items():
        (corpus / name).write_text(text)
    writer = resilient(resources["neo4j"].uri, tmp_path, **WRITE_MODES[mode])
    on_writer = {**resources, "neo4j": writer}
    assert run_ingest(on_writer, corpus).success
    assert writer.query("MATCH (p:Routine {fqn: 'dbo.audit_load'}) RETURN p.fqn AS fqn")  # there to be tidied away

    (corpus / "load.sql").unlink()
    for name, text in MODE_CORPUS_AFTER.items():
        (corpus / name).write_text(text)
    result = run_ingest(on_writer, corpus)

    assert result.success and graph_metadata(result)["files_failed"] == 0
    written = whole_graph(writer)
    clean_ingest_snapshot(resources, corpus, tmp_path)
    assert written == whole_graph(resources["neo4j"])
