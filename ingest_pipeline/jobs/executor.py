"""The ingest jobs' executor, built from Dagster's public `multi_or_in_process_executor`.

Run config `execution: config:` picks one of four modes (INGEST_EXECUTOR sets the default):

- `auto` (the default): when the run starts, count the files it can touch; fewer than
  INGEST_INPROCESS_MAX_FILES run in process (no step start-up; a single writer bounds the run
  anyway), more fan out over processes, and a run with one worker always runs in process. The run
  log says which was chosen and why.
- `multiprocess`: every step in its own process, `max_concurrent` = INGEST_WORKERS (CPU count when
  unset), started from a `forkserver` that has the heavy libraries preloaded, so each step forks
  from a process that has already imported Dagster, sqlglot and the Neo4j driver.
- `in_process`: every step in the run's own process.
- `celery`: steps on Celery workers, parsing on any host, the writer on its own queue (jobs/cluster.py).

Only public Dagster APIs are used (`multi_or_in_process_executor`, `Executor`,
`InitExecutorContext`), so a Dagster patch upgrade changes nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dagster import (
    ExecutorDefinition,
    Executor,
    Field,
    InitExecutorContext,
    Int,
    Selector,
    executor,
    multi_or_in_process_executor,
)

from ingest_pipeline.jobs import cluster
from ingest_pipeline.processes import usable_cpus
from ingest_pipeline.settings import INGEST_EXECUTOR, INGEST_INPROCESS_MAX_FILES, INGEST_WORKERS

# Libraries only: the definitions module reads the environment when imported, and a forkserver
# outlives the run that started it (a later run in the same process would inherit stale settings).
# sqlalchemy and alembic are what each step process imports to open the Dagster instance's storage
# (0.36 s of a step's start-up on the bench machine when not preloaded).
PRELOAD_MODULES = [
    "ingest_pipeline.lineage",
    "ingest_pipeline.resources",
    "ingest_pipeline.parsing",
    "ingest_pipeline.writing",
    "ingest_pipeline.handoff",
    "dagster_prometheus",
    "sqlalchemy",
    "alembic",
]

# How many files a run can touch, from its job name and run config, and in words ("24 files in
# examples/sql"); None when it cannot be told cheaply before the run plans.
FileEstimate = Callable[[str, Mapping[str, Any]], tuple["int | None", str]]


def worker_count() -> int:
    configured = INGEST_WORKERS.current()
    if configured > 0:
        return configured
    return usable_cpus()


def multiprocess_config(workers: int | None = None) -> dict[str, Any]:
    return {
        "multiprocess": {
            "max_concurrent": workers or worker_count(),
            "start_method": {"forkserver": {"preload_modules": PRELOAD_MODULES}},
        }
    }


IN_PROCESS_CONFIG: dict[str, Any] = {"in_process": {}}
AUTO_CONFIG: dict[str, Any] = {"auto": {}}


def runs_in_process(files: int | None, max_files: int, workers: int | None) -> bool:
    """Whether a run goes faster in process: it touches fewer than `max_files` files (step start-up
    would outweigh the parallel parse), or it has one local worker (processes would only add
    start-up). `files` None: not known; `workers` None: the workers are elsewhere (Celery)."""
    return (workers is not None and workers <= 1) or (files is not None and files < max_files)


def default_config() -> dict[str, Any]:
    """The executor INGEST_EXECUTOR names, as run config (runs that say nothing else get it)."""
    choice = INGEST_EXECUTOR.current()
    if choice == "celery":
        return cluster.CELERY_DEFAULT
    return {"auto": AUTO_CONFIG, "in_process": IN_PROCESS_CONFIG}.get(choice) or multiprocess_config()


def execution_of(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """A run's executor config: what its run config says, else INGEST_EXECUTOR's default."""
    return (run_config.get("execution") or {}).get("config") or default_config()


def _base_field(mode: str) -> Field:
    """The mode's own config field, as Dagster's multi_or_in_process_executor declares it."""
    return multi_or_in_process_executor.config_schema.config_type.fields[mode]


def _config_schema() -> Field:
    multiprocess = multiprocess_config()["multiprocess"]
    return Field(
        Selector(
            {
                "auto": Field(
                    {
                        "in_process_max_files": Field(
                            Int,
                            default_value=INGEST_INPROCESS_MAX_FILES.current(),
                            description="Runs that can touch fewer files than this run in process "
                            "(INGEST_INPROCESS_MAX_FILES); larger ones use `multiprocess` below.",
                        ),
                        "multiprocess": Field(
                            _base_field("multiprocess").config_type,
                            default_value=multiprocess,
                            description="How larger runs fan out (as `multiprocess` below).",
                        ),
                        "in_process": Field(
                            _base_field("in_process").config_type,
                            default_value={},
                            description="How smaller runs execute (as `in_process` below).",
                        ),
                    },
                    description="Choose in process or multiprocess when the run starts, by how many files it can touch.",
                ),
                "multiprocess": Field(
                    _base_field("multiprocess").config_type,
                    default_value=multiprocess,
                    description="Each step in its own process (forkserver with the libraries preloaded; "
                    "max_concurrent = INGEST_WORKERS, else the CPU count).",
                ),
                "in_process": _base_field("in_process"),
                "celery": Field(cluster.CELERY_CONFIG, description="Steps on Celery workers (docs/deployment.md)."),
            }
        ),
        default_value=default_config(),
        description="How the run's steps execute: auto (by batch size), multiprocess, in_process or celery (INGEST_EXECUTOR).",
    )


def _requirements(executor_config: Mapping[str, Any]) -> list:
    # auto may choose multiprocess, which has the requirements of Dagster's own multiprocess mode.
    return multi_or_in_process_executor.get_requirements(IN_PROCESS_CONFIG if "in_process" in executor_config else {"multiprocess": {}})


class SizedExecutor(Executor):
    """Runs the plan in process or over processes, chosen when the run starts by its size."""

    def __init__(self, in_process: Executor, multiprocess: Executor, max_files: int, workers: int, estimate: FileEstimate) -> None:
        self._in_process, self._multiprocess = in_process, multiprocess
        self._max_files, self._workers, self._estimate = max_files, workers, estimate

    @property
    def retries(self):
        return self._multiprocess.retries

    def execute(self, plan_context, execution_plan) -> Iterator:
        run = plan_context.dagster_run
        files, what = self._estimate(run.job_name, run.run_config)
        in_process = runs_in_process(files, self._max_files, self._workers)
        if self._workers <= 1:
            why = f"{what}, one worker (max_concurrent=1)"
        else:
            why = f"{what} ({'fewer than' if in_process else 'not fewer than'} in_process_max_files={self._max_files})"
        plan_context.log.info(f"executor: {'in process' if in_process else 'multiprocess'} — {why}")
        yield from (self._in_process if in_process else self._multiprocess).execute(plan_context, execution_plan)


def build_executor(estimate: FileEstimate, name: str = "ingest_executor") -> ExecutorDefinition:
    """The executor definition; `estimate` tells how many files a run config can touch (for auto)."""

    @executor(name=name, config_schema=_config_schema(), requirements=_requirements)
    def ingest_executor(init_context: InitExecutorContext) -> Executor:
        """auto (by batch size), multiprocess (forkserver, INGEST_WORKERS), in_process or celery."""
        config = dict(init_context.executor_config)
        if "celery" in config:
            return cluster.celery_executor(init_context, config["celery"])

        def create(mode_config: Mapping[str, Any]) -> Executor:
            return multi_or_in_process_executor.executor_creation_fn(
                InitExecutorContext(init_context.job, multi_or_in_process_executor, mode_config, init_context.instance)
            )

        if "auto" not in config:
            return create(config)
        auto = config["auto"]
        return SizedExecutor(
            create({"in_process": auto["in_process"]}),
            create({"multiprocess": auto["multiprocess"]}),
            auto["in_process_max_files"],
            auto["multiprocess"].get("max_concurrent") or worker_count(),
            estimate,
        )

    return ingest_executor


def job_executor(estimate: FileEstimate) -> ExecutorDefinition:
    """The one place the ingest jobs' executor is chosen."""
    return build_executor(estimate)
