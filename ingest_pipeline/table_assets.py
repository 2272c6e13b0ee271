"""Warehouse tables as external assets in Dagster's Lineage page, from the state ingest runs save.

Each ingest run saves the graph's tables (graph/table_state.py) to INGEST_TABLE_ASSETS_PATH; the
code location turns that file into `AssetSpec`s when it loads: key `warehouse/<schema>/<table>`,
group = schema (dataset), deps = DEPENDS_ON, `dagster/column_schema`, `dagster/column_lineage` and
`dagster/code_references` to the file and line of each writing statement. Nothing asks Neo4j at
import time. New tables appear when the definitions reload: the `table_assets_refresh` sensor does
that through the UI's GraphQL API (DAGSTER_WEBSERVER_URL), or *Reload definitions* in the UI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    AssetObservation,
    AssetSpec,
    BetaWarning,
    CodeReferencesMetadataValue,
    DefaultSensorStatus,
    LocalFileCodeReference,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
    sensor,
)

from ingest_pipeline import settings as s
from ingest_pipeline.sources import split_key

KEY_PREFIX = "warehouse"
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]+")


def save(path: Path, state: dict[str, Any], source: str, source_dir: str) -> None:
    """Write the state atomically, keeping the folders of other sources seen before (for code references)."""
    folders = dict(load(path).get("sources", {}))
    folders[source] = str(Path(source_dir).resolve())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({**state, "sources": folders}, sort_keys=True))
    os.replace(partial, path)


def load(path: Path) -> dict[str, Any]:
    """The saved state, or an empty one (no file yet, or a file this version cannot read)."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def signature(path: Path) -> tuple[int, int] | None:
    """What tells one saved state from the next without reading it (modification time, size)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def shown_count(state: dict[str, Any], limit: int) -> tuple[int, str]:
    """How many tables the definitions show, and why not more, in words."""
    total, tables = state.get("table_count", 0), state.get("tables", [])
    if not state:
        return 0, "no ingest run has saved table assets yet"
    if total > limit:
        return 0, f"{total} tables is more than INGEST_TABLE_ASSETS_MAX={limit}: none shown"
    return len(tables), f"{len(tables)} tables shown"


def asset_keys(tables: list[dict[str, Any]]) -> dict[str, AssetKey]:
    """fqn -> asset key: name parts made UI-safe, a short digest added where two fqns would meet."""
    keys: dict[str, AssetKey] = {}
    taken: set[AssetKey] = set()
    for table in sorted(tables, key=lambda t: t["fqn"]):
        parts = [KEY_PREFIX, *(_safe(p) for p in (table["catalog"], table["db"]) if p), _safe(table["name"])]
        key = AssetKey(parts)
        if key in taken:
            key = AssetKey([*parts[:-1], f"{parts[-1]}_{hashlib.sha256(table['fqn'].encode()).hexdigest()[:6]}"])
        taken.add(key)
        keys[table["fqn"]] = key
    return keys


def specs(state: dict[str, Any], limit: int) -> list[AssetSpec]:
    """One external AssetSpec per table of the saved state (none past `limit` tables)."""
    if state.get("table_count", 0) > limit:
        return []
    tables = state.get("tables", [])
    keys = asset_keys(tables)
    folders = state.get("sources", {})
    with warnings.catch_warnings():  # code references are beta in Dagster: said once here, not per table per load
        warnings.simplefilter("ignore", BetaWarning)
        return [_spec(table, keys, folders) for table in tables]


def observations(state: dict[str, Any]) -> list[AssetObservation]:
    """One observation per table a file of the run that saved `state` writes: the Lineage page then
    shows when a table's lineage was last read from its SQL, and by which run, instead of "never
    observed". Reported by the refresh sensor, off the run's clock (one event costs the run ~2 ms)."""
    run = state.get("observed") or {}
    written, run_id = set(run.get("files") or ()), run.get("run_id", "?")
    tables = state.get("tables", [])
    keys = asset_keys(tables)
    return [
        AssetObservation(
            asset_key=keys[table["fqn"]],
            description=f"Lineage read from {', '.join(files)} by run {run_id}.",
            metadata={"written_by": ", ".join(f"{w['file']}:{w['line']}" for w in table["writers"])},
        )
        for table in tables
        if (files := sorted({w["file"] for w in table["writers"]} & written))
    ]


