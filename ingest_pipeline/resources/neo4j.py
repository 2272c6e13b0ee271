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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from dagster import ConfigurableResource, InitResourceContext, get_dagster_logger
from neo4j import Driver, GraphDatabase, ManagedTransaction, Record, Result
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable, SessionExpired, TransientError
from pydantic import Field, PrivateAttr

from ingest_pipeline import dead_letters, settings
from ingest_pipeline.graph import cypher
from ingest_pipeline.graph.rows import FileRows
from ingest_pipeline.graph import write_plan
from ingest_pipeline.graph.write_plan import Query, Replacement, RowSet, Touched, groups, replacement

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

    uri: str = settings.NEO4J_URI.field()
    user: str = settings.NEO4J_USER.field()
    password: str = settings.NEO4J_PASSWORD.field()
    database: str = settings.NEO4J_DATABASE.field()
    batch_size: int = settings.NEO4J_BATCH_SIZE.field()
    batching: bool = settings.NEO4J_BATCHING.field()
    files_per_transaction: int = settings.NEO4J_FILES_PER_TRANSACTION.field()
    max_rows_per_transaction: int = settings.NEO4J_MAX_ROWS_PER_TRANSACTION.field()
    split_sizes: list[int] = Field(default=[50, 10, 1], description="Group sizes a failing transaction is split into, in turn.")
    max_retries: int = settings.NEO4J_MAX_RETRIES.field()
    backoff_seconds: float = settings.NEO4J_BACKOFF_SECONDS.field()
    backoff_jitter: float = Field(default=0.2, description="Random extra delay, as a fraction of each backoff delay.")
    connection_timeout_seconds: float = Field(default=10.0, description="How long to wait for a connection to Neo4j.")
    dead_letter_path: str = settings.INGEST_DEAD_LETTER_PATH.field()

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
            if self.password and not self.user:
                raise GraphUnavailableError(
                    f"NEO4J_PASSWORD is set but NEO4J_USER is empty (NEO4J_URI={self.uri}): "
                    "set NEO4J_USER (the bundled server's user is neo4j) or unset NEO4J_PASSWORD"
                )
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

    def rejected_credentials_message(self, error: BaseException) -> str:
        who = f"NEO4J_USER={self.user!r}" if self.user else "no credentials (NEO4J_USER is empty)"
        return (
            f"Neo4j at NEO4J_URI={self.uri} rejected {who}: {getattr(error, 'message', None) or error}. "
            "Check NEO4J_USER and NEO4J_PASSWORD."
        )

    def _retrying(self, work: Callable[[], T], stats: WriteStats | None = None) -> T:
        """Run work, retrying transient faults with exponential backoff (1, 2, 4, 8, 16 s by default)."""
        attempt = 0
        while True:
            try:
                return work()
            except AuthError as error:
                raise GraphUnavailableError(self.rejected_credentials_message(error)) from None
            except _RETRYABLE as error:
                if isinstance(error, Neo4jError) and _too_large(error):
                    raise  # not transient for this transaction: the caller splits it instead
                if attempt >= self.max_retries:
                    if isinstance(error, _UNREACHABLE):
                        raise GraphUnavailableError(self.unreachable_message(error)) from error
                    raise
                delay = self.backoff_seconds * (2**attempt)
                delay += random.uniform(0, delay * self.backoff_jitter)
                attempt += 1
                if stats is not None:
                    stats.retries += 1
                get_dagster_logger().warning(
                    f"Neo4j at {self.uri}: transient {type(error).__name__} ({_cause(error)}); "
                    f"retry attempt {attempt}/{self.max_retries} after {delay:.1f} s backoff"
                )
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
            return [_record_data(record) for record in records]

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

    def check_reachable(self) -> None:
        """Fail at once (GraphUnavailableError naming NEO4J_URI) when the server cannot be reached.

        No retries: a refused connection does not heal in seconds, and a run should say so up front.
        """
        try:
            self.driver().verify_connectivity()
        except AuthError as error:
            raise GraphUnavailableError(self.rejected_credentials_message(error)) from None
        except _UNREACHABLE as error:
            raise GraphUnavailableError(self.unreachable_message(error)) from error
        except OSError as error:
            raise GraphUnavailableError(self.unreachable_message(error)) from error

    def source_files(self, source: str) -> dict[str, str | None]:
        """Key -> sha256 of every file the graph holds for `source`."""
        self.ensure_schema()
        return {row["path"]: row["sha256"] for row in self._read(cypher.SOURCE_FILES, source=source)}

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
        if deleted:
            removal = replacement(deleted, [])
            try:
                self._retrying(lambda: self._commit(removal, outcome.stats), outcome.stats)
            except Neo4jError as error:
                if not _too_large(error):
                    raise
                self._commit_staged(removal, outcome.stats)
            outcome.deleted = removal.deleted
            outcome.stats.files_deleted = len(removal.deleted)
            outcome.committed([], outcome.deleted)
        for group in groups(files, self.files_per_transaction, self.max_rows_per_transaction):
            self._write_group(group, outcome, run_id)
        outcome.stats.seconds = time.perf_counter() - started
        return outcome

    def _write_group(self, group: list[FileRows], outcome: WriteOutcome, run_id: str) -> None:
        plan = replacement((), group)
        try:
            if not self.batching:
                self._retrying(lambda: self._commit_per_entity(plan, outcome.stats), outcome.stats)
            elif len(group) == 1 and plan.row_count > self.max_rows_per_transaction:
                self._commit_staged(plan, outcome.stats)
            else:
                self._retrying(lambda: self._commit(plan, outcome.stats), outcome.stats)
        except GraphUnavailableError:
            raise
        except (Neo4jError, TypeError, ValueError) as error:
            if len(group) == 1 and isinstance(error, Neo4jError) and _too_large(error) and self.batching:
                # Past the server's transaction memory: replace this one file in bounded stages.
                outcome.stats.splits += 1
                self._write_group_staged(plan, group, outcome, run_id)
                return
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
        self._written(group, outcome)

    def _write_group_staged(self, plan: Replacement, group: list[FileRows], outcome: WriteOutcome, run_id: str) -> None:
        try:
            self._commit_staged(plan, outcome.stats)
        except GraphUnavailableError:
            raise
        except (Neo4jError, TypeError, ValueError) as error:
            self._dead_letter(group[0], error, run_id)
            outcome.dead_lettered[group[0].path] = f"{type(error).__name__}: {error}"
            outcome.stats.dead_letters += 1
            return
        self._written(group, outcome)

    def _written(self, group: list[FileRows], outcome: WriteOutcome) -> None:
        outcome.written.extend(f.path for f in group)
        outcome.stats.files_written += len(group)
        outcome.committed([f.path for f in group], [])

    def _commit(self, plan: Replacement, stats: WriteStats) -> None:
        """The plan in one transaction: a reader sees the files' old part of the graph or their new one."""

        def unit(tx: ManagedTransaction) -> None:
            touched = _read_touched(tx, plan)
            for query in write_plan.replace_queries(plan, touched, self.batch_size):
                _run(tx, query, stats)

        self._execute_write(unit)
        stats.transactions += 1

    def _commit_staged(self, plan: Replacement, stats: WriteStats) -> None:
        """The plan in bounded transactions, for files too large for one (graph.write_plan says
        what each stage holds). A stage that still exceeds the server's transaction memory is
        halved and tried again."""
        touched = self._retrying(lambda: self._execute_write(lambda tx: _read_touched(tx, plan)), stats)
        for query in write_plan.staged_start(plan):
            self._retrying(lambda q=query: self._execute_write(lambda tx: _run(tx, q, stats)), stats)
        stage = _Stage(self, stats, self.max_rows_per_transaction)
        for path in plan.paths:
            for text in write_plan.STAGED_DELETIONS:
                while stage.run(partial(_delete_piece, text, path)):
                    pass
        for row_set in write_plan.staged_row_sets(plan):
            position = 0
            while position < len(row_set.rows):
                position = stage.run(lambda tx, size, rs=row_set, at=position: self._run_rows(tx, rs, at, size, stats))

        def finish(tx: ManagedTransaction) -> None:
            for query in write_plan.staged_finish(plan, touched):
                _run(tx, query, stats)

        self._retrying(lambda: self._execute_write(finish), stats)
        stats.transactions += 1

    def _run_rows(self, tx: ManagedTransaction, row_set: RowSet, start: int, size: int, stats: WriteStats) -> int:
        """The rows of row_set from `start` weighing about `size`, in batches; returns where the next stage starts."""
        _, end = next(row_set.cuts(size, start))
        for query in RowSet(row_set.query, row_set.rows[start:end], row_set.nested).queries(self.batch_size):
            _run(tx, query, stats)
        return end

    def _commit_per_entity(self, plan: Replacement, stats: WriteStats) -> None:
        """Baseline ("before") mode: the same plan, one transaction per query and one item per row query.
        For benchmarks and rollback."""
        touched = self._execute_write(lambda tx: _read_touched(tx, plan))
        for query in write_plan.replace_queries(plan, touched, batch_size=None):
            self._execute_write(lambda tx, q=query: _run(tx, q, stats))
            stats.transactions += 1

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


