"""Graph data -> OpenLineage events, built with the official client's generated models (pure, no I/O).

One OpenLineage job per SQL file: the job is named by the file's path (relative to the source
folder) in the job namespace; its inputs are the tables its statements READ, its outputs the
tables they WRITE, each a dataset named by the table's fqn in the dataset namespace. Each output
carries a `columnLineage` facet from the file's DERIVES_FROM edges into it. The job carries the
`sql` facet (the file's text: the graph keeps no statement text, and the file is what a scheduler
runs) and `sourceCodeLocation` (the file, anchored at the first statement that writes a table).

A file's event says everything the file contributes now, so a newer event supersedes an older
one. A deleted file gets a *retire* event: the same job with no inputs and no outputs, which
makes catalogs (Marquez, DataHub) drop its edges from the current lineage.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import quote

from openlineage.client.event_v2 import InputDataset, Job, JobEvent, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, documentation_job, source_code_location_job, sql_job


def _version() -> str:
    try:
        return metadata.version("ingest-pipeline")
    except metadata.PackageNotFoundError:
        return "0"


PRODUCER = f"urn:ingest-pipeline:{_version()}"
EVENT_TYPES = ("run", "job")

Event = RunEvent | JobEvent


@dataclass(frozen=True)
class Naming:
    """Where the events place things: namespaces, and the URL of the SQL folder for sourceCodeLocation."""

    job_namespace: str
    dataset_namespace: str
    # file:///abs/source/dir, or the folder's web URL in its repository (OPENLINEAGE_SOURCE_URL).
    source_url: str


@dataclass(frozen=True)
class ColumnEdge:
    table: str
    column: str
    source_table: str
    source_column: str


@dataclass
class FileExport:
    """What one SQL file contributes to the graph, as the export needs it."""

    path: str
    sha256: str | None
    dialect: str
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    # First line of a statement that writes a table (else of any statement with a table), 1 if none.
    line: int = 1
    column_edges: list[ColumnEdge] = field(default_factory=list)
    # The file's text when its bytes are still those in the graph; None otherwise.
    sql: str | None = None


def file_exports(
    files: Iterable[Mapping[str, Any]],
    tables: Iterable[Mapping[str, Any]],
    column_edges: Iterable[Mapping[str, Any]],
    sql: Mapping[str, str],
) -> list[FileExport]:
    """Assemble exports from the rows of graph.queries FILES, FILE_TABLES and FILE_COLUMN_EDGES."""
    exports = {row["path"]: FileExport(row["path"], row["sha256"], row["dialect"] or "", sql=sql.get(row["path"])) for row in files}
    first_lines: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"READS": [], "WRITES": []})
    for row in tables:
        export = exports.get(row["path"])
        if export is None:
            continue
        (export.writes if row["access"] == "WRITES" else export.reads).append(row["fqn"])
        if row["line"] is not None:
            first_lines[row["path"]][row["access"]].append(row["line"])
    for row in column_edges:
        if row["path"] in exports:
            exports[row["path"]].column_edges.append(
                ColumnEdge(row["table"], row["column"], row["source_table"], row["source_column"])
            )
    for path, lines in first_lines.items():
        exports[path].line = min(lines["WRITES"] or lines["READS"])
    for export in exports.values():
        export.reads.sort()
        export.writes.sort()
    return [exports[path] for path in sorted(exports)]


def run_id(naming: Naming, path: str, version: str) -> str:
    """A stable run id per file version: exporting the same bytes again updates the same run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{naming.job_namespace}/{path}@{version}"))


def file_event(export: FileExport, naming: Naming, event_time: str, event_type: str = "run") -> Event:
    """The event stating a file's current lineage."""
    facets: dict[str, Any] = {"sourceCodeLocation": _source_location(export, naming)}
    if export.sql is not None:
        facets["sql"] = sql_job.SQLJobFacet(query=export.sql, dialect=export.dialect or None, producer=PRODUCER)
    job = Job(namespace=naming.job_namespace, name=export.path, facets=facets)
    inputs = [InputDataset(namespace=naming.dataset_namespace, name=fqn) for fqn in export.reads]
    outputs = [_output(fqn, export, naming) for fqn in sorted({*export.writes, *(e.table for e in export.column_edges)})]
    return _event(job, inputs, outputs, run_id(naming, export.path, export.sha256 or ""), event_time, event_type)


def retire_event(path: str, naming: Naming, event_time: str, event_type: str = "run") -> Event:
    """The event for a deleted file: its job now reads and writes nothing."""
    description = documentation_job.DocumentationJobFacet(
        description=f"{path} was deleted from the SQL folder; this job no longer reads or writes any table.",
        producer=PRODUCER,
    )
    job = Job(namespace=naming.job_namespace, name=path, facets={"documentation": description})
    return _event(job, [], [], run_id(naming, path, f"deleted@{event_time}"), event_time, event_type)


def _event(
    job: Job, inputs: list[InputDataset], outputs: list[OutputDataset], run: str, event_time: str, event_type: str
) -> Event:
    if event_type == "job":
        return JobEvent(eventTime=event_time, producer=PRODUCER, job=job, inputs=inputs, outputs=outputs)
    if event_type != "run":
        raise ValueError(f"event type must be one of {EVENT_TYPES}, got {event_type!r}")
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=event_time,
        producer=PRODUCER,
        run=Run(runId=run),
        job=job,
        inputs=inputs,
        outputs=outputs,
    )


def _output(fqn: str, export: FileExport, naming: Naming) -> OutputDataset:
    sources: dict[str, list[column_lineage_dataset.InputField]] = defaultdict(list)
    for edge in sorted({e for e in export.column_edges if e.table == fqn}, key=lambda e: (e.column, e.source_table, e.source_column)):
        sources[edge.column].append(
            column_lineage_dataset.InputField(namespace=naming.dataset_namespace, name=edge.source_table, field=edge.source_column)
        )
    if not sources:
        return OutputDataset(namespace=naming.dataset_namespace, name=fqn)
    facet = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={column: column_lineage_dataset.Fields(inputFields=found) for column, found in sources.items()},
        producer=PRODUCER,
    )
    return OutputDataset(namespace=naming.dataset_namespace, name=fqn, facets={"columnLineage": facet})


def _source_location(export: FileExport, naming: Naming) -> source_code_location_job.SourceCodeLocationJobFacet:
    base = naming.source_url.rstrip("/")
    return source_code_location_job.SourceCodeLocationJobFacet(
        type="file" if base.startswith("file:") else "git",
        url=f"{base}/{quote(export.path)}#L{export.line}",
        path=export.path,
        version=export.sha256,
        producer=PRODUCER,
    )


def event_counts(events: Iterable[Event]) -> dict[str, int]:
    """Events, input and output datasets, and column-lineage edges (output column <- input column)."""
    counts = {"events": 0, "inputs": 0, "outputs": 0, "column_edges": 0}
    for event in events:
        counts["events"] += 1
        counts["inputs"] += len(event.inputs or [])
        counts["outputs"] += len(event.outputs or [])
        for output in event.outputs or []:
            facet = (output.facets or {}).get("columnLineage")
            if facet is not None:
                counts["column_edges"] += sum(len(f.inputFields) for f in facet.fields.values())
    return counts
