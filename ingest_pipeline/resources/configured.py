"""The resources as the settings configure them: for the code location, the demo and `config check`."""

from __future__ import annotations

from typing import Any, TypeVar

from dagster import EnvVar
from dagster_prometheus import PrometheusResource

from ingest_pipeline import settings as s
from ingest_pipeline.resources.neo4j import Neo4jResource
from ingest_pipeline.resources.state import LedgerResource, ParseCacheResource
from ingest_pipeline.resources.step_outputs import StateIOManager

T = TypeVar("T")


def launch_value(config: s.Settings, setting: s.Setting[T]) -> T | EnvVar:
    """EnvVar for an at-launch setting the process environment holds: Dagster reads it again when a
    run launches, and a secret never shows in the UI. Otherwise the value (from .env or the default)."""
    if setting.at_launch and config.from_process_environment(setting):
        return EnvVar(setting.name)
    return config[setting]


def neo4j_resource(config: s.Settings | None = None, *, at_launch: bool = True, **overrides: Any) -> Neo4jResource:
    """at_launch=False gives plain values, for using the resource outside a run (demo, config check)."""
    config = config or s.load()
    connection = {
        "uri": s.NEO4J_URI,
        "user": s.NEO4J_USER,
        "password": s.NEO4J_PASSWORD,
        "database": s.NEO4J_DATABASE,
    }
    fields: dict[str, Any] = {
        name: launch_value(config, setting) if at_launch else config[setting] for name, setting in connection.items()
    }
    fields.update(
        batch_size=config[s.NEO4J_BATCH_SIZE],
        batching=config[s.NEO4J_BATCHING],
        files_per_transaction=config[s.NEO4J_FILES_PER_TRANSACTION],
        max_rows_per_transaction=config[s.NEO4J_MAX_ROWS_PER_TRANSACTION],
        max_retries=config[s.NEO4J_MAX_RETRIES],
        backoff_seconds=config[s.NEO4J_BACKOFF_SECONDS],
        dead_letter_path=config[s.INGEST_DEAD_LETTER_PATH],
    )
    return Neo4jResource(**{**fields, **overrides})


def parse_cache_resource(config: s.Settings) -> ParseCacheResource:
    return ParseCacheResource(
        path=config[s.PARSE_CACHE_PATH],
        enabled=config[s.ENABLE_PARSE_CACHE],
        max_entries=config[s.PARSE_CACHE_MAX_ENTRIES],
        ttl_days=config[s.PARSE_CACHE_TTL_DAYS],
        state_url=launch_value(config, s.INGEST_STATE_URL),
    )


def resources(config: s.Settings) -> dict[str, Any]:
    """The code location's resources, by the names the ops ask for.

    With INGEST_STATE_URL set, step outputs go to PostgreSQL too (io_manager), so steps on other
    hosts (Celery workers) share nothing but that database; otherwise Dagster's default keeps them
    under DAGSTER_HOME as before.
    """
    found: dict[str, Any] = {
        "neo4j": neo4j_resource(config),
        "parse_cache": parse_cache_resource(config),
        "ledger": LedgerResource(path=config[s.INGEST_LEDGER_PATH], state_url=launch_value(config, s.INGEST_STATE_URL)),
        "prometheus": PrometheusResource(gateway=config[s.PROMETHEUS_PUSHGATEWAY]),
    }
    if config[s.INGEST_STATE_URL]:
        found["io_manager"] = StateIOManager(state_url=launch_value(config, s.INGEST_STATE_URL))
    return found
