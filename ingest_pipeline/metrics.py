"""Prometheus metrics: their names, what a run or a sensor tick adds to them, and the exposition.

The Pushgateway keeps the last value pushed per group; it does not add. So counters and histogram
buckets are kept as running totals in the ledger's SQLite, incremented and pushed in one
transaction (one pusher at a time, never a stale total after a newer one), and each source pushes
only its own metrics to its own group: `source="runs"` from each run's report step (which
aggregates every parse step, so parallel steps never overwrite each other), `source="sensor"`
from sql_files_sensor, and `source="workers"` for active_workers (set when a run plans, 0 when it
ends). docs/metrics.md describes every metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

PUSH_JOB = "ingest_pipeline"

COUNTERS = {
    "parse_cache_hit_total": "Files whose lineage came from the parse cache.",
    "parse_cache_miss_total": "Files parsed because the cache had no entry for their bytes.",
    "events_deduplicated_total": "Repeated changes of one pending file collapsed into one by the sensor.",
    "files_processed_total": "Files whose lineage was written to the graph.",
    "files_failed_total": "Files that could not be ingested (unreadable or dead-lettered).",
    "files_unchanged_total": "Files skipped because the ledger says their bytes are already in the graph.",
    "files_deleted_total": "Deleted files removed from the graph.",
    "parse_errors_total": "Statements recorded as ERROR (unparseable, templated, over limits).",
    "neo4j_batch_create_total": "UNWIND batches sent to Neo4j.",
    "neo4j_entities_created_total": "Nodes created in Neo4j.",
    "neo4j_relationships_created_total": "Relationships created in Neo4j.",
    "neo4j_retries_total": "Neo4j transactions retried after a transient error.",
    "neo4j_batch_splits_total": "Failing transaction groups split into smaller ones.",
    "neo4j_dead_letters_total": "Files Neo4j rejected on their own, written to the dead-letter file.",
    "ingest_runs_total": "Ingest runs that reached their report step.",
}
GAUGES = {
    "parse_cache_entries": "Entries in the parse cache after the last run.",
    "queue_size": "Changes pending in the sensor plus files in requested batches, at the last tick.",
    "active_workers": "Parse workers the last run used (0 once it finished).",
}
HISTOGRAMS = {
    "batch_size_histogram": ("Files per ingest run (its batch).", (1, 5, 10, 50, 100, 500, 1000, 5000, 10000)),
    "batch_processing_duration_seconds": (
        "Wall seconds of an ingest run, plan to report.",
        (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
    ),
    "neo4j_batch_duration_seconds": (
        "Seconds one UNWIND batch took inside its transaction.",
        (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    ),
}
SENSOR_METRICS = ("events_deduplicated_total", "queue_size")
WORKER_METRICS = ("active_workers",)
RUN_METRICS = tuple(n for n in COUNTERS if n not in SENSOR_METRICS) + ("parse_cache_entries",) + tuple(HISTOGRAMS)

# Totals are keyed by (metric name, series): "" for a counter, the bucket bound or "sum"/"count".
TotalKey = tuple[str, str]


@dataclass
class RunCounts:
    """What one ingest run did, in the units the metrics count."""

    cache_hits: int
    cache_misses: int
    files_processed: int
    files_failed: int
    files_unchanged: int
    files_deleted: int
    parse_errors: int
    neo4j_batches: int
    neo4j_entities: int
    neo4j_relationships: int
    neo4j_retries: int
    neo4j_splits: int
    neo4j_dead_letters: int
    batch_files: int
    run_seconds: float
    neo4j_batch_seconds: list[float]


def run_increments(counts: RunCounts) -> dict[TotalKey, float]:
    increments: dict[TotalKey, float] = {
        ("parse_cache_hit_total", ""): counts.cache_hits,
        ("parse_cache_miss_total", ""): counts.cache_misses,
        ("files_processed_total", ""): counts.files_processed,
        ("files_failed_total", ""): counts.files_failed,
        ("files_unchanged_total", ""): counts.files_unchanged,
        ("files_deleted_total", ""): counts.files_deleted,
        ("parse_errors_total", ""): counts.parse_errors,
        ("neo4j_batch_create_total", ""): counts.neo4j_batches,
        ("neo4j_entities_created_total", ""): counts.neo4j_entities,
        ("neo4j_relationships_created_total", ""): counts.neo4j_relationships,
        ("neo4j_retries_total", ""): counts.neo4j_retries,
        ("neo4j_batch_splits_total", ""): counts.neo4j_splits,
        ("neo4j_dead_letters_total", ""): counts.neo4j_dead_letters,
        ("ingest_runs_total", ""): 1,
    }
    _observe(increments, "batch_size_histogram", [counts.batch_files])
    _observe(increments, "batch_processing_duration_seconds", [counts.run_seconds])
    _observe(increments, "neo4j_batch_duration_seconds", counts.neo4j_batch_seconds)
    return increments


def _observe(increments: dict[TotalKey, float], name: str, values: Iterable[float]) -> None:
    bounds = HISTOGRAMS[name][1]
    for bound in (*bounds, float("inf")):
        increments.setdefault((name, _bound(bound)), 0.0)
    increments.setdefault((name, "sum"), 0.0)
    increments.setdefault((name, "count"), 0.0)
    for value in values:
        for bound in (*bounds, float("inf")):
            if value <= bound:
                increments[(name, _bound(bound))] += 1  # buckets are cumulative: every bound above counts it
        increments[(name, "sum")] += value
        increments[(name, "count")] += 1


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class TotalsCollector:
    """Exposes stored totals and current gauges as metric families, for one push."""

    def __init__(self, names: Iterable[str], totals: Mapping[TotalKey, float], gauges: Mapping[str, float]) -> None:
        self.names = tuple(names)
        self.totals = totals
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for name in self.names:
            if name in COUNTERS:
                counter = CounterMetricFamily(name.removesuffix("_total"), COUNTERS[name])
                counter.add_metric([], self.totals.get((name, ""), 0.0))
                yield counter
            elif name in GAUGES and name in self.gauges:
                yield GaugeMetricFamily(name, GAUGES[name], value=self.gauges[name])
            elif name in HISTOGRAMS:
                bounds = (*HISTOGRAMS[name][1], float("inf"))
                buckets = [(_bound(b), self.totals.get((name, _bound(b)), 0.0)) for b in bounds]
                yield HistogramMetricFamily(
                    name, HISTOGRAMS[name][0], buckets=buckets, sum_value=self.totals.get((name, "sum"), 0.0)
                )


def exposed_names() -> set[str]:
    """Every series name a scrape of the gateway can show (counters with _total, histogram parts)."""
    names = set(COUNTERS) | set(GAUGES)
    for name in HISTOGRAMS:
        names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names
