"""Dagster resources over the state: the parse cache and the ingestion ledger (SQLite files, or
PostgreSQL when INGEST_STATE_URL is set)."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext, get_dagster_logger

from ingest_pipeline import settings
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline.state.parse_cache import CacheSpec, ParseCache
from ingest_pipeline.state.spool import Spool


class ParseCacheResource(ConfigurableResource):
    """Content-addressed parse cache (PARSE_CACHE_PATH); ENABLE_PARSE_CACHE=false turns it off, and
    the steps of a run then hand their results over through the run spool (INGEST_SPOOL_PATH)."""

    path: str = settings.PARSE_CACHE_PATH.field()
    enabled: bool = settings.ENABLE_PARSE_CACHE.field()
    max_entries: int = settings.PARSE_CACHE_MAX_ENTRIES.field()
    ttl_days: float = settings.PARSE_CACHE_TTL_DAYS.field()
    state_url: str = settings.INGEST_STATE_URL.field()
    spool_path: str = settings.INGEST_SPOOL_PATH.field()

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # The health check runs when the resource starts: a bad file is moved aside with one warning.
        if self.enabled:
            cache = self.open()
            if cache is not None:
                cache.close()

    def open(self) -> ParseCache | None:
        if not self.enabled:
            return None
        cache = self.spec().open()
        if cache.recovered:
            get_dagster_logger().warning(f"parse cache: {cache.recovered}")
        return cache

    def spec(self) -> CacheSpec | None:
        """How another process (the parse pool's) opens this cache; None when it is off."""
        return CacheSpec(self.path, self.max_entries, self.ttl_days, self.state_url) if self.enabled else None

    def open_spool(self) -> Spool:
        spool = Spool(Path(self.spool_path), state_url=self.state_url)
        if spool.recovered:
            get_dagster_logger().warning(f"run spool: {spool.recovered}")
        return spool


class LedgerResource(ConfigurableResource):
    """Per-file ingestion state (INGEST_LEDGER_PATH): what the graph is known to hold."""

    path: str = settings.INGEST_LEDGER_PATH.field()
    state_url: str = settings.INGEST_STATE_URL.field()

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self.open().close()

    def open(self) -> Ledger:
        ledger = Ledger(Path(self.path), state_url=self.state_url)
        if ledger.recovered:
            get_dagster_logger().warning(f"ingestion ledger: {ledger.recovered}; every file will be re-ingested")
        return ledger
