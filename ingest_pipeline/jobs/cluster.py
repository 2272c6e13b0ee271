"""Running the ingest job's steps on Celery workers (dagster-celery), chosen by INGEST_EXECUTOR=celery.

Parse steps go to the default queue (`dagster`), served by as many worker processes as there are
cores to spare; the graph writer goes to its own queue (`neo4j_writer`), served by one worker
process for the whole cluster, and keeps its `neo4j_writer` pool slot, so there is still one Neo4j
writer at a time. The executor and the workers build the same Celery app from CELERY_BROKER_URL and
CELERY_BACKEND_URL (see `app_args`); a broker or backend that cannot be reached fails the run at
once, naming the setting. Dagster's own `celery_executor` does the work: nothing here schedules
steps (jobs/lost_workers.py only ends a run a dead worker would leave waiting). dagster-celery is imported only when the Celery choice is made, so the package loads without
the `cluster` extra.
"""

from __future__ import annotations

from typing import Any

from dagster import Field, InitExecutorContext, Permissive, Selector, StringSource

from ingest_pipeline import settings
from ingest_pipeline.jobs.lost_workers import LostWorkerGuard
from ingest_pipeline.state.store import masked

DEFAULT_QUEUE = "dagster"  # dagster-celery's default queue: plan and parse steps
WRITER_QUEUE = "neo4j_writer"
QUEUE_TAG = "dagster-celery/queue"
# Op tags of the step(s) that write Neo4j: routed to the single writer worker.
WRITER_STEP_TAGS = {QUEUE_TAG: WRITER_QUEUE}
CONNECT_TIMEOUT_SECONDS = 5

CELERY_CONFIG = {
    "broker": Field(StringSource, default_value="", description="Broker URL; empty: CELERY_BROKER_URL."),
    "backend": Field(StringSource, default_value="", description="Result backend URL; empty: CELERY_BACKEND_URL."),
    "config_source": Field(Permissive(), default_value={}, description="More Celery settings (lowercase names)."),
    "retries": Field(
        Selector({"enabled": {}, "disabled": {}}), default_value={"enabled": {}}, description="Dagster step retries."
    ),
}
CELERY_DEFAULT: dict[str, Any] = {"celery": {}}


class BrokerUnavailableError(RuntimeError):
    """The Celery broker or result backend cannot be reached (the message names the setting)."""


def urls(config: dict[str, Any] | None = None) -> tuple[str, str]:
    """(broker, backend): the run config's, else the settings'."""
    config = config or {}
    return (
        config.get("broker") or settings.CELERY_BROKER_URL.current(),
        config.get("backend") or settings.CELERY_BACKEND_URL.current(),
    )


def check_reachable(broker: str, backend: str) -> None:
    """Connect to the broker and the backend once; BrokerUnavailableError naming the setting if either fails."""
    from kombu import Connection

    try:
        with Connection(broker, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
            connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_SECONDS)
    except Exception as error:  # kombu raises the transport's own errors
        raise BrokerUnavailableError(f"cannot reach the Celery broker at {masked(broker)} (CELERY_BROKER_URL): {error}") from None
    if backend.startswith(("redis://", "rediss://")):
        import redis

        try:
            redis.Redis.from_url(backend, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS).ping()
        except redis.RedisError as error:
            raise BrokerUnavailableError(
                f"cannot reach the Celery result backend at {masked(backend)} (CELERY_BACKEND_URL): {error}"
            ) from None


def executor_config(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """dagster-celery's executor config for our choice: the URLs resolved, the worker queues' settings."""
    config = config or {}
    broker, backend = urls(config)
    return {
        "broker": broker,
        "backend": backend,
        "include": [],
        "config_source": {**worker_settings(), **config.get("config_source", {})},
        "retries": config.get("retries", {"enabled": {}}),
    }


def worker_settings() -> dict[str, Any]:
    """Celery settings both sides share: a step is handed to a worker process only when it is free."""
    return {"worker_prefetch_multiplier": 1, "broker_connection_retry_on_startup": True}


def celery_executor(init_context: InitExecutorContext, config: dict[str, Any]):
    """dagster-celery's CeleryExecutor for this run, after checking that broker and backend answer."""
    from dagster_celery import celery_executor as dagster_celery_executor

    resolved = executor_config(config)
    check_reachable(resolved["broker"], resolved["backend"])
    context = InitExecutorContext(
        job=init_context.job,
        executor_def=dagster_celery_executor,
        executor_config=resolved,
        instance=init_context.instance,
    )
    return LostWorkerGuard(dagster_celery_executor.executor_creation_fn(context))  # type: ignore[misc]


def app_args() -> dict[str, Any]:
    """The arguments of the workers' Celery app: the same as the executor's (dagster-celery's own)."""
    from dagster_celery.executor import CeleryExecutor

    resolved = executor_config()
    return CeleryExecutor.for_cli(
        broker=resolved["broker"], backend=resolved["backend"], include=[], config_source=resolved["config_source"]
    ).app_args()
