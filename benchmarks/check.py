#!/usr/bin/env python3
"""`make bench-check`: fail when a benchmark ratio got more than 10% worse than the committed baseline.

Reads benchmarks/results/latest.json (running benchmarks/run.py first when it is missing) and compares
its `ratios` - speedups over the unoptimised baseline, overheads over bare sqlglot parsing, the parse
workers scaling, cache hit rate - with benchmarks/baseline.json. Absolute times are never compared:
they depend on the machine, ratios much less.

    python benchmarks/check.py                    # compare (exit 1 if any ratio worsened > 10%)
    python benchmarks/check.py --run              # run the full suite first, then compare
    python benchmarks/check.py --tolerance 0.15   # or BENCH_TOLERANCE=0.15
    python benchmarks/check.py --confirm 1        # noisy runner: re-run once before declaring a ratio worse
    python benchmarks/check.py --update-baseline  # make latest.json the new committed baseline
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_RESULTS = HERE / "results" / "latest.json"
DEFAULT_BASELINE = HERE / "baseline.json"
DEFAULT_TOLERANCE = 0.10


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def comparable(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Reasons the two runs cannot be compared (different corpus), empty when they can."""
    problems = []
    for key in ("files", "seed", "quick"):
        b, c = baseline.get("config", {}).get(key), current.get("config", {}).get(key)
        if b != c:
            problems.append(f"config.{key}: baseline {b!r}, current {c!r}")
    return problems


def compare(baseline: dict[str, Any], current: dict[str, Any], tolerance: float) -> tuple[list[dict[str, Any]], bool]:
    rows, worse = [], False
    current_ratios = current.get("ratios", {})
    for name, base in sorted(baseline.get("ratios", {}).items()):
        if base.get("compare") is False:
            continue
        better = base["better"]
        now = current_ratios.get(name)
        if now is None or now.get("value") is None:
            rows.append({"ratio": name, "baseline": base["value"], "current": None, "change": None, "status": "SKIP",
                         "better": better, "description": base.get("description", "")})
            continue
        b, c = float(base["value"]), float(now["value"])
        change = (c - b) / b if b else 0.0
        if better == "higher":
            status = "WORSE" if c < b * (1 - tolerance) else ("better" if c > b * (1 + tolerance) else "ok")
        else:
            status = "WORSE" if c > b * (1 + tolerance) else ("better" if c < b * (1 - tolerance) else "ok")
        worse |= status == "WORSE"
        rows.append({"ratio": name, "baseline": b, "current": c, "change": change, "status": status, "better": better,
                     "description": base.get("description", "")})
    for name in sorted(set(current_ratios) - set(baseline.get("ratios", {}))):
        if current_ratios[name].get("compare") is not False:
            rows.append({"ratio": name, "baseline": None, "current": current_ratios[name]["value"], "change": None,
                         "status": "NEW", "better": current_ratios[name]["better"],
                         "description": current_ratios[name].get("description", "")})
    return rows, worse


