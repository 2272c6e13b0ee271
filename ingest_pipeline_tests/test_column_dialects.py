"""Dialect rules of column lineage: which dialects resolve lateral aliases, how unaliased columns are named."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot.dialects.dialect import Dialect

from ingest_pipeline.lineage.column_dialects import MAX_EXPRESSION_NAME, ExpressionNames, allows_lateral_aliases, without_phrases


@pytest.mark.parametrize(
    ("dialect", "allowed"),
    [
        ("", True),
        ("snowflake", True),
        ("redshift", True),
        ("databricks", True),
        ("spark", True),
        ("duckdb", True),
        ("teradata", True),
        ("clickhouse", True),
        ("bigquery", False),
        ("postgres", False),
        ("tsql", False),
        ("mysql", False),
        ("oracle", False),
        ("trino", False),
        ("hive", False),
        ("spark2", False),
    ],
)
def test_lateral_alias_dialects(dialect, allowed):
    assert allows_lateral_aliases(Dialect.get_or_raise(dialect or None)) is allowed


def projection(sql: str, dialect: str) -> sqlglot.exp.Expression:
    return sqlglot.parse_one(f"SELECT {sql} FROM t", read=dialect or None).expressions[0]


@pytest.mark.parametrize(
    ("dialect", "sql", "name"),
    [
        ("", "MAX(Col1)", "max(col1)"),
        ("", "CASE WHEN a = 1 THEN 'Yes' END", "case when a = 1 then 'Yes' end"),
        ("postgres", 'x + "Mixed"', 'x + "Mixed"'),
        ("snowflake", "sum(amount) /* note */", "SUM(AMOUNT)"),
        ("tsql", "[Col A] + 1", "[Col A] + 1"),
        ("bigquery", "`Proj.ds.T`.a || 'Z'", "`Proj.ds.T`.`a` || 'Z'"),  # quoted parts keep their case
        ("clickhouse", "plus(A, 1)", "plus(A, 1)"),  # case-sensitive identifiers are kept as written
    ],
)
def test_expression_names(dialect, sql, name):
    names = ExpressionNames(Dialect.get_or_raise(dialect or None))
    assert names.name(projection(sql, dialect)) == name


def test_long_expressions_are_cut():
    names = ExpressionNames(Dialect.get_or_raise(None))
    name = names.name(projection(" + ".join(f"column_{i}" for i in range(40)), ""))
    assert len(name) == MAX_EXPRESSION_NAME + 1 and name.endswith("…")


def test_values_columns():
    assert ExpressionNames(Dialect.get_or_raise("snowflake")).values_column(0) == "COLUMN1"
    assert ExpressionNames(Dialect.get_or_raise("postgres")).values_column(1) == "column2"


@pytest.mark.parametrize(
    ("dialect", "sql", "kept"),
    [
        ("postgres", "a::date", "a"),  # PostgreSQL names the column after a
        ("postgres", "CAST(a AS DATE)", None),  # the explicit CAST is named by its text
        ("teradata", "a (FORMAT 'YYYY')", "a"),
        ("tsql", "a COLLATE Latin1_General_CS_AS", "a"),
        ("postgres", "(a + 1)::int", None),
    ],
)
def test_phrases_that_keep_the_column(dialect, sql, kept):
    node = without_phrases(projection(sql, dialect))
    assert (node.name if isinstance(node, sqlglot.exp.Column) else None) == kept
