"""How a group of files replaces its part of the graph: one plan, whatever executes it.

A replacement is (1) collect what the files' current statements touch, (2) delete their old
contributions, (3) write the new rows in dependency order, (4) tidy the tables and columns that
lost their last reference. This module says which queries do that, with which parameters, in
which order (`replace_queries`, and the `staged_*` functions for a file too large for one
transaction); the Neo4j resource only runs them: in one transaction (the default: a reader never
sees a file half old, half new), one transaction per query (the unoptimised per-entity baseline),
or in bounded stages, with retries, splits and dead letters around them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ingest_pipeline.graph import cypher
from ingest_pipeline.graph.rows import FileRows, v2_row_sets

Row = dict[str, Any]


@dataclass(frozen=True)
class RowSet:
    """One parameterised query and the rows it is run with ($rows), sorted by key so that
    concurrent writers would lock in one order. A grouped row carries a list of items under
    `nested` (a table's columns, a statement's defined columns): it weighs one plus its items."""

    query: str
    rows: list[Row]
    nested: str | None = None

    def weight(self, row: Row) -> int:
        return 1 + len(row[self.nested]) if self.nested else 1

    @property
    def items(self) -> int:
        """Graph rows this set writes (a grouped row counts its items)."""
        return sum(map(self.weight, self.rows)) if self.nested else len(self.rows)

    def batches(self, size: int) -> Iterator[list[Row]]:
        """Consecutive runs of rows weighing about `size` each (a heavier row goes alone)."""
        for start, end in self.cuts(size):
            yield self.rows[start:end]

    def queries(self, batch_size: int | None) -> Iterator[Query]:
        """The set's query once per batch of about batch_size rows; None: once per item (the per-entity baseline)."""
        batches = self.batches(batch_size) if batch_size else ([row] for row in self.singles())
        for batch in batches:
            yield Query(self.query, {"rows": batch}, writes_rows=True)

    def singles(self) -> Iterator[Row]:
        """Each item on its own (a grouped row once per item): the per-entity baseline's rows."""
        for row in self.rows:
            if not self.nested:
                yield row
                continue
            for item in row[self.nested]:
                yield {**row, self.nested: [item]}

    def cuts(self, size: int, start: int = 0) -> Iterator[tuple[int, int]]:
        size = max(1, size)
        if not self.nested:
            for at in range(start, len(self.rows), size):
                yield at, min(at + size, len(self.rows))
            return
        begin, weight = start, 0
        for at in range(start, len(self.rows)):
            row_weight = self.weight(self.rows[at])
            if at > begin and weight + row_weight > size:
                yield begin, at
                begin, weight = at, 0
            weight += row_weight
        if begin < len(self.rows):
            yield begin, len(self.rows)


@dataclass(frozen=True)
class Replacement:
    """Everything one transaction (or one staged replace) does for a group of files."""

    # Keys of every file whose old contribution goes: the deleted ones and the rewritten ones.
    paths: list[str]
    # Keys of files removed altogether (their SqlFile nodes go too).
    deleted: list[str]
    # New rows in dependency order: files, tables, statements, their edges, columns, column edges.
    row_sets: list[RowSet]
    # Tables and routines the new rows name (with those the old statements touched: candidates for tidying).
    tables: list[str]
    routines: list[str]
    # Tables a new CREATE_VIEW statement writes: views, whatever the old statements said.
    views: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return sum(s.items for s in self.row_sets)


@dataclass(frozen=True)
class Query:
    """One Cypher statement and its parameters; `writes_rows` marks a batch of a row set (what the
    write statistics count), as opposed to the reads, deletions and tidying around the rows."""

    text: str
    params: dict[str, Any]
    writes_rows: bool = False


@dataclass
class Touched:
    """Nodes the old statements of a replacement referred to: candidates for tidying."""

    tables: set[str] = field(default_factory=set)
    columns: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    routines: set[str] = field(default_factory=set)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Touched:
        """What `touched_query` returned."""
        return cls(set(record["tables"]), set(record["columns"]), set(record["uris"]), set(record["routines"]))


