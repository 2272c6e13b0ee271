"""Column lineage in the graph: `*` expanded from the corpus catalog, refreshed when a definition changes."""

from __future__ import annotations

from pathlib import Path

from ingest_pipeline.graph.columns import changed_tables, column_rows
from ingest_pipeline.lineage import build_catalog, extract_lineage
from ingest_pipeline.state.ledger import INGESTED, PENDING, Ledger
from ingest_pipeline_tests.support import graph_edges, graph_metadata, run_ingest


def derives(neo4j) -> set[tuple[str, str]]:
    return {(a, b) for a, kind, b in graph_edges(neo4j) if kind == "DERIVES_FROM"}


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql)


def test_star_is_expanded_from_another_files_ddl_and_refreshed_when_it_changes(resources, tmp_path):
    folder = tmp_path / "sql"
    folder.mkdir()
    write(folder, "ddl.sql", "CREATE TABLE raw.customers (id INT, name TEXT);")
    write(folder, "view.sql", "CREATE VIEW mart.v AS SELECT * FROM raw.customers;\nINSERT INTO mart.unknown SELECT * FROM ext.feed;")

    run_ingest(resources, folder)
    assert derives(resources["neo4j"]) == {
        ("mart.v.id", "raw.customers.id"),
        ("mart.v.name", "raw.customers.name"),
        ("mart.unknown.*", "ext.feed.*"),  # nobody defines ext.feed: the star is recorded as such
    }

    write(folder, "ddl.sql", "CREATE TABLE raw.customers (id INT, name TEXT, email TEXT);")
    run_ingest(resources, folder)
    ledger = Ledger(Path(resources["ledger"].path))
    assert ledger.get("view.sql").status == PENDING  # its expansion used the old definition

    refresh = run_ingest(resources, folder)
    assert ("mart.v.email", "raw.customers.email") in derives(resources["neo4j"])
    assert ledger.get("view.sql").status == INGESTED
    metadata = graph_metadata(refresh)
    assert metadata["files_ingested"] == 1 and metadata["files_parsed"] == 0  # served from the parse cache


def test_column_lineage_can_be_switched_off(resources, warehouse):
    run_ingest(resources, warehouse, column_lineage=False)

    labels = {row["label"] for row in resources["neo4j"].query("MATCH (n) RETURN DISTINCT labels(n)[0] AS label")}
    assert "Column" not in labels and "Table" in labels


def test_column_rows_and_changed_tables():
    ddl = extract_lineage("CREATE TABLE s.t (a INT, b INT)", "postgres")
    query = extract_lineage("INSERT INTO s.u SELECT t.*, a + b AS total FROM s.t AS t", "postgres")
    definitions = {"s.t": ddl.statements[0].defined_columns}
    catalog = build_catalog(definitions)

    rows = column_rows("q.sql", query, catalog, definitions)

    assert {(d["target"], d["source"]) for d in rows.derives} == {
        ("s.u.a", "s.t.a"),
        ("s.u.b", "s.t.b"),
        ("s.u.total", "s.t.a"),
        ("s.u.total", "s.t.b"),
    }
    assert rows.depends_on_definitions == {"s.t", "s.u"}  # s.u: an INSERT without a column list maps by position
    assert {r["statement"] for r in rows.derives} == {"q.sql#0"}
    assert changed_tables({"s.t": ["a", "b"]}, {"s.t": ["a", "b", "c"], "s.x": ["k"]}) == {"s.t", "s.x"}


def test_catalog_settles_unqualified_columns_and_marks_the_rest_ambiguous(resources, tmp_path):
    folder = tmp_path / "sql"
    folder.mkdir()
    write(folder, "schema.sql", "CREATE TABLE sales.orders (id INT, amount INT, customer_id INT);\nCREATE TABLE sales.customers (id INT, name TEXT, region_id INT);")
    write(
        folder,
        "report.sql",
        "INSERT INTO mart.report\n"
        "SELECT amount, name, region, amount * 2 AS doubled, doubled + 1 AS bumped, COUNT(*) AS n\n"
        "FROM sales.orders o JOIN sales.customers c ON o.customer_id = c.id\n"
        "JOIN geo.regions r ON r.id = c.region_id JOIN geo.zones z ON z.id = r.zone_id\n"
        "GROUP BY 1, 2, 3",
    )

    first = run_ingest(resources, folder)

    neo4j = resources["neo4j"]
    query = "MATCH (a:Column)-[d:DERIVES_FROM]->(b:Column) RETURN a.fqn AS target, b.fqn AS source, d.ambiguous AS ambiguous, d.position AS position"
    edges = {(r["target"], r["source"], r["ambiguous"], r["position"]) for r in neo4j.query(query)}
    assert edges == {
        ("mart.report.amount", "sales.orders.amount", False, 0),  # the catalog knows which table has it
        ("mart.report.name", "sales.customers.name", False, 1),
        ("mart.report.region", "geo.regions.region", True, 2),  # two tables nobody defines
        ("mart.report.region", "geo.zones.region", True, 2),
        ("mart.report.doubled", "sales.orders.amount", False, 3),
        ("mart.report.bumped", "sales.orders.amount", False, 4),  # a lateral alias reference
        ("mart.report.n", "sales.orders.*", False, 5),  # count(*): the rows of each table
        ("mart.report.n", "sales.customers.*", False, 5),
        ("mart.report.n", "geo.regions.*", False, 5),
        ("mart.report.n", "geo.zones.*", False, 5),
    }
    assert graph_metadata(first)["column_edges_ambiguous"] == 2

    write(folder, "geo.sql", "CREATE TABLE geo.regions (id INT, zone_id INT, region TEXT);")
    run_ingest(resources, folder)  # the new definition marks report.sql for a refresh
    run_ingest(resources, folder)

    region = {(r["source"], r["ambiguous"]) for r in neo4j.query(query) if r["target"] == "mart.report.region"}
    assert region == {("geo.regions.region", False)}


def test_a_column_set_from_constants_only_gets_no_node():
    """A Column node needs an edge (DERIVES_FROM or DEFINES): one set from a literal would be an orphan."""
    query = extract_lineage(
        "UPDATE marts.orders SET status = 'returned', total = o.amount FROM staging.orders AS o WHERE orders.id = o.id",
        "postgres",
    )

    rows = column_rows("u.sql", query, {}, {})

    assert {(d["target"], d["source"]) for d in rows.derives} == {("marts.orders.total", "staging.orders.amount")}
    assert {c["fqn"] for c in rows.columns} == {"marts.orders.total", "staging.orders.amount"}
