"""Wiring only: which jobs, resources, sensors and schedules make up the code location."""

from __future__ import annotations

from ingest_pipeline import settings

# First, before anything else reads a setting: an invalid value stops the load here, and Dagster
# shows the SettingsError's message (one line per problem) as the code location's load error.
CONFIG = settings.load()

from dagster import Definitions  # noqa: E402

from ingest_pipeline.jobs.ingest import ingest_sql_files, replay_failed  # noqa: E402
from ingest_pipeline.jobs.maintenance import cache_maintenance, cache_maintenance_schedule  # noqa: E402
from ingest_pipeline.resources.configured import resources  # noqa: E402
from ingest_pipeline.sensors import full_reconcile_schedule, sql_files_sensor, writer_slot_watchdog  # noqa: E402

defs = Definitions(
    jobs=[ingest_sql_files, replay_failed, cache_maintenance],
    schedules=[cache_maintenance_schedule, full_reconcile_schedule],
    sensors=[sql_files_sensor, writer_slot_watchdog],
    resources=resources(CONFIG),
)
