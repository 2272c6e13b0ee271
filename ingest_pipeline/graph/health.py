"""What the graph's asset checks ask, and the graph contract version the writer records.

The contract version lives on the graph itself, `IngestMeta {key: 'graph'}.contract_version`: every
ingest run that writes records the version it wrote, so a graph last written by an older or newer
pipeline (docs/graph-model.md) is told apart from one this code wrote. Every query takes parameters
only; the checks that evaluate the answers are in ingest_pipeline/jobs/checks.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The graph contract this code writes and reads (docs/graph-model.md): v1 files, statements, tables
# and columns; v2 adds locations, routines and temporary tables.
CONTRACT_VERSION = 2

# Runs after graph_id() made the node: a MATCH, so it never creates an IngestMeta without its id.
STAMP_CONTRACT = "MATCH (m:IngestMeta {key: 'graph'}) SET m.contract_version = $version"
CONTRACT = "OPTIONAL MATCH (m:IngestMeta {key: 'graph'}) RETURN m.contract_version AS version"

# Every file the graph holds, with the bytes it holds it for (null while a staged replace runs).
GRAPH_FILES = "MATCH (f:SqlFile) RETURN f.path AS path, f.source AS source, f.sha256 AS sha256"

# Tables no statement reads or writes, and columns nothing derives from, into or defines, or that
# belong to no table: what the writer's tidy-up should have removed.
ORPHAN_TABLES = (
    "MATCH (t:Table) WHERE NOT EXISTS { (:Statement)-[:READS|WRITES]->(t) } "
    "RETURN t.fqn AS name ORDER BY name"
)
ORPHAN_COLUMNS = (
    "MATCH (c:Column) "
    "WHERE (NOT EXISTS { (c)-[:DERIVES_FROM]-() } AND NOT EXISTS { (:Statement)-[:DEFINES]->(c) }) "
    "   OR NOT EXISTS { (:Table)-[:HAS_COLUMN]->(c) } "
    "RETURN c.fqn AS name ORDER BY name"
)

# Statements recorded with an error (kind ERROR, or a generic COMMAND): of the given files, or of all.
STATEMENT_COUNTS = (
    "MATCH (s:Statement) RETURN count(s) AS statements, count(s.error) AS errors"
)
PARSE_ERRORS = (
    "MATCH (f:SqlFile)-[:HAS_STATEMENT]->(s:Statement) WHERE s.error IS NOT NULL "
    "RETURN f.path AS path, s.line AS line, s.kind AS kind, s.error AS message ORDER BY path, line LIMIT $limit"
)
FILE_PARSE_ERRORS = (
    "UNWIND $paths AS path MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(s:Statement) WHERE s.error IS NOT NULL "
    "RETURN path, s.line AS line, s.kind AS kind, s.error AS message ORDER BY path, line LIMIT $limit"
)


@dataclass(frozen=True)
class ParseError:
    path: str
    line: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line if self.line is not None else '?'}: {first_line(self.message)}"


def parse_errors(rows: list[dict]) -> list[ParseError]:
    return [ParseError(r["path"], r["line"], r["kind"], r["message"] or "") for r in rows]


def first_line(message: str, width: int = 160) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


@dataclass(frozen=True)
class Disagreement:
    """Files whose ledger state and graph state differ (keys, each with why)."""

    missing_from_graph: dict[str, str]
    missing_from_ledger: list[str]

    @property
    def count(self) -> int:
        return len(self.missing_from_graph) + len(self.missing_from_ledger)


def ledger_disagreement(
    ingested: Mapping[str, str | None], known: set[str], graph_files: list[dict], sources: set[str]
) -> Disagreement:
    """Compare the ledger with the graph's SqlFile nodes of the sources the ledger speaks for.

    `ingested`: key -> sha256 of files the ledger marks ingested; `known`: every key the ledger
    holds (any status: a pending or failed file may keep its old lineage in the graph).
    """
    in_graph = {row["path"]: row["sha256"] for row in graph_files if (row["source"] or "default") in sources}
    missing = {}
    for key, sha in sorted(ingested.items()):
        if key not in in_graph:
            missing[key] = "marked ingested, not in the graph"
        elif in_graph[key] != sha:
            missing[key] = "the graph holds other bytes" if in_graph[key] else "the graph holds it incomplete"
    return Disagreement(missing, sorted(set(in_graph) - known))
