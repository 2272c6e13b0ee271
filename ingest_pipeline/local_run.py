"""Running a job of the code location from a shell command (demo, replay), through the local instance."""

from __future__ import annotations

from typing import Any

from ingest_pipeline.settings import DAGSTER_HOME


def run_job(name: str, run_config: dict[str, Any] | None = None):
    """Execute the named job in process on DAGSTER_HOME's instance (ephemeral when it is unset)."""
    from dagster import DagsterInstance

    from ingest_pipeline.definitions import defs

    job = defs.resolve_job_def(name)
    instance = DagsterInstance.get() if DAGSTER_HOME.current() else DagsterInstance.ephemeral()
    with instance:
        return job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)


def graph_metadata(result) -> dict[str, Any]:
    """The run's sql_lineage_graph materialization metadata, by name."""
    return asset_event_metadata(result, "sql_lineage_graph", "ASSET_MATERIALIZATION")


def asset_event_metadata(result, asset: str, event_type: str) -> dict[str, Any]:
    """Metadata of the run's first event of `event_type` (ASSET_MATERIALIZATION, ASSET_OBSERVATION) on `asset`."""
    for event in result.all_events:
        if event.event_type_value != event_type:
            continue
        recorded = getattr(event.event_specific_data, "materialization", None) or getattr(event.event_specific_data, "asset_observation", None)
        if recorded is not None and recorded.asset_key.to_user_string() == asset:
            return {key: value.value for key, value in recorded.metadata.items()}
    raise LookupError(f"the run has no {event_type} of {asset}")
