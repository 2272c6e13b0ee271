"""The graph's permanent tables as plain data: what Dagster's Lineage page shows as table assets.

An ingest run reads this from the graph after it writes and saves it (INGEST_TABLE_ASSETS_PATH);
the code location builds its table assets from the saved file, never from Neo4j at import time.
Temporary tables (per-file, contract v2) are looked through: a table fed by a temporary table
depends on whatever fed that one. Parameters only, like every query of the package.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Read = Callable[..., list[dict[str, Any]]]

STATE_VERSION = 1

TABLE_COUNT = "MATCH (t:Table) WHERE NOT coalesce(t.temporary, false) RETURN count(t) AS n"
TABLES = (
    "MATCH (t:Table) RETURN t.fqn AS fqn, t.name AS name, t.db AS db, t.catalog AS catalog, t.kind AS kind, "
    "coalesce(t.temporary, false) AS temporary"
)
TABLE_DEPENDENCIES = "MATCH (a:Table)-[:DEPENDS_ON]->(b:Table) RETURN DISTINCT a.fqn AS target, b.fqn AS source"
# One record per table (not per column or per edge): the driver's per-record cost dominated reading
# 35k column rows and 23k lineage rows of a 1,000-file graph (1.9 s against 0.3 s for this one query).
# A column's lineage is listed under the table it was created with (`c.table`), which is its own table
# unless another table named the same key.
TABLE_COLUMNS = (
    "MATCH (t:Table)-[:HAS_COLUMN]->(c:Column) "
    "OPTIONAL MATCH (c)-[d:DERIVES_FROM]->(s:Column) "
    "WITH t, c, min(d.position) AS position, "
    "collect(DISTINCT CASE WHEN s IS NOT NULL AND c.table = t.fqn THEN [s.table, s.name] END) AS sources "
    "RETURN t.fqn AS fqn, collect([c.name, position, sources]) AS columns"
)
TABLE_WRITERS = (
    "MATCH (f:SqlFile)-[:HAS_STATEMENT]->(s:Statement)-[:WRITES]->(t:Table) "
    "RETURN t.fqn AS fqn, f.path AS file, f.source AS source, min(s.line) AS line, collect(DISTINCT s.kind) AS kinds "
    "ORDER BY fqn, file"
)


def snapshot(read: Read, limit: int) -> dict[str, Any]:
    """The permanent tables with their dependencies, columns, column lineage and writers; only
    the count when there are more than `limit` (reading them all would cost the run for nothing)."""
    count = read(TABLE_COUNT)[0]["n"]
    if count > limit:
        return {"version": STATE_VERSION, "table_count": count, "limit": limit, "tables": []}
    tables = {r["fqn"]: r for r in read(TABLES)}
    temporary = {fqn for fqn, r in tables.items() if r["temporary"]}
    sources = defaultdict(set)
    for row in read(TABLE_DEPENDENCIES):
        sources[row["target"]].add(row["source"])
    columns: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    lineage: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for row in read(TABLE_COLUMNS):
        for name, position, derived_from in row["columns"]:
            columns[row["fqn"]].append((name, position))
            if derived_from:
                lineage[row["fqn"]][name].update((table, column) for table, column in derived_from)
    writers = defaultdict(list)
    for row in read(TABLE_WRITERS):
        writers[row["fqn"]].append({"file": row["file"], "source": row["source"] or "default", "line": row["line"], "kinds": sorted(row["kinds"])})
    permanent = sorted(fqn for fqn in tables if fqn not in temporary)
    return {
        "version": STATE_VERSION,
        "table_count": count,
        "limit": limit,
        "tables": [
            {
                "fqn": fqn,
                "name": tables[fqn]["name"],
                "db": tables[fqn]["db"],
                "catalog": tables[fqn]["catalog"],
                "kind": tables[fqn]["kind"] or "table",
                "deps": sorted(_through_temporary(fqn, sources, temporary)),
                "columns": [name for name, _ in sorted(columns[fqn], key=_column_order)],
                "lineage": {
                    column: sorted(
                        [source, name] for source, name in pairs if source not in temporary
                    )
                    for column, pairs in sorted(lineage[fqn].items())
                },
                "writers": writers[fqn],
            }
            for fqn in permanent
        ],
    }


def _through_temporary(fqn: str, sources: dict[str, set[str]], temporary: set[str]) -> set[str]:
    """Permanent tables `fqn` depends on, following dependencies through temporary tables."""
    found, seen, frontier = set(), {fqn}, list(sources.get(fqn, ()))
    while frontier:
        source = frontier.pop()
        if source in seen:
            continue
        seen.add(source)
        if source in temporary:
            frontier.extend(sources.get(source, ()))
        else:
            found.add(source)
    return found


def _column_order(column: tuple[str, int | None]) -> tuple[int, str]:
    """Output position where a statement gives one, then by name."""
    name, position = column
    return (position if position is not None else 1 << 30, name)
