"""Deciding what a run must do: which files to parse, which are unchanged, which were deleted.

The graph is the truth: a file is unchanged only when the ledger says its current bytes were
ingested under the current derivation (extractor, sqlglot, dialect, column switch) *and* the graph
holds it with those bytes; deletions are the files the graph (or the ledger) holds for this source
that are no longer on disk, so a reset ledger never leaves orphans behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest_pipeline.derivation import Derivation, DialectRules, explain_change
from ingest_pipeline.lineage.text import decode_sql
from ingest_pipeline.sources import (
    DEFAULT_SOURCE,
    ScanRules,
    UnreadableFile,
    file_key,
    fingerprint,
    normalise_selected,
    scan_sources,
    selected_keys,
    split_key,
)
from ingest_pipeline.state.ledger import FAILED, INGESTED, LedgerEntry


@dataclass(frozen=True)
class FileTask:
    """One file to parse and write: its path relative to its source folder and its bytes' identity."""

    path: str
    sha256: str
    size_bytes: int
    mtime_ns: int
    source: str = DEFAULT_SOURCE
    # Why the file is (re)parsed, for the run log: "new file", "content changed", "re-derive: ...".
    reason: str = "new file"

    @property
    def key(self) -> str:
        """The file's key in the ledger and the graph (`SqlFile.path`)."""
        return file_key(self.source, self.path)


@dataclass
class BatchPlan:
    source_dir: str
    source: str = DEFAULT_SOURCE
    tasks: list[FileTask] = field(default_factory=list)
    # Keys of files whose current bytes and derivation are in the graph already.
    unchanged: list[str] = field(default_factory=list)
    # Keys of files the graph or the ledger holds for this source that are gone from disk.
    deleted: list[str] = field(default_factory=list)
    # Key -> why a candidate could not be read.
    unreadable: dict[str, str] = field(default_factory=dict)
    # Relative path -> why an entry of the folder was passed over (FIFO, link leaving the folder...).
    skipped: dict[str, str] = field(default_factory=dict)
    # A path asked for in run config -> why it was not considered (outside the folder, not found).
    rejected: dict[str, str] = field(default_factory=dict)
    # Files the graph held for this source when planned, and how many of them the plan deletes.
    graph_files: int = 0
    graph_deletions: int = 0
    # SQL files found in the whole folder (0: the folder looks empty or unmounted).
    files_on_disk: int = 0

    @property
    def files_seen(self) -> int:
        return len(self.tasks) + len(self.unchanged) + len(self.unreadable)

    def reasons(self) -> Counter[str]:
        """How many tasks were planned for each reason (reasons with details folded by their head)."""
        return Counter(task.reason.split(":", 1)[0] for task in self.tasks)


def plan_batch(
    source_dir: Path,
    ledger: Mapping[str, LedgerEntry],
    graph_files: Mapping[str, str | None] | None = None,
    *,
    source: str = DEFAULT_SOURCE,
    dialects: DialectRules = DialectRules(),
    columns: bool = True,
    only_paths: Iterable[str] | None = None,
    force: bool = False,
    scan_rules: ScanRules = ScanRules(),
) -> BatchPlan:
    """Hash the candidate files and compare with the ledger and the graph.

    `ledger` is every ledger entry (all sources) by key; `graph_files` maps the keys of the files the
    graph holds for `source` to their sha256 (None: it holds none). With only_paths (relative paths), just those paths are
    considered: one that no longer exists is a deletion when the graph or the ledger knows it.
    Without, the whole folder is scanned and everything known for the source that is gone is a
    deletion. force re-derives files even when they are current.
    """
    graph_files = graph_files or {}
    plan = BatchPlan(source_dir=str(source_dir), source=source, graph_files=len(graph_files))
    scan = scan_sources(source_dir, scan_rules)
    plan.skipped = scan.skipped
    plan.files_on_disk = len(scan.files)
    known = set(graph_files) | selected_keys(source, ledger)
    on_disk = {file_key(source, path) for path in scan.files}
    if only_paths is None:
        candidates = sorted(scan.files)
        plan.deleted = sorted(known - on_disk)
    else:
        candidates = []
        for requested in sorted(set(only_paths)):
            path = normalise_selected(requested)
            key = file_key(source, path) if path is not None else None
            if path is None:
                plan.rejected[requested] = "outside the source folder; not considered"
            elif path in scan.files:
                candidates.append(path)
            elif key in known:
                plan.deleted.append(key)
            elif path in scan.skipped:
                continue  # reported as skipped, with its reason
            else:
                plan.rejected[requested] = "not found in the source folder (nor in the graph or the ledger)"
        plan.deleted = sorted(set(plan.deleted))
    plan.graph_deletions = sum(1 for key in plan.deleted if key in graph_files)
    for path in candidates:
        key = file_key(source, path)
        try:
            digest, head = fingerprint(source_dir / path)
        except UnreadableFile as error:
            plan.unreadable[key] = str(error)
            continue
        derivation = Derivation(dialects.for_file(path, decode_sql(head)[0]), columns)
        reason = "forced (force: true)" if force else _why_parse(ledger.get(key), graph_files, key, digest, derivation)
        if reason is None:
            plan.unchanged.append(key)
            continue
        stat = scan.files[path]
        plan.tasks.append(FileTask(path, digest, stat.st_size, stat.st_mtime_ns, source, reason))
    return plan


