"""Helpers the tests share: running the job and reading the graph back."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster_prometheus import PrometheusResource

from ingest_pipeline.jobs.assets import ingest_run_config
from ingest_pipeline.local_run import asset_event_metadata, graph_metadata  # noqa: F401 - re-exported for the tests
from ingest_pipeline.resources import LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline.state.parse_cache import ParseCache

# The exact relationships an ingest of fixtures/warehouse produces.
WAREHOUSE_EDGES = {
    ("raw/orders.sql", "HAS_STATEMENT", "raw/orders.sql#0"),
    ("raw/orders.sql", "HAS_STATEMENT", "raw/orders.sql#1"),
    ("raw/orders.sql#0", "WRITES", "raw.orders"),
    ("raw/orders.sql#1", "WRITES", "raw.customers"),
    ("staging.sql", "HAS_STATEMENT", "staging.sql#0"),
    ("staging.sql", "HAS_STATEMENT", "staging.sql#1"),
    ("staging.sql#0", "READS", "raw.orders"),
    ("staging.sql#0", "READS", "raw.customers"),
    ("staging.sql#0", "WRITES", "staging.orders"),
    ("staging.sql#1", "READS", "raw.customers"),
    ("staging.sql#1", "WRITES", "staging.customers"),
    ("marts/revenue.sql", "HAS_STATEMENT", "marts/revenue.sql#0"),
    ("marts/revenue.sql", "HAS_STATEMENT", "marts/revenue.sql#1"),
    ("marts/revenue.sql#0", "READS", "staging.orders"),
    ("marts/revenue.sql#0", "READS", "staging.customers"),
    ("marts/revenue.sql#0", "WRITES", "marts.revenue"),
    ("staging.orders", "DEPENDS_ON", "raw.orders"),
    ("staging.orders", "DEPENDS_ON", "raw.customers"),
    ("staging.customers", "DEPENDS_ON", "raw.customers"),
    ("marts.revenue", "DEPENDS_ON", "staging.orders"),
    ("marts.revenue", "DEPENDS_ON", "staging.customers"),
    # Column lineage: columns of each table, the DDL that defines them, and what each derives from.
    ("raw.orders", "HAS_COLUMN", "raw.orders.id"),
    ("raw.orders", "HAS_COLUMN", "raw.orders.customer_id"),
    ("raw.orders", "HAS_COLUMN", "raw.orders.amount"),
    ("raw.customers", "HAS_COLUMN", "raw.customers.id"),
    ("raw.customers", "HAS_COLUMN", "raw.customers.name"),
    ("raw/orders.sql#0", "DEFINES", "raw.orders.id"),
    ("raw/orders.sql#0", "DEFINES", "raw.orders.customer_id"),
    ("raw/orders.sql#0", "DEFINES", "raw.orders.amount"),
    ("raw/orders.sql#1", "DEFINES", "raw.customers.id"),
    ("raw/orders.sql#1", "DEFINES", "raw.customers.name"),
    ("staging.orders", "HAS_COLUMN", "staging.orders.id"),
    ("staging.orders", "HAS_COLUMN", "staging.orders.customer_id"),
    ("staging.orders", "HAS_COLUMN", "staging.orders.amount"),
    ("staging.orders.id", "DERIVES_FROM", "raw.orders.id"),
    ("staging.orders.customer_id", "DERIVES_FROM", "raw.orders.customer_id"),
    ("staging.orders.amount", "DERIVES_FROM", "raw.orders.amount"),
    ("staging.customers", "HAS_COLUMN", "staging.customers.id"),
    ("staging.customers", "HAS_COLUMN", "staging.customers.name"),
    ("staging.sql#1", "DEFINES", "staging.customers.id"),
    ("staging.sql#1", "DEFINES", "staging.customers.name"),
    ("staging.customers.id", "DERIVES_FROM", "raw.customers.id"),
    ("staging.customers.name", "DERIVES_FROM", "raw.customers.name"),
    ("marts.revenue", "HAS_COLUMN", "marts.revenue.name"),
    ("marts.revenue", "HAS_COLUMN", "marts.revenue.total"),
    ("marts.revenue.name", "DERIVES_FROM", "staging.customers.name"),
    ("marts.revenue.total", "DERIVES_FROM", "staging.orders.amount"),  # SUM(amount) through the CTE
}


class Clock:
    """A clock the test moves: for TTLs, LRU order and retention."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class StateBackend:
    """Where a test's state lives: SQLite files in `folder`, or PostgreSQL at `url`."""

    name: str
    folder: Path
    url: str

    def cache(self, **options) -> ParseCache:
        return ParseCache(self.folder / "c.db", state_url=self.url, **options)

    def ledger(self) -> Ledger:
        return Ledger(self.folder / "l.db", state_url=self.url)


