"""Read-side Cypher: the questions the graph answers (contract v1, docs/graph-model.md and docs/querying.md).

Every query takes parameters only; user input never becomes query text. Traversals go one level
per query (`$frontier` -> its neighbours) and stop at `depth` levels or when nothing new is
reached, so the depth is a plain Python bound (Cypher cannot take a variable-length bound as a
parameter) and a cyclic graph cannot run away. The caller passes `read(query, **params)`, the
resource's read-only `query`, so this module needs no driver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Read = Callable[..., list[dict[str, Any]]]

DEFAULT_DEPTH = 10
MAX_DEPTH = 50

# -- lookups ---------------------------------------------------------------------------------------

EXISTING_TABLES = "UNWIND $fqns AS fqn MATCH (t:Table {fqn: fqn}) RETURN t.fqn AS fqn"
EXISTING_COLUMNS = "UNWIND $fqns AS fqn MATCH (c:Column {fqn: fqn}) RETURN c.fqn AS fqn"
TABLE_NAMES = "MATCH (t:Table) RETURN t.fqn AS fqn"
TABLE_COLUMNS = "MATCH (:Table {fqn: $fqn})-[:HAS_COLUMN]->(c:Column) RETURN c.fqn AS fqn"

# -- one traversal level: the neighbours of $frontier, one row per edge ------------------------------
# `near` is on the frontier, `far` one hop further; `line` is the first statement of `file` that
# creates the edge (writes the target while reading the source / computes the column).

_TABLE_EDGE_LINE = (
    "CALL (target, source, d) { "
    "  MATCH (:SqlFile {path: d.file})-[:HAS_STATEMENT]->(s:Statement)-[:WRITES]->(target) "
    "  WHERE (s)-[:READS]->(source) RETURN min(s.line) AS line "
    "} "
)
UPSTREAM_STEP = (
    "UNWIND $frontier AS fqn "
    "MATCH (target:Table {fqn: fqn})-[d:DEPENDS_ON]->(source:Table) "
    + _TABLE_EDGE_LINE
    + "RETURN target.fqn AS near, source.fqn AS far, source.kind AS kind, d.file AS file, line"
)
DOWNSTREAM_STEP = (
    "UNWIND $frontier AS fqn "
    "MATCH (source:Table {fqn: fqn})<-[d:DEPENDS_ON]-(target:Table) "
    + _TABLE_EDGE_LINE
    + "RETURN source.fqn AS near, target.fqn AS far, target.kind AS kind, d.file AS file, line"
)
_COLUMN_EDGE_LINE = "OPTIONAL MATCH (s:Statement {id: d.statement}) "
COLUMN_UPSTREAM_STEP = (
    "UNWIND $frontier AS fqn "
    "MATCH (target:Column {fqn: fqn})-[d:DERIVES_FROM]->(source:Column) "
    + _COLUMN_EDGE_LINE
    + "RETURN DISTINCT target.fqn AS near, source.fqn AS far, null AS kind, d.file AS file, s.line AS line"
)
COLUMN_DOWNSTREAM_STEP = (
    "UNWIND $frontier AS fqn "
    "MATCH (source:Column {fqn: fqn})<-[d:DERIVES_FROM]-(target:Column) "
    + _COLUMN_EDGE_LINE
    + "RETURN DISTINCT source.fqn AS near, target.fqn AS far, null AS kind, d.file AS file, s.line AS line"
)

# -- statements touching a table -------------------------------------------------------------------

WRITERS = (
    "MATCH (f:SqlFile)-[:HAS_STATEMENT]->(s:Statement)-[:WRITES]->(:Table {fqn: $fqn}) "
    "RETURN f.path AS file, s.line AS line, s.kind AS kind ORDER BY file, line"
)
READERS = (
    "MATCH (f:SqlFile)-[:HAS_STATEMENT]->(s:Statement)-[:READS]->(:Table {fqn: $fqn}) "
    "RETURN f.path AS file, s.line AS line, s.kind AS kind ORDER BY file, line"
)

# -- search: $regex is a parameter (built by the caller with re.escape), never query text ------------

SEARCH = (
    "CALL () { "
    "  MATCH (t:Table) WHERE t.fqn =~ $regex RETURN 'table' AS type, t.fqn AS name, t.kind AS kind "
    "  UNION ALL "
    "  MATCH (c:Column) WHERE c.fqn =~ $regex RETURN 'column' AS type, c.fqn AS name, null AS kind "
    "} "
    "RETURN type, name, kind ORDER BY type DESC, size(name), name LIMIT $limit"
)

# -- what one file contributes, for OpenLineage export ----------------------------------------------

FILES = (
    "UNWIND $paths AS path MATCH (f:SqlFile {path: path}) "
    "RETURN f.path AS path, f.sha256 AS sha256, f.dialect AS dialect"
)
ALL_FILES = "MATCH (f:SqlFile) RETURN f.path AS path ORDER BY path"
FILE_TABLES = (
    "UNWIND $paths AS path "
    "MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(s:Statement)-[access:READS|WRITES]->(t:Table) "
    "RETURN path, type(access) AS access, t.fqn AS fqn, min(s.line) AS line ORDER BY path, access, fqn"
)
FILE_COLUMN_EDGES = (
    "UNWIND $paths AS path "
    "MATCH (target:Column)-[:DERIVES_FROM {file: path}]->(source:Column) "
    "RETURN DISTINCT path, target.table AS table, target.name AS column, source.table AS source_table, "
    "source.name AS source_column ORDER BY path, table, column, source_table, source_column"
)


@dataclass(frozen=True)
class Hop:
    """One edge of a traversal: `far` is `hops` levels from the start, reached from `near` (one level closer)."""

    hops: int
    near: str
    far: str
    kind: str | None
    file: str | None
    line: int | None


def check_depth(depth: int) -> int:
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    return depth


def traverse(read: Read, step: str, start: str, depth: int = DEFAULT_DEPTH) -> list[Hop]:
    """Breadth-first from `start` along one step query: the edges of every shortest path, nearest first.

    An edge is kept when it reaches its far end at the level that end was first reached, so each
    node appears at its smallest hop count and a cycle adds nothing once its nodes are seen.
    """
    check_depth(depth)
    level_of = {start: 0}
    frontier = [start]
    hops: list[Hop] = []
    for level in range(1, depth + 1):
        if not frontier:
            break
        reached: set[str] = set()
        for row in sorted(read(step, frontier=frontier), key=_edge_order):
            far = row["far"]
            if far not in level_of:
                level_of[far] = level
                reached.add(far)
            if level_of[far] == level:
                hops.append(Hop(level, row["near"], far, row["kind"], row["file"], row["line"]))
        frontier = sorted(reached)
    return sorted(set(hops), key=lambda h: (h.hops, h.far, h.near, h.file or "", h.line or 0))


def _edge_order(row: dict[str, Any]) -> tuple[str, str, str, int]:
    return (row["far"], row["near"], row["file"] or "", row["line"] or 0)


def existing(read: Read, query: str, fqns: Sequence[str]) -> set[str]:
    """Which of the candidate keys exist (EXISTING_TABLES or EXISTING_COLUMNS)."""
    return {row["fqn"] for row in read(query, fqns=list(fqns))}
