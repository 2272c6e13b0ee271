"""Reading and parsing planned files, through the parse cache when there is one."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.lineage import FileLineage, StatementLineage, dialect_from_comment, extract_lineage
from ingest_pipeline.lineage.text import decode_sql
from ingest_pipeline.planning import FileTask
from ingest_pipeline.state.parse_cache import ParseCache, cache_key


@dataclass(frozen=True)
class DialectRules:
    """Which dialect a file is read in: its `-- dialect:` comment, else the first matching glob, else the default."""

    default: str = ""
    globs: tuple[tuple[str, str], ...] = ()

    def for_file(self, path: str, text: str) -> str:
        named = dialect_from_comment(text)
        if named:
            return named
        for pattern, dialect in self.globs:
            if fnmatch.fnmatchcase(path, pattern):
                return dialect
        return self.default


@dataclass
class ParsedFile:
    task: FileTask
    # None when the file could not be read at all (see read_error).
    lineage: FileLineage | None
    read_error: str | None = None
    from_cache: bool = False
    seconds: float = 0.0


def read_text(path: Path) -> tuple[str, bool]:
    """The file's text and whether it had to be decoded with replacement characters."""
    return decode_sql(path.read_bytes())


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
    texts: dict[str, tuple[str, bool, str]] = {}
    results: dict[str, ParsedFile] = {}
    for task in tasks:
        if max_file_bytes is not None and task.size_bytes > max_file_bytes:
            results[task.path] = ParsedFile(task, _oversized(task, max_file_bytes, rules.default))
            continue
        try:
            text, decode_errors = read_text(source_dir / task.path)
        except OSError as error:
            results[task.path] = ParsedFile(task, None, read_error=f"cannot read {task.path}: {error.strerror or error}")
            continue
        dialect = rules.for_file(task.path, text)
        texts[task.path] = (text, decode_errors, dialect)

    keys = {path: cache_key(task.sha256, texts[path][2], columns) for task in tasks if (path := task.path) in texts}
    cached: Mapping[str, FileLineage] = cache.get_many(sorted(set(keys.values()))) if cache else {}
    fresh: dict[str, FileLineage] = {}
    for task in tasks:
        if task.path not in texts:
            continue
        key = keys[task.path]
        if key in cached:
            results[task.path] = ParsedFile(task, cached[key], from_cache=True)
            continue
        text, decode_errors, dialect = texts[task.path]
        started = time.perf_counter()
        lineage = extract_lineage(
            text, dialect, decode_errors=decode_errors, time_budget_seconds=time_budget_seconds, columns=columns
        )
        results[task.path] = ParsedFile(task, lineage, seconds=time.perf_counter() - started)
        fresh[key] = lineage
    if cache is not None:
        cache.put_many(fresh)
        cache.flush()
    return [results[task.path] for task in tasks]


def _oversized(task: FileTask, limit: int, dialect: str) -> FileLineage:
    message = f"file is {task.size_bytes} bytes, more than the limit of {limit} (INGEST_MAX_FILE_BYTES); not parsed"
    return FileLineage(dialect=dialect, statements=[StatementLineage(0, "ERROR", 1, error=message)])