def job_resources(neo4j: Neo4jResource, folder: Path) -> dict[str, Any]:
    """The job's resources around a Neo4j resource, with the state files in `folder/state`."""
    return {
        "neo4j": neo4j,
        "parse_cache": ParseCacheResource(path=str(folder / "state" / "parse_cache.db")),
        "ledger": LedgerResource(path=str(folder / "state" / "ingest_ledger.db")),
        "prometheus": PrometheusResource(gateway=""),
    }


@contextmanager
def ingested(uri: str, source: Path, folder: Path) -> Iterator[Neo4jResource]:
    """A graph wiped and holding `source`, ingested once: for module-scoped fixtures of tests that only read."""
    neo4j = Neo4jResource(uri=uri, dead_letter_path=str(folder / "failed_ingestion.jsonl"))
    try:
        neo4j.query("MATCH (n) DETACH DELETE n")
        assert run_ingest(job_resources(neo4j, folder), source).success
        yield neo4j
    finally:
        neo4j.close()


def ingest_job(name: str = "ingest_sql_files"):
    """An ingest job of the code location, resolved (resources given at execution override its own)."""
    from ingest_pipeline.definitions import defs

    return defs.resolve_job_def(name)


def run_ingest(resources: dict[str, Any], source_dir: Path, instance=None, tags=None, **config: Any):
    """Run ingest_sql_files in process; returns the result (raise_on_error off so tests can inspect failures)."""
    return ingest_job().execute_in_process(
        run_config=ingest_run_config(source_dir=str(source_dir), **config),
        resources=resources,
        raise_on_error=False,
        instance=instance,
        tags=tags,
    )


def graph_edges(neo4j: Neo4jResource) -> set[tuple[str, str, str]]:
    """Every relationship as (start key, type, end key), keys being path / id / fqn."""
    rows = neo4j.query(
        "MATCH (a)-[r]->(b) "
        "RETURN coalesce(a.path, a.id, a.fqn) AS a, type(r) AS r, coalesce(b.path, b.id, b.fqn) AS b"
    )
    return {(row["a"], row["r"], row["b"]) for row in rows}


def ingest_job_with_resources():
    """ingest_sql_files as the code location defines it, resources bound; reconstructable in step processes."""
    from ingest_pipeline.definitions import defs

    return defs.resolve_job_def("ingest_sql_files")


def write_chain_corpus(folder: Path, files: int) -> Path:
    """A connected corpus: file i writes t<i> from t<i-1> and a shared dimension, two statements each."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"f{i:04d}.sql").write_text(
            f"CREATE TABLE stage.t{i} AS SELECT a.id, d.name FROM stage.t{i - 1} AS a JOIN dim.d{i % 7} AS d ON a.id = d.id;\n"
            f"INSERT INTO mart.m{i % 11} SELECT id, COUNT(*) FROM stage.t{i} GROUP BY id;\n"
        )
    return folder


def write_star_chain_corpus(folder: Path, files: int) -> Path:
    """A corpus whose column lineage crosses files: t<i> is `SELECT *` of t<i-1>, so a file's expansion
    needs the definition of the file before it, wherever the chunks are cut."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f0000.sql").write_text("CREATE TABLE s.t0 (id INT, name TEXT, amount INT);\n")
    for i in range(1, files):
        (folder / f"f{i:04d}.sql").write_text(
            f"CREATE TABLE s.t{i} AS SELECT * FROM s.t{i - 1};\nINSERT INTO mart.m{i % 3} SELECT * FROM s.t{i};\n"
        )
    return folder


def graph_snapshot(neo4j: Neo4jResource) -> tuple[set[tuple[str, str, str]], dict[str, int]]:
    """Edges plus node counts by label: two graphs with equal snapshots hold the same lineage."""
    counts = {r["label"]: r["n"] for r in neo4j.query("MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n")}
    return graph_edges(neo4j), counts


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 between the driver and Neo4j that can drop every connection for a while."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._down_until = 0.0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.dropped = 0
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def drop_for(self, seconds: float) -> None:
        """Cut every open connection now and refuse new ones for `seconds`."""
        with self._lock:
            self._down_until = time.monotonic() + seconds
            for sock in list(self._sockets):
                self._close(sock)
                self.dropped += 1

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for sock in list(self._sockets):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        self._sockets.discard(sock)

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if time.monotonic() < self._down_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._close(source)
            self._close(sink)


def when_ledger_has_ingested(ledger_path: Path, action, timeout: float = 120.0) -> threading.Thread:
    """Run action() in a thread as soon as the ledger records a first ingested file (the fault trigger)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True) as db:
                    if db.execute("SELECT COUNT(*) FROM files WHERE status = 'ingested'").fetchone()[0]:
                        break
            except sqlite3.Error:
                pass
            time.sleep(0.02)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def clean_ingest_snapshot(resources: dict[str, Any], folder: Path, state_dir: Path, **config: Any):
    """The oracle: wipe the graph, ingest `folder` with fresh state files, and return the graph's snapshot."""
    neo4j: Neo4jResource = resources["neo4j"]
    neo4j.query("MATCH (n) DETACH DELETE n")
    fresh = {
        **resources,
        "ledger": LedgerResource(path=str(state_dir / "oracle_ledger.db")),
        "parse_cache": ParseCacheResource(path=str(state_dir / "oracle_cache.db")),
    }
    result = run_ingest(fresh, folder, **config)
    assert result.success, "the clean ingest itself failed"
    return graph_snapshot(neo4j)


