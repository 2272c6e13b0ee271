"""Wiring only: the warehouse's tables as external assets, a code location of their own.

Kept apart from `ingest_pipeline.definitions` so that what changes with every ingest (the tables)
is reloaded without touching the location that runs the ingest, and so that run and step
processes, which load the ingest location, never build thousands of table specs (0.7 s per
process for 1,200 tables). Dagster's Lineage page joins both locations into one graph.
"""

from __future__ import annotations

from pathlib import Path

from ingest_pipeline import settings

settings.export_env_file()  # as in definitions.py: `.env` first, then one load that fails on bad values
CONFIG = settings.load()

from dagster import Definitions  # noqa: E402

from ingest_pipeline import table_assets  # noqa: E402

# What the last ingest run saved (never from Neo4j at import time).
TABLE_STATE_PATH = Path(CONFIG[settings.INGEST_TABLE_ASSETS_PATH])
TABLE_STATE_SIGNATURE = table_assets.signature(TABLE_STATE_PATH)
TABLE_STATE = table_assets.load(TABLE_STATE_PATH) if CONFIG[settings.INGEST_TABLE_ASSETS] else {}
LIMIT = CONFIG[settings.INGEST_TABLE_ASSETS_MAX]

defs = Definitions(
    assets=table_assets.specs(TABLE_STATE, LIMIT),
    sensors=[table_assets.build_table_assets_refresh(TABLE_STATE_SIGNATURE, table_assets.shown_count(TABLE_STATE, LIMIT)[1])],
)
