"""Metrics pushed through dagster-prometheus, read back from a real Pushgateway; the dashboard's queries."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

from dagster import DagsterInstance, build_sensor_context, instance_for_test
from dagster_prometheus import PrometheusResource
from prometheus_client.parser import text_string_to_metric_families

from ingest_pipeline.batching import BatchingPolicy
from ingest_pipeline.metrics import exposed_names
from ingest_pipeline.resources import LedgerResource
from ingest_pipeline.sensors import build_sql_files_sensor
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline_tests.support import run_ingest

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "ingest-pipeline.json"


def scrape(gateway: str) -> dict[tuple[str, str], float]:
    """(series name, source label) -> value, for the pipeline's series on the gateway."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("job") == "ingest_pipeline" and "le" not in sample.labels:
                values[(sample.name, sample.labels.get("source", ""))] = sample.value
    return values


def test_runs_push_totals_that_add_up(resources, warehouse, pushgateway):
    resources = {**resources, "prometheus": PrometheusResource(gateway=pushgateway)}
    resources["ledger"].open().accumulate_metrics({})  # start from an empty ledger: totals begin at 0

    run_ingest(resources, warehouse)
    first = scrape(pushgateway)
    run_ingest(resources, warehouse, force=True)
    second = scrape(pushgateway)

    assert first[("files_processed_total", "runs")] == 3
    assert first[("parse_cache_miss_total", "runs")] == 3 and first[("parse_cache_hit_total", "runs")] == 0
    assert first[("parse_errors_total", "runs")] == 1
    assert second[("files_processed_total", "runs")] == 6
    assert second[("parse_cache_hit_total", "runs")] == 3  # the forced rerun parses nothing
    assert second[("batch_size_histogram_count", "runs")] == 2
    assert second[("batch_processing_duration_seconds_count", "runs")] == 2
    assert second[("neo4j_batch_duration_seconds_count", "runs")] == second[("neo4j_batch_create_total", "runs")] > 0
    assert second[("parse_cache_entries", "runs")] == 3
    assert second[("active_workers", "workers")] == 0
    assert Ledger(Path(resources["ledger"].path)).accumulate_metrics({})[("ingest_runs_total", "")] == 2


def test_unreachable_gateway_costs_a_warning_not_the_run(resources, warehouse):
    resources = {**resources, "prometheus": PrometheusResource(gateway="http://127.0.0.1:1")}

    with DagsterInstance.ephemeral() as instance:
        result = run_ingest(resources, warehouse, instance=instance)
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]

    assert result.success
    assert any("could not push metrics to PROMETHEUS_PUSHGATEWAY=http://127.0.0.1:1" in m for m in messages)


def test_every_dashboard_query_uses_an_emitted_metric():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    functions = {"sum", "rate", "increase", "max", "histogram_quantile", "clamp_min", "by", "le", "job"}
    queried = {name for expr in exprs for name in re.findall(r"\b[a-z_][a-z0-9_]*(?=[{\[(\s)]|$)", expr)} - functions

    assert queried, "the dashboard queries nothing"
    assert queried <= exposed_names(), queried - exposed_names()
    wanted = {"files_processed_total", "parse_cache_hit_total", "files_failed_total", "neo4j_batch_duration_seconds_bucket", "queue_size"}
    assert wanted <= queried


def test_sensor_pushes_deduplication_and_queue_size(tmp_path, monkeypatch, pushgateway):
    folder = tmp_path / "sql"
    folder.mkdir()
    monkeypatch.setenv("INGEST_SOURCE_DIR", str(folder))
    clock = iter([100.0, 101.0, 102.0])
    sensor = build_sql_files_sensor(lambda: next(clock), BatchingPolicy(debounce_seconds=60))
    resources = {"ledger": LedgerResource(path=str(tmp_path / "ledger.db")), "prometheus": PrometheusResource(gateway=pushgateway)}
    (folder / "a.sql").write_text("SELECT 1")
    (folder / "b.sql").write_text("SELECT 1")

    with instance_for_test() as instance:
        for edit in ("SELECT 2", "SELECT 33"):  # a.sql changes twice while the folder is never quiet
            sensor(build_sensor_context(instance=instance, resources=resources))
            (folder / "a.sql").write_text(edit)
        sensor(build_sensor_context(instance=instance, resources=resources))

    values = scrape(pushgateway)
    assert values[("events_deduplicated_total", "sensor")] == 2
    assert values[("queue_size", "sensor")] == 2
