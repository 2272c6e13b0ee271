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
    materialization = next(
        m for m in result.asset_materializations_for_node("report") if m.asset_key.to_user_string() == "sql_lineage_graph"
    )
    return {key: value.value for key, value in materialization.metadata.items()}
