"""The `neo4j_writer` pool's single slot: free it from runs that died holding it, say who holds it.

Dagster frees a run's pool slots once the run is marked finished (run monitoring's
`free_slots_after_run_end_seconds`), but a run whose process was killed (`kill -9`, OOM killer,
power loss) stays STARTED: the default run launcher cannot tell that its worker is gone, so every
later run waits for the slot forever. Each ingest run records the host it runs on; the run worker's
pid is in its own engine events. A holder whose worker process no longer exists on this host is
marked failed here and its slot freed. This runs at the start of every ingest run and on every tick
of the `writer_slot_watchdog` sensor (daemon), so a waiting run is unblocked within one tick.
Runs orchestrated elsewhere (another host, the Celery executor) are never judged from here.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from ingest_pipeline.processes import process_alive

POOL = "neo4j_writer"
HOST_TAG = "ingest_pipeline/worker_host"
_FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
_RUNNING = {DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING}


def host_identity() -> str:
    """This machine since its last boot: a pid only means something on the host and boot it came from."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown-boot"
    return f"{socket.gethostname()}/{boot}"


def worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from the engine events its executor logs ("... process (pid: N)")."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        metadata = getattr(getattr(event, "event_specific_data", None), "metadata", None) or {}
        value = metadata.get("pid")
        text = getattr(value, "value", value)
        if text is not None and str(text).isdigit():
            return int(str(text))
    return None


@dataclass(frozen=True)
class Holder:
    run_id: str
    status: str
    started_at: float | None


def holders(instance: DagsterInstance) -> list[Holder]:
    """Runs that hold the writer slot now."""
    info = instance.event_log_storage.get_concurrency_info(POOL)
    found = []
    for run_id in sorted({slot.run_id for slot in info.claimed_slots}):
        record = instance.get_run_record_by_id(run_id)
        status = record.dagster_run.status.value if record else "DELETED"
        found.append(Holder(run_id, status, record.start_time if record else None))
    return found


def free_dead_holders(instance: DagsterInstance, warn: Callable[[str], None]) -> list[str]:
    """Fail the slot's holders whose worker died on this host, free the slots of finished or deleted
    ones; returns the run ids freed. Each action is one warning saying what and why."""
    freed = []
    here = host_identity()
    for holder in holders(instance):
        record = instance.get_run_record_by_id(holder.run_id)
        if record is None or record.dagster_run.status in _FINISHED:
            reason = f"run {holder.run_id} is {holder.status.lower()} but still held the {POOL} slot"
        elif record.dagster_run.status in _RUNNING and _died_here(instance, record.dagster_run, here):
            reason = f"run {holder.run_id} died (its worker process is gone) while holding the {POOL} slot"
            instance.report_run_failed(record.dagster_run, f"{reason}: marked failed by ingest-pipeline so the next run can write")
        else:
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(holder.run_id)
        warn(f"{reason}; freed the slot")
        freed.append(holder.run_id)
    return freed


def _died_here(instance: DagsterInstance, run, here: str) -> bool:
    if run.tags.get(HOST_TAG) != here:
        return False  # orchestrated on another host or boot: its pid means nothing here
    pid = worker_pid(instance, run.run_id)
    return pid is not None and pid != os.getpid() and not process_alive(pid)


def waiting_message(instance: DagsterInstance, run_id: str) -> str | None:
    """Why this run's writer will wait, naming the run that holds the slot and how to free it; None if free."""
    others = [h for h in holders(instance) if h.run_id != run_id]
    if not others:
        return None
    holder = others[0]
    since = f", started {time.time() - holder.started_at:.0f} s ago" if holder.started_at else ""
    return (
        f"write_graph will wait: run {holder.run_id} ({holder.status}{since}) holds the {POOL} slot. "
        f"If that run is stuck, terminate it (UI: Runs -> {holder.run_id[:8]} -> Terminate); a run whose process died "
        "is failed and its slot freed automatically by the next run or the writer_slot_watchdog sensor."
    )
