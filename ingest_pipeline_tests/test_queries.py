"""graph.queries against a real graph: traversals nearest first, bounded, terminating on cycles."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from ingest_pipeline.graph import queries
from ingest_pipeline.graph.queries import Hop, Read
from ingest_pipeline_tests.conftest import FIXTURES
from ingest_pipeline_tests.support import ingested

CHAIN = 12  # chain/t<i>.sql writes s.c<i> from s.c<i-1>: longer than the default depth


@pytest.fixture(scope="module")
def read(neo4j_server, tmp_path_factory) -> Iterator[Read]:
    """One graph for the module: the fixture warehouse, a three-table cycle and a long chain."""
    folder = tmp_path_factory.mktemp("queries")
    corpus = folder / "corpus"
    shutil.copytree(FIXTURES / "warehouse", corpus)
    (corpus / "cycle").mkdir()
    (corpus / "cycle" / "a.sql").write_text("INSERT INTO s.t1 SELECT id FROM s.t2;\n")
    (corpus / "cycle" / "b.sql").write_text("INSERT INTO s.t2 SELECT id FROM s.t3;\n")
    (corpus / "cycle" / "c.sql").write_text("INSERT INTO s.t3 SELECT id FROM s.t1;\nINSERT INTO s.t3 SELECT id FROM s.t3;\n")
    (corpus / "chain").mkdir()
    for i in range(1, CHAIN + 1):
        (corpus / "chain" / f"c{i:02d}.sql").write_text(f"INSERT INTO s.c{i} SELECT id FROM s.c{i - 1};\n")
    with ingested(neo4j_server.uri, corpus, folder) as neo4j:
        yield neo4j.query


def test_table_traversals_on_the_fixture_warehouse(read):
    assert queries.traverse(read, queries.UPSTREAM_STEP, "marts.revenue") == [
        Hop(1, "marts.revenue", "staging.customers", "view", "marts/revenue.sql", 2),
        Hop(1, "marts.revenue", "staging.orders", "table", "marts/revenue.sql", 2),
        # raw.customers feeds both staging tables: one edge from each, at its shortest distance.
        Hop(2, "staging.customers", "raw.customers", "table", "staging.sql", 6),
        Hop(2, "staging.orders", "raw.customers", "table", "staging.sql", 1),
        Hop(2, "staging.orders", "raw.orders", "table", "staging.sql", 1),
    ]
    assert queries.traverse(read, queries.DOWNSTREAM_STEP, "raw.orders") == [
        Hop(1, "raw.orders", "staging.orders", "table", "staging.sql", 1),
        Hop(2, "staging.orders", "marts.revenue", "table", "marts/revenue.sql", 2),
    ]
    assert queries.traverse(read, queries.UPSTREAM_STEP, "raw.orders") == []


def test_column_traversals_follow_derives_from_end_to_end(read):
    assert queries.traverse(read, queries.COLUMN_UPSTREAM_STEP, "marts.revenue.total") == [
        Hop(1, "marts.revenue.total", "staging.orders.amount", None, "marts/revenue.sql", 2),
        Hop(2, "staging.orders.amount", "raw.orders.amount", None, "staging.sql", 1),
    ]
    assert queries.traverse(read, queries.COLUMN_DOWNSTREAM_STEP, "raw.customers.name", depth=1) == [
        Hop(1, "raw.customers.name", "staging.customers.name", None, "staging.sql", 6),
    ]


def test_a_cycle_terminates_and_lists_each_table_once(read):
    hops = queries.traverse(read, queries.UPSTREAM_STEP, "s.t1", depth=queries.MAX_DEPTH)
    assert [(h.hops, h.near, h.far, h.file) for h in hops] == [(1, "s.t1", "s.t2", "cycle/a.sql"), (2, "s.t2", "s.t3", "cycle/b.sql")]
    columns = queries.traverse(read, queries.COLUMN_DOWNSTREAM_STEP, "s.t1.id", depth=queries.MAX_DEPTH)
    assert [(h.hops, h.far) for h in columns] == [(1, "s.t3.id"), (2, "s.t2.id")]


@pytest.mark.parametrize(("depth", "levels"), [(1, 1), (3, 3), (queries.DEFAULT_DEPTH, 10), (queries.MAX_DEPTH, CHAIN)])
def test_depth_bounds_the_traversal(read, depth, levels):
    hops = queries.traverse(read, queries.UPSTREAM_STEP, f"s.c{CHAIN}", depth)
    assert [(h.hops, h.far) for h in hops] == [(n, f"s.c{CHAIN - n}") for n in range(1, levels + 1)]


@pytest.mark.parametrize("depth", [0, -1, queries.MAX_DEPTH + 1])
def test_depth_outside_the_bounds_is_refused(depth):
    with pytest.raises(ValueError, match="between 1 and 50"):
        queries.traverse(lambda *a, **k: [], queries.UPSTREAM_STEP, "t", depth)


def test_file_queries_list_what_each_file_contributes(read):
    paths = ["staging.sql", "gone.sql"]

    assert [row["path"] for row in read(queries.FILES, paths=paths)] == ["staging.sql"]
    assert read(queries.FILE_TABLES, paths=paths) == [
        {"path": "staging.sql", "access": "READS", "fqn": "raw.customers", "line": 1},
        {"path": "staging.sql", "access": "READS", "fqn": "raw.orders", "line": 1},
        {"path": "staging.sql", "access": "WRITES", "fqn": "staging.customers", "line": 6},
        {"path": "staging.sql", "access": "WRITES", "fqn": "staging.orders", "line": 1},
    ]
    edges = read(queries.FILE_COLUMN_EDGES, paths=paths)
    assert [(e["table"], e["column"], e["source_table"], e["source_column"]) for e in edges] == [
        ("staging.customers", "id", "raw.customers", "id"),
        ("staging.customers", "name", "raw.customers", "name"),
        ("staging.orders", "amount", "raw.orders", "amount"),
        ("staging.orders", "customer_id", "raw.orders", "customer_id"),
        ("staging.orders", "id", "raw.orders", "id"),
    ]
    all_files = [row["path"] for row in read(queries.ALL_FILES)]
    assert all_files[:3] == ["chain/c01.sql", "chain/c02.sql", "chain/c03.sql"] and len(all_files) == 3 + 3 + CHAIN
