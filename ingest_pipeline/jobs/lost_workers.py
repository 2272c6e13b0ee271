"""End a Celery run whose worker died, instead of letting it wait forever.

When a Celery worker process dies mid-step (SIGKILL, OOM), dagster-celery 0.29 logs "Step X
finished without success or failure event", stops submitting steps, and keeps waiting until every
step is complete, including the ones it will no longer submit. Before writes ran per chunk, every
step still to come depended on the lost one and was skipped, so the run ended. Now another chunk's
`write_graph` does not depend on it: it is never submitted, and the run's process waits forever.

`LostWorkerGuard` wraps the executor. A thread reads the run's log, and once a worker has been lost
and every step that was submitted has ended, it interrupts the run's own process. Dagster handles
that interrupt as a termination: the run ends failed, and the log names the lost step. Files the
lost step would have written stay pending for the next run. Nothing that committed is undone.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

from dagster import DagsterEventType, Executor

# dagster-celery's log lines: a task handed to a worker, and a task whose worker died.
SUBMITTED = re.compile(r'^Submitting celery task for step "(?P<step>[^"]+)"')
LOST = re.compile(r"^Step (?P<step>\S+) finished without success or failure event")
ENDED = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}
POLL_SECONDS = 2.0


def stuck_on_lost_steps(messages: list[tuple[str | None, DagsterEventType | None, str]]) -> list[str]:
    """The lost steps, once a worker died and every submitted step has ended; [] while the run can
    still progress. `messages` are the run's log records as (step key, event type, message)."""
    submitted, ended, lost = set(), set(), []
    for step, event_type, message in messages:
        if (found := SUBMITTED.match(message)) is not None:
            submitted.add(found["step"])
        elif (found := LOST.match(message)) is not None:
            lost.append(found["step"])
        elif event_type in ENDED and step is not None:
            ended.add(step)
    return lost if lost and submitted <= ended | set(lost) else []


class LostWorkerGuard(Executor):
    """dagster-celery's executor, plus a watch that ends the run once a lost worker stalls it."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    def __getattr__(self, name: str) -> Any:
        # dagster-celery's task submission reads its executor's own settings (app_args, broker, ...).
        return getattr(self._inner, name)

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        done = threading.Event()
        watch = threading.Thread(
            target=self._watch, args=(plan_context, done), name="ingest-lost-worker-guard", daemon=True
        )
        watch.start()
        try:
            yield from self._inner.execute(plan_context, execution_plan)
        finally:
            done.set()

    @staticmethod
    def _watch(plan_context: Any, done: threading.Event) -> None:
        instance, run_id = plan_context.instance, plan_context.run_id
        seen: list[tuple[str | None, DagsterEventType | None, str]] = []
        cursor = None
        while not done.wait(POLL_SECONDS):
            # Only the records since the last poll: a long run's log is not read again every 2 s.
            page = instance.get_records_for_run(run_id, cursor=cursor)
            cursor = page.cursor
            for record in page.records:
                entry = record.event_log_entry
                event = entry.dagster_event
                seen.append((entry.step_key, event.event_type if event else None, entry.user_message or ""))
            lost = stuck_on_lost_steps(seen)
            if lost:
                plan_context.log.error(
                    f"Celery worker lost while running {', '.join(lost)} (killed or out of memory): ending the run, "
                    "whose other steps have finished. The files of the lost step stay pending for the next run."
                )
                os.kill(os.getpid(), signal.SIGINT)  # Dagster's own termination path
                return