def touched_query(plan: Replacement) -> Query:
    """Step 1, read before anything is deleted: one record for `Touched.from_record`."""
    return Query(cypher.TOUCHED, {"paths": plan.paths})


def replace_queries(plan: Replacement, touched: Touched, batch_size: int | None) -> Iterator[Query]:
    """Steps 2-4 in order: the old contributions out, the new rows in (batches of about batch_size
    rows; None: each item alone, the per-entity baseline), then the tidying."""
    yield Query(cypher.DELETE_CONTRIBUTIONS, {"paths": plan.paths})
    yield from _deleted_files(plan)
    for row_set in plan.row_sets:
        yield from row_set.queries(batch_size)
    yield from tidy_queries(plan, touched)


def tidy_queries(plan: Replacement, touched: Touched) -> Iterator[Query]:
    """Drop what lost its last reference (columns, tables, locations, routines); derive table and routine kinds.

    Only what the old statements touched can have lost a reference or a view: a table the new rows
    name is read or written by them, and is a view when a new CREATE_VIEW writes it. A query with
    nothing to look at is not sent (each is a round trip of ~5 ms; a cold run has nothing old)."""
    tables, routines = sorted(touched.tables), sorted(touched.routines | set(plan.routines))
    steps = (
        (cypher.DELETE_ORPHAN_COLUMNS, "fqns", sorted(touched.columns)),
        (cypher.DELETE_ORPHAN_TABLES, "fqns", tables),
        (cypher.SET_VIEW_KINDS, "fqns", plan.views),
        (cypher.SET_TABLE_KINDS, "fqns", tables),
        (cypher.DELETE_ORPHAN_LOCATIONS, "uris", sorted(touched.locations)),
        (cypher.DELETE_ORPHAN_ROUTINES, "fqns", routines),
        (cypher.SET_ROUTINE_KINDS, "fqns", routines),
    )
    for query, name, values in steps:
        if values:
            yield Query(query, {name: values})


# -- A replacement too large for one transaction ---------------------------------------------
# The file is absent or incomplete (SqlFile.sha256 null, so the next run redoes it) until the
# last stage commits: mark it incomplete, delete its old contribution in bounded pieces, write the
# new rows (its SqlFile still without sha256) in bounded pieces, then finish.


def staged_start(plan: Replacement) -> Iterator[Query]:
    """The first stages: the files marked incomplete, and the deleted files removed."""
    yield Query(cypher.MARK_INCOMPLETE, {"paths": plan.paths})
    yield from _deleted_files(plan)


STAGED_DELETIONS = (cypher.DELETE_STATEMENTS_BATCH, cypher.DELETE_DEPENDS_ON_BATCH, cypher.DELETE_DERIVES_FROM_BATCH)


