"""The dead-letter file: files Neo4j rejected on their own, one JSON object per line.

Appended by the graph writer; read by replay (`ingest-pipeline replay-failed`, job `replay_failed`);
an entry is removed once its file is written successfully.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def append(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    """Every readable entry; a torn last line (a crash mid-append) is skipped, not fatal."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def failed_files(path: Path) -> list[str]:
    return sorted({entry["file"] for entry in read(path) if "file" in entry})


def prune(path: Path, written: Iterable[str]) -> int:
    """Drop the entries of files that have now been written; returns how many were dropped."""
    done = set(written)
    entries = read(path)
    keep = [entry for entry in entries if entry.get("file") not in done]
    if len(keep) == len(entries):
        return 0
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(json.dumps(entry, default=str) + "\n" for entry in keep), encoding="utf-8")
    os.replace(temporary, path)
    return len(entries) - len(keep)
