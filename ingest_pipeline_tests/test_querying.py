"""Names as typed -> graph keys, closest matches, search patterns, and the five output formats (pure)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from ingest_pipeline.querying import (
    Answer,
    Edge,
    closest,
    column_candidates,
    render,
    search_regex,
    table_candidates,
)


@pytest.mark.parametrize(
    ("typed", "dialect", "expected"),
    [
        ("RAW.ORDERS", "", ["raw.orders", "RAW.ORDERS"]),  # generic: unquoted names fold to lower case
        ("raw.orders", "", ["raw.orders"]),
        ("  raw.orders ", "postgres", ["raw.orders"]),
        ("raw.orders", "snowflake", ["RAW.ORDERS", "raw.orders"]),  # Snowflake folds to upper case
        ('"marts"."fct_orders"', "snowflake", ["marts.fct_orders", '"marts"."fct_orders"']),  # quoted: kept
        ('"Raw".Orders', "postgres", ["Raw.orders", '"Raw".Orders']),
        ("`proj.Data.Tbl`", "bigquery", ["proj.Data.Tbl", "`proj.Data.Tbl`"]),  # BigQuery table names keep case
        ("moz-fx-data-shared-prod.telemetry.main", "bigquery", ["moz-fx-data-shared-prod.telemetry.main"]),
        ("a.b.c.d", "", ["a.b.c.d"]),  # not a table name sqlglot can read: taken as typed
        ("", "", []),
    ],
)
def test_table_candidates(typed, dialect, expected):
    assert table_candidates(typed, dialect) == expected


@pytest.mark.parametrize(
    ("typed", "dialect", "expected"),
    [
        ("RAW.ORDERS.Order_ID", "", [("raw.orders", "order_id"), ("RAW.ORDERS", "Order_ID")]),
        ('"marts"."fct_orders".net_revenue', "snowflake", [("marts.fct_orders", "NET_REVENUE"), ('"marts"."fct_orders"', "net_revenue")]),
        ("p.d.t.Col", "bigquery", [("p.d.t", "col"), ("p.d.t", "Col")]),  # BigQuery columns are case-insensitive
        ("orders", "", []),  # a column needs its table
    ],
)
def test_column_candidates(typed, dialect, expected):
    assert column_candidates(typed, dialect) == expected


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("marts.custmer_lifetime_value", ["marts.customer_lifetime_value"]),  # a typo
        ("orders", ["raw.orders", "staging.orders"]),  # the bare name of two tables
        ("RAW.ORDER", ["raw.orders", "raw.customers", "staging.orders"]),  # similar spelling, then containing
        ("zzz", []),
    ],
)
def test_closest(wanted, expected):
    known = ["marts.customer_lifetime_value", "raw.customers", "raw.orders", "staging.orders"]
    assert closest(wanted, known) == expected


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("order", ["raw.orders", "RAW.ORDER_ITEMS"], ["raw.customers"]),  # substring, any case
        ("raw.*", ["raw.orders", "x.raw.y"], ["staging.raw_orders"]),  # a glob matches from the start or after a dot
        ("stg_?rders", ["stg_orders", "staging.stg_orders"], ["staging.stg_orders_v2", "xstg_orders"]),
        ("a.b", ["a.b"], ["axb"]),  # the dot is literal
        ("(x", ["(x)"], ["x"]),  # regex syntax in the input is literal
    ],
)
def test_search_regex(pattern, matches, misses):
    regex = re.compile(search_regex(pattern))
    assert all(regex.fullmatch(name) for name in matches)
    assert not any(regex.fullmatch(name) for name in misses)


ANSWER = Answer(
    command="upstream",
    subject="marts.revenue",
    columns=["hops", "table", "kind", "into", "file", "line"],
    rows=[
        {"hops": 1, "table": "staging.orders", "kind": "table", "into": "marts.revenue", "file": "marts/revenue.sql", "line": 2},
        {"hops": 2, "table": 'raw."odd"', "kind": "view", "into": "staging.orders", "file": "staging.sql", "line": None},
    ],
    edges=[
        Edge("staging.orders", "marts.revenue", "marts/revenue.sql:2"),
        Edge('raw."odd"', "staging.orders", "staging.sql"),
    ],
    nodes=["marts.revenue"],
    depth=10,
)


def test_table_format_aligns_columns_and_right_aligns_numbers():
    assert render(ANSWER, "table") == (
        "hops  table           kind   into            file               line\n"
        "----  --------------  -----  --------------  -----------------  ----\n"
        "   1  staging.orders  table  marts.revenue   marts/revenue.sql     2\n"
        '   2  raw."odd"       view   staging.orders  staging.sql\n'
    )
    empty = Answer("upstream", "raw.orders", ANSWER.columns)
    assert render(empty, "table") == "no upstream rows for raw.orders\n"


def test_json_and_csv_carry_every_row():
    body = json.loads(render(ANSWER, "json"))
    assert body["command"] == "upstream" and body["subject"] == "marts.revenue" and body["depth"] == 10
    assert body["rows"] == ANSWER.rows
    rows = list(csv.DictReader(io.StringIO(render(ANSWER, "csv"))))
    assert [row["table"] for row in rows] == ["staging.orders", 'raw."odd"']
    assert rows[1]["line"] == "" and rows[0]["hops"] == "1"


def test_dot_quotes_names_and_marks_the_subject():
    dot = render(ANSWER, "dot")
    assert dot.startswith("digraph lineage {\n  rankdir=LR;")
    assert '"marts.revenue" [label="marts.revenue", style=bold];' in dot
    assert '"raw.\\"odd\\"" -> "staging.orders" [label="staging.sql"];' in dot
    assert '"staging.orders" -> "marts.revenue" [label="marts/revenue.sql:2"];' in dot
    assert dot.rstrip().endswith("}")


def test_mermaid_uses_ids_and_escapes_quotes():
    assert render(ANSWER, "mermaid") == (
        "flowchart LR\n"
        '  n0["marts.revenue"]\n'
        '  n1["staging.orders"]\n'
        '  n2["raw.#quot;odd#quot;"]\n'
        '  n1 -->|"marts/revenue.sql:2"| n0\n'
        '  n2 -->|"staging.sql"| n1\n'
        "  style n0 stroke-width:3px\n"
    )
