"""Shared fixtures: one real bundled Neo4j per test session, a clean graph and fresh state per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest_pipeline import neo4j_local
from ingest_pipeline.resources import Neo4jResource
from ingest_pipeline_tests import services
from ingest_pipeline_tests.support import EXAMPLES, StateBackend, ingested, job_resources

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Every ingest run saves the graph's tables (INGEST_TABLE_ASSETS_PATH): into a temporary folder
    here, never into the working directory's data/ (tests that read them set their own path)."""
    os.environ["INGEST_TABLE_ASSETS_PATH"] = str(Path(tempfile.mkdtemp(prefix="table-assets-")) / "table_assets.json")


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[neo4j_local.LocalInstance]:
    """The bundled Neo4j on a free port in a temporary data directory, for the whole session."""
    data_dir = tmp_path_factory.mktemp("neo4j")
    # A short lock timeout turns a writer blocked by another transaction into a (retried) TransientError.
    instance = neo4j_local.start(data_dir, bolt_port=0, extra_settings={"db.lock.acquisition.timeout": "2s"})
    yield instance
    neo4j_local.stop(data_dir)


@pytest.fixture
def neo4j(neo4j_server: neo4j_local.LocalInstance, tmp_path: Path) -> Iterator[Neo4jResource]:
    """A resource on an empty graph, with short backoff so fault tests stay quick."""
    resource = Neo4jResource(
        uri=neo4j_server.uri,
        max_retries=2,
        backoff_seconds=0.05,
        dead_letter_path=str(tmp_path / "failed_ingestion.jsonl"),
    )
    resource.query("MATCH (n) DETACH DELETE n")
    yield resource
    resource.close()


@pytest.fixture
def resources(neo4j: Neo4jResource, tmp_path: Path) -> dict[str, Any]:
    return job_resources(neo4j, tmp_path)


@pytest.fixture(scope="module")
def example_graph(neo4j_server: neo4j_local.LocalInstance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jResource]:
    """examples/sql ingested once per test module, for tests that only read the graph."""
    with ingested(neo4j_server.uri, EXAMPLES, tmp_path_factory.mktemp("example_graph")) as neo4j:
        yield neo4j


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A copy of the fixture warehouse that a test may change."""
    target = tmp_path / "warehouse"
    shutil.copytree(FIXTURES / "warehouse", target)
    return target


@pytest.fixture(scope="session")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on a free loopback port."""
    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        pytest.skip("prometheus-pushgateway is not installed (make test installs it: apt-get install prometheus-pushgateway)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("pushgateway") / "pushgateway.log").open("wb")
    process = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)  # the gateway is still binding its port
    else:
        process.terminate()
        pytest.fail("prometheus-pushgateway did not become ready")
    yield url
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[services.Postgres]:
    """A real PostgreSQL (Debian's postgresql: initdb + postgres as the postgres user) for the session."""
    if services.postgres_binary("initdb") is None:
        pytest.skip("PostgreSQL is not installed (make test-services installs it: apt-get install postgresql)")
    with services.postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    """Each state test runs twice: on SQLite files in tmp_path, and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield StateBackend("sqlite", tmp_path, "")
        return
    server: services.Postgres = request.getfixturevalue("postgres")
    database = server.create_database()
    yield StateBackend("postgres", tmp_path, server.url(database))
    server.drop_database(database)
