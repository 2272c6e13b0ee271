"""The `parse_cache` asset: TTL clean-up, VACUUM and statistics, materialized daily by `cache_maintenance`.

Ingest runs observe it (hits and misses of the run, the cache's size); this job is what changes it
on purpose. No `from __future__ import annotations` here: Dagster reads the signatures at import time.
"""

from dagster import AssetExecutionContext, AssetSelection, MaterializeResult, ScheduleDefinition, asset, define_asset_job
from dagster import DefaultScheduleStatus

from ingest_pipeline.jobs.assets import GROUP
from ingest_pipeline.jobs.report import CACHE_ASSET
from ingest_pipeline.resources import ParseCacheResource
from ingest_pipeline.settings import CACHE_MAINTENANCE_CRON, INGEST_ASSET_OWNERS


@asset(
    name=CACHE_ASSET,
    group_name=GROUP,
    kinds={"sqlite"},
    owners=list(INGEST_ASSET_OWNERS.current()),
    description=(
        "The SQLite parse cache (PARSE_CACHE_PATH): parsed lineage by file content, so unchanged bytes are never parsed "
        "twice. Materializing it drops entries unused for PARSE_CACHE_TTL_DAYS, reclaims the space and records its "
        "statistics; every ingest run records an observation with its hits and misses."
    ),
)
def parse_cache_asset(context: AssetExecutionContext, parse_cache: ParseCacheResource) -> MaterializeResult:
    cache = parse_cache.open()
    if cache is None:
        context.log.info("parse cache disabled (ENABLE_PARSE_CACHE=false): nothing to maintain")
        return MaterializeResult(metadata={"enabled": False})
    try:
        expired = cache.expire()
        cache.vacuum()
        stats = cache.stats()
    finally:
        cache.close()
    context.log.info(f"parse cache: {expired} expired entries removed, {stats.entries} left, {stats.size_bytes} bytes")
    return MaterializeResult(metadata={"enabled": True, "expired": expired, **stats.counts()})


cache_maintenance = define_asset_job(
    name="cache_maintenance",
    selection=AssetSelection.assets(CACHE_ASSET),
    description="Parse cache upkeep: TTL clean-up, VACUUM, statistics (materializes parse_cache).",
)

cache_maintenance_schedule = ScheduleDefinition(
    name="cache_maintenance_daily",
    job=cache_maintenance,
    cron_schedule=CACHE_MAINTENANCE_CRON.current(),
    default_status=DefaultScheduleStatus.RUNNING,
    description=(
        "Daily parse cache upkeep at CACHE_MAINTENANCE_CRON (default 03:30). Ships running; it only touches the cache. "
        "Stop it in Automation, or `dagster schedule stop cache_maintenance_daily`."
    ),
)