def staged_deletion(query: str, path: str, rows: int) -> Query:
    """A piece of a file's old contribution (one of STAGED_DELETIONS) for a stage of about `rows`
    rows; it returns `n`, the items it deleted, and is run again until that is 0. A deleted
    statement takes its edges with it: a quarter of the rows per piece."""
    return Query(query, {"path": path, "limit": max(1, rows // 4)})


def staged_row_sets(plan: Replacement) -> list[RowSet]:
    """The new rows, cut into stages by the resource; the files still without their sha256."""
    files, *rest = plan.row_sets
    return [RowSet(files.query, [{**row, "sha256": None} for row in files.rows]), *rest]


def staged_finish(plan: Replacement, touched: Touched) -> Iterator[Query]:
    """The last stage: the files with their real sha256 (complete now), then the tidying."""
    files = plan.row_sets[0]
    yield from files.queries(len(files.rows))
    yield from tidy_queries(plan, touched)


def _deleted_files(plan: Replacement) -> Iterator[Query]:
    if plan.deleted:
        yield Query(cypher.DELETE_FILES, {"paths": plan.deleted})


def replacement(deleted: Sequence[str], group: Sequence[FileRows]) -> Replacement:
    """The plan that removes `deleted` and replaces the files of `group`."""
    tables = _merge_tables(group)
    return Replacement(
        paths=sorted({*deleted, *(f.path for f in group)}),
        deleted=sorted(deleted),
        row_sets=_row_sets(group, tables),
        tables=[t["fqn"] for t in tables],
        routines=sorted({r["fqn"] for f in group for r in f.routines}),
        views=_views(group),
    )


def _views(group: Sequence[FileRows]) -> list[str]:
    view_statements = {s["id"] for f in group for s in f.statements if s["kind"] == "CREATE_VIEW"}
    return sorted({w["fqn"] for f in group for w in f.writes if w["statement"] in view_statements})


def _merge_tables(group: Sequence[FileRows]) -> list[Row]:
    tables: dict[str, Row] = {}
    for rows in group:
        for table in rows.tables:
            tables.setdefault(table["fqn"], table)
    return [tables[fqn] for fqn in sorted(tables)]


def _row_sets(group: Sequence[FileRows], tables: list[Row]) -> list[RowSet]:
    return [
        RowSet(cypher.MERGE_FILES, [f.file for f in group]),
        RowSet(cypher.MERGE_TABLES, tables),
        RowSet(cypher.CREATE_STATEMENTS, [s for f in group for s in f.statements]),
        RowSet(cypher.CREATE_READS, sorted((r for f in group for r in f.reads), key=lambda r: (r["fqn"], r["statement"]))),
        RowSet(cypher.CREATE_WRITES, sorted((r for f in group for r in f.writes), key=lambda r: (r["fqn"], r["statement"]))),
        RowSet(cypher.CREATE_DEPENDS_ON, [d for f in group for d in f.depends_on]),
        RowSet(cypher.CREATE_COLUMNS, _columns_by_table(group), nested="columns"),
        RowSet(cypher.CREATE_DEFINES, _grouped((d for f in group for d in f.defines), "statement", "column"), nested="columns"),
        RowSet(cypher.CREATE_DERIVES_FROM, _derives_by_target(group), nested="sources"),
        *(RowSet(query, rows) for query, rows in v2_row_sets(group)),
    ]


def _columns_by_table(group: Sequence[FileRows]) -> list[Row]:
    """Each table's new columns (deduplicated across the group's files), tables and columns in key order."""
    columns = {c["fqn"]: c for f in group for c in f.columns}
    by_table: dict[str, list[Row]] = defaultdict(list)
    for fqn in sorted(columns):
        by_table[columns[fqn]["table"]].append({"fqn": fqn, "name": columns[fqn]["name"]})
    return [{"table": table, "columns": by_table[table]} for table in sorted(by_table)]


def _grouped(rows: Iterable[Row], key: str, item: str) -> list[Row]:
    """{key: k, "columns": [item values]} per distinct k, in key order."""
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        found[row[key]].append(row[item])
    return [{key: k, "columns": found[k]} for k in sorted(found)]


def _derives_by_target(group: Sequence[FileRows]) -> list[Row]:
    by_target: dict[str, list[Row]] = defaultdict(list)
    for f in group:
        for d in f.derives:
            by_target[d["target"]].append({k: v for k, v in d.items() if k != "target"})
    return [
        {"target": target, "sources": sorted(by_target[target], key=lambda d: (d["source"], d["statement"]))}
        for target in sorted(by_target)
    ]


def groups(files: Sequence[FileRows], max_files: int, max_rows: int) -> Iterator[list[FileRows]]:
    """Files in key order, cut into groups of at most max_files files and (past the first file of a
    group) at most max_rows rows, so that no transaction grows past what the server's memory allows."""
    group: list[FileRows] = []
    rows = 0
    for file in sorted(files, key=lambda f: f.path):
        if group and (len(group) >= max(1, max_files) or rows + file.row_count > max_rows):
            yield group
            group, rows = [], 0
        group.append(file)
        rows += file.row_count
    if group:
        yield group