class _Stage:
    """One bounded transaction of a staged replace, sized `size` rows; halved (down to one batch)
    while the server reports it out of transaction memory, and retried on transient faults."""

    def __init__(self, resource: Neo4jResource, stats: WriteStats, size: int) -> None:
        self.resource, self.stats, self.size = resource, stats, max(1, size)

    def run(self, work: Callable[[ManagedTransaction, int], int]) -> int:
        while True:
            size = self.size
            try:
                done = self.resource._retrying(lambda: self.resource._execute_write(lambda tx: work(tx, size)), self.stats)
            except Neo4jError as error:
                if not _too_large(error) or size <= self.resource.batch_size:
                    raise
                self.size = max(self.resource.batch_size, size // 2)
                self.stats.splits += 1
                continue
            self.stats.transactions += 1
            return done


def _read_touched(tx: ManagedTransaction, plan: Replacement) -> Touched:
    return Touched.from_record(_query(tx, write_plan.touched_query(plan)).single())


def _delete_piece(text: str, path: str, tx: ManagedTransaction, rows: int) -> int:
    """One bounded piece of a file's old contribution; how many items it deleted (0: done)."""
    return _query(tx, write_plan.staged_deletion(text, path, rows)).single()["n"]


def _query(tx: ManagedTransaction, query: Query) -> Result:
    return tx.run(query.text, query.params)


def _run(tx: ManagedTransaction, query: Query, stats: WriteStats) -> None:
    started = time.perf_counter()
    summary = _query(tx, query).consume()
    if query.writes_rows:
        stats.batch_seconds.append(time.perf_counter() - started)
        stats.batches += 1
        stats.entities += summary.counters.nodes_created
        stats.relationships += summary.counters.relationships_created


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotPlain(Exception):
    """A record holds a value (a node, a temporal value, ...) that Record.data() may convert."""


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    raise _NotPlain


def _record_data(record: Record) -> dict[str, Any]:
    """Record.data(), without its per-element isinstance checks for records of plain values: those
    took 0.5 s of client CPU to read the 35k columns of a 1,000-file graph for the table assets."""
    try:
        return {key: _plain(value) for key, value in record.items()}
    except _NotPlain:
        return record.data()


def _cause(error: BaseException) -> str:
    """The error's message on one line, short enough for a log line."""
    text = " ".join((getattr(error, "message", None) or str(error) or "no message").split())
    return text if len(text) <= 200 else text[:199] + "…"


def _too_large(error: Neo4jError) -> bool:
    """The server ran out of transaction memory: retrying the same transaction cannot help."""
    return (error.code or "").endswith("MemoryPoolOutOfMemoryError")
