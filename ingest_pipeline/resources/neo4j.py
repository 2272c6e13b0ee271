"""Neo4jResource: the only place that talks to Neo4j.

Files are written in transactions of several files each, and each file's old statements and edges
are removed in the same transaction that writes its new ones, so a reader never sees a file half
old, half new. Transient faults are retried with exponential backoff; a group that still fails
for a non-transient reason is split (100 -> 50 -> 10 -> 1 files) so that everything writable
commits, and a file that fails alone goes to the dead-letter file.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from dagster import ConfigurableResource, InitResourceContext
from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired, TransientError
from pydantic import PrivateAttr

from ingest_pipeline import dead_letters
from ingest_pipeline.graph import cypher
from ingest_pipeline.graph.rows import FileRows, v2_row_sets

T = TypeVar("T")
_RETRYABLE = (TransientError, ServiceUnavailable, SessionExpired)
_UNREACHABLE = (ServiceUnavailable, SessionExpired)


class GraphUnavailableError(RuntimeError):
    """Neo4j could not be reached (after retries); the message names NEO4J_URI."""


@dataclass
class WriteStats:
    files_written: int = 0
    files_deleted: int = 0
    transactions: int = 0
    batches: int = 0
    entities: int = 0
    relationships: int = 0
    retries: int = 0
    splits: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    batch_seconds: list[float] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int | float]:
        data = asdict(self)
        data.pop("batch_seconds")
        return data


@dataclass
class WriteOutcome:
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    dead_lettered: dict[str, str] = field(default_factory=dict)
    stats: WriteStats = field(default_factory=WriteStats)
    on_commit: Callable[[list[str], list[str]], None] | None = None

    def committed(self, written: list[str], deleted: list[str]) -> None:
        if self.on_commit is not None:
            self.on_commit(written, deleted)


class Neo4jResource(ConfigurableResource):
    """Connection and write policy for the lineage graph. Every value travels as a Cypher parameter."""

    uri: str = "bolt://localhost:7687"
    user: str = ""
    password: str = ""
    database: str = "neo4j"
    batch_size: int = 100
    batching: bool = True
    files_per_transaction: int = 100
    split_sizes: list[int] = [50, 10, 1]
    max_retries: int = 5
    backoff_seconds: float = 1.0
    backoff_jitter: float = 0.2
    connection_timeout_seconds: float = 10.0
    dead_letter_path: str = "data/failed_ingestion.jsonl"

    _driver: Driver | None = PrivateAttr(default=None)
    _schema_ready: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._driver = None
        self._schema_ready = False

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None
        self._schema_ready = False

    # -- connection ---------------------------------------------------------------------------

    def driver(self) -> Driver:
        if self._driver is None:
            auth = (self.user, self.password) if self.user else None
            self._driver = GraphDatabase.driver(
                self.uri,
                auth=auth,
                connection_timeout=self.connection_timeout_seconds,
                max_transaction_retry_time=0,
                # Schema-less MATCHes on a fresh graph warn about unknown types: noise, not news.
                notifications_min_severity="OFF",
            )
        return self._driver

    def unreachable_message(self, error: BaseException) -> str:
        return (
            f"Neo4j is unreachable at NEO4J_URI={self.uri} (database {self.database!r}): "
            f"{type(error).__name__}: {error}. Start it (`ingest-pipeline neo4j start`) or point NEO4J_URI "
            "at a running server; files not written stay pending and the next run ingests them."
        )

    def _retrying(self, work: Callable[[], T], stats: WriteStats | None = None) -> T:
        """Run work, retrying transient faults with exponential backoff (1, 2, 4, 8, 16 s by default)."""
        attempt = 0
        while True:
            try:
                return work()
            except _RETRYABLE as error:
                if attempt >= self.max_retries:
                    if isinstance(error, _UNREACHABLE):
                        raise GraphUnavailableError(self.unreachable_message(error)) from error
                    raise
                delay = self.backoff_seconds * (2**attempt)
                delay += random.uniform(0, delay * self.backoff_jitter)
                attempt += 1
                if stats is not None:
                    stats.retries += 1
                time.sleep(delay)

    def _execute_write(self, unit: Callable[[ManagedTransaction], T]) -> T:
        with self.driver().session(database=self.database) as session:
            with session.begin_transaction() as tx:
                result = unit(tx)  # type: ignore[arg-type]
                tx.commit()
                return result

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        def unit() -> list[dict[str, Any]]:
            records, _, _ = self.driver().execute_query(query, params, database_=self.database)
            return [record.data() for record in records]

        return self._retrying(unit)

    # -- schema and identity ------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create constraints and indexes (idempotent), once per connection rather than per call."""
        if self._schema_ready:
            return
        for statement in cypher.SCHEMA:
            self._read(statement)
        self._schema_ready = True

    def graph_id(self) -> str:
        """The graph's own random id (created on first use); the ledger is bound to it."""
        self.ensure_schema()
        return self._retrying(lambda: self._execute_write(lambda tx: tx.run(cypher.GRAPH_ID).single()["graph_id"]))

    def counts(self) -> tuple[int, int]:
        row = self._read(cypher.COUNTS)[0]
        return row["nodes"], row["relationships"]

    def query(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Read-only helper for summaries and tests; parameters only, like every query here."""
        return self._read(query, **params)

    # -- writes -------------------------------------------------------------------------------

    def write(
        self,
        files: Sequence[FileRows],
        deleted: Sequence[str],
        run_id: str = "",
        on_commit: Callable[[list[str], list[str]], None] | None = None,
    ) -> WriteOutcome:
        """Replace the given files' contributions and remove the deleted files', committing per group.

        on_commit(written_paths, deleted_paths) runs after each committed transaction, so the caller
        can record progress that survives an interruption between groups.
        """
        outcome = WriteOutcome(on_commit=on_commit)
        started = time.perf_counter()
        self.ensure_schema()
        ordered = sorted(files, key=lambda f: f.path)
        if deleted:
            self._retrying(lambda: self._commit(tuple(sorted(deleted)), [], outcome.stats), outcome.stats)
            outcome.deleted = sorted(deleted)
            outcome.stats.files_deleted = len(deleted)
            outcome.committed([], outcome.deleted)
        size = max(1, self.files_per_transaction)
        for start in range(0, len(ordered), size):
            self._write_group(ordered[start : start + size], outcome, run_id)
        outcome.stats.seconds = time.perf_counter() - started
        return outcome

    def _write_group(self, group: list[FileRows], outcome: WriteOutcome, run_id: str) -> None:
        try:
            if self.batching:
                self._retrying(lambda: self._commit((), group, outcome.stats), outcome.stats)
            else:
                self._retrying(lambda: self._commit_per_entity(group, outcome.stats), outcome.stats)
        except GraphUnavailableError:
            raise
        except (Neo4jError, TypeError, ValueError) as error:
            smaller = [s for s in self.split_sizes if s < len(group)]
            if not smaller:
                self._dead_letter(group[0], error, run_id)
                outcome.dead_lettered[group[0].path] = f"{type(error).__name__}: {error}"
                outcome.stats.dead_letters += 1
                return
            outcome.stats.splits += 1
            for start in range(0, len(group), smaller[0]):
                self._write_group(group[start : start + smaller[0]], outcome, run_id)
            return
        outcome.written.extend(f.path for f in group)
        outcome.stats.files_written += len(group)
        outcome.committed([f.path for f in group], [])

    def _commit(self, deleted: tuple[str, ...], group: list[FileRows], stats: WriteStats) -> None:
        """One transaction: drop old contributions of these paths, write the new rows, tidy tables."""
        paths = sorted({*deleted, *(f.path for f in group)})
        tables = _merge_tables(group)

        def unit(tx: ManagedTransaction) -> None:
            touched = set(tx.run(cypher.TOUCHED_TABLES, paths=paths).single()["fqns"])
            touched_columns = set(tx.run(cypher.TOUCHED_COLUMNS, paths=paths).single()["fqns"])
            touched_v2 = tx.run(cypher.TOUCHED_LOCATIONS_AND_ROUTINES, paths=paths).single()
            for query in (cypher.DELETE_STATEMENTS, cypher.DELETE_DEPENDS_ON, cypher.DELETE_DERIVES_FROM):
                tx.run(query, paths=paths).consume()
            if deleted:
                tx.run(cypher.DELETE_FILES, paths=list(deleted)).consume()
            for query, rows in _row_sets(group, tables):
                for batch in _batches(rows, self.batch_size):
                    batch_started = time.perf_counter()
                    summary = tx.run(query, rows=batch).consume()
                    stats.batch_seconds.append(time.perf_counter() - batch_started)
                    stats.batches += 1
                    stats.entities += summary.counters.nodes_created
                    stats.relationships += summary.counters.relationships_created
            tx.run(cypher.DELETE_ORPHAN_COLUMNS, fqns=sorted(touched_columns)).consume()
            fqns = sorted(touched | {t["fqn"] for t in tables})
            tx.run(cypher.DELETE_ORPHAN_TABLES, fqns=fqns).consume()
            tx.run(cypher.SET_TABLE_KINDS, fqns=fqns).consume()
            _tidy_v2(tx, touched_v2["uris"], touched_v2["routines"], group)

        self._execute_write(unit)
        stats.transactions += 1

    def _commit_per_entity(self, group: list[FileRows], stats: WriteStats) -> None:
        """Baseline ("before") mode: one transaction per entity, no batching. For benchmarks and rollback."""
        paths = sorted(f.path for f in group)
        touched: set[str] = set()
        touched_columns: set[str] = set()
        touched_v2 = [self._execute_write(lambda tx: tx.run(cypher.TOUCHED_LOCATIONS_AND_ROUTINES, paths=paths).single())]
        for path in paths:
            touched |= set(self._execute_write(lambda tx, p=path: tx.run(cypher.TOUCHED_TABLES, paths=[p]).single()["fqns"]))
            touched_columns |= set(
                self._execute_write(lambda tx, p=path: tx.run(cypher.TOUCHED_COLUMNS, paths=[p]).single()["fqns"])
            )
            for query in (cypher.DELETE_STATEMENTS, cypher.DELETE_DEPENDS_ON, cypher.DELETE_DERIVES_FROM):
                self._execute_write(lambda tx, q=query, p=path: tx.run(q, paths=[p]).consume())
                stats.transactions += 1
        tables = _merge_tables(group)
        for query, rows in _row_sets(group, tables):
            for row in rows:
                summary = self._execute_write(lambda tx, q=query, r=row: tx.run(q, rows=[r]).consume())
                stats.transactions += 1
                stats.batches += 1
                stats.entities += summary.counters.nodes_created
                stats.relationships += summary.counters.relationships_created
        columns = sorted(touched_columns)
        self._execute_write(lambda tx: tx.run(cypher.DELETE_ORPHAN_COLUMNS, fqns=columns).consume())
        fqns = sorted(touched | {t["fqn"] for t in tables})
        for query in (cypher.DELETE_ORPHAN_TABLES, cypher.SET_TABLE_KINDS):
            self._execute_write(lambda tx, q=query: tx.run(q, fqns=fqns).consume())
        self._execute_write(lambda tx: _tidy_v2(tx, touched_v2[0]["uris"], touched_v2[0]["routines"], group))

    def _dead_letter(self, rows: FileRows, error: BaseException, run_id: str) -> None:
        dead_letters.append(
            Path(self.dead_letter_path),
            {
                "time": datetime.now(timezone.utc).isoformat(),
                "run_id": run_id,
                "file": rows.path,
                "row": rows.file,
                "rows": rows.row_count,
                "error_class": type(error).__name__,
                "error": str(error)[:2000],
            },
        )


def _merge_tables(group: list[FileRows]) -> list[dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for rows in group:
        for table in rows.tables:
            tables.setdefault(table["fqn"], table)
    return [tables[fqn] for fqn in sorted(tables)]


def _row_sets(group: list[FileRows], tables: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(query, rows) in dependency order; rows sorted by key so concurrent writers lock in one order."""
    return [
        (cypher.MERGE_FILES, [f.file for f in group]),
        (cypher.MERGE_TABLES, tables),
        (cypher.CREATE_STATEMENTS, [s for f in group for s in f.statements]),
        (cypher.CREATE_READS, sorted((r for f in group for r in f.reads), key=lambda r: (r["fqn"], r["statement"]))),
        (cypher.CREATE_WRITES, sorted((r for f in group for r in f.writes), key=lambda r: (r["fqn"], r["statement"]))),
        (cypher.CREATE_DEPENDS_ON, [d for f in group for d in f.depends_on]),
        (cypher.MERGE_COLUMNS, sorted({c["fqn"]: c for f in group for c in f.columns}.values(), key=lambda c: c["fqn"])),
        (cypher.CREATE_DEFINES, [d for f in group for d in f.defines]),
        (cypher.CREATE_DERIVES_FROM, sorted((d for f in group for d in f.derives), key=lambda d: (d["target"], d["source"]))),
        *v2_row_sets(group),
    ]


def _tidy_v2(tx: ManagedTransaction, uris: list[str], routines: list[str], group: list[FileRows]) -> None:
    """Contract v2 clean-up: drop locations and routines no statement refers to any more."""
    tx.run(cypher.DELETE_ORPHAN_LOCATIONS, uris=sorted(set(uris))).consume()
    fqns = sorted(set(routines) | {r["fqn"] for f in group for r in f.routines})
    tx.run(cypher.DELETE_ORPHAN_ROUTINES, fqns=fqns).consume()
    tx.run(cypher.SET_ROUTINE_KINDS, fqns=fqns).consume()


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), max(1, size)):
        yield rows[start : start + size]
