"""SQL -> lineage model. Pure Python over sqlglot: no Dagster, no Neo4j."""

from ingest_pipeline.lineage.catalog import build_catalog, refresh_catalog, star_tables
from ingest_pipeline.lineage.expansion import expand_stars
from ingest_pipeline.lineage.extract import dialect_from_comment, extract_lineage
from ingest_pipeline.lineage.model import (
    EXTRACTOR_VERSION,
    ColumnLineage,
    ColumnRef,
    FileLineage,
    StatementLineage,
    TableRef,
)

__all__ = [
    "EXTRACTOR_VERSION",
    "ColumnLineage",
    "ColumnRef",
    "FileLineage",
    "StatementLineage",
    "TableRef",
    "build_catalog",
    "dialect_from_comment",
    "expand_stars",
    "extract_lineage",
    "refresh_catalog",
    "star_tables",
]
