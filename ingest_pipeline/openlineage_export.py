"""OpenLineage export: `ingest-pipeline openlineage export`, and the ingest job's opt-in step.

Events are built by openlineage_events from what the graph holds (graph.queries) and sent with the
official client's transports: `http` (OPENLINEAGE_URL + OPENLINEAGE_ENDPOINT, e.g. Marquez or
DataHub) or `file` (one JSON event per line). The job step is best-effort: when OPENLINEAGE_URL is
set, each run queues the files it wrote or deleted in the ledger's outbox and sends the whole
outbox oldest first, stopping at the first failure; what was not sent stays queued for the next
run. A failure is logged, never raised, so it cannot fail the ingest run. The outbox holds paths,
not events: an event is built when it is sent, from the graph as it is then.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.transport.transport import Transport

from ingest_pipeline.graph import queries
from ingest_pipeline.graph.queries import Read
from ingest_pipeline.openlineage_events import EVENT_TYPES, Event, Naming, event_counts, file_event, file_exports, retire_event
from ingest_pipeline.lineage.text import decode_sql
from ingest_pipeline.sources import UnreadableFile, read_source, sha256_bytes, split_key
from ingest_pipeline import settings

if TYPE_CHECKING:
    from dagster import DagsterLogManager

    from ingest_pipeline.resources import LedgerResource, Neo4jResource

# Files read per graph query while building events (bounds memory on large graphs).
PATHS_PER_QUERY = 500
# Larger files are exported without the `sql` facet (the text alone would make a huge event).
MAX_SQL_CHARS = 1_000_000
HTTP_TIMEOUT_SECONDS = 5.0
# Tries per event before the rest wait for the next run (urllib3 retries, 0.5 s backoff doubling).
HTTP_RETRIES = 2


@dataclass(frozen=True)
class ExportSettings:
    """OPENLINEAGE_* settings (the names the OpenLineage clients use for the same things, where they have one)."""

    url: str
    endpoint: str
    api_key: str
    namespace: str
    dataset_namespace: str
    source_url: str
    event_type: str

    @classmethod
    def from_env(cls) -> ExportSettings:
        config = settings.load()
        namespace = config[settings.OPENLINEAGE_NAMESPACE]
        return cls(
            url=config[settings.OPENLINEAGE_URL],
            endpoint=config[settings.OPENLINEAGE_ENDPOINT],
            api_key=config[settings.OPENLINEAGE_API_KEY],
            namespace=namespace,
            dataset_namespace=config[settings.OPENLINEAGE_DATASET_NAMESPACE] or namespace,
            source_url=config[settings.OPENLINEAGE_SOURCE_URL],
            event_type=config[settings.OPENLINEAGE_EVENT_TYPE],
        )

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            choices = ", ".join(EVENT_TYPES)
            raise ValueError(f"event type (OPENLINEAGE_EVENT_TYPE, --event-type) must be one of {choices}, not {self.event_type!r}")

    def naming(self, source_dir: str) -> Naming:
        source_url = self.source_url or Path(source_dir).resolve().as_uri()
        return Naming(self.namespace, self.dataset_namespace, source_url)


# -- building -------------------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def events_for(
    read: Read, paths: list[str], naming: Naming, source_dir: str, event_type: str, event_time: str
) -> Iterator[tuple[str, Event]]:
    """(path, event) per path, in order: a file in the graph states its lineage, a file not in it is retired."""
    for start in range(0, len(paths), PATHS_PER_QUERY):
        chunk = paths[start : start + PATHS_PER_QUERY]
        files = read(queries.FILES, paths=chunk)
        exports = file_exports(
            files,
            read(queries.FILE_TABLES, paths=chunk),
            read(queries.FILE_COLUMN_EDGES, paths=chunk),
            sql_texts(Path(source_dir), {row["path"]: row["sha256"] for row in files}),
        )
        by_path = {export.path: export for export in exports}
        for path in chunk:
            export = by_path.get(path)
            if export is None:
                yield path, retire_event(path, naming, event_time, event_type)
            else:
                yield path, file_event(export, naming, event_time, event_type)


def sql_texts(source_dir: Path, sha256s: dict[str, str | None]) -> dict[str, str]:
    """The text of each file (by key) whose bytes are still those the graph was built from (else no `sql` facet)."""
    texts = {}
    for key, sha256 in sha256s.items():
        try:
            raw = read_source(source_dir / split_key(key)[1], MAX_SQL_CHARS * 4)
        except UnreadableFile:
            continue
        if sha256 is None or sha256_bytes(raw) != sha256:
            continue
        text, _ = decode_sql(raw)
        if len(text) <= MAX_SQL_CHARS:
            texts[key] = text
    return texts


# -- sending --------------------------------------------------------------------------------------


def http_transport(settings: ExportSettings) -> HttpTransport:
    auth = ApiKeyTokenProvider({"apiKey": settings.api_key}) if settings.api_key else TokenProvider({})
    retry = {**DEFAULT_RETRY_CONFIG, "total": HTTP_RETRIES, "read": HTTP_RETRIES, "connect": HTTP_RETRIES, "backoff_factor": 0.5}
    # A trailing slash keeps a path in the URL (DataHub's .../openapi/openlineage/) when the endpoint is joined on.
    url = settings.url.rstrip("/") + "/"
    config = HttpConfig(url=url, endpoint=settings.endpoint, timeout=HTTP_TIMEOUT_SECONDS, auth=auth, retry=retry)
    return HttpTransport(config)


def file_transport(path: Path) -> FileTransport:
    """Events appended to `path`, one JSON object per line (the file is started afresh)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: event_counts([]))
    error: str | None = None

    def summary(self) -> str:
        return ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in self.counts.items())


def send(transport: Transport, events: Iterable[tuple[str, Event]]) -> Delivery:
    """Emit in order and stop at the first failure: a server that is down is not hammered per event."""
    delivery = Delivery()
    for path, event in events:
        try:
            transport.emit(event)
        except Exception as error:  # noqa: BLE001 - requests, urllib3 and OS errors alike mean "not sent"
            delivery.error = " ".join(f"{type(error).__name__}: {error}".split())
            break
        delivery.sent.append(path)
        for key, value in event_counts([event]).items():
            delivery.counts[key] += value
    return delivery


# -- the ingest job's step ------------------------------------------------------------------------


def export_run_changes(
    log: DagsterLogManager, ledger: LedgerResource, neo4j: Neo4jResource, source_dir: str, changed: Iterable[str]
) -> None:
    """Opt-in (OPENLINEAGE_URL): send the events of the files this run wrote or deleted, and of any an
    earlier run could not send. Best-effort: logs, never raises."""
    settings = ExportSettings.from_env()
    if not settings.url:
        return
    try:
        state = ledger.open()
        try:
            outbox = state.queue_exports(changed, time.time())
            events = events_for(neo4j.query, outbox, settings.naming(source_dir), source_dir, settings.event_type, now_iso())
            delivery = send(http_transport(settings), events)
            state.clear_exports(delivery.sent)
        finally:
            state.close()
    except Exception as error:  # noqa: BLE001 - the export must never fail the ingest run
        log.warning(f"OpenLineage export to {settings.url} failed ({type(error).__name__}: {error}); retried next run")
        return
    if delivery.error is None:
        log.info(f"OpenLineage: sent {delivery.summary()} to {settings.url}")
    else:
        waiting = len(outbox) - len(delivery.sent)
        log.warning(
            f"OpenLineage: sent {delivery.summary()} to {settings.url}; {waiting} file(s) wait in the outbox "
            f"for the next run: {delivery.error}"
        )
