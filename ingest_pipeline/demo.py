"""`make demo`: ingest examples/sql into the bundled Neo4j and answer two lineage questions.

Uses NEO4J_URI when it is set (environment or .env: an existing server); otherwise starts or reuses
the bundled Neo4j on data/neo4j. The run goes through the Dagster instance in DAGSTER_HOME, so `make dev` shows it.
"""

from __future__ import annotations

import sys

from ingest_pipeline import cli, neo4j_local, settings
from ingest_pipeline.local_run import graph_metadata, run_job
from ingest_pipeline.resources.configured import neo4j_resource

DEMO_TABLE = "marts.customer_lifetime_value"
QUESTIONS = (["lineage", "upstream", DEMO_TABLE], ["lineage", "writers", DEMO_TABLE])


def main() -> int:
    settings.export_env_file()
    try:
        given = settings.load()
    except settings.SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if given.resolved(settings.NEO4J_URI).source == settings.DEFAULT:
        settings.export({settings.NEO4J_URI: neo4j_local.start(neo4j_local.DEFAULT_DATA_DIR).uri})
    if given.resolved(settings.INGEST_SOURCE_DIR).source == settings.DEFAULT:
        settings.export({settings.INGEST_SOURCE_DIR: str(neo4j_local.PROJECT_ROOT / "examples" / "sql")})

    result = run_job("ingest_sql_files")
    if not result.success:
        print("the ingest run failed; see the log above", file=sys.stderr)
        return 1
    metadata = graph_metadata(result)
    config = settings.load()  # again: the bundled Neo4j's URI and the examples folder are set now
    neo4j = neo4j_resource(config, at_launch=False)
    try:
        nodes, relationships = neo4j.counts()
        print()
        print(f"Ingested {config[settings.INGEST_SOURCE_DIR]} into {neo4j.uri}")
        for key in ("files_seen", "files_ingested", "files_unchanged", "files_failed", "statements", "tables", "parse_errors"):
            print(f"  {key:<16} {metadata[key]}")
        print(f"  {'graph':<16} {nodes} nodes, {relationships} relationships")
    finally:
        neo4j.close()
    for question in QUESTIONS:
        print(f"\n$ ingest-pipeline {' '.join(question)}", flush=True)
        if cli.main(question) != 0:
            return 1
    print("\nMore questions: docs/querying.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
