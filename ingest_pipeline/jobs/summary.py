"""What a run did, for people: the `sql_lineage_graph` metadata and the run log's phase lines.

Pure: plain facts in, metadata values and sentences out (no Neo4j, no run context), so every
rule — one markdown summary, tables of parse errors and of files not ingested, units in names,
rounded floats, no rate when nothing was processed, file names for small batches — is tested
on its own (ingest_pipeline_tests/test_summary.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from ingest_pipeline.graph.health import ParseError, first_line

# Batches up to this many files are listed by name in the run log.
NAMED_FILES = 10
# Rows of the parse-error and failed-file tables at most (the counts are always complete).
TABLE_ROWS = 100


@dataclass(frozen=True)
class RunFacts:
    """Everything the summary says, gathered by the run's final step."""

    source: str
    source_dir: str
    files_seen: int
    ingested: Sequence[str]
    unchanged: int
    deleted: Sequence[str]
    failed: Mapping[str, str]  # path -> reason: unreadable, or rejected by Neo4j
    dead_lettered: Collection[str]  # the failed files Neo4j rejected (in the dead-letter file)
    parsed: int
    from_cache: int
    statements: int
    parse_errors: int
    tables: int
    columns: int
    column_edges: int
    column_edges_ambiguous: int
    graph_rows_written: int
    wall_seconds: float
    write: Mapping[str, float]  # WriteStats.as_metadata()
    parallelism: Mapping[str, Any] = field(default_factory=dict)
    parse_seconds: Sequence[float] = ()
    parse_error_list: Sequence[ParseError] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)
    rejected: Mapping[str, str] = field(default_factory=dict)
    dead_letter_path: str = ""
    dead_letter_entries: int = 0
    table_assets: str = ""
    # Files of this run rewritten by its last step because a later chunk changed a definition they use.
    refreshed: int = 0

    @property
    def processed(self) -> int:
        """Files this run parsed or wrote: the base of its rates."""
        return len(self.ingested) + len(self.deleted) + len(self.failed)


def names(paths: Collection[str], limit: int = NAMED_FILES) -> str:
    """`a.sql, b.sql` for a few files, `a.sql, … and 14 more` for many, `none` for none."""
    ordered = sorted(paths)
    if not ordered:
        return "none"
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown} and {len(ordered) - limit} more"


def plural(count: int, noun: str, nouns: str = "") -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def percentile(values: Sequence[float], pct: int) -> float:
    ordered = sorted(values)
    if len(ordered) < 2:
        return ordered[0] if ordered else 0.0
    return statistics.quantiles(ordered, n=100, method="inclusive")[pct - 1]


# -- failure headlines ------------------------------------------------------------------------------


def unreachable_headline(uri: str, error: BaseException, consequence: str) -> str:
    """The first line a failed run shows when Neo4j could not be reached: where, why in two words,
    what to do; `error` is the resource's GraphUnavailableError (its cause the driver's error, when
    the server could not be reached at all). Other errors (credentials) keep their own one line."""
    cause = error.__cause__
    if cause is None:
        return str(error)
    text = str(cause)
    reason = "connection refused" if "Connection refused" in text or isinstance(cause, ConnectionRefusedError) else first_line(text, 80)
    return (
        f"Neo4j unreachable at NEO4J_URI={uri} ({reason}): start it with `ingest-pipeline neo4j start` "
        f"or point NEO4J_URI at a running server. {consequence}"
    )


# -- run log lines, one per phase ------------------------------------------------------------------


def parse_line(paths: Collection[str], parsed: int, from_cache: int, errors: int, elapsed: float, pool_workers: int = 0) -> str:
    """`pool_workers`: the parse pool's processes read the chunk ahead, and `elapsed` is the wait for them."""
    listed = f": {names(paths)}" if 0 < len(paths) <= NAMED_FILES else ""
    how = f"in {seconds(elapsed)}" if not pool_workers else f"ahead in {plural(pool_workers, 'pool process', 'pool processes')} (waited {seconds(elapsed)})"
    return (
        f"read {plural(len(paths), 'file')} {how}: {parsed} parsed, {from_cache} from the parse cache, "
        f"{plural(errors, 'statement')} with errors{listed}"
    )


