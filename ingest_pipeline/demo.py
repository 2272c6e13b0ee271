"""`make demo`: ingest examples/sql into the bundled Neo4j and answer two lineage questions.

Uses NEO4J_URI when it is set (an existing server); otherwise starts or reuses the bundled Neo4j on
data/neo4j. The run goes through the Dagster instance in DAGSTER_HOME, so `make dev` shows it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ingest_pipeline import cli, neo4j_local
from ingest_pipeline.local_run import graph_metadata, run_job

DEMO_TABLE = "marts.customer_lifetime_value"
QUESTIONS = (["lineage", "upstream", DEMO_TABLE], ["lineage", "writers", DEMO_TABLE])


def main() -> int:
    if not os.environ.get("NEO4J_URI"):
        instance = neo4j_local.start(neo4j_local.DEFAULT_DATA_DIR)
        os.environ["NEO4J_URI"] = instance.uri
    os.environ.setdefault("INGEST_SOURCE_DIR", str(neo4j_local.PROJECT_ROOT / "examples" / "sql"))

    # Imported after the environment is settled: resource defaults read it at import time.
    from ingest_pipeline.definitions import neo4j_resource

    result = run_job("ingest_sql_files")
    if not result.success:
        print("the ingest run failed; see the log above", file=sys.stderr)
        return 1
    metadata = graph_metadata(result)
    neo4j = neo4j_resource()
    try:
        nodes, relationships = neo4j.counts()
        print()
        print(f"Ingested {Path(os.environ['INGEST_SOURCE_DIR'])} into {neo4j.uri}")
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
