#!/usr/bin/env python3
"""Interleaved before/after runs of the scenarios issue 14 is about, medians reported.

`make bench` measures one tree; on a shared machine two separate runs are minutes apart and see
different load. This runs the same cold scenarios for two trees alternately, each tree against
its own bundled Neo4j started by its own code (so each side has its own server settings):

    git archive <before-commit> ingest_pipeline | tar -x -C /tmp/before
    python benchmarks/before_after.py --before /tmp/before [--rounds 3] [--files 1000]

Scenarios: cold in process (workers=1) and cold multiprocess (project executor, 2 workers) on the
generated corpus, and a cold in-process ingest of bigquery-etl when present. Prints a Markdown table.
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
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench_run  # noqa: E402
from generate_corpus import generate_corpus  # noqa: E402

START_NEO4J = (
    "import sys; from pathlib import Path; from ingest_pipeline import neo4j_local; "
    "i = neo4j_local.start(Path(sys.argv[1]), bolt_port=0); print(i.uri)"
)
STOP_NEO4J = "import sys; from pathlib import Path; from ingest_pipeline import neo4j_local; neo4j_local.stop(Path(sys.argv[1]))"


def _python(code_root: Path, code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    env.setdefault("NEO4J_LOCAL_HOME", str(bench_run.ROOT / "neo4j-local"))
    return subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a tree with the ingest_pipeline/ to compare against")
    parser.add_argument("--after", default=str(bench_run.ROOT))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--bq-corpus", default=str(bench_run.DEFAULT_BQ_CORPUS))
    parser.add_argument("--output", default=str(bench_run.RESULTS / "before_after.json"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ingest-before-after-"))
    corpus = tmp / "corpus"
    generate_corpus(corpus, args.files, bench_run.DEFAULT_SEED)
    bq = Path(args.bq_corpus)
    bq = bq / "sql" if (bq / "sql").is_dir() else bq
    sides = {"before": Path(args.before).resolve(), "after": Path(args.after).resolve()}
    benches, servers = {}, {}
    try:
        for name, root in sides.items():
            servers[name] = tmp / f"neo4j-{name}"
            uri = _python(root, START_NEO4J, str(servers[name]))
            benches[name] = bench_run.Bench(argparse.Namespace(code_root=str(root), quiet_wait=15.0))
            benches[name].uri = uri
        results: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in sides}
        scenarios = [("cold in process", corpus, "", "in_process"), ("cold multiprocess, 2 workers", corpus, "", "multiprocess")]
        if bq.is_dir():
            scenarios.append(("bigquery-etl cold in process", bq, "bigquery", "in_process"))
        for round_ in range(args.rounds + 1):  # round 0 warms each server up, untimed
            for name in (sides if round_ % 2 else reversed(list(sides))):
                bench = benches[name]
                for label, source, dialect, mode in scenarios:
                    state = tmp / f"state-{name}-{round_}-{len(results[name].get(label, []))}-{mode}"
                    spec = {"kind": "ingest", "uri": bench.uri, "work_dir": str(tmp / f"work-{name}"), "batch_size": 0,
                            "mode": mode, "workers": 2 if mode == "multiprocess" else 1, "max_concurrent": 2,
                            "executor": "project", "batching": True, "cache": True, "dialect": dialect,
                            "steps": [{"label": label, "source_dir": str(source), "state_dir": str(state), "wipe": True}]}
                    spec["batch_size"] = int(_python(sides[name], "from ingest_pipeline.settings import NEO4J_BATCH_SIZE as s; print(s.default)"))
                    out = bench.child(f"{name}-{mode}", spec)
                    if round_:
                        step = out["steps"][0]
                        results[name].setdefault(label, []).append(
                            {"wall_s": step["wall_s"], "rows": step["graph"].get("graph_rows_written"),
                             "neo4j_s": step["graph"].get("neo4j_seconds"), "rss_mb": out["rss"]["total_mb"]})
                    print(f"round {round_} {name:6} {label}: {out['steps'][0]['wall_s']:.2f}s", flush=True)
    finally:
        for name, root in sides.items():
            if name in servers:
                _python(root, STOP_NEO4J, str(servers[name]))
    table = ["| Scenario | before s | after s | × | before rows/s | after rows/s | × | before RSS MB | after RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summary = {}
    for label in results["after"]:
        row = {}
        for name in sides:
            runs = results[name][label]
            row[name] = {"wall_s": statistics.median(r["wall_s"] for r in runs),
                         "rows_per_s": statistics.median(r["rows"] / r["neo4j_s"] for r in runs if r["neo4j_s"]),
                         "rss_mb": max(r["rss_mb"] for r in runs), "runs": runs}
        summary[label] = row
        b, a = row["before"], row["after"]
        table.append(f"| {label} | {b['wall_s']:.2f} | {a['wall_s']:.2f} | {b['wall_s'] / a['wall_s']:.2f}× | "
                     f"{b['rows_per_s']:.0f} | {a['rows_per_s']:.0f} | {a['rows_per_s'] / b['rows_per_s']:.2f}× | "
                     f"{b['rss_mb']:.0f} | {a['rss_mb']:.0f} |")
    print("\n".join(table))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps({"rounds": args.rounds, "files": args.files, "summary": summary,
                                             "load": benches["after"].load + benches["before"].load}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
