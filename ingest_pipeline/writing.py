"""What the single writer does with parsed files, besides talking to Neo4j: rows from models, the
column catalog, and which files of a run must be written again once the catalog has settled.

A run writes its parse chunks one by one as they finish, each expanded against the catalog as it
stands then. A chunk that changes a definition marks every ingested file whose expansion consulted
it as pending; those of this run are rewritten by the run's last step against the final catalog,
so the graph equals a clean ingest of the same files, and the others are refreshed by the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ingest_pipeline.graph.columns import attach, changed_tables, column_rows, file_definitions
from ingest_pipeline.graph.rows import FileRows, file_rows
from ingest_pipeline.lineage import ColumnRef, FileLineage, build_catalog, refresh_catalog
from ingest_pipeline.planning import FileTask
from ingest_pipeline.state.ledger import PENDING, IngestedFile, Ledger


@dataclass(frozen=True)
class ChunkFile:
    """A parsed file as the writer needs it: its task as parsed, where its model is, how it was derived."""

    task: FileTask
    key: str
    derivation: str


def rows_for(files: Sequence[ChunkFile], lineages: Mapping[str, FileLineage], ingested_at: str) -> list[FileRows]:
    """Table-level rows of each file whose model is in `lineages` (by key)."""
    return [file_rows(f.task, lineages[f.key], ingested_at, derivation=f.derivation) for f in files if f.key in lineages]


def attach_column_rows(rows: list[FileRows], lineages: Mapping[str, FileLineage], deleted: Sequence[str], state: Ledger) -> list[str]:
    """Update the corpus catalog with these files (and without the deleted ones), expand each file's
    column lineage against it, and mark other ingested files whose expansions used a definition
    that changed as pending; returns those files. `lineages` is by file key. The caller holds the
    ledger's writer lock."""
    if not rows and not deleted:
        return []  # a run where nothing changed leaves the catalog alone
    paths = [*(r.path for r in rows), *deleted]
    before = state.definitions()
    old_catalog = _catalog_of(state, before)
    written = {r.path: file_definitions(lineages[r.path]) for r in rows}
    redefined = state.defined_tables(paths) | {table for found in written.values() for _, table, _ in found}
    version = state.replace_definitions(paths, written)
    definitions = state.definitions()
    catalog = refresh_catalog(old_catalog, definitions, {t for t in redefined if before.get(t) != definitions.get(t)})
    _remember_catalog(state, version, catalog)
    dependencies = {}
    for file in rows:
        columns = column_rows(file.path, lineages[file.path], catalog, definitions)
        attach(file, columns)
        dependencies[file.path] = columns.depends_on_definitions
    state.replace_definition_dependencies(paths, dependencies)
    return state.mark_dependents_stale(changed_tables(old_catalog, catalog), exclude=set(paths))


# The catalog this process last built: (ledger path, definitions version, catalog). A run's writer
# refreshes it chunk by chunk rather than building it whole twice per chunk (about 16 s of a
# 20,000-file run); a ledger whose definitions another process changed since gets it built again.
_LAST_CATALOG: tuple[str, str, dict[str, list[str]]] | None = None


def _catalog_of(state: Ledger, definitions: Mapping[str, Sequence[ColumnRef]]) -> dict[str, list[str]]:
    """The catalog of the ledger's current definitions (`definitions`)."""
    version = state.definitions_version()
    if _LAST_CATALOG is not None and version is not None and _LAST_CATALOG[:2] == (str(state.path), version):
        return _LAST_CATALOG[2]
    return build_catalog(definitions)


def _remember_catalog(state: Ledger, version: str, catalog: dict[str, list[str]]) -> None:
    global _LAST_CATALOG
    _LAST_CATALOG = (str(state.path), version, catalog)


def to_refresh(written: Mapping[str, ChunkFile], state: Ledger) -> list[ChunkFile]:
    """Files this run wrote that a later catalog change marked pending again, in key order."""
    entries = state.entries()
    return [written[p] for p in sorted(written) if p in entries and entries[p].status == PENDING]


def column_digest(rows: FileRows) -> str:
    """A digest of a file's column rows (built deterministically, so equal rows give equal digests)."""
    return hashlib.sha256(repr((rows.columns, rows.defines, rows.derives)).encode()).hexdigest()


def table_facts_digest(rows: FileRows, columns: str) -> str:
    """A digest of what a file says at table level (the tables it touches, which statement line
    writes what, dependencies, and `columns`, its column_digest): a file rewritten with the same
    digest leaves the table assets of Dagster's Lineage page as they were."""
    lines = {s["id"]: (s["line"], s["kind"]) for s in rows.statements}
    writes = sorted((w["fqn"], *lines.get(w["statement"], (None, None))) for w in rows.writes)
    return hashlib.sha256(repr((rows.tables, writes, rows.depends_on, columns)).encode()).hexdigest()


def ingested(rows: Sequence[FileRows], mtimes: Mapping[str, int]) -> list[IngestedFile]:
    return [
        IngestedFile(r.path, r.file["sha256"], r.file["size_bytes"], mtimes.get(r.path, 0), r.derivation) for r in rows
    ]


@dataclass(frozen=True)
class FileFigures:
    """What one written file put in the graph, for the run's report."""

    tables: tuple[str, ...]
    columns: tuple[str, ...]
    column_edges: int
    ambiguous_edges: int
    relationships: int
    # Of the column rows written: a rewrite against a settled catalog that would give the same is skipped.
    column_digest: str
    # Of its table-level facts: the run's table assets are read again only when one of these changed.
    facts_digest: str = ""


@dataclass
class WriteCounts:
    """What the writes of a run added up to: per file (a file rewritten later counts as rewritten),
    plus the rows and Neo4j figures of every write, for rows/s."""

    files: dict[str, FileFigures] = field(default_factory=dict)
    rows: int = 0
    neo4j: dict[str, float] = field(default_factory=dict)
    batch_seconds: list[float] = field(default_factory=list)

    def add(self, rows: Sequence[FileRows], written: set[str], neo4j: Mapping[str, float], batch_seconds: Sequence[float]) -> None:
        for r in rows:
            if r.path not in written:
                continue
            columns = column_digest(r)
            self.files[r.path] = FileFigures(
                tuple(t["fqn"] for t in r.tables),
                tuple(c["fqn"] for c in r.columns),
                len(r.derives),
                sum(1 for d in r.derives if d["ambiguous"]),
                r.relationship_count,
                columns,
                table_facts_digest(r, columns),
            )
            self.rows += r.row_count
        self.merge(WriteCounts(neo4j=dict(neo4j), batch_seconds=list(batch_seconds)))

    def merge(self, other: WriteCounts) -> None:
        self.files.update(other.files)
        self.rows += other.rows
        for key, value in other.neo4j.items():
            self.neo4j[key] = self.neo4j.get(key, 0) + value
        self.batch_seconds += other.batch_seconds

    @property
    def tables(self) -> set[str]:
        return {t for f in self.files.values() for t in f.tables}

    @property
    def columns(self) -> set[str]:
        return {c for f in self.files.values() for c in f.columns}

    def total(self, figure: str) -> int:
        return sum(getattr(f, figure) for f in self.files.values())