def best_of(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """first, with each ratio replaced by second's when second's is better."""
    merged = json.loads(json.dumps(first))
    for name, ratio in second.get("ratios", {}).items():
        mine = merged.setdefault("ratios", {}).get(name)
        if mine is None or mine.get("value") is None:
            merged["ratios"][name] = ratio
            continue
        if ratio.get("value") is None:
            continue
        better = ratio["value"] > mine["value"] if ratio["better"] == "higher" else ratio["value"] < mine["value"]
        if better:
            merged["ratios"][name] = ratio
    return merged


def print_table(rows: list[dict[str, Any]], tolerance: float) -> None:
    width = max([len(r["ratio"]) for r in rows] + [5])
    header = f"{'ratio':<{width}}  {'better':>6}  {'baseline':>10}  {'current':>10}  {'change':>8}  status"
    print(header)
    print("-" * len(header))
    for r in rows:
        base = "-" if r["baseline"] is None else f"{r['baseline']:.3f}"
        cur = "-" if r["current"] is None else f"{r['current']:.3f}"
        change = "-" if r["change"] is None else f"{r['change'] * 100:+.1f}%"
        print(f"{r['ratio']:<{width}}  {r['better']:>6}  {base:>10}  {cur:>10}  {change:>8}  {r['status']}")
    print(f"\nWORSE = moved in the bad direction by more than {tolerance:.0%}; SKIP = not measured in this run "
          "(e.g. the bigquery-etl corpus is absent); NEW = not in the baseline yet.")


def make_baseline(results: dict[str, Any], source: Path) -> dict[str, Any]:
    return {
        "schema": results.get("schema"),
        "note": "Ratios from a real `make bench` run; compared by `make bench-check` (benchmarks/check.py). "
        "Refresh with `python benchmarks/check.py --update-baseline` after an intended performance change.",
        "created_at": results.get("created_at"),
        "source": str(source.relative_to(ROOT)) if source.is_relative_to(ROOT) else str(source),
        "host": results.get("host"),
        "config": results.get("config"),
        "corpus": {k: results.get("corpus", {}).get(k) for k in ("files", "seed", "bytes", "lines")},
        "ratios": results.get("ratios"),
        "targets": results.get("targets"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="compare benchmark ratios with the committed baseline (make bench-check)")
    parser.add_argument("--results", default=str(DEFAULT_RESULTS), help="results of a run (default benchmarks/results/latest.json)")
    parser.add_argument("--baseline", default=str(DEFAULT_BASELINE), help="committed baseline (default benchmarks/baseline.json)")
    parser.add_argument("--tolerance", type=float, default=float(os.environ.get("BENCH_TOLERANCE", DEFAULT_TOLERANCE)),
                        help="allowed worsening, as a fraction (default 0.10)")
    parser.add_argument("--run", action="store_true", help="run benchmarks/run.py first even when results exist")
    parser.add_argument("--confirm", type=int, default=int(os.environ.get("BENCH_CONFIRM", 0)),
                        help="when a ratio is worse, re-run the suite up to N times and keep each ratio's best value "
                        "(for noisy machines; default 0)")
    parser.add_argument("--update-baseline", action="store_true", help="write the results' ratios to the baseline file and exit")
    args = parser.parse_args(argv)
    results_path, baseline_path = Path(args.results), Path(args.baseline)

    if args.run or not results_path.exists():
        if not args.run:
            print(f"{results_path} does not exist: running the benchmark suite first (make bench)", flush=True)
        command = [sys.executable, str(HERE / "run.py"), "--output", str(results_path)]
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
            print("bench-check: the benchmark run failed", file=sys.stderr)
            return 1
    current = load(results_path)

    if args.update_baseline:
        baseline_path.write_text(json.dumps(make_baseline(current, results_path.resolve()), indent=2) + "\n")
        print(f"wrote {baseline_path} from {results_path} ({len(current.get('ratios', {}))} ratios)")
        return 0
    if not baseline_path.exists():
        print(f"bench-check: no baseline at {baseline_path}; create one with --update-baseline", file=sys.stderr)
        return 1
    baseline = load(baseline_path)

    print(f"bench-check: {results_path} ({current.get('created_at')}) vs {baseline_path} ({baseline.get('created_at')})")
    problems = comparable(baseline, current)
    if problems:
        print("bench-check: the results are not comparable with the baseline - " + "; ".join(problems), file=sys.stderr)
        print("run the same configuration as the baseline (`make bench`, default options) and check again.", file=sys.stderr)
        return 1
    rows, worse = compare(baseline, current, args.tolerance)
    for attempt in range(1, args.confirm + 1):
        if not worse:
            break
        names = ", ".join(r["ratio"] for r in rows if r["status"] == "WORSE")
        print(f"\nworse than the baseline: {names} - confirming with run {attempt} of {args.confirm}", flush=True)
        again_path = results_path.with_name(f"confirm-{attempt}.json")
        command = [sys.executable, str(HERE / "run.py"), "--output", str(again_path)]
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
            print("bench-check: the confirmation run failed", file=sys.stderr)
            return 1
        again = load(again_path)
        current = best_of(current, again)
        rows, worse = compare(baseline, current, args.tolerance)
    print()
    print_table(rows, args.tolerance)
    targets = current.get("targets") or []
    if targets:
        print("\ntargets of this run (informational):")
        for t in targets:
            value = "-" if t.get("value") is None else f"{t['value']:.2f}"
            print(f"  [{t['status']:<4}] {t['target']:<44} {value} ({t['op']} {t['threshold']})")
    if worse:
        names = ", ".join(r["ratio"] for r in rows if r["status"] == "WORSE")
        print(f"\nbench-check FAILED: worse than the baseline by more than {args.tolerance:.0%}: {names}")
        return 1
    print("\nbench-check passed: no ratio worsened by more than " + f"{args.tolerance:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
