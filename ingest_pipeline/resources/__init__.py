"""Dagster resources: the thin shell around Neo4j and the SQLite state."""

from ingest_pipeline.resources.neo4j import GraphUnavailableError, Neo4jResource
from ingest_pipeline.resources.state import LedgerResource, ParseCacheResource

__all__ = ["GraphUnavailableError", "LedgerResource", "Neo4jResource", "ParseCacheResource"]