def write_line(write: Mapping[str, float], written: Collection[str], deleted: Collection[str], failed: Collection[str]) -> str:
    listed = f": {names(written)}" if 0 < len(written) <= NAMED_FILES else ""
    retries = int(write.get("retries", 0))
    return (
        f"wrote {plural(len(written), 'file')} to Neo4j in {seconds(write.get('seconds', 0.0))} "
        f"({plural(int(write.get('transactions', 0)), 'transaction')}, {plural(retries, 'retry', 'retries')}), "
        f"deleted {len(deleted)}, {len(failed)} not written{listed}"
    )


def run_line(facts: RunFacts) -> str:
    problems = _problems(facts)
    return (
        f"run summary: {facts.files_seen} files seen in source {facts.source!r}, {len(facts.ingested)} ingested, "
        f"{facts.unchanged} unchanged, {len(facts.deleted)} deleted, {len(facts.failed)} failed in {seconds(facts.wall_seconds)}"
        + (f"; {'; '.join(problems)}" if problems else "")
    )


# -- asset metadata --------------------------------------------------------------------------------


def graph_metadata(facts: RunFacts) -> dict[str, Any]:
    """The sql_lineage_graph materialization's metadata: the summary first, then numbers with units, then tables."""
    write = facts.write
    metadata: dict[str, Any] = {
        "summary": MetadataValue.md(markdown(facts)),
        "files_seen": facts.files_seen,
        "files_ingested": len(facts.ingested),
        "files_unchanged": facts.unchanged,
        "files_deleted": len(facts.deleted),
        "files_failed": len(facts.failed),
        "files_skipped": len(facts.skipped),
        "files_rejected": len(facts.rejected),
        "files_parsed": facts.parsed,
        "files_refreshed": facts.refreshed,
        "files_from_cache": facts.from_cache,
        "statements": facts.statements,
        "parse_errors": facts.parse_errors,
        "tables": facts.tables,
        "columns": facts.columns,
        "column_edges": facts.column_edges,
        "column_edges_ambiguous": facts.column_edges_ambiguous,
        "graph_rows_written": facts.graph_rows_written,
        "wall_seconds": round(facts.wall_seconds, 2),
    }
    if facts.processed:
        metadata["files_per_second"] = round(facts.files_seen / max(facts.wall_seconds, 1e-9), 1)
    if facts.parse_seconds:
        metadata["parse_latency_p50_ms"] = round(percentile(facts.parse_seconds, 50) * 1000, 1)
        metadata["parse_latency_p95_ms"] = round(percentile(facts.parse_seconds, 95) * 1000, 1)
    metadata.update(_rounded(facts.parallelism))
    metadata.update(
        {
            "neo4j_transactions": int(write.get("transactions", 0)),
            "neo4j_batches": int(write.get("batches", 0)),
            "neo4j_nodes_created": int(write.get("entities", 0)),
            "neo4j_relationships_created": int(write.get("relationships", 0)),
            "neo4j_retries": int(write.get("retries", 0)),
            "neo4j_splits": int(write.get("splits", 0)),
            "neo4j_dead_letters": int(write.get("dead_letters", 0)),
            "neo4j_seconds": round(float(write.get("seconds", 0.0)), 3),
        }
    )
    if facts.parse_error_list:
        metadata["parse_error_details"] = MetadataValue.table(
            [TableRecord({"path": e.path, "line": e.line if e.line is not None else 0, "kind": e.kind, "message": first_line(e.message)})
             for e in facts.parse_error_list[:TABLE_ROWS]],
            schema=TableSchema(
                columns=[
                    TableColumn("path", "string"),
                    TableColumn("line", "int"),
                    TableColumn("kind", "string", description="ERROR: not parsed; COMMAND: parsed only as a generic command"),
                    TableColumn("message", "string"),
                ]
            ),
        )
    not_ingested = _not_ingested(facts)
    if not_ingested:
        metadata["failed_files"] = MetadataValue.table(
            [TableRecord({"path": path, "status": status, "reason": first_line(reason)}) for path, status, reason in not_ingested[:TABLE_ROWS]],
            schema=TableSchema(
                columns=[
                    TableColumn("path", "string"),
                    TableColumn("status", "string", description="failed, dead-lettered, skipped or rejected"),
                    TableColumn("reason", "string"),
                ]
            ),
        )
    if facts.dead_letter_entries:
        metadata["dead_letter_file"] = MetadataValue.path(facts.dead_letter_path)
    return metadata


