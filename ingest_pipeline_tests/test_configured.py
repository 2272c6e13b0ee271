"""resources.configured: the resources as the settings make them; connection settings read at launch."""

from __future__ import annotations

from dagster import EnvVar

from ingest_pipeline import settings
from ingest_pipeline.resources.configured import neo4j_resource
from ingest_pipeline_tests.support import WAREHOUSE_EDGES, graph_edges, run_ingest


def test_connection_settings_the_environment_holds_become_env_vars(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("NEO4J_DATABASE=lineage\n")
    config = settings.read({"NEO4J_URI": "bolt://db:7687", "NEO4J_PASSWORD": "pw", "NEO4J_BATCH_SIZE": "7"}, env_file)

    launched = neo4j_resource(config)
    plain = neo4j_resource(config, at_launch=False)

    assert isinstance(launched.uri, EnvVar) and launched.uri == "NEO4J_URI"
    assert isinstance(launched.password, EnvVar)  # the secret itself is never in the resource's config
    assert launched.database == "lineage" and not isinstance(launched.database, EnvVar)  # only in .env here
    assert launched.user == "" and launched.batch_size == 7
    assert (plain.uri, plain.password, plain.database) == ("bolt://db:7687", "pw", "lineage")


def test_a_run_reads_neo4j_uri_when_it_launches_not_when_the_definitions_loaded(neo4j, resources, warehouse, monkeypatch, tmp_path):
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")  # what the code location loaded with
    loaded = neo4j_resource(settings.load(env_file=tmp_path / ".env"), dead_letter_path=str(tmp_path / "dead.jsonl"))
    monkeypatch.setenv("NEO4J_URI", neo4j.uri)  # changed before the launch

    result = run_ingest({**resources, "neo4j": loaded}, warehouse)

    assert result.success
    assert graph_edges(neo4j) == WAREHOUSE_EDGES