def _why_parse(
    entry: LedgerEntry | None, graph_files: Mapping[str, str | None], key: str, digest: str, derivation: Derivation
) -> str | None:
    """Why the file must be parsed and written again, or None when the graph already holds it as it is."""
    if entry is None:
        return "not in the ledger" if key in graph_files else "new file"
    if entry.sha256 != digest:
        return "content changed"
    if entry.status == FAILED:
        return "previous attempt failed"
    if entry.status != INGESTED:
        return "pending refresh"
    change = explain_change(entry.derivation, derivation.signature)
    if change is not None:
        return f"re-derive: {change}"
    if key not in graph_files:
        return "missing from the graph"
    if graph_files[key] != digest:
        return "graph holds other bytes"
    return None


def mass_deletion_problem(plan: BatchPlan, max_fraction: float) -> str | None:
    """Why the plan's deletions look like a mistake (an empty, unmounted or switched folder), or None."""
    if not plan.graph_deletions:
        return None
    fraction = plan.graph_deletions / plan.graph_files
    where = f"{plan.source_dir} (source {plan.source!r})"
    if plan.files_on_disk == 0:
        why = f"the source folder {where} has no SQL files: is it empty, unmounted or the wrong folder?"
    elif fraction > max_fraction:
        why = (
            f"that is {fraction:.0%} of the {plan.graph_files} files the graph holds for source {plan.source!r}, "
            f"more than INGEST_MAX_DELETE_FRACTION={max_fraction:g}; was the folder {plan.source_dir} switched or moved?"
        )
    else:
        return None
    return (
        f"refusing to delete {plan.graph_deletions} file(s) from the graph: {why} Nothing was changed. "
        "If the deletions are intended, run again with `allow_mass_delete: true` in the run's config (`ops: {sql_lineage_graph: {config: …}}`); "
        "if another folder feeds this graph, give it its own source name (INGEST_SOURCE_NAME / `source_name`)."
    )


def keys_to_paths(source: str, keys: Iterable[str]) -> list[str]:
    """Relative paths of the keys that belong to `source` (e.g. dead-lettered files to replay)."""
    return sorted(path for key in keys for owner, path in [split_key(key)] if owner == source)


def split_into_chunks(tasks: list[FileTask], chunk_count: int) -> list[list[FileTask]]:
    """Balance tasks over at most chunk_count chunks by bytes (largest first, into the lightest chunk)."""
    chunk_count = max(1, min(chunk_count, len(tasks)))
    chunks: list[list[FileTask]] = [[] for _ in range(chunk_count)]
    loads = [0] * chunk_count
    for task in sorted(tasks, key=lambda t: (-t.size_bytes, t.path)):
        lightest = loads.index(min(loads))
        chunks[lightest].append(task)
        loads[lightest] += task.size_bytes + 1
    return [sorted(chunk, key=lambda t: t.path) for chunk in chunks if chunk]
