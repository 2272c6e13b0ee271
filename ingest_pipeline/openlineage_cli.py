"""`ingest-pipeline openlineage export`: the graph's lineage as OpenLineage events, to a file or over HTTP.

Exit codes: 0 every event went out, 1 some did not (the first failure is printed), 2 Neo4j is
unreachable or the settings are invalid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest_pipeline import settings


def export(args: argparse.Namespace) -> int:
    # Imported here: the OpenLineage client takes a second to import, other commands need not wait.
    from ingest_pipeline import openlineage_export as ol
    from ingest_pipeline.graph import queries
    from ingest_pipeline.lineage_cli import run_with_graph

    try:
        env = ol.ExportSettings.from_env()
        settings = ol.ExportSettings(
            url=args.url or env.url,
            endpoint=args.endpoint or env.endpoint,
            api_key=env.api_key,
            namespace=args.namespace or env.namespace,
            dataset_namespace=args.dataset_namespace or env.dataset_namespace,
            source_url=env.source_url,
            event_type=args.event_type or env.event_type,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    transport_kind = args.transport or ("http" if settings.url else "file")
    if transport_kind == "http" and not settings.url:
        print("error: --transport http needs --url or OPENLINEAGE_URL", file=sys.stderr)
        return 2

    def work(read) -> int:
        paths = args.path or [row["path"] for row in read(queries.ALL_FILES)]
        naming = settings.naming(args.source_dir)
        events = ol.events_for(read, paths, naming, args.source_dir, settings.event_type, ol.now_iso())
        transport = ol.http_transport(settings) if transport_kind == "http" else ol.file_transport(Path(args.file))
        try:
            delivery = ol.send(transport, events)
        finally:
            transport.close()
        target = settings.url if transport_kind == "http" else args.file
        print(f"exported {delivery.summary()} for {len(delivery.sent)} file(s) to {target}")
        if delivery.error is not None:
            print(f"error: {len(paths) - len(delivery.sent)} file(s) not exported: {delivery.error}", file=sys.stderr)
            return 1
        return 0

    return run_with_graph(work)


def register(commands: argparse._SubParsersAction) -> None:
    """Add `openlineage export` to the `ingest-pipeline` parser."""
    openlineage = commands.add_parser("openlineage", help="export the graph's lineage as OpenLineage events")
    actions = openlineage.add_subparsers(dest="action", required=True)
    parser = actions.add_parser("export", help="one event per SQL file in the graph (or per --path)")
    parser.add_argument("--transport", choices=["file", "http"], help="default: http when a URL is set, else file")
    parser.add_argument("--url", help="base URL of the OpenLineage API (default OPENLINEAGE_URL)")
    parser.add_argument("--endpoint", help="path under the URL (default OPENLINEAGE_ENDPOINT or api/v1/lineage)")
    parser.add_argument("--namespace", help="job namespace (default OPENLINEAGE_NAMESPACE or ingest-pipeline)")
    parser.add_argument("--dataset-namespace", help="dataset namespace (default OPENLINEAGE_DATASET_NAMESPACE or the job namespace)")
    parser.add_argument("--event-type", help="run (RunEvent COMPLETE, default) or job (JobEvent); OPENLINEAGE_EVENT_TYPE")
    parser.add_argument("--file", default="data/openlineage_events.jsonl", help="where --transport file writes")
    parser.add_argument("--source-dir", default=settings.INGEST_SOURCE_DIR.current(), help="the SQL folder, for the `sql` facet")
    parser.add_argument("--path", action="append", help="only this file (repeatable); a file not in the graph is retired")
    parser.set_defaults(handler=export)
