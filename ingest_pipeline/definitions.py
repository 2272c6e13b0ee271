"""Wiring only: which assets, checks, jobs, resources, sensors and schedules make up the code location."""

from __future__ import annotations

from pathlib import Path

from ingest_pipeline import settings

# First, before anything else reads a setting: `.env` is copied into the environment, as Dagster's
# CLI does, so that a run worker (a fresh process that loads this module when the run launches)
# reads the `.env` of that moment — NEO4J_URI and friends reach the resources as EnvVars. Then an
# invalid value stops the load here, and Dagster shows the SettingsError's message (one line per
# problem) as the code location's load error.
settings.export_env_file()
CONFIG = settings.load()

from dagster import Definitions  # noqa: E402

from ingest_pipeline import table_assets  # noqa: E402
from ingest_pipeline.jobs.assets import ingest_sql_files, replay_failed, sql_lineage_graph  # noqa: E402
from ingest_pipeline.jobs.checks import graph_checks  # noqa: E402
from ingest_pipeline.jobs.maintenance import cache_maintenance, cache_maintenance_schedule, parse_cache_asset  # noqa: E402
from ingest_pipeline.resources.configured import resources  # noqa: E402
from ingest_pipeline.sensors import (  # noqa: E402
    build_table_assets_refresh,
    full_reconcile_schedule,
    sql_files_sensor,
    writer_slot_watchdog,
)

# The warehouse's tables, from what the last ingest run saved (never from Neo4j at import time).
TABLE_STATE_PATH = Path(CONFIG[settings.INGEST_TABLE_ASSETS_PATH])
TABLE_STATE_SIGNATURE = table_assets.signature(TABLE_STATE_PATH)
TABLE_STATE = table_assets.load(TABLE_STATE_PATH) if CONFIG[settings.INGEST_TABLE_ASSETS] else {}
TABLE_SPECS = table_assets.specs(TABLE_STATE, CONFIG[settings.INGEST_TABLE_ASSETS_MAX])

defs = Definitions(
    assets=[sql_lineage_graph, parse_cache_asset, *TABLE_SPECS],
    asset_checks=[graph_checks],
    jobs=[ingest_sql_files, replay_failed, cache_maintenance],
    schedules=[cache_maintenance_schedule, full_reconcile_schedule],
    sensors=[
        sql_files_sensor,
        writer_slot_watchdog,
        build_table_assets_refresh(
            TABLE_STATE_SIGNATURE, table_assets.shown_count(TABLE_STATE, CONFIG[settings.INGEST_TABLE_ASSETS_MAX])[1]
        ),
    ],
    resources=resources(CONFIG),
)
