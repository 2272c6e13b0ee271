"""Wiring only: which jobs, resources, sensors and schedules make up the code location."""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar
from dagster_prometheus import PrometheusResource

from ingest_pipeline.jobs.ingest import ingest_sql_files, replay_failed
from ingest_pipeline.jobs.maintenance import cache_maintenance, cache_maintenance_schedule
from ingest_pipeline.sensors import full_reconcile_schedule, sql_files_sensor
from ingest_pipeline.resources import LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline.settings import env_bool, env_float, env_int, env_str


def neo4j_resource() -> Neo4jResource:
    return Neo4jResource(
        uri=env_str("NEO4J_URI", "bolt://localhost:7687"),
        user=env_str("NEO4J_USER", ""),
        # Passed as EnvVar so the value never shows in the UI, run config or logs.
        password=EnvVar("NEO4J_PASSWORD") if os.environ.get("NEO4J_PASSWORD") else "",
        database=env_str("NEO4J_DATABASE", "neo4j"),
        batch_size=env_int("NEO4J_BATCH_SIZE", 100),
        batching=env_bool("NEO4J_BATCHING", True),
        files_per_transaction=env_int("NEO4J_FILES_PER_TRANSACTION", 100),
        max_rows_per_transaction=env_int("NEO4J_MAX_ROWS_PER_TRANSACTION", 50_000),
        max_retries=env_int("NEO4J_MAX_RETRIES", 5),
        backoff_seconds=env_float("NEO4J_BACKOFF_SECONDS", 1.0),
        dead_letter_path=env_str("INGEST_DEAD_LETTER_PATH", "data/failed_ingestion.jsonl"),
    )


def parse_cache_resource() -> ParseCacheResource:
    return ParseCacheResource(
        path=env_str("PARSE_CACHE_PATH", "data/parse_cache.db"),
        enabled=env_bool("ENABLE_PARSE_CACHE", True),
        max_entries=env_int("PARSE_CACHE_MAX_ENTRIES", 10_000),
        ttl_days=env_float("PARSE_CACHE_TTL_DAYS", 30.0),
    )


def ledger_resource() -> LedgerResource:
    return LedgerResource(path=env_str("INGEST_LEDGER_PATH", "data/ingest_ledger.db"))


defs = Definitions(
    jobs=[ingest_sql_files, replay_failed, cache_maintenance],
    schedules=[cache_maintenance_schedule, full_reconcile_schedule],
    sensors=[sql_files_sensor],
    resources={
        "neo4j": neo4j_resource(),
        "parse_cache": parse_cache_resource(),
        "ledger": ledger_resource(),
        "prometheus": PrometheusResource(gateway=env_str("PROMETHEUS_PUSHGATEWAY", "")),
    },
)
