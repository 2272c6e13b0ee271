"""graph.write_plan without Neo4j: which queries a replacement sends, in which order, with which parameters.

That the graph they leave equals a clean ingest in every write mode is test_neo4j's job."""

from __future__ import annotations

import pytest

from ingest_pipeline.graph import cypher
from ingest_pipeline.graph.rows import FileRows
from ingest_pipeline.graph.write_plan import (
    STAGED_DELETIONS,
    Touched,
    replace_queries,
    replacement,
    staged_deletion,
    staged_finish,
    staged_row_sets,
    staged_start,
    touched_query,
)


def _file(path: str, table: str, columns: int = 0, view: bool = False) -> FileRows:
    statement = f"{path}#0"
    return FileRows(
        path=path,
        file={"path": path, "sha256": f"sha-{path}"},
        statements=[{"id": statement, "kind": "CREATE_VIEW" if view else "INSERT"}],
        tables=[{"fqn": table}, {"fqn": "raw.src"}],
        reads=[{"statement": statement, "fqn": "raw.src"}],
        writes=[{"statement": statement, "fqn": table}],
        columns=[{"fqn": f"{table}.c{i}", "name": f"c{i}", "table": table} for i in range(columns)],
    )


NOTHING_OLD = Touched()
OLD = Touched(tables={"raw.old"}, columns={"raw.old.x"}, locations={"s3://b/"}, routines={"dbo.p"})
TIDY_ALL = [
    cypher.DELETE_ORPHAN_COLUMNS,
    cypher.DELETE_ORPHAN_TABLES,
    cypher.SET_TABLE_KINDS,
    cypher.DELETE_ORPHAN_LOCATIONS,
    cypher.DELETE_ORPHAN_ROUTINES,
    cypher.SET_ROUTINE_KINDS,
]


@pytest.mark.parametrize(
    ("deleted", "group", "touched", "before_rows", "after_rows"),
    [
        pytest.param([], [_file("a.sql", "m.a")], NOTHING_OLD, [cypher.DELETE_CONTRIBUTIONS], [], id="cold-nothing-to-tidy"),
        pytest.param(["gone.sql"], [], NOTHING_OLD, [cypher.DELETE_CONTRIBUTIONS, cypher.DELETE_FILES], [], id="deletion-only"),
        pytest.param(
            [], [_file("a.sql", "m.a")], OLD, [cypher.DELETE_CONTRIBUTIONS], TIDY_ALL, id="replace-tidies-what-was-touched"
        ),
        pytest.param(
            [], [_file("v.sql", "m.v", view=True)], NOTHING_OLD, [cypher.DELETE_CONTRIBUTIONS], [cypher.SET_VIEW_KINDS],
            id="new-view",
        ),
    ],
)
def test_replace_queries_delete_then_write_in_dependency_order_then_tidy(deleted, group, touched, before_rows, after_rows):
    plan = replacement(deleted, group)

    queries = list(replace_queries(plan, touched, batch_size=1000))

    row_queries = [q.text for q in queries if q.writes_rows]
    assert [q.text for q in queries] == [*before_rows, *row_queries, *after_rows]
    assert row_queries == [s.query for s in plan.row_sets if s.rows]  # one batch per non-empty set, in order
    assert all(q.params == {"paths": plan.paths} for q in queries if q.text == cypher.DELETE_CONTRIBUTIONS)
    assert touched_query(plan).params == {"paths": sorted({*deleted, *(f.path for f in group)})}


@pytest.mark.parametrize(("batch_size", "column_queries"), [(1000, 1), (2, 2), (None, 6)])
def test_row_queries_batch_by_weight_or_send_each_item_alone(batch_size, column_queries):
    """A table's columns stay in one batch (a heavier row goes alone); the baseline sends each column alone."""
    plan = replacement([], [_file("a.sql", "m.a", columns=2), _file("b.sql", "m.b", columns=4)])

    queries = [q for q in replace_queries(plan, NOTHING_OLD, batch_size) if q.text == cypher.CREATE_COLUMNS]

    assert len(queries) == column_queries
    found = sorted(c["fqn"] for q in queries for row in q.params["rows"] for c in row["columns"])
    assert found == ["m.a.c0", "m.a.c1", *(f"m.b.c{i}" for i in range(4))]


def test_a_staged_replace_keeps_the_file_incomplete_until_its_last_stage():
    plan = replacement(["gone.sql"], [_file("a.sql", "m.a", columns=3)])

    start = list(staged_start(plan))
    stages = staged_row_sets(plan)
    finish = list(staged_finish(plan, OLD))

    assert [(q.text, q.params) for q in start] == [
        (cypher.MARK_INCOMPLETE, {"paths": ["a.sql", "gone.sql"]}),
        (cypher.DELETE_FILES, {"paths": ["gone.sql"]}),
    ]
    assert [s.query for s in stages] == [s.query for s in plan.row_sets]
    assert [row["sha256"] for row in stages[0].rows] == [None]
    assert finish[0].text == cypher.MERGE_FILES and finish[0].params["rows"][0]["sha256"] == "sha-a.sql"
    assert [q.text for q in finish[1:]] == TIDY_ALL
    assert [staged_deletion(q, "a.sql", 10).params for q in STAGED_DELETIONS] == [{"path": "a.sql", "limit": 2}] * 3
