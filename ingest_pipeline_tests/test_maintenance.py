"""cache_maintenance: TTL clean-up, VACUUM and statistics, as a Dagster job."""

from __future__ import annotations

import time

from ingest_pipeline.definitions import defs
from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.resources import ParseCacheResource
from ingest_pipeline.state.parse_cache import ParseCache


def test_cache_maintenance_expires_stale_entries(tmp_path):
    path = tmp_path / "cache.db"
    lineage = extract_lineage("SELECT * FROM t", "")
    ParseCache(path, clock=lambda: time.time() - 40 * 86_400).put_many({"stale": lineage})
    ParseCache(path).put_many({"fresh": lineage})

    job = defs.resolve_job_def("cache_maintenance")
    result = job.execute_in_process(resources={"parse_cache": ParseCacheResource(path=str(path), ttl_days=30)})

    assert result.success
    (materialization,) = result.asset_materializations_for_node("parse_cache")
    assert materialization.metadata["expired"].value == 1 and materialization.metadata["entries"].value == 1
    assert set(ParseCache(path).get_many(["stale", "fresh"])) == {"fresh"}


def test_cache_maintenance_runs_daily():
    schedule = defs.resolve_schedule_def("cache_maintenance_daily")
    assert schedule.job_name == "cache_maintenance"
    assert schedule.cron_schedule == "30 3 * * *"
