"""Robustness of the lineage extractor over a real corpus: Mozilla's bigquery-etl (2,136 BigQuery files).

The corpus lives outside the repository (`../shared/corpora/bigquery-etl` from the repo root); the
tests skip when it is absent. One extraction of the whole corpus (about 5 s) is shared by all tests.

Measured with extractor version 3: 176 files are templated (Jinja); of the 1,960 others 1,953
(99.6 %) have no ERROR statement (the rest are BigQuery scripting / procedures sqlglot cannot
parse); all 804 views get column lineage; no statement records a column error.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from ingest_pipeline.lineage.catalog import build_catalog, star_tables
from ingest_pipeline.lineage.expansion import expand_stars
from ingest_pipeline.lineage.extract import extract_lineage
from ingest_pipeline.lineage.model import ColumnRef, FileLineage

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpora/bigquery-etl"
DIALECT = "bigquery"
# Honest floors, a little below what version 3 measures (see the module docstring).
MIN_CLEAN_FILE_SHARE = 0.99
MIN_FILES = 2000

_TEMPLATE = re.compile(r"\{\{|\{%|\{#")
_ANALYSED_KINDS_WITH_ERROR = {"ERROR", "COMMAND"}


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[str, FileLineage]]:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    files = sorted(CORPUS.rglob("*.sql"))
    if not files:
        pytest.skip(f"no .sql files under {CORPUS}")
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.CRITICAL)  # "falling back to Command" warnings, one per script line
    results: dict[str, tuple[str, FileLineage]] = {}
    escaped: list[str] = []
    try:
        for path in files:
            text = path.read_bytes().decode("utf-8", errors="replace")
            name = path.relative_to(CORPUS).as_posix()
            try:
                results[name] = (text, extract_lineage(text, DIALECT))
            except Exception as error:  # noqa: BLE001 - the assertion below reports them all
                escaped.append(f"{name}: {type(error).__name__}: {error}")
    finally:
        sqlglot_logger.setLevel(level)
    assert not escaped, "extract_lineage raised:\n" + "\n".join(escaped[:20])
    return results


def test_corpus_is_present_and_complete(corpus):
    assert len(corpus) >= MIN_FILES


def test_every_statement_has_lineage_or_a_recorded_error(corpus):
    problems = []
    for name, (_, lineage) in corpus.items():
        assert lineage.dialect == DIALECT
        assert [s.index for s in lineage.statements] == list(range(len(lineage.statements)))
        for statement in lineage.statements:
            if statement.kind in _ANALYSED_KINDS_WITH_ERROR:
                ok = bool(statement.error) and not statement.reads and not statement.writes
            else:
                ok = statement.error is None
            if not ok or statement.line < 1:
                problems.append(f"{name}#{statement.index}: {statement.kind} {statement.error!r}")
            if statement.views and not set(statement.views) <= set(statement.writes):
                problems.append(f"{name}#{statement.index}: views not among writes")
    assert not problems, "\n".join(problems[:20])


def test_templated_files_are_recorded_as_such(corpus):
    for name, (text, lineage) in corpus.items():
        if _TEMPLATE.search(text):
            assert lineage.templated, name
            [statement] = lineage.statements
            assert statement.kind == "ERROR" and "templated" in statement.error
        else:
            assert lineage.templated is None, name


def test_most_plain_files_parse_without_error(corpus):
    plain = [lineage for text, lineage in corpus.values() if lineage.templated is None]
    clean = [lineage for lineage in plain if all(s.kind != "ERROR" for s in lineage.statements)]
    share = len(clean) / len(plain)
    assert share >= MIN_CLEAN_FILE_SHARE, f"{len(clean)}/{len(plain)} = {share:.3%} plain files without ERROR"


def test_views_get_column_lineage_and_columns_never_fail(corpus):
    statements = [s for _, lineage in corpus.values() for s in lineage.statements]
    views = [s for s in statements if s.kind == "CREATE_VIEW"]
    assert len(views) > 700
    assert all(s.defined_columns and s.columns for s in views)
    failures = [f"{s.kind}: {s.column_error}" for s in statements if s.column_error]
    assert not failures, failures[:10]
    for statement in statements:
        for edge in statement.columns:
            assert edge.target.table in statement.writes, (statement.kind, edge.target)
            assert edge.sources == sorted(set(edge.sources))


def test_serialised_lineage_round_trips(corpus):
    for name, (_, lineage) in corpus.items():
        assert FileLineage.from_dict(lineage.to_dict()) == lineage, name


def test_catalog_from_the_corpus_expands_stars(corpus):
    definitions: dict[str, list[ColumnRef]] = {}
    for _, lineage in corpus.values():
        for statement in lineage.statements:
            if statement.defined_columns and statement.writes:
                definitions[statement.writes[0].fqn] = statement.defined_columns
    catalog = build_catalog(definitions)
    assert len(catalog) == len(definitions) > 700
    expanded_any = False
    for _, lineage in corpus.values():
        for statement in lineage.statements:
            expanded = expand_stars(statement, catalog)
            stars_before = sum(1 for e in statement.columns for r in (e.target, *e.sources) if r.is_star)
            stars_after = sum(1 for e in expanded for r in (e.target, *e.sources) if r.is_star)
            assert stars_after <= stars_before
            expanded_any |= stars_after < stars_before
            assert star_tables(statement) <= star_tables(statement, definitions)
    assert expanded_any


def test_table_lineage_does_not_depend_on_column_lineage(corpus):
    """columns=False skips the column work and changes nothing else (checked on a sample)."""
    for name, (text, lineage) in list(corpus.items())[::10]:
        tables_only = extract_lineage(text, DIALECT, columns=False)
        for full, bare in zip(lineage.statements, tables_only.statements, strict=True):
            assert (bare.kind, bare.reads, bare.writes, bare.views, bare.error) == (
                full.kind,
                full.reads,
                full.writes,
                full.views,
                full.error,
            ), name
            assert bare.columns == bare.defined_columns == [] and bare.column_error is None
