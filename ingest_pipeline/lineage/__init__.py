"""SQL -> lineage model. Pure Python over sqlglot: no Dagster, no Neo4j."""

from ingest_pipeline.lineage.extract import dialect_from_comment, extract_lineage
from ingest_pipeline.lineage.model import EXTRACTOR_VERSION, FileLineage, StatementLineage, TableRef

__all__ = [
    "EXTRACTOR_VERSION",
    "FileLineage",
    "StatementLineage",
    "TableRef",
    "dialect_from_comment",
    "extract_lineage",
]
