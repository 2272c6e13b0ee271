"""The ingestion ledger: per source file, what the graph is known to hold.

A file is `ingested` only after the graph write that carried it committed, and only for the graph
it was written to: the ledger remembers the identity of that graph (a random id the graph keeps in
a node of its own), so a wiped database or a different NEO4J_URI makes every file pending again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.lineage.model import ColumnRef, TableRef
from ingest_pipeline.state.sqlite import LEDGER_ID
from ingest_pipeline.state.store import StoreSpec, open_store

SCHEMA_VERSION = 2
# schema version -> the statements that upgrade a ledger of that version to the next one.
MIGRATIONS = {1: "ALTER TABLE files ADD COLUMN derivation TEXT"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    size_bytes INTEGER,
    mtime_ns INTEGER,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ingested', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    ingested_at REAL,
    updated_at REAL NOT NULL,
    -- What the ingested lineage was derived with (ingest_pipeline.derivation): a change re-derives it.
    derivation TEXT
);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
-- Changes the sensor has seen but not yet batched (debounce state), one row per file.
CREATE TABLE IF NOT EXISTS pending_changes (
    path TEXT PRIMARY KEY,
    size_bytes INTEGER,
    mtime_ns INTEGER,
    deleted INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    last_changed REAL NOT NULL,
    sightings INTEGER NOT NULL
);
-- Batches handed to runs: the run config carries only the batch id, the file list lives here.
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    priority TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'succeeded', 'failed')),
    created_at REAL NOT NULL,
    closed_at REAL
);
CREATE TABLE IF NOT EXISTS batch_files (
    batch_id TEXT NOT NULL REFERENCES batches(batch_id),
    path TEXT NOT NULL,
    PRIMARY KEY (batch_id, path)
);
CREATE INDEX IF NOT EXISTS batch_files_path ON batch_files(path);
-- The schema catalog built from the corpus: each defining statement's ordered columns (a star
-- placeholder has the source table in star_table), and which files' column lineage consulted which
-- tables' definitions (to refresh them when a definition changes).
CREATE TABLE IF NOT EXISTS column_definitions (
    path TEXT NOT NULL,
    statement INTEGER NOT NULL,
    table_fqn TEXT NOT NULL,
    columns TEXT NOT NULL,
    PRIMARY KEY (path, statement)
);
CREATE TABLE IF NOT EXISTS definition_dependencies (
    path TEXT NOT NULL,
    table_fqn TEXT NOT NULL,
    PRIMARY KEY (path, table_fqn)
);
CREATE INDEX IF NOT EXISTS definition_dependencies_table ON definition_dependencies(table_fqn);
-- Running totals behind the Prometheus counters and histograms (a Pushgateway keeps, never adds).
CREATE TABLE IF NOT EXISTS metric_totals (
    name TEXT NOT NULL,
    series TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (name, series)
);
-- Files whose OpenLineage events are still to be sent (OPENLINEAGE_URL; see openlineage_export.py).
CREATE TABLE IF NOT EXISTS openlineage_outbox (path TEXT PRIMARY KEY, queued_at REAL NOT NULL);
"""

SPEC = StoreSpec("ingest_ledger", SCHEMA, SCHEMA_VERSION, "INGEST_LEDGER_PATH", LEDGER_ID, "the ingestion ledger", MIGRATIONS)
PENDING, INGESTED, FAILED = "pending", "ingested", "failed"
Definitions = dict[tuple[str, int], tuple[str, list[ColumnRef]]]
# Ledger file -> (definitions version, its decoded definitions): see Ledger._definition_rows.
_DEFINITIONS: dict[str, tuple[str, Definitions]] = {}
_ENTRY_COLUMNS = "path, sha256, size_bytes, mtime_ns, status, attempts, last_error, ingested_at, updated_at, derivation"


@dataclass(frozen=True)
class LedgerEntry:
    path: str
    sha256: str | None
    size_bytes: int | None
    mtime_ns: int | None
    status: str
    attempts: int
    last_error: str | None
    ingested_at: float | None
    updated_at: float
    derivation: str | None = None


@dataclass(frozen=True)
class PendingChange:
    path: str
    size_bytes: int | None
    mtime_ns: int | None
    deleted: bool
    first_seen: float
    last_changed: float
    sightings: int


@dataclass(frozen=True)
class IngestedFile:
    path: str
    sha256: str
    size_bytes: int
    mtime_ns: int
    derivation: str | None = None


