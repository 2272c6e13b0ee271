"""What the warehouse's table assets cost the code location load, per 1,000 tables.

For each size, a synthetic saved state (INGEST_TABLE_ASSETS_PATH) of N tables — 12 columns each,
two dependencies, column lineage and a writer per table, like a mid-size dbt project — is loaded
in a fresh interpreter the way a code server does it: import the definitions module, build the
repository and the repository snapshot the UI receives. The time with N tables minus the time
with none is the cost. Not part of `make bench` (a load, not an ingest):

    .venv/bin/python benchmarks/table_assets_load.py [--sizes 0,1000,3000] [--repeats 3] [--state PATH]

`--state` measures a real saved state too (e.g. an ingest of the bigquery-etl corpus). Times are
the child's CPU seconds (wall time on an idle core; a busy machine inflates wall time, not these).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the child: times the load as a code server does it (Dagster's own snapshot, a private
# API: fine for a measurement, never used by the package).
CHILD = """
import time
started = time.process_time()
from ingest_pipeline.warehouse_definitions import defs
repository = defs.get_repository_def()
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value
snapshot = serialize_value(RepositorySnap.from_def(repository))
print(time.process_time() - started, len(snapshot), len(repository.asset_graph.get_all_asset_keys()))
"""


def synthetic_state(tables: int, columns: int = 12) -> dict:
    rows = []
    for i in range(tables):
        schema = f"schema_{i % 20}"
        deps = [f"schema_{j % 20}.t{j}" for j in (i - 1, i - 7) if j >= 0]
        names = [f"c{k}" for k in range(columns)]
        rows.append(
            {
                "fqn": f"{schema}.t{i}",
                "name": f"t{i}",
                "db": schema,
                "catalog": None,
                "kind": "table",
                "deps": deps,
                "columns": names,
                "lineage": {name: [[dep, name] for dep in deps] for name in names},
                "writers": [{"file": f"{schema}/t{i}.sql", "source": "default", "line": 1, "kinds": ["INSERT"]}],
            }
        )
    return {"version": 1, "table_count": tables, "limit": tables, "tables": rows, "sources": {"default": "/srv/warehouse"}}


def load_seconds(state_path: Path, tables: int) -> tuple[float, int, int]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "INGEST_TABLE_ASSETS_PATH": str(state_path),
        "INGEST_TABLE_ASSETS_MAX": str(max(tables, 1)),
        "PYTHONWARNINGS": "ignore",
    }
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True, cwd=state_path.parent)
    seconds, size, assets = done.stdout.split()
    return float(seconds), int(size), int(assets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,1000,3000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--state", type=Path, help="a saved state (INGEST_TABLE_ASSETS_PATH) to measure as well")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        states = {int(s): None for s in args.sizes.split(",")}
        if args.state:
            states[json.loads(args.state.read_text())["table_count"]] = args.state
        for tables, given in states.items():
            path = given or Path(folder) / f"state-{tables}.json"
            if given is None:
                path.write_text(json.dumps(synthetic_state(tables)))
            runs = [load_seconds(path, tables) for _ in range(args.repeats)]
            results[tables] = {
                "state": str(given) if given else "synthetic: 12 columns, 2 deps, 24 column-lineage deps per table",
                "load_seconds_median": round(statistics.median(r[0] for r in runs), 2),
                "load_seconds_all": [round(r[0], 2) for r in runs],
                "snapshot_bytes": runs[0][1],
                "assets": runs[0][2],
            }
            print(tables, results[tables], flush=True)
    base = results.get(0, {}).get("load_seconds_median")
    if base is not None:
        for tables, result in results.items():
            if tables:
                result["extra_seconds_per_1000_tables"] = round((result["load_seconds_median"] - base) / tables * 1000, 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
