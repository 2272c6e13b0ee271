"""Asset checks on `sql_lineage_graph`: run after every ingest, and launchable alone from the UI.

One step evaluates the checks selected (all of them after an ingest): the ledger and the graph agree
on the files, the writer left no orphan tables or columns, no file is dead-lettered or parked (WARN),
the parse-error rate is under INGEST_PARSE_ERROR_RATE_MAX (WARN), and the graph was last written
under the contract this code writes. The Cypher is in graph/health.py. No `from __future__ import
annotations` here: Dagster reads the check function's signature at import time.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)

from ingest_pipeline import dead_letters, settings
from ingest_pipeline.graph import health
from ingest_pipeline.jobs.ingest import GRAPH_ASSET
from ingest_pipeline.jobs.summary import names, plural
from ingest_pipeline.resources import LedgerResource, Neo4jResource
from ingest_pipeline.sources import source_of
from ingest_pipeline.state.ledger import FAILED, INGESTED

LISTED = 50  # names listed in a check's description and metadata at most

LEDGER, ORPHANS, FAILED_FILES, PARSE_ERRORS, CONTRACT = (
    "ledger_matches_graph",
    "no_orphan_nodes",
    "no_failed_files",
    "parse_error_rate",
    "graph_contract_version",
)
SPECS = [
    AssetCheckSpec(LEDGER, asset=GRAPH_ASSET, description="Files the ledger marks ingested are in the graph with the same bytes, and every file the graph holds for the ledger's sources is in the ledger."),
    AssetCheckSpec(ORPHANS, asset=GRAPH_ASSET, description="No Table that no statement reads or writes, and no Column that nothing derives from, into or defines (or that has no table)."),
    AssetCheckSpec(FAILED_FILES, asset=GRAPH_ASSET, description="No file in the dead-letter file (INGEST_DEAD_LETTER_PATH) and none parked after INGEST_MAX_ATTEMPTS failed runs (WARN; lists them)."),
    AssetCheckSpec(PARSE_ERRORS, asset=GRAPH_ASSET, description="At most INGEST_PARSE_ERROR_RATE_MAX of the graph's statements failed to parse (WARN; lists file:line: message)."),
    AssetCheckSpec(CONTRACT, asset=GRAPH_ASSET, description=f"The graph was last written under graph contract v{health.CONTRACT_VERSION} (IngestMeta.contract_version), the one this code reads."),
]


def _listing(items: list[str], total: int) -> str:
    return "\n".join(f"- `{item}`" for item in items[:LISTED]) + (f"\n- … and {total - LISTED} more" if total > LISTED else "")


def check_ledger(neo4j: Neo4jResource, ledger: LedgerResource) -> AssetCheckResult:
    state = ledger.open()
    try:
        entries = state.entries()
    finally:
        state.close()
    ingested = {key: e.sha256 for key, e in entries.items() if e.status == INGESTED}
    sources = {source_of(key) for key in entries} | {settings.INGEST_SOURCE_NAME.current()}
    found = health.ledger_disagreement(ingested, set(entries), neo4j.query(health.GRAPH_FILES), sources)
    problems = [f"{key}: {why}" for key, why in found.missing_from_graph.items()]
    problems += [f"{key}: in the graph, not in the ledger" for key in found.missing_from_ledger]
    return AssetCheckResult(
        check_name=LEDGER,
        passed=not problems,
        description=(
            f"ledger and graph agree on {plural(len(ingested), 'ingested file')}"
            if not problems
            else f"{plural(found.count, 'file')} disagree; the next run (or full_reconcile) writes them again:\n{_listing(problems, len(problems))}"
        ),
        metadata={"files_ingested_in_ledger": len(ingested), "files_disagreeing": found.count, "examples": MetadataValue.json(problems[:LISTED])},
    )


def check_orphans(neo4j: Neo4jResource) -> AssetCheckResult:
    tables = [r["name"] for r in neo4j.query(health.ORPHAN_TABLES)]
    columns = [r["name"] for r in neo4j.query(health.ORPHAN_COLUMNS)]
    orphans = [f"Table {t}" for t in tables] + [f"Column {c}" for c in columns]
    return AssetCheckResult(
        check_name=ORPHANS,
        passed=not orphans,
        description="no orphan tables or columns" if not orphans else f"{plural(len(orphans), 'orphan node')}:\n{_listing(orphans, len(orphans))}",
        metadata={"orphan_tables": len(tables), "orphan_columns": len(columns), "examples": MetadataValue.json(orphans[:LISTED])},
    )


def check_failed_files(neo4j: Neo4jResource, ledger: LedgerResource) -> AssetCheckResult:
    dead_letter_path = Path(neo4j.dead_letter_path)
    dead = dead_letters.failed_files(dead_letter_path)
    max_attempts = settings.INGEST_MAX_ATTEMPTS.current()
    state = ledger.open()
    try:
        parked = sorted(k for k, e in state.entries().items() if e.status == FAILED and e.attempts >= max_attempts)
    finally:
        state.close()
    listed = [f"{path} (dead-lettered)" for path in dead] + [f"{path} (parked after {max_attempts} failed runs)" for path in parked]
    return AssetCheckResult(
        check_name=FAILED_FILES,
        passed=not listed,
        severity=AssetCheckSeverity.WARN,
        description=(
            "no dead-lettered or parked files"
            if not listed
            else f"{names(dead, 5)} dead-lettered (replay_failed re-ingests them), {names(parked, 5)} parked "
            f"(retried when their bytes change, or by a launch with force: true):\n{_listing(listed, len(listed))}"
        ),
        metadata={
            "dead_lettered": len(dead),
            "parked": len(parked),
            "files": MetadataValue.json(listed[:LISTED]),
            "dead_letter_file": MetadataValue.path(str(dead_letter_path.resolve())),
        },
    )


def check_parse_errors(neo4j: Neo4jResource) -> AssetCheckResult:
    limit = settings.INGEST_PARSE_ERROR_RATE_MAX.current()
    counts = neo4j.query(health.STATEMENT_COUNTS)[0]
    statements, errors = counts["statements"], counts["errors"]
    rate = errors / statements if statements else 0.0
    listed = [str(e) for e in health.parse_errors(neo4j.query(health.PARSE_ERRORS, limit=LISTED))]
    verdict = f"{errors} of {statements} statements have parse errors ({rate:.1%}; INGEST_PARSE_ERROR_RATE_MAX={limit:.1%})"
    return AssetCheckResult(
        check_name=PARSE_ERRORS,
        passed=rate <= limit,
        severity=AssetCheckSeverity.WARN,
        description=verdict + (f":\n{_listing(listed, errors)}" if listed else ""),
        metadata={"statements": statements, "parse_errors": errors, "parse_error_rate": round(rate, 4), "threshold": limit, "errors": MetadataValue.json(listed)},
    )


def check_contract(neo4j: Neo4jResource) -> AssetCheckResult:
    version = neo4j.query(health.CONTRACT)[0]["version"]
    files = neo4j.query(health.GRAPH_FILES)
    expected = health.CONTRACT_VERSION
    if version == expected or (version is None and not files):
        description, passed = f"graph contract v{expected}" if version else "empty graph: no contract recorded yet", True
    elif version is None:
        description, passed = "the graph records no contract version: written before versions were recorded; a run with force: true rewrites it", False
    elif version > expected:
        description, passed = f"the graph was written under contract v{version}, newer than v{expected} this code reads: upgrade the pipeline", False
    else:
        description, passed = f"the graph was written under contract v{version}; this code writes v{expected}: a run with force: true rewrites it", False
    return AssetCheckResult(
        check_name=CONTRACT,
        passed=passed,
        description=description,
        metadata={"graph_contract_version": version if version is not None else 0, "expected_contract_version": expected},
    )


@multi_asset_check(specs=SPECS, can_subset=True, name="sql_lineage_graph_checks")
def graph_checks(context: AssetCheckExecutionContext, neo4j: Neo4jResource, ledger: LedgerResource) -> Iterator[AssetCheckResult]:
    """The selected checks of sql_lineage_graph (all of them after an ingest)."""
    evaluations: dict[str, Callable[[], AssetCheckResult]] = {
        LEDGER: lambda: check_ledger(neo4j, ledger),
        ORPHANS: lambda: check_orphans(neo4j),
        FAILED_FILES: lambda: check_failed_files(neo4j, ledger),
        PARSE_ERRORS: lambda: check_parse_errors(neo4j),
        CONTRACT: lambda: check_contract(neo4j),
    }
    for key in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
        result = evaluations[key.name]()
        said = " ".join(result.description.replace("\n- ", "; ").split())
        context.log.info(f"check {key.name}: {'passed' if result.passed else 'FAILED'} — {said[:300]}")
        yield result
