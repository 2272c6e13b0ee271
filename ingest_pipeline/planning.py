"""Deciding what a run must do: which files to parse, which are unchanged, which were deleted."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest_pipeline.state.ledger import INGESTED, LedgerEntry


@dataclass(frozen=True)
class FileTask:
    """One file to parse and write: its POSIX path relative to the source directory and its bytes' identity."""

    path: str
    sha256: str
    size_bytes: int
    mtime_ns: int


@dataclass
class BatchPlan:
    source_dir: str
    tasks: list[FileTask] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def files_seen(self) -> int:
        return len(self.tasks) + len(self.unchanged) + len(self.unreadable)


def scan_sources(
    source_dir: Path, include: Iterable[str] = ("*.sql",), ignore: Iterable[str] = ()
) -> dict[str, os.stat_result]:
    """Every matching file below source_dir (recursively), keyed by relative POSIX path."""
    include, ignore = tuple(include), tuple(ignore)
    found: dict[str, os.stat_result] = {}
    for root, dirs, files in os.walk(source_dir):
        dirs.sort()
        for name in files:
            absolute = os.path.join(root, name)
            relative = Path(absolute).relative_to(source_dir).as_posix()
            if not _matches(relative, name, include) or _matches(relative, name, ignore):
                continue
            try:
                found[relative] = os.stat(absolute)
            except OSError:
                try:
                    # A dangling link is still a file the user has: keep it so it is reported unreadable.
                    found[relative] = os.lstat(absolute)
                except OSError:
                    continue  # vanished between listing and stat: it is simply not there any more
    return found


def _matches(relative: str, name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relative, p) for p in patterns)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_or_none(path: Path) -> str | None:
    """The file's digest, or None when it cannot be read (gone, dangling link, no permission)."""
    try:
        return sha256_of(path)
    except OSError:
        return None


def plan_batch(
    source_dir: Path,
    ledger: dict[str, LedgerEntry],
    *,
    only_paths: Iterable[str] | None = None,
    force: bool = False,
    include: Iterable[str] = ("*.sql",),
    ignore: Iterable[str] = (),
) -> BatchPlan:
    """Hash the candidate files and compare with the ledger.

    With only_paths, just those paths are considered (a path that no longer exists is a deletion
    when the ledger knows it). Without, the whole folder is scanned and every ledger path that is
    gone is a deletion. force re-ingests files even when the ledger says they are current.
    """
    plan = BatchPlan(source_dir=str(source_dir))
    on_disk = scan_sources(source_dir, include, ignore)
    if only_paths is None:
        candidates = sorted(on_disk)
        plan.deleted = sorted(set(ledger) - set(on_disk))
    else:
        wanted = sorted(set(only_paths))
        candidates = [p for p in wanted if p in on_disk]
        plan.deleted = [p for p in wanted if p not in on_disk and p in ledger]
    for path in candidates:
        stat = on_disk[path]
        try:
            digest = sha256_of(source_dir / path)
        except OSError as error:
            plan.unreadable[path] = f"cannot read {path}: {error.strerror or error}"
            continue
        entry = ledger.get(path)
        if not force and entry is not None and entry.status == INGESTED and entry.sha256 == digest:
            plan.unchanged.append(path)
            continue
        plan.tasks.append(FileTask(path, digest, stat.st_size, stat.st_mtime_ns))
    return plan


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
