"""Wiring only: which assets, checks, jobs, resources, sensors and schedules make up the ingest code
location. The warehouse's tables are a location of their own (warehouse_definitions.py)."""

from __future__ import annotations

from ingest_pipeline import settings

# First, before anything else reads a setting: `.env` is copied into the environment, as Dagster's
# CLI does, so that a run worker (a fresh process that loads this module when the run launches)
# reads the `.env` of that moment — NEO4J_URI and friends reach the resources as EnvVars. Then an
# invalid value stops the load here, and Dagster shows the SettingsError's message (one line per
# problem) as the code location's load error.
settings.export_env_file()
CONFIG = settings.load()

from dagster import Definitions  # noqa: E402

from ingest_pipeline.jobs.assets import ingest_sql_files, replay_failed, sql_lineage_graph  # noqa: E402
from ingest_pipeline.jobs.checks import graph_checks  # noqa: E402
from ingest_pipeline.jobs.maintenance import cache_maintenance, cache_maintenance_schedule, parse_cache_asset  # noqa: E402
from ingest_pipeline.resources.configured import resources  # noqa: E402
from ingest_pipeline.sensors import full_reconcile_schedule, sql_files_sensor, writer_slot_watchdog  # noqa: E402

defs = Definitions(
    assets=[sql_lineage_graph, parse_cache_asset],
    asset_checks=[graph_checks],
    jobs=[ingest_sql_files, replay_failed, cache_maintenance],
    schedules=[cache_maintenance_schedule, full_reconcile_schedule],
    sensors=[sql_files_sensor, writer_slot_watchdog],
    resources=resources(CONFIG),
)