def failure_description(result) -> str:
    """The description of a failed run's first step failure (a dagster Failure's message)."""
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.event_specific_data
    return (data.user_failure_data.description if data.user_failure_data else None) or data.error.message


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sql"


class LineageServer:
    """A stand-in for Marquez / DataHub on 127.0.0.1: records every event POSTed to `path`.

    `status` is what it answers (set it to 500 to play a failing server); only 2xx answers record.
    `authorization` holds the Authorization header of each recorded event.
    """

    def __init__(self) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.events: list[dict[str, Any]] = []
        self.authorization: list[str | None] = []
        self.path = "/api/v1/lineage"
        self.status = 201
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests += 1
                if self.path == server.path and 200 <= server.status < 300:
                    server.events.append(json.loads(body))
                    server.authorization.append(self.headers.get("Authorization"))
                self.send_response(server.status if self.path == server.path else 404)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def load_openlineage(event: dict[str, Any]):
    """Rebuild a serialised event with the OpenLineage client's generated models, strictly.

    Every key must be a field of its model (facets are matched by their `_schemaURL`), required
    fields must be present, values must have the model's types, and the models' own validators run
    (run id is a UUID, event time is ISO-8601, URLs parse). Returns the rebuilt event.
    """
    from openlineage.client.event_v2 import JobEvent, RunEvent

    models = {model._get_schema(): model for model in (RunEvent, JobEvent)}
    if event.get("schemaURL") not in models:
        raise ValueError(f"not a RunEvent or JobEvent: schemaURL {event.get('schemaURL')!r}")
    return _load(event, models[event["schemaURL"]], "event")


def _facet_models() -> dict[str, type]:
    import importlib
    import pkgutil

    import attr
    from openlineage.client import generated
    from openlineage.client.generated.base import BaseFacet

    models = {}
    for module_info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and attr.has(value) and issubclass(value, BaseFacet):
                models[value._get_schema()] = value
    return models


def _load(value: Any, hint: Any, where: str) -> Any:
    import enum
    import types
    import typing

    import attr
    from openlineage.client.generated.base import BaseFacet

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) not in args:
                raise ValueError(f"{where}: null is not allowed")
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _load(value, inner, where)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return [_load(item, args[0], f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {value!r}")
        return {key: _load(item, args[1], f"{where}.{key}") for key, item in value.items()}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and attr.has(hint):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object for {hint.__name__}, got {value!r}")
        if issubclass(hint, BaseFacet):
            concrete = _facet_models().get(value.get("_schemaURL"))
            if concrete is None or not issubclass(concrete, hint):
                raise ValueError(f"{where}: unknown {hint.__name__} schema {value.get('_schemaURL')!r}")
            hint = concrete
        fields = {field.name: field for field in attr.fields(hint)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ValueError(f"{where}: {hint.__name__} has no field(s) {unknown}")
        missing = sorted(name for name, field in fields.items() if field.default is attr.NOTHING and name not in value)
        if missing:
            raise ValueError(f"{where}: {hint.__name__} misses required field(s) {missing}")
        hints = typing.get_type_hints(hint)
        kwargs = {
            field.alias: _load(value[name], hints[name], f"{where}.{name}")
            for name, field in fields.items()
            if field.init and name in value
        }
        return hint(**kwargs)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ValueError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


JOB_EXECUTE = [
    str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "ingest_pipeline.definitions", "-j", "ingest_sql_files",
]  # fmt: skip


def cli_env(neo4j_uri: str, source_dir: Path, state_dir: Path, home: Path, **settings: str) -> dict[str, str]:
    """The environment of a `dagster job execute` run with its own instance and state files."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEO4J_URI": neo4j_uri,
        "INGEST_SOURCE_DIR": str(source_dir),
        "PARSE_CACHE_PATH": str(state_dir / "cache.db"),
        "INGEST_LEDGER_PATH": str(state_dir / "ledger.db"),
        **settings,
    }


def ledger_ingested(ledger: Path) -> int:
    """Files the ledger (read-only, from another process) marks ingested; 0 while it does not exist yet."""
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM files WHERE status = 'ingested'").fetchone()[0]
    except sqlite3.Error:
        return 0


def interrupt_mid_write(env: dict[str, str], ledger: Path, sig: int) -> None:
    """Start `dagster job execute`, and send `sig` to its whole process tree once its first write committed."""
    run = subprocess.Popen(JOB_EXECUTE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while ledger_ingested(ledger) == 0 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the ledger for the first committed write: the moment we wait for
    os.killpg(run.pid, sig)
    run.wait(timeout=120)
