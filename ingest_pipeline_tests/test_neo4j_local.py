"""The bundled Neo4j's settings: neo4j-local.conf honoured (auth included), conflicts refused, an initial
password for NEO4J_LOCAL_AUTH=true, and one-line errors for credentials the server rejects."""

from __future__ import annotations

import re
import socket

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError

from ingest_pipeline import neo4j_local
from ingest_pipeline.resources import GraphUnavailableError, Neo4jResource
from ingest_pipeline_tests.support import failure_description, run_ingest

PASSWORD = "correct-horse-battery"


def connects(uri: str, auth: tuple[str, str] | None) -> bool:
    with GraphDatabase.driver(uri, auth=auth) as driver:
        try:
            driver.verify_connectivity()
        except AuthError:
            return False
    return True


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("neo4j-auth")
    instance = neo4j_local.start(data_dir, bolt_port=0, auth=True, initial_password=PASSWORD)
    yield instance, data_dir
    neo4j_local.stop(data_dir)


def test_auth_on_takes_the_initial_password_once(auth_server):
    instance, data_dir = auth_server

    assert connects(instance.uri, ("neo4j", PASSWORD))
    assert not connects(instance.uri, ("neo4j", "wrong-password"))
    assert not connects(instance.uri, None)

    # A restart with another "initial" password leaves the account as it is; with no port given, the
    # directory serves on its previous one, so the URI clients hold stays right.
    neo4j_local.stop(data_dir)
    again = neo4j_local.start(data_dir, auth=True, initial_password="another-password")
    assert again.uri == instance.uri
    assert connects(again.uri, ("neo4j", PASSWORD))
    assert not connects(again.uri, ("neo4j", "another-password"))


def test_auth_from_neo4j_local_conf_is_honoured(tmp_path):
    data_dir = tmp_path / "neo4j"
    data_dir.mkdir()
    (data_dir / "neo4j-local.conf").write_text("dbms.security.auth_enabled=true\n")

    instance = neo4j_local.start(data_dir, bolt_port=0, initial_password=PASSWORD)
    try:
        assert not connects(instance.uri, None)  # the file said auth: it is not forced off any more
        assert connects(instance.uri, ("neo4j", PASSWORD))
    finally:
        neo4j_local.stop(data_dir)


@pytest.mark.parametrize(
    "conf, auth, password, says",
    [
        ("server.bolt.listen_address=0.0.0.0:7687\n", None, "", "the launcher owns the Bolt address"),
        ("dbms.security.auth_enabled=false\n", True, PASSWORD, "contradicts dbms.security.auth_enabled=false"),
        ("", True, "short", "NEO4J_PASSWORD (8 characters or more)"),
    ],
    ids=["bolt-address", "auth-conflict", "short-password"],
)
def test_conflicting_or_incomplete_settings_are_refused_loudly(tmp_path, conf, auth, password, says):
    data_dir = tmp_path / "neo4j"
    data_dir.mkdir()
    (data_dir / "neo4j-local.conf").write_text(conf)

    with pytest.raises(neo4j_local.Neo4jLocalError, match=re.escape(says)):
        neo4j_local.start(data_dir, bolt_port=0, auth=auth, initial_password=password)
    assert neo4j_local.status(data_dir) is None


@pytest.mark.parametrize(
    "user, password, says",
    [
        ("neo4j", "wrong-password", "rejected NEO4J_USER='neo4j'"),
        ("", "", "rejected no credentials (NEO4J_USER is empty)"),
        ("", PASSWORD, "NEO4J_PASSWORD is set but NEO4J_USER is empty"),
    ],
    ids=["wrong-password", "no-credentials", "password-without-user"],
)
def test_credential_problems_fail_the_run_with_one_line_naming_the_settings(auth_server, resources, warehouse, user, password, says):
    instance, _ = auth_server
    neo4j = Neo4jResource(uri=instance.uri, user=user, password=password)

    with pytest.raises(GraphUnavailableError, match=re.escape(says)):
        neo4j.check_reachable()
    result = run_ingest({**resources, "neo4j": neo4j}, warehouse)

    assert not result.success
    description = failure_description(result)
    assert says in description and f"NEO4J_URI={instance.uri}" in description
    assert "\n" not in description
    assert not password or password not in description  # the secret itself is never shown


def test_start_refuses_when_the_previous_port_is_taken(tmp_path):
    data_dir = tmp_path / "neo4j"
    data_dir.mkdir()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        (data_dir / "neo4j-local.last-port").write_text(str(port))

        with pytest.raises(neo4j_local.Neo4jLocalError, match=f"port {port}, where .* served last .* --bolt-port 0"):
            neo4j_local.start(data_dir)
    assert not (data_dir / "neo4j-local.pid").exists()  # refused before anything started
