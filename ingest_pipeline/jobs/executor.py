"""The ingest job's executor: Dagster's multi-or-in-process executor with defaults tuned for parsing.

Multiprocess by default, `max_concurrent` = INGEST_WORKERS (CPU count when unset), and the
`forkserver` start method with the heavy libraries preloaded, so each parse step forks from a
process that has already imported Dagster, sqlglot and the Neo4j driver instead of importing them
again. Small batches choose `in_process` per run (the sensor does this below
INGEST_INPROCESS_MAX_FILES), where step start-up would cost more than the parsing. INGEST_EXECUTOR
picks the default; `celery` runs the steps on Celery workers (jobs/cluster.py).
"""

import os
from typing import Any

from dagster import Field, Selector, executor
from dagster._core.definitions.executor_definition import (  # the pinned Dagster's own building blocks
    IN_PROC_CONFIG,
    MULTI_PROC_CONFIG,
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
    multiple_process_executor_requirements,
)

from ingest_pipeline.jobs import cluster
from ingest_pipeline.settings import INGEST_EXECUTOR, INGEST_WORKERS

# Libraries only: the definitions module reads the environment when imported, and a forkserver
# outlives the run that started it (a later run in the same process would inherit stale settings).
PRELOAD_MODULES = [
    "ingest_pipeline.lineage",
    "ingest_pipeline.resources",
    "ingest_pipeline.parsing",
    "ingest_pipeline.writing",
    "ingest_pipeline.handoff",
    "dagster_prometheus",
]


def worker_count() -> int:
    configured = INGEST_WORKERS.current()
    if configured > 0:
        return configured
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def multiprocess_config(workers: int | None = None) -> dict[str, Any]:
    return {
        "multiprocess": {
            "max_concurrent": workers or worker_count(),
            "start_method": {"forkserver": {"preload_modules": PRELOAD_MODULES}},
        }
    }


IN_PROCESS_CONFIG: dict[str, Any] = {"in_process": {}}


def default_config() -> dict[str, Any]:
    """The executor INGEST_EXECUTOR names, as run config (runs that say nothing else get it)."""
    choice = INGEST_EXECUTOR.current()
    if choice == "celery":
        return cluster.CELERY_DEFAULT
    return IN_PROCESS_CONFIG if choice == "in_process" else multiprocess_config()


def _requirements(executor_config: dict[str, Any]):
    return multiple_process_executor_requirements() if {"multiprocess", "celery"} & set(executor_config) else []


@executor(
    name="ingest_executor",
    config_schema=Field(
        Selector({"multiprocess": MULTI_PROC_CONFIG, "in_process": IN_PROC_CONFIG, "celery": cluster.CELERY_CONFIG}),
        default_value=default_config(),
    ),
    requirements=_requirements,
)
def ingest_executor(init_context):
    """Multiprocess (forkserver, INGEST_WORKERS) unless the run config or INGEST_EXECUTOR picks another."""
    config = init_context.executor_config
    if "celery" in config:
        return cluster.celery_executor(init_context, config["celery"])
    if "multiprocess" in config:
        return _core_multiprocess_executor_creation(config["multiprocess"])
    return _core_in_process_executor_creation(config["in_process"])
