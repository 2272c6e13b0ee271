"""Pushing the pipeline's metrics through dagster-prometheus's PrometheusResource."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from dagster_prometheus import PrometheusResource

from ingest_pipeline.metrics import PUSH_JOB, TotalKey, TotalsCollector
from ingest_pipeline.state.ledger import Ledger


def push_metrics(
    prometheus: PrometheusResource,
    ledger: Ledger,
    log: logging.Logger,
    *,
    source: str,
    names: Iterable[str],
    increments: Mapping[TotalKey, float] | None = None,
    gauges: Mapping[str, float] | None = None,
    announce: bool = True,
) -> bool:
    """Add increments to the stored totals and, when PROMETHEUS_PUSHGATEWAY is set, push `names` to the
    gateway group {job="ingest_pipeline", source=<source>}. A gateway that cannot be reached costs a
    warning, never the run; the totals are kept and go out with the next push."""
    pushed = False

    def publish(totals: dict[TotalKey, float]) -> None:
        nonlocal pushed
        collector = TotalsCollector(names, totals, gauges or {})
        prometheus.registry.register(collector)
        try:
            prometheus.push_to_gateway(job=PUSH_JOB, grouping_key={"source": source})
            pushed = True
        except OSError as error:
            log.warning(f"could not push metrics to PROMETHEUS_PUSHGATEWAY={prometheus.gateway}: {error}")
        finally:
            prometheus.registry.unregister(collector)

    if not prometheus.gateway:
        ledger.accumulate_metrics(dict(increments or {}))
        if announce:
            log.info("PROMETHEUS_PUSHGATEWAY is not set: metrics are kept in the ledger but not pushed")
        return False
    ledger.accumulate_metrics(dict(increments or {}), publish)
    return pushed
