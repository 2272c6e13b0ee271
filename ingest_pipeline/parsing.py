"""Reading and parsing planned files, through the parse cache when there is one.

Each file is read once, and the bytes read are the bytes hashed, parsed and cached: a file that
changed after planning is parsed as it is now, under the hash of what was parsed (never under the
planned hash), and its task carries the new identity to the graph and the ledger.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.derivation import Derivation, DialectRules
from ingest_pipeline.lineage import FileLineage, StatementLineage, extract_lineage
from ingest_pipeline.lineage.text import decode_sql
from ingest_pipeline.planning import FileTask
from ingest_pipeline.sources import FileTooLarge, UnreadableFile, read_source, sha256_bytes
from ingest_pipeline.state.parse_cache import ParseCache, cache_key


@dataclass
class ParsedFile:
    # The task as parsed: its sha256 and size are those of the bytes read (see module docstring).
    task: FileTask
    # None when the file could not be read at all (see read_error).
    lineage: FileLineage | None
    read_error: str | None = None
    from_cache: bool = False
    seconds: float = 0.0
    # What the lineage was derived with (ledger column; empty when nothing was derived).
    derivation: str = ""
    # The model's parse-cache key (content hash + derivation): how later steps find it.
    key: str = ""


@dataclass(frozen=True)
class ParseSettings:
    """How a run parses its files: the same for every chunk, wherever it is parsed (a parse step,
    the parse pool, or the writer again when a model was lost on the way)."""

    source_dir: str
    rules: DialectRules
    time_budget_seconds: float | None = None
    columns: bool = True
    max_file_bytes: int | None = None

    def parse(self, tasks: list[FileTask], cache: ParseCache | None) -> list[ParsedFile]:
        return parse_files(
            Path(self.source_dir), tasks, self.rules, cache, self.time_budget_seconds, self.columns, self.max_file_bytes
        )


@dataclass
class _Read:
    task: FileTask
    text: str
    decode_errors: bool
    derivation: Derivation


def parse_files(
    source_dir: Path,
    tasks: list[FileTask],
    rules: DialectRules,
    cache: ParseCache | None,
    time_budget_seconds: float | None = None,
    columns: bool = True,
    max_file_bytes: int | None = None,
) -> list[ParsedFile]:
    """Parse each task's file, serving unchanged bytes from the cache and filling it with new results.

    A file larger than max_file_bytes is not read at all: it gets one ERROR statement saying why.
    """
    reads: dict[str, _Read] = {}
    results: dict[str, ParsedFile] = {}
    for task in tasks:
        try:
            raw = read_source(source_dir / task.path, max_file_bytes)
        except FileTooLarge as error:
            # Recorded, not parsed: its identity stays the planned one, its dialect comes from its head.
            derivation = Derivation(rules.for_file(task.path, decode_sql(error.head)[0]), columns)
            grown = dataclasses.replace(task, size_bytes=error.size)
            lineage = _oversized(str(error), derivation.dialect)
            key = cache_key(grown.sha256, derivation)
            results[task.path] = ParsedFile(grown, lineage, derivation=derivation.signature, key=key)
            continue
        except UnreadableFile as error:
            results[task.path] = ParsedFile(task, None, read_error=str(error))
            continue
        digest = sha256_bytes(raw)
        if digest != task.sha256:
            task = dataclasses.replace(task, sha256=digest, size_bytes=len(raw), reason="changed since planning")
        text, decode_errors = decode_sql(raw)
        reads[task.path] = _Read(task, text, decode_errors, Derivation(rules.for_file(task.path, text), columns))

    keys = {path: cache_key(read.task.sha256, read.derivation) for path, read in reads.items()}
    cached: Mapping[str, FileLineage] = cache.get_many(sorted(set(keys.values()))) if cache else {}
    fresh: dict[str, FileLineage] = {}
    for path, read in reads.items():
        key = keys[path]
        signature = read.derivation.signature
        if key in cached:
            results[path] = ParsedFile(read.task, cached[key], from_cache=True, derivation=signature, key=key)
            continue
        started = time.perf_counter()
        lineage = extract_lineage(
            read.text,
            read.derivation.dialect,
            decode_errors=read.decode_errors,
            time_budget_seconds=time_budget_seconds,
            columns=columns,
        )
        results[path] = ParsedFile(read.task, lineage, seconds=time.perf_counter() - started, derivation=signature, key=key)
        fresh[key] = lineage
    if cache is not None:
        cache.put_many(fresh)
        cache.flush()
    return [results[task.path] for task in tasks]


def _oversized(message: str, dialect: str) -> FileLineage:
    return FileLineage(dialect=dialect, statements=[StatementLineage(0, "ERROR", 1, error=message)])
