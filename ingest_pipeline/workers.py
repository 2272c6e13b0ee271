"""Start, stop and inspect this host's Celery workers: `ingest-pipeline workers start|stop|status`.

Two workers serve the Celery executor (INGEST_EXECUTOR=celery): `parse` takes the default queue
(plan and parse steps) with INGEST_WORKER_CONCURRENCY processes, and `writer` takes the
`neo4j_writer` queue (write and report steps, which both write Neo4j) with exactly one process. Run the writer on one host only: it is the cluster's
single Neo4j writer. Each worker gets the environment of the command (the project's `.env`
included), keeps its pid and log in INGEST_WORKER_DIR, and is stopped by that pid: SIGTERM lets it
finish the step it is running, SIGKILL follows only after the timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.jobs.cluster import DEFAULT_QUEUE, WRITER_QUEUE
from ingest_pipeline.processes import process_alive, usable_cpus

APP = "ingest_pipeline.jobs.celery_worker"
READY_MARK = " ready."
STOP_TIMEOUT_SECONDS = 60.0


class WorkerError(RuntimeError):
    """A worker did not start (the message carries the end of its log)."""


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    queue: str
    concurrency: int


def default_specs(parse_concurrency: int) -> list[WorkerSpec]:
    """The parse worker (0 processes = the CPU count) and the single writer."""
    processes = parse_concurrency or usable_cpus()
    return [WorkerSpec("parse", DEFAULT_QUEUE, processes), WorkerSpec("writer", WRITER_QUEUE, 1)]


@dataclass(frozen=True)
class RunningWorker:
    spec: WorkerSpec
    pid: int
    log: Path


def command(spec: WorkerSpec) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", APP, "worker",
        "--queues", spec.queue,
        "--concurrency", str(spec.concurrency),
        "--hostname", f"{spec.name}@%h",
        "--loglevel", "INFO",
        "--without-gossip", "--without-mingle",
    ]


def start(
    worker_dir: Path,
    specs: list[WorkerSpec],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> list[RunningWorker]:
    """Start each worker in its own session (it outlives this command) and wait until it is ready."""
    worker_dir.mkdir(parents=True, exist_ok=True)
    started = []
    for spec in specs:
        existing = running(worker_dir, spec.name)
        if existing is not None:
            started.append(existing)
            continue
        log = worker_dir / f"{spec.name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command(spec), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=None if env is None else dict(env), cwd=cwd, start_new_session=True,  # None: this environment
            )
        (worker_dir / f"{spec.name}.pid").write_text(str(process.pid))
        started.append(RunningWorker(spec, process.pid, log))
    for worker in started:
        _wait_ready(worker, timeout)
    return started


def _wait_ready(worker: RunningWorker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = worker.log.read_text(errors="replace") if worker.log.exists() else ""
        if READY_MARK in text:
            return
        if not process_alive(worker.pid):
            raise WorkerError(f"worker {worker.spec.name} exited while starting; end of {worker.log}:\n{_tail(text)}")
        time.sleep(0.2)  # celery announces readiness only in its log
    raise WorkerError(f"worker {worker.spec.name} not ready after {timeout:.0f} s; end of {worker.log}:\n{_tail(worker.log.read_text(errors='replace'))}")


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])


def running(worker_dir: Path, name: str) -> RunningWorker | None:
    pid_file = worker_dir / f"{name}.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().strip() or 0)
    if pid and process_alive(pid):
        spec = WorkerSpec(name, WRITER_QUEUE if name == "writer" else DEFAULT_QUEUE, 0)
        return RunningWorker(spec, pid, worker_dir / f"{name}.log")
    pid_file.unlink()
    return None


def stop(worker_dir: Path, names: list[str], timeout: float = STOP_TIMEOUT_SECONDS) -> list[str]:
    """Warm shutdown (SIGTERM: running steps finish) by pid, SIGKILL after the timeout; returns the stopped."""
    stopped = []
    for name in names:
        worker = running(worker_dir, name)
        if worker is None:
            continue
        os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process_alive(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.1)  # the worker is finishing its running steps
        if process_alive(worker.pid):
            os.killpg(worker.pid, signal.SIGKILL)  # its own session: the worker and its pool processes
        _reap(worker.pid)
        (worker_dir / f"{name}.pid").unlink(missing_ok=True)
        stopped.append(name)
    return stopped


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # started by another command: not our child
