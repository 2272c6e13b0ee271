"""`ingest-pipeline`: operate the bundled Neo4j, the Celery workers and the parse cache, and show or check the settings."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from ingest_pipeline import config_cli, dead_letters, lineage_cli, neo4j_local, openlineage_cli, settings
from ingest_pipeline.state.parse_cache import ParseCache
from ingest_pipeline.state.sqlite import StateFileError
from ingest_pipeline.workers import WorkerError


def _neo4j(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    if args.action == "start":
        instance = neo4j_local.start(data_dir, args.bolt_port)
        print(instance.uri)
        return 0
    if args.action == "stop":
        print("stopped" if neo4j_local.stop(data_dir) else f"not running ({data_dir})")
        return 0
    instance = neo4j_local.status(data_dir)
    if instance is None:
        print(f"not running ({data_dir})")
        return 3
    print(f"running pid={instance.pid} uri={instance.uri}")
    return 0


def _workers(args: argparse.Namespace) -> int:
    from ingest_pipeline import workers

    worker_dir = Path(settings.INGEST_WORKER_DIR.current())
    specs = [s for s in workers.default_specs(settings.INGEST_WORKER_CONCURRENCY.current()) if s.name in args.only]
    if args.action == "start":
        for worker in workers.start(worker_dir, specs):
            print(f"{worker.spec.name}: pid={worker.pid} queue={worker.spec.queue} log={worker.log}")
        return 0
    if args.action == "stop":
        stopped = workers.stop(worker_dir, [s.name for s in specs])
        print(f"stopped {', '.join(stopped)}" if stopped else f"not running ({worker_dir})")
        return 0
    found = {s.name: workers.running(worker_dir, s.name) for s in specs}
    for name, worker in found.items():
        print(f"{name}: running pid={worker.pid} log={worker.log}" if worker else f"{name}: not running")
    return 0 if all(found.values()) else 3


def _cache(args: argparse.Namespace) -> int:
    url = "" if args.path else settings.INGEST_STATE_URL.current()
    path = args.path or settings.PARSE_CACHE_PATH.current()
    cache = ParseCache(
        Path(path),
        max_entries=settings.PARSE_CACHE_MAX_ENTRIES.current(),
        ttl_days=settings.PARSE_CACHE_TTL_DAYS.current(),
        state_url=url,
    )
    path = cache.path
    try:
        if cache.recovered:
            print(f"warning: {cache.recovered}", file=sys.stderr)
        if args.action == "clear":
            print(f"cleared {cache.clear()} entries from {path}")
            return 0
        stats = cache.stats()
        report = {
            "path": str(path),
            **stats.counts(),
            "oldest_entry": _iso(stats.oldest),
            "newest_entry": _iso(stats.newest),
        }
        if args.json:
            print(json.dumps(report))
        else:
            width = max(len(k) for k in report)
            for key, value in report.items():
                print(f"{key:<{width}}  {value}")
        return 0
    finally:
        cache.close()


def _replay(args: argparse.Namespace) -> int:
    from ingest_pipeline.local_run import graph_metadata, run_job

    dead_letter_path = Path(settings.INGEST_DEAD_LETTER_PATH.current())
    files = dead_letters.failed_files(dead_letter_path)
    if not files:
        print(f"nothing to replay: {dead_letter_path} has no entries")
        return 0
    result = run_job("replay_failed")
    if not result.success:
        print("the replay run failed; see the log above", file=sys.stderr)
        return 1
    metadata = graph_metadata(result)
    remaining = dead_letters.failed_files(dead_letter_path)
    print(f"replayed {len(files)} file(s): {metadata['files_ingested']} ingested, {len(remaining)} still failing")
    for path in remaining:
        print(f"  still failing: {path}")
    return 0 if not remaining else 4


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds") if timestamp else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ingest-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    neo4j = commands.add_parser("neo4j", help="start, stop or inspect the bundled Neo4j")
    neo4j.add_argument("action", choices=["start", "stop", "status"])
    neo4j.add_argument("--data-dir", default=str(neo4j_local.DEFAULT_DATA_DIR))
    neo4j.add_argument(
        "--bolt-port",
        type=int,
        default=None,
        help="start only: default the port this data directory served on last (else 7687), so NEO4J_URI stays right; "
        "0 picks any free port",
    )
    neo4j.set_defaults(handler=_neo4j)

    workers = commands.add_parser(
        "workers", help="start, stop or inspect this host's Celery workers (INGEST_EXECUTOR=celery; docs/deployment.md)"
    )
    workers.add_argument("action", choices=["start", "stop", "status"])
    workers.add_argument(
        "--only", nargs="+", choices=["parse", "writer"], default=["parse", "writer"],
        help="only these workers (run the writer on one host of the cluster)",
    )
    workers.set_defaults(handler=_workers)

    cache = commands.add_parser("cache", help="parse cache statistics (`cache stats [--json]`) and clean-up (`cache clear`)")
    cache.add_argument("action", choices=["stats", "clear"])
    cache.add_argument("--path", help="the cache file (default: INGEST_STATE_URL if set, else PARSE_CACHE_PATH)")
    cache.add_argument("--json", action="store_true", help="stats as one JSON object")
    cache.set_defaults(handler=_cache)

    replay = commands.add_parser("replay-failed", help="re-ingest the files in the dead-letter file (INGEST_DEAD_LETTER_PATH)")
    replay.set_defaults(handler=_replay)

    config_cli.add_parser(commands)
    lineage_cli.register(commands)
    openlineage_cli.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings.export_env_file()  # as Dagster's CLI does, so runs started here see what `dagster dev` sees
    try:
        return args.handler(args)
    except settings.SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (neo4j_local.Neo4jLocalError, StateFileError, WorkerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
