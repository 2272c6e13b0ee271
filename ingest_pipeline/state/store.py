"""One interface over the two places state can live: a SQLite file on this host, or PostgreSQL shared by hosts.

The parse cache, the ledger and the step-output store write their SQL once, in the subset both
engines accept (`?` placeholders, `INSERT ... ON CONFLICT`, upserts that name their table), and
open their tables through `open_store`: INGEST_STATE_URL set to a postgresql:// URL puts every
store in that database (each in a schema of its own), unset keeps today's SQLite files.

Both stores give the same guarantees: `transaction()` serialises writers (SQLite's write lock,
a PostgreSQL advisory lock per store), reads never wait for writers, and a store of a newer or
unreadable version is moved aside with one message in `recovered` while anything not recognisably
ours is an error that names the setting and leaves it untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

STATE_URL_SETTING = "INGEST_STATE_URL"


class StateFileError(RuntimeError):
    """A store cannot be opened where it is configured (the message names the setting)."""


class StateUnavailableError(StateFileError):
    """The configured PostgreSQL cannot be reached: a run fails at once with this message."""


@dataclass(frozen=True)
class StoreSpec:
    """What a store holds: its tables, their version and upgrades, and how it is named and marked."""

    # The PostgreSQL schema its tables live in.
    namespace: str
    # CREATE ... IF NOT EXISTS statements, in SQLite's types (PostgreSQL's are derived from them).
    schema: str
    version: int
    # The variable that names its SQLite file, for messages.
    path_setting: str
    # SQLite application id in the file header (our mark on the file).
    application_id: int
    # "the parse cache", "the ingestion ledger": what a foreign or misplaced store is told apart by.
    label: str
    # schema version -> statements upgrading a store of that version to the next one.
    migrations: Mapping[int, str] = field(default_factory=dict)


class Rows(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Store(Protocol):
    """A connection to one store's tables; not thread-safe, open one per process (or step)."""

    # Where the store lives, for messages: a file path or a URL without its password.
    location: str
    # Set when the previous store was unusable and was moved aside; says where and why.
    recovered: str | None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """A lock named `name`, held for a block that spans transactions, by one process of all
        that share the store (a lock file beside the SQLite file, a PostgreSQL session lock)."""
        ...

    def size_bytes(self, tables: Sequence[str]) -> int: ...

    def vacuum(self, tables: Sequence[str]) -> None: ...

    def close(self) -> None: ...


def masked(url: str) -> str:
    """A URL without its password, for messages and the UI."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def open_store(spec: StoreSpec, path: Path | str, url: str = "") -> Store:
    """The store at `url` (PostgreSQL) when one is given, else the SQLite file at `path`."""
    if url:
        from ingest_pipeline.state.postgres import PostgresStore  # the driver loads only where it is used

        return PostgresStore(url, spec)
    from ingest_pipeline.state.sqlite import SqliteStore

    return SqliteStore(Path(path), spec)