def cache_metadata(enabled: bool, hits: int, misses: int, counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The parse_cache observation of one ingest run: this run's hits and misses, the cache's size."""
    metadata: dict[str, Any] = {"enabled": enabled, "hits": hits, "misses": misses}
    if hits + misses:
        metadata["hit_rate"] = round(hits / (hits + misses), 3)
    if counts:
        metadata.update({key: value for key, value in counts.items() if key in ("entries", "evictions", "size_bytes")})
    return metadata


def markdown(facts: RunFacts) -> str:
    """The run in a few lines: what changed, how fast, what failed."""
    write = facts.write
    lines = [
        f"**{plural(len(facts.ingested), 'file')} ingested, {len(facts.deleted)} deleted, {len(facts.failed)} failed** "
        f"in {seconds(facts.wall_seconds)} — source `{facts.source}` (`{facts.source_dir}`)",
        "",
        f"- **Files**: {facts.files_seen} seen; {len(facts.ingested)} ingested ({facts.parsed} parsed, "
        f"{facts.from_cache} from the parse cache), {facts.unchanged} unchanged, {len(facts.deleted)} deleted",
    ]
    if facts.ingested and len(facts.ingested) <= NAMED_FILES:
        lines.append(f"- **Ingested**: {names(facts.ingested)}")
    if facts.deleted:
        lines.append(f"- **Deleted**: {names(facts.deleted)}")
    lines.append(
        f"- **Graph**: {plural(facts.statements, 'statement')}, {plural(facts.tables, 'table')}, "
        f"{plural(facts.columns, 'column')}, {plural(facts.column_edges, 'column edge')} in the files written; "
        f"Neo4j created {int(write.get('entities', 0))} nodes and {int(write.get('relationships', 0))} relationships"
    )
    speed = [f"{seconds(facts.wall_seconds)} wall"]
    if facts.processed:
        speed.append(f"{facts.files_seen / max(facts.wall_seconds, 1e-9):.1f} files/s")
    if facts.parse_seconds:
        speed.append(f"parse p50 {seconds(percentile(facts.parse_seconds, 50))}, p95 {seconds(percentile(facts.parse_seconds, 95))}")
    speed.append(
        f"Neo4j write {seconds(float(write.get('seconds', 0.0)))} in {plural(int(write.get('transactions', 0)), 'transaction')}"
    )
    if facts.parallelism.get("executor"):
        speed.append(f"{str(facts.parallelism['executor']).replace('_', ' ')}, {plural(int(facts.parallelism.get('workers', 1)), 'worker')}")
    lines.append(f"- **Speed**: {'; '.join(speed)}")
    problems = _problems(facts)
    lines.append(f"- **Problems**: {'; '.join(problems) if problems else 'none'}")
    for error in facts.parse_error_list[:5]:
        lines.append(f"  - `{error}`")
    if len(facts.parse_error_list) > 5:
        lines.append("  - … all of them in `parse_error_details`")
    for path, status, reason in _not_ingested(facts)[:5]:
        lines.append(f"  - `{path}` {status}: {first_line(reason, 120)}")
    if facts.dead_letter_entries:
        lines.append(
            f"- **Dead letters**: {plural(facts.dead_letter_entries, 'entry', 'entries')} in `{facts.dead_letter_path}`; "
            "fix the cause, then launch `replay_failed`"
        )
    if facts.table_assets:
        lines.append(f"- **Table assets**: {facts.table_assets}")
    return "\n".join(lines)


def _problems(facts: RunFacts) -> list[str]:
    problems = []
    if facts.parse_errors:
        problems.append(f"{plural(facts.parse_errors, 'statement')} with parse errors")
    dead = len(facts.dead_lettered)
    if len(facts.failed) - dead:
        problems.append(f"{plural(len(facts.failed) - dead, 'file')} unreadable")
    if dead:
        problems.append(f"{plural(dead, 'file')} rejected by Neo4j (dead-lettered)")
    if facts.skipped:
        problems.append(f"{plural(len(facts.skipped), 'entry', 'entries')} skipped")
    if facts.rejected:
        problems.append(f"{plural(len(facts.rejected), 'paths entry', 'paths entries')} rejected")
    if int(facts.write.get("retries", 0)):
        problems.append(f"{int(facts.write['retries'])} Neo4j retries")
    return problems


def _not_ingested(facts: RunFacts) -> list[tuple[str, str, str]]:
    rows = [(p, "dead-lettered" if p in facts.dead_lettered else "failed", r) for p, r in facts.failed.items()]
    rows += [(p, "skipped", r) for p, r in facts.skipped.items()]
    rows += [(p, "rejected", r) for p, r in facts.rejected.items()]
    return sorted(rows)


def _rounded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in values.items()}