def _decode_columns(columns: str) -> list[ColumnRef]:
    return [ColumnRef(TableRef(*ref[:3]), ref[3], tuple(ref[4])) for ref in json.loads(columns)]


class Ledger:
    """The ledger in the SQLite file at `path`, or in PostgreSQL when `state_url` is set."""

    def __init__(self, path: Path, *, state_url: str = "") -> None:
        self._db = open_store(SPEC, path, state_url)
        # The SQLite file as before, or where in PostgreSQL (a URL without its password): for messages.
        self.path: Path | str = Path(path) if not state_url else self._db.location
        self.recovered = self._db.recovered

    def close(self) -> None:
        self._db.close()

    def writer_lock(self) -> AbstractContextManager[None]:
        """Held while a step updates the catalog and writes the graph: the write steps of a run (and
        of runs sharing this ledger) take turns even where no `neo4j_writer` pool limit is configured."""
        return self._db.exclusive("writer")

    def bind_graph(self, graph_id: str) -> bool:
        """Make the ledger speak for graph_id. True if it spoke for another graph (now reset)."""
        with self._db.transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'graph_id'").fetchone()
            if row is not None and row[0] == graph_id:
                return False
            self._db.execute(
                "UPDATE files SET status = ?, ingested_at = NULL, updated_at = ? WHERE status = ?",
                (PENDING, time.time(), INGESTED),
            )
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('graph_id', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (graph_id,),
            )
            return row is not None

    def entries(self) -> dict[str, LedgerEntry]:
        rows = self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM files"
        )
        return {row[0]: LedgerEntry(*row) for row in rows}

    def get(self, path: str) -> LedgerEntry | None:
        row = self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM files WHERE path = ?",
            (path,),
        ).fetchone()
        return LedgerEntry(*row) if row else None

    def mark_ingested(self, files: Iterable[IngestedFile]) -> None:
        now = time.time()
        rows = [(f.path, f.sha256, f.size_bytes, f.mtime_ns, INGESTED, now, now, f.derivation) for f in files]
        with self._db.transaction():
            self._db.executemany(
                "INSERT INTO files(path, sha256, size_bytes, mtime_ns, status, attempts, last_error, "
                "ingested_at, updated_at, derivation) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes, "
                "mtime_ns = excluded.mtime_ns, status = excluded.status, attempts = 0, last_error = NULL, "
                "ingested_at = excluded.ingested_at, updated_at = excluded.updated_at, derivation = excluded.derivation",
                rows,
            )

    def mark_failed(
        self, failures: dict[str, str], sha256s: dict[str, str] | None = None, now: float | None = None
    ) -> None:
        """Record a failed attempt per path (error message), counting attempts; `now` is when (default: now)."""
        now = time.time() if now is None else now
        sha256s = sha256s or {}
        with self._db.transaction():
            for path, error in sorted(failures.items()):
                self._db.execute(
                    "INSERT INTO files(path, sha256, status, attempts, last_error, updated_at) "
                    "VALUES (?, ?, ?, 1, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET status = excluded.status, attempts = files.attempts + 1, "
                    "last_error = excluded.last_error, updated_at = excluded.updated_at, "
                    "sha256 = COALESCE(excluded.sha256, files.sha256)",
                    (path, sha256s.get(path), FAILED, error[:2000], now),
                )

    def forget(self, paths: Iterable[str]) -> None:
        """Drop deleted files once their removal from the graph committed."""
        with self._db.transaction():
            self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall())

    def touch(self, path: str, size_bytes: int, mtime_ns: int) -> None:
        """A file whose mtime changed but whose bytes did not: remember the new stat, nothing else."""
        with self._db.transaction():
            self._db.execute(
                "UPDATE files SET size_bytes = ?, mtime_ns = ? WHERE path = ?", (size_bytes, mtime_ns, path)
            )

    # -- sensor state: debounced changes and batches --------------------------------------------

    def pending_changes(self) -> dict[str, PendingChange]:
        rows = self._db.execute(
            "SELECT path, size_bytes, mtime_ns, deleted, first_seen, last_changed, sightings FROM pending_changes"
        )
        return {row[0]: PendingChange(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6]) for row in rows}

    def note_changes(self, changes: dict[str, tuple[int | None, int | None]], now: float) -> int:
        """Record the changes seen this tick (path -> (size, mtime), None for a deletion).

        A file already pending whose stat moved again is one more sighting of the same change,
        counted as deduplicated; returns how many such repeats this tick saw.
        """
        known = self.pending_changes()
        repeats = 0
        with self._db.transaction():
            for path, (size, mtime) in sorted(changes.items()):
                previous = known.get(path)
                deleted = size is None
                if previous is None:
                    self._db.execute(
                        "INSERT INTO pending_changes VALUES (?, ?, ?, ?, ?, ?, 1)", (path, size, mtime, int(deleted), now, now)
                    )
                elif (previous.size_bytes, previous.mtime_ns, previous.deleted) != (size, mtime, deleted):
                    repeats += 1
                    self._db.execute(
                        "UPDATE pending_changes SET size_bytes = ?, mtime_ns = ?, deleted = ?, last_changed = ?, "
                        "sightings = sightings + 1 WHERE path = ?",
                        (size, mtime, int(deleted), now, path),
                    )
            gone = sorted(set(known) - set(changes))
            self._db.executemany("DELETE FROM pending_changes WHERE path = ?", [(p,) for p in gone])
        return repeats

    def create_batch(self, batch_id: str, paths: list[str], priority: str, now: float) -> list[str]:
        """Claim `paths` for a new batch and return the claimed ones: only changes still pending and in
        no open batch, decided under the writer lock, so concurrent sensors never batch a file twice.
        Nothing claimed, no batch."""
        with self._db.transaction():
            pending = {row[0] for row in self._db.execute("SELECT path FROM pending_changes")}
            claimed = [p for p in paths if p in pending and p not in self.in_flight_paths()]
            if claimed:
                self._db.execute(
                    "INSERT INTO batches(batch_id, priority, status, created_at) VALUES (?, ?, 'requested', ?)",
                    (batch_id, priority, now),
                )
                self._db.executemany("INSERT INTO batch_files(batch_id, path) VALUES (?, ?)", [(batch_id, p) for p in claimed])
                self._db.executemany("DELETE FROM pending_changes WHERE path = ?", [(p,) for p in claimed])
        return claimed

    def batch_paths(self, batch_id: str) -> list[str]:
        rows = self._db.execute("SELECT path FROM batch_files WHERE batch_id = ? ORDER BY path", (batch_id,))
        return [row[0] for row in rows]

    def open_batches(self) -> list[str]:
        rows = self._db.execute("SELECT batch_id FROM batches WHERE status = 'requested' ORDER BY batch_id")
        return [row[0] for row in rows]

    def in_flight_paths(self) -> set[str]:
        rows = self._db.execute(
            "SELECT bf.path FROM batch_files bf JOIN batches b USING (batch_id) WHERE b.status = 'requested'"
        )
        return {row[0] for row in rows}

    def close_batch(self, batch_id: str, status: str, now: float) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE batches SET status = ?, closed_at = ? WHERE batch_id = ?", (status, now, batch_id)
            )

    # -- metric totals -----------------------------------------------------------------------

    def accumulate_metrics(
        self,
        increments: dict[tuple[str, str], float],
        publish: Callable[[dict[tuple[str, str], float]], None] | None = None,
    ) -> dict[tuple[str, str], float]:
        """Add increments to the stored totals and hand the new totals to publish, all under one lock.

        Publishing inside the write transaction means two runs can never push totals out of order.
        """
        with self._db.transaction():
            self._db.executemany(
                "INSERT INTO metric_totals(name, series, value) VALUES (?, ?, ?) "
                "ON CONFLICT(name, series) DO UPDATE SET value = metric_totals.value + excluded.value",
                [(name, series, value) for (name, series), value in sorted(increments.items())],
            )
            totals = {(row[0], row[1]): row[2] for row in self._db.execute("SELECT name, series, value FROM metric_totals")}
            if publish is not None:
                publish(totals)
        return totals

    # -- schema catalog ------------------------------------------------------------------------

    def definitions(self) -> dict[str, list[ColumnRef]]:
        """Table fqn -> ordered defined columns; for a table defined more than once, the last
        definition by (path, statement) wins, so the result does not depend on ingest order."""
        rows = self._definition_rows()
        return {rows[key][0]: rows[key][1] for key in sorted(rows)}

    def _definition_rows(self) -> Definitions:
        """(path, statement) -> (table, columns), decoded once per version of the catalog and process:
        a run that writes many chunks would otherwise decode the whole catalog twice per chunk."""
        version = self.definitions_version()
        cached = _DEFINITIONS.get(str(self.path))
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        rows: Definitions = {}
        for path, statement, table_fqn, columns in self._db.execute("SELECT path, statement, table_fqn, columns FROM column_definitions"):
            rows[(path, statement)] = (table_fqn, _decode_columns(columns))
        if version is not None:
            _DEFINITIONS[str(self.path)] = (version, rows)
        return rows

    def defined_tables(self, paths: Iterable[str]) -> set[str]:
        """The tables that `paths` define (whether or not their definition is the one that wins)."""
        wanted = set(paths)
        return {table for (path, _), (table, _) in self._definition_rows().items() if path in wanted}

    def definitions_version(self) -> str | None:
        """A random token replaced with every change of the definitions (None before the first)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'definitions_version'").fetchone()
        return row[0] if row else None

    def replace_definitions(self, paths: Iterable[str], definitions: dict[str, list[tuple[int, str, list[ColumnRef]]]]) -> str:
        """Forget what `paths` defined and record their new definitions (path -> [(statement, table,
        columns)]); returns the definitions' new version."""
        paths = list(paths)
        rows = [
            (path, index, table, json.dumps([[c.table.catalog, c.table.db, c.table.name, c.column, list(c.excluded)] for c in columns]))
            for path, found in definitions.items()
            for index, table, columns in found
        ]
        known = _DEFINITIONS.get(str(self.path))
        token = uuid.uuid4().hex
        with self._db.transaction():
            version = self.definitions_version()
            self._db.executemany("DELETE FROM column_definitions WHERE path = ?", [(p,) for p in paths])
            self._db.executemany("INSERT INTO column_definitions VALUES (?, ?, ?, ?)", rows)
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('definitions_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (token,),
            )
        if known is not None and version is not None and known[0] == version:
            gone = set(paths)
            updated = {key: value for key, value in known[1].items() if key[0] not in gone}
            for path, found in definitions.items():
                for index, table, columns in found:
                    updated[(path, index)] = (table, list(columns))
            _DEFINITIONS[str(self.path)] = (token, updated)
        return token

    def replace_definition_dependencies(self, paths: Iterable[str], dependencies: dict[str, set[str]]) -> None:
        with self._db.transaction():
            self._db.executemany("DELETE FROM definition_dependencies WHERE path = ?", [(p,) for p in paths])
            self._db.executemany(
                "INSERT INTO definition_dependencies VALUES (?, ?)",
                [(path, table) for path, tables in dependencies.items() for table in sorted(tables)],
            )

    def mark_dependents_stale(self, tables: set[str], exclude: set[str]) -> list[str]:
        """Files whose column lineage consulted one of `tables` (other than `exclude`) become pending."""
        if not tables:
            return []
        marks = ",".join("?" * len(tables))
        # CROSS JOIN keeps SQLite looking the tables up first: from the ingested files it probed
        # every file for every table (1.2 s for 1,200 tables against 5,000 files, at every chunk).
        rows = self._db.execute(
            f"SELECT DISTINCT d.path FROM definition_dependencies d CROSS JOIN files f "
            f"WHERE f.path = d.path AND d.table_fqn IN ({marks}) AND f.status = ?",
            [*sorted(tables), INGESTED],
        )
        stale = sorted(row[0] for row in rows if row[0] not in exclude)
        with self._db.transaction():
            self._db.executemany(
                "UPDATE files SET status = ?, updated_at = ? WHERE path = ?", [(PENDING, time.time(), p) for p in stale]
            )
        return stale

    # -- OpenLineage outbox --------------------------------------------------------------------

    def queue_exports(self, paths: Iterable[str], now: float) -> list[str]:
        """Add paths to the outbox (a path already there keeps its place); returns the whole outbox, oldest first."""
        with self._db.transaction():
            self._db.executemany(
                "INSERT INTO openlineage_outbox VALUES (?, ?) ON CONFLICT(path) DO NOTHING", [(p, now) for p in paths]
            )
        return [row[0] for row in self._db.execute("SELECT path FROM openlineage_outbox ORDER BY queued_at, path")]

    def clear_exports(self, paths: Iterable[str]) -> None:
        with self._db.transaction():
            self._db.executemany("DELETE FROM openlineage_outbox WHERE path = ?", [(p,) for p in paths])
