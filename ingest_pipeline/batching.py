"""Debounced batching of file changes: what one sensor tick decides, without Dagster.

Each tick compares the folder (stat only; sha256 only to confirm a suspected change) with the
ledger, records what changed in the ledger's pending table, and flushes the pending changes into
batches once the folder has been quiet for the debounce period, once enough changes are waiting,
or at once in realtime mode. Files already in a requested batch are left alone until its run
ends; files whose runs failed come back with exponential backoff until they are parked.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ingest_pipeline.sources import DEFAULT_SOURCE, ScanRules, file_key, scan_sources, sha256_or_none, source_of, split_key
from ingest_pipeline.state.ledger import FAILED, INGESTED, Ledger, LedgerEntry

CRITICAL, NORMAL, BATCH = "CRITICAL", "NORMAL", "BATCH"
MANUAL = "MANUAL"  # a launch from the UI or the CLI: someone is waiting for it
# Values of the `dagster/priority` run tag: higher runs first from the queue.
PRIORITY_TAG_VALUES = {CRITICAL: "10", MANUAL: "5", NORMAL: "0", BATCH: "-10"}


@dataclass(frozen=True)
class BatchingPolicy:
    debounce_seconds: float = 5.0
    batch_threshold: int = 50
    max_files_per_run: int = 5000
    batching_enabled: bool = True
    max_attempts: int = 3
    retry_backoff_seconds: float = 60.0
    critical_globs: tuple[str, ...] = ()
    include: tuple[str, ...] = ("*.sql",)
    ignore: tuple[str, ...] = ()
    follow_symlinks: bool = False
    source: str = DEFAULT_SOURCE

    @property
    def scan_rules(self) -> ScanRules:
        return ScanRules(self.include, self.ignore, self.follow_symlinks)


@dataclass(frozen=True)
class NewBatch:
    batch_id: str
    paths: list[str]
    priority: str
    # Files of the batch that failed in earlier runs: key -> runs failed so far (this is attempt n + 1).
    retries: dict[str, int] = field(default_factory=dict)


@dataclass
class TickDecision:
    batches: list[NewBatch] = field(default_factory=list)
    deduplicated: int = 0
    pending: int = 0
    in_flight: int = 0
    parked: list[str] = field(default_factory=list)
    # Why nothing was flushed although changes are pending (debounce), if so.
    waiting: str | None = None


def _is_parked(entry: LedgerEntry, policy: BatchingPolicy) -> bool:
    return entry.status == FAILED and entry.attempts >= policy.max_attempts


def _backing_off(entry: LedgerEntry, policy: BatchingPolicy, now: float) -> bool:
    if entry.status != FAILED or entry.attempts == 0:
        return False
    return now < entry.updated_at + policy.retry_backoff_seconds * 2 ** (entry.attempts - 1)


def find_changes(
    source_dir: Path, ledger: Ledger, policy: BatchingPolicy, now: float, in_flight: set[str]
) -> tuple[dict[str, tuple[int | None, int | None]], list[str]]:
    """Files of the policy's source that need ingesting (key -> (size, mtime)) or deleting
    (key -> (None, None)), and parked files; files in `in_flight` (in a requested batch) are left
    to their run."""
    on_disk = {file_key(policy.source, path): stat for path, stat in scan_sources(source_dir, policy.scan_rules).files.items()}
    entries = {key: entry for key, entry in ledger.entries().items() if source_of(key) == policy.source}
    changes: dict[str, tuple[int | None, int | None]] = {}
    parked: list[str] = []
    for key, stat in on_disk.items():
        if key in in_flight:
            continue
        entry = entries.get(key)
        signature = (stat.st_size, stat.st_mtime_ns)
        if entry is None or entry.status not in (INGESTED, FAILED):
            changes[key] = signature
            continue
        if entry.status == INGESTED and (entry.size_bytes, entry.mtime_ns) == signature:
            continue
        # The stat moved, or an earlier attempt failed: compare content (a `touch` is no change).
        digest = sha256_or_none(source_dir / split_key(key)[1])
        same_bytes = digest is not None and digest == entry.sha256
        if same_bytes and entry.status == INGESTED:
            ledger.touch(key, *signature)
            continue
        if same_bytes and _is_parked(entry, policy):
            parked.append(key)
            continue
        if same_bytes and _backing_off(entry, policy, now):
            continue
        changes[key] = signature
    for key in entries.keys() - on_disk.keys() - in_flight:
        changes[key] = (None, None)
    return changes, sorted(parked)


def decide_tick(
    source_dir: Path, ledger: Ledger, policy: BatchingPolicy, now: float, batch_seq: int
) -> TickDecision:
    """Record this tick's changes and cut the batches to request now (batch ids from batch_seq on)."""
    in_flight = ledger.in_flight_paths()
    changes, parked = find_changes(source_dir, ledger, policy, now, in_flight)
    decision = TickDecision(deduplicated=ledger.note_changes(changes, now), parked=parked, in_flight=len(in_flight))
    pending = ledger.pending_changes()
    decision.pending = len(pending)
    if not pending:
        return decision
    quiet_for = now - max(change.last_changed for change in pending.values())
    flush = (
        not policy.batching_enabled
        or len(pending) >= policy.batch_threshold
        or quiet_for >= policy.debounce_seconds
    )
    if not flush:
        decision.waiting = (
            f"{len(pending)} change(s) pending, flushing in {policy.debounce_seconds - quiet_for:.0f} s unless the "
            f"folder changes again (quiet for {quiet_for:.1f}s of {policy.debounce_seconds:.1f}s, INGEST_DEBOUNCE_SECONDS), "
            f"or at once at {policy.batch_threshold} changes (INGEST_BATCH_THRESHOLD)"
        )
        return decision
    critical = sorted(p for p in pending if _matches(p, policy.critical_globs))
    normal = sorted(p for p in pending if p not in set(critical))
    for priority, paths in ((CRITICAL, critical), (NORMAL, normal)):
        for start in range(0, len(paths), policy.max_files_per_run):
            chunk = paths[start : start + policy.max_files_per_run]
            identity = batch_id(batch_seq, chunk)
            claimed = ledger.create_batch(identity, chunk, priority, now)
            if not claimed:
                continue  # another sensor process batched these changes first
            retries = {p: e.attempts for p in claimed if (e := ledger.get(p)) is not None and e.status == FAILED and e.attempts}
            batch_seq += 1
            decision.batches.append(NewBatch(identity, claimed, priority, retries))
    decision.pending = 0
    return decision


def retry_label(batch: NewBatch, policy: BatchingPolicy) -> str | None:
    """`attempt 2/3 after 60 s backoff: a.sql` for a batch that retries files of failed runs, else None."""
    if not batch.retries:
        return None
    attempt = max(batch.retries.values()) + 1
    backoff = policy.retry_backoff_seconds * 2 ** (attempt - 2)
    listed = ", ".join(sorted(batch.retries)[:10]) + (f" and {len(batch.retries) - 10} more" if len(batch.retries) > 10 else "")
    return f"attempt {attempt}/{policy.max_attempts} after {backoff:.0f} s backoff: {listed}"


def batch_id(sequence: int, paths: list[str]) -> str:
    """Deterministic and unique: the sequence number plus a digest of the file list."""
    digest = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:10]
    return f"b{sequence:08d}-{digest}"


def _matches(path: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, glob) for glob in globs)
