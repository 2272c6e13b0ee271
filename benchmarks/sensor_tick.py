"""How long one sql_files_sensor tick takes over a large folder (target: well inside Dagster's 60 s).

    python benchmarks/sensor_tick.py [--files 100000]

Measures three ticks on a generated folder of tiny files: the first sight of every file (all new,
batched at once), a tick while every file is in flight, and the steady state after everything is
ingested (stat comparison only). Prints seconds per tick, cursor size and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from dagster import build_sensor_context, instance_for_test
from dagster_prometheus import PrometheusResource

from ingest_pipeline.batching import BatchingPolicy
from ingest_pipeline.sources import scan_sources
from ingest_pipeline.resources import LedgerResource
from ingest_pipeline.sensors import build_sql_files_sensor
from ingest_pipeline.state.ledger import IngestedFile, Ledger


def make_folder(root: Path, files: int) -> None:
    for i in range(files):
        folder = root / f"d{i % 200:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{i:06d}.sql").write_text(f"INSERT INTO t{i % 97} SELECT * FROM s{i % 89};\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, instance_for_test() as instance:
        root = Path(tmp)
        source = root / "sql"
        source.mkdir()
        started = time.perf_counter()
        make_folder(source, args.files)
        print(f"generated {args.files} files in {time.perf_counter() - started:.1f}s")
        os.environ["INGEST_SOURCE_DIR"] = str(source)
        ledger_resource = LedgerResource(path=str(root / "ledger.db"))
        sensor = build_sql_files_sensor(policy=BatchingPolicy(batch_threshold=1))
        cursor = None
        results = {}
        for label in ("first sight (all new)", "all in flight", "steady state (all ingested)"):
            if label.startswith("steady"):
                ledger = Ledger(Path(ledger_resource.path))
                stats = scan_sources(source).files
                ledger.mark_ingested(IngestedFile(p, "0" * 64, s.st_size, s.st_mtime_ns) for p, s in stats.items())
                for batch_id in ledger.open_batches():
                    ledger.close_batch(batch_id, "succeeded", time.time())
                ledger.close()
            context = build_sensor_context(
                instance=instance, cursor=cursor, resources={"ledger": ledger_resource, "prometheus": PrometheusResource(gateway="")}
            )
            tick_started = time.perf_counter()
            result = sensor(context)
            seconds = time.perf_counter() - tick_started
            cursor = getattr(result, "cursor", None) or cursor
            requests = len(getattr(result, "run_requests", None) or [])
            results[label] = {"seconds": round(seconds, 2), "run_requests": requests}
            print(f"{label:<30} {seconds:7.2f} s   run requests: {requests}")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"cursor: {len((cursor or '').encode())} bytes ({cursor}); peak RSS {rss_mb:.0f} MB")
        print(json.dumps({"files": args.files, "ticks": results, "cursor_bytes": len((cursor or '').encode()), "peak_rss_mb": round(rss_mb)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
