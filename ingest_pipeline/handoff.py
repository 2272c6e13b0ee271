"""How parse steps hand their lineage models to the writer: by key, never by value.

A parse step's output names each file's model by its parse-cache key (content hash + derivation).
The writer takes the models from wherever the parse step left them: this process's memory when
both steps ran in it (in process: nothing is encoded or decoded twice), else the parse cache, else
(the cache off) the run's spool. A model found nowhere (evicted from a full cache) is parsed again
by the writer. A written model leaves memory when the cache holds it too, so a run in process holds
a few chunks' models whatever its size; the run ends by forgetting what it left.
"""

from __future__ import annotations

from collections.abc import Mapping

from ingest_pipeline.lineage import FileLineage
from ingest_pipeline.state.parse_cache import ParseCache, decode, encode
from ingest_pipeline.state.spool import Spool

# run id -> key -> model, for the steps of a run that share this process.
_MEMO: dict[str, dict[str, FileLineage]] = {}


def leave(run_id: str, models: Mapping[str, FileLineage], spool: Spool | None, *, in_memory: bool) -> None:
    """Keep the models for this run's writer: in memory when the writer runs in this process (a
    long-lived Celery worker would otherwise keep every run's models), and in the spool when one is
    given (the cache is off and the writer runs in another process)."""
    if in_memory:
        _MEMO.setdefault(run_id, {}).update(models)
    if spool is not None:
        spool.put(run_id, {key: encode(model) for key, model in models.items()})


def take(run_id: str, keys: list[str], cache: ParseCache | None, spool: Spool | None) -> dict[str, FileLineage]:
    """The models of `keys` that can be found (memory, cache, spool, in that order)."""
    memo = _MEMO.get(run_id, {})
    found = {key: memo[key] for key in keys if key in memo}
    missing = sorted({key for key in keys if key not in found})
    if missing and cache is not None:
        found.update(cache.get_many(missing, count=False))
        missing = [key for key in missing if key not in found]
    if missing and spool is not None:
        found.update({key: decode(blob) for key, blob in spool.get_many(run_id, missing).items()})
    return found


def release(run_id: str, keys: list[str]) -> None:
    """Drop written models from memory when the parse cache holds them too: a run in process then
    holds a few chunks' models, not all of them (the report takes the few it rewrites from the cache)."""
    memo = _MEMO.get(run_id, {})
    for key in keys:
        memo.pop(key, None)


def forget(run_id: str, spool: Spool | None) -> None:
    _MEMO.pop(run_id, None)
    if spool is not None:
        spool.drop(run_id)
