"""`cache_maintenance`: TTL clean-up, VACUUM and statistics of the parse cache, on a daily schedule.

No `from __future__ import annotations` here: Dagster reads the op signatures at import time.
"""

from dagster import AssetMaterialization, OpExecutionContext, ScheduleDefinition, job, op

from ingest_pipeline.jobs.ingest import CACHE_ASSET
from ingest_pipeline.resources import ParseCacheResource
from ingest_pipeline.settings import CACHE_MAINTENANCE_CRON


@op(description="Drop entries unused for PARSE_CACHE_TTL_DAYS, reclaim the space, and report the cache's state.")
def clean_parse_cache(context: OpExecutionContext, parse_cache: ParseCacheResource) -> None:
    cache = parse_cache.open()
    if cache is None:
        context.log.info("parse cache disabled (ENABLE_PARSE_CACHE=false): nothing to maintain")
        return
    try:
        expired = cache.expire()
        cache.vacuum()
        stats = cache.stats()
    finally:
        cache.close()
    context.log.info(f"parse cache: {expired} expired entries removed, {stats.entries} left, {stats.size_bytes} bytes")
    context.log_event(
        AssetMaterialization(
            asset_key=CACHE_ASSET,
            description="Parse cache after TTL clean-up and VACUUM.",
            metadata={"expired": expired, **stats.counts()},
        )
    )


@job(description="Parse cache upkeep: TTL clean-up, VACUUM, statistics.")
def cache_maintenance() -> None:
    clean_parse_cache()


cache_maintenance_schedule = ScheduleDefinition(
    name="cache_maintenance_daily",
    job=cache_maintenance,
    cron_schedule=CACHE_MAINTENANCE_CRON.current(),
    description="Daily parse cache upkeep (CACHE_MAINTENANCE_CRON, default 03:30).",
)
