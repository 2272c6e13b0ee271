"""The lineage product as Dagster assets, and the jobs that materialize them under their old names.

`sql_lineage_graph` is a graph-backed asset around the ops wired in jobs/ingest.py (plan -> parse fan-out
-> the single writer in the `neo4j_writer` pool, with its retry policy -> report); its run config
is the asset's own (`ops: {sql_lineage_graph: {config: {source_dir: ...}}}`), whatever ops it is
made of. `ingest_sql_files` and `replay_failed` materialize it, its checks (jobs/checks.py) run
with it. The executor picks in process or multiprocess by how many files a run can touch.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetSelection, ConfigMapping, Field, define_asset_job, graph_asset

from ingest_pipeline import dead_letters, settings
from ingest_pipeline.batching import MANUAL, PRIORITY_TAG_VALUES
from ingest_pipeline.jobs.executor import job_executor
from ingest_pipeline.jobs.ingest import GRAPH_ASSET, REPLAY_JOB, IngestConfig, ingest_steps

GROUP = "sql_lineage"
PRIORITY_TAG = "ingest_pipeline/priority"
KIND_TAG = "ingest_pipeline/kind"


def ingest_run_config(**config: Any) -> dict[str, Any]:
    """Run config of an ingest job with these IngestConfig values (`source_dir=...`, `full_scan=True`, ...)."""
    return {"ops": {GRAPH_ASSET: {"config": config}}}


def asset_config(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The IngestConfig values a run config gives (defaults not included)."""
    return dict(((run_config.get("ops") or {}).get(GRAPH_ASSET) or {}).get("config") or {})


def files_in_reach(job_name: str, run_config: Mapping[str, Any]) -> tuple[int | None, str]:
    """How many files a run can touch, from its job and run config alone (the executor's auto choice):
    the `paths` given, the dead-letter entries of a replay, or the folder's files (counted up to
    INGEST_INPROCESS_MAX_FILES); None for a sensor batch, whose file list is in the ledger."""
    config = asset_config(run_config)
    if config.get("full_scan"):
        return _count_folder(config)
    if config.get("replay_failed") or job_name == REPLAY_JOB:
        count = len(dead_letters.failed_files(Path(settings.INGEST_DEAD_LETTER_PATH.current())))
        return count, f"{count} dead-lettered file(s) to replay"
    if config.get("batch_id"):
        return None, f"sensor batch {config['batch_id']}"
    if config.get("paths"):
        return len(config["paths"]), f"{len(config['paths'])} path(s) given"
    return _count_folder(config)


def _count_folder(config: Mapping[str, Any]) -> tuple[int, str]:
    folder = config.get("source_dir") or settings.INGEST_SOURCE_DIR.current()
    include = config.get("include") or settings.INGEST_INCLUDE.current()
    limit = settings.INGEST_INPROCESS_MAX_FILES.current()
    count = 0
    for _, _, files in os.walk(folder):
        count += sum(1 for name in files if any(fnmatch.fnmatch(name, glob.rsplit("/", 1)[-1]) for glob in include))
        if count >= limit:
            return count, f"at least {count} files in {folder}"
    return count, f"{count} files in {folder}"


def _launch_config(config: dict[str, Any]) -> dict[str, Any]:
    return {"plan_batch": {"config": config}}


@graph_asset(
    name=GRAPH_ASSET,
    description=(
        "The lineage knowledge graph in Neo4j (NEO4J_URI): SQL files, statements, tables, columns and their "
        "READS / WRITES / DEPENDS_ON / DERIVES_FROM edges, built from the SQL files under INGEST_SOURCE_DIR. "
        "Each materialization ingests what changed (or the whole folder) and says what it did in its summary; "
        "the warehouse's tables appear as assets of their own in the Lineage page. Query it with "
        "`ingest-pipeline lineage ...` (docs/querying.md); the graph's shape is docs/graph-model.md."
    ),
    group_name=GROUP,
    kinds={"neo4j", "sql"},
    owners=list(settings.INGEST_ASSET_OWNERS.current()),
    config=ConfigMapping(
        config_fn=_launch_config,
        config_schema=Field(
            IngestConfig.to_config_schema().config_type,
            description="What this run ingests; every default is the setting's value when the definitions loaded.",
        ),
    ),
)
def sql_lineage_graph():
    return ingest_steps()


def _job_tags(kind: str) -> dict[str, str]:
    # Manual launches (UI, CLI) carry these; the sensor's and schedules' own priority tags win.
    return {KIND_TAG: kind, "dagster/priority": PRIORITY_TAG_VALUES[MANUAL], PRIORITY_TAG: MANUAL}


INGEST_EXECUTOR = job_executor(files_in_reach)

ingest_sql_files = define_asset_job(
    name="ingest_sql_files",
    selection=AssetSelection.assets(GRAPH_ASSET),
    executor_def=INGEST_EXECUTOR,
    description=(
        "Ingest the SQL files of a folder into the Neo4j lineage graph (materializes sql_lineage_graph and runs its "
        "checks). With no config it ingests what changed under INGEST_SOURCE_DIR."
    ),
    tags=_job_tags("ingest"),
)

replay_failed = define_asset_job(
    name=REPLAY_JOB,
    selection=AssetSelection.assets(GRAPH_ASSET),
    executor_def=INGEST_EXECUTOR,
    description=(
        "Re-ingest the files in the dead-letter file (INGEST_DEAD_LETTER_PATH), whatever the config's replay_failed says; "
        "entries that now succeed are removed."
    ),
    tags=_job_tags("replay"),
)