def _spec(table: dict[str, Any], keys: dict[str, AssetKey], folders: dict[str, str]) -> AssetSpec:
    writers = table["writers"]
    lineage = {
        column: [TableColumnDep(asset_key=keys[source], column_name=name) for source, name in pairs if source in keys]
        for column, pairs in table["lineage"].items()
    }
    metadata: dict[str, Any] = {
        "dagster/table_name": table["fqn"],
        "dagster/column_schema": TableSchema(columns=[TableColumn(name, type="") for name in table["columns"]]),
    }
    if any(lineage.values()):
        metadata["dagster/column_lineage"] = TableColumnLineage({c: deps for c, deps in lineage.items() if deps})
    references = [ref for writer in writers if (ref := _code_reference(writer, folders))]
    if references:
        metadata["dagster/code_references"] = CodeReferencesMetadataValue(code_references=references)
    return AssetSpec(
        key=keys[table["fqn"]],
        deps=[keys[source] for source in table["deps"] if source in keys],
        description=_description(table),
        group_name=_safe(table["db"]) if table["db"] else KEY_PREFIX,
        kinds={"sql", "view" if table["kind"] == "view" else "table"},
        metadata=metadata,
    )


def _description(table: dict[str, Any]) -> str:
    writers = table["writers"]
    written = (
        "; ".join(f"`{w['file']}` line {w['line']} ({', '.join(w['kinds'])})" for w in writers[:5])
        + (f" and {len(writers) - 5} more" if len(writers) > 5 else "")
        if writers
        else "no file writes it (a source of the warehouse)"
    )
    return (
        f"{table['kind'].capitalize()} `{table['fqn']}` of the warehouse. Written by: {written}. "
        "External asset: the warehouse maintains it; its lineage comes from the sql_lineage_graph asset."
    )


def _code_reference(writer: dict[str, Any], folders: dict[str, str]) -> LocalFileCodeReference | None:
    folder = folders.get(writer["source"])
    if folder is None:
        return None
    relative = split_key(writer["file"])[1]
    return LocalFileCodeReference(
        file_path=str(Path(folder) / relative),
        line_number=writer["line"],
        label=f"{relative}:{writer['line']} ({', '.join(writer['kinds'])})",
    )


def _safe(part: str) -> str:
    return _NOT_A_NAME.sub("_", part).strip("_") or "_"


def build_table_assets_refresh(loaded: tuple[int, int] | None, shown: str) -> SensorDefinition:
    """The sensor that reloads the code location when an ingest run saved other table assets than
    the definitions loaded (`loaded`: the state file's signature then; `shown`: what they show)."""

    @sensor(
        name="table_assets_refresh",
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Keeps the warehouse tables in the Lineage page current: when an ingest run saved other table assets "
            "(INGEST_TABLE_ASSETS_PATH) than the definitions show, it reloads this code location through the UI's "
            "GraphQL API at DAGSTER_WEBSERVER_URL (`make dev` sets it). Without that URL it says so, and "
            "*Reload definitions* (Deployment) does the same by hand. It also reports one observation per table "
            "the last ingest run wrote (when its lineage was read, by which run). Ships running; touches nothing else."
        ),
    )
    def table_assets_refresh(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        config = s.load()
        if not config[s.INGEST_TABLE_ASSETS]:
            return SkipReason("table assets are off (INGEST_TABLE_ASSETS=false)")
        path = Path(config[s.INGEST_TABLE_ASSETS_PATH])
        current = signature(path)
        marker = f"{current[0]}:{current[1]}" if current else context.cursor
        observed = observations(load(path)) if marker != context.cursor else []
        said = f"; observed {len(observed)} table(s) the last ingest run wrote" if observed else ""
        if current == loaded:
            reason = f"table assets up to date: {shown}{said}"
        elif not (url := config[s.DAGSTER_WEBSERVER_URL]) or context.code_location_origin is None:
            reason = (
                "an ingest run saved new table assets: reload the definitions (Deployment → Reload) to see them, "
                f"or set DAGSTER_WEBSERVER_URL so this sensor reloads them{said}"
            )
        else:
            location = context.code_location_origin.location_name
            answer = reload_location(url, location)
            reason = f"table assets changed since the definitions loaded: reloading code location {location!r}: {answer}{said}"
        return SensorResult(skip_reason=reason, asset_events=observed, cursor=marker)

    return table_assets_refresh


def reload_location(url: str, location: str) -> str:
    """Ask the UI at `url` to reload a code location (Dagster's GraphQL client); the outcome in words."""
    from urllib.parse import urlparse

    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError, ReloadRepositoryLocationStatus

    parsed = urlparse(url)
    client = DagsterGraphQLClient(
        parsed.hostname or "127.0.0.1",
        port_number=parsed.port,
        use_https=parsed.scheme == "https",
        timeout=60,
        path_prefix=parsed.path.rstrip("/"),
    )
    try:
        info = client.reload_repository_location(location)
    except (DagsterGraphQLClientError, OSError) as error:
        return f"the UI at DAGSTER_WEBSERVER_URL={url} did not answer ({type(error).__name__}: {error}); reload by hand"
    if info.status == ReloadRepositoryLocationStatus.SUCCESS:
        return "done"
    return f"failed ({info.failure_type}: {info.message})"
