"""Dagster's IO manager over the step-output store: with INGEST_STATE_URL, steps on any host hand
each other their outputs through PostgreSQL, so no filesystem is shared between hosts."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from dagster import ConfigurableIOManager, InitResourceContext, InputContext, OutputContext
from pydantic import Field

from ingest_pipeline import settings
from ingest_pipeline.state.step_outputs import StepOutputs


class StateIOManager(ConfigurableIOManager):
    """Pickled step outputs in the state store, named by run, step, output and mapping key."""

    path: str = Field(default="data/step_outputs.db", description="SQLite file when state_url is empty (one host).")
    state_url: str = settings.INGEST_STATE_URL.field()

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Reaching the store here makes an unreachable PostgreSQL fail the step at once, naming INGEST_STATE_URL.
        store = self._open()
        try:
            store.expire()
        finally:
            store.close()

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        run_id, *name = context.get_identifier()
        store = self._open()
        try:
            store.put(run_id, "/".join(name), pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            store.close()

    def load_input(self, context: InputContext) -> Any:
        upstream = context.upstream_output
        assert upstream is not None, "inputs of the ingest job always come from a step"
        run_id, *name = upstream.get_identifier()
        store = self._open()
        try:
            value = store.get(run_id, "/".join(name))
        finally:
            store.close()
        if value is None:
            raise FileNotFoundError(f"no stored output {'/'.join(name)} of run {run_id} in {store.location}")
        return pickle.loads(value)

    def _open(self) -> StepOutputs:
        return StepOutputs(Path(self.path), state_url=self.state_url)
