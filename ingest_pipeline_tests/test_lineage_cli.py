"""`ingest-pipeline lineage …` on the example warehouse (examples/sql) in a real Neo4j."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_pipeline.cli import main

CLI = str(Path(sys.executable).parent / "ingest-pipeline")


@pytest.fixture
def lineage(example_graph, monkeypatch, capsys):
    """Run `ingest-pipeline lineage ARGS` in process against the example graph: (exit code, stdout, stderr)."""
    monkeypatch.setenv("NEO4J_URI", example_graph.uri)
    monkeypatch.delenv("INGEST_DIALECT", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["lineage", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_upstream_table_nearest_first_with_the_file_of_each_edge(lineage):
    code, out, err = lineage("upstream", "marts.daily_revenue")

    assert code == 0 and err == ""
    assert out == (
        "hops  table                    kind   into                     file                                 line\n"
        "----  -----------------------  -----  -----------------------  -----------------------------------  ----\n"
        "   1  marts.fct_orders         table  marts.daily_revenue      marts/daily_revenue.sql                14\n"
        "   2  staging.stg_customers    view   marts.fct_orders         maintenance/purge_test_accounts.sql     3\n"
        "   2  staging.stg_order_items  table  marts.fct_orders         marts/fct_orders.sql                   21\n"
        "   2  staging.stg_orders       table  marts.fct_orders         marts/fct_orders.sql                   21\n"
        "   2  staging.stg_payments     table  marts.fct_orders         marts/fct_orders.sql                   21\n"
        "   2  staging.stg_refunds      view   marts.fct_orders         maintenance/apply_refunds.sql           3\n"
        "   3  raw.customers            table  staging.stg_customers    staging/stg_customers.sql               3\n"
        "   3  raw.customers            table  staging.stg_orders       staging/stg_orders.sql                  5\n"
        "   3  raw.order_items          table  staging.stg_order_items  staging/stg_order_items.sql            22\n"
        "   3  raw.orders               table  staging.stg_order_items  staging/stg_order_items.sql            15\n"
        "   3  raw.orders               table  staging.stg_orders       staging/stg_orders.sql                  5\n"
        "   3  raw.payments             table  staging.stg_payments     staging/stg_payments.sql               14\n"
        "   3  raw.payments             table  staging.stg_refunds      staging/stg_refunds.sql                 2\n"
        "   3  raw.products             table  staging.stg_order_items  staging/stg_order_items.sql            22\n"
        "   3  raw.refunds              table  staging.stg_refunds      staging/stg_refunds.sql                 2\n"
    )


def test_downstream_as_json_and_csv(lineage):
    code, out, _ = lineage("downstream", "raw.payments", "--format", "json", "--depth", "2")

    assert code == 0
    body = json.loads(out)
    assert body["command"] == "downstream" and body["subject"] == "raw.payments" and body["depth"] == 2
    assert [(r["hops"], r["table"], r["from"]) for r in body["rows"]] == [
        (1, "staging.stg_payments", "raw.payments"),
        (1, "staging.stg_refunds", "raw.payments"),
        (2, "marts.customer_lifetime_value", "staging.stg_refunds"),
        (2, "marts.fct_orders", "staging.stg_payments"),
        (2, "marts.fct_orders", "staging.stg_refunds"),
    ]
    code, out, _ = lineage("downstream", "raw.payments", "--format", "csv", "--depth", "1")
    assert code == 0
    assert out.splitlines() == [
        "hops,table,kind,from,file,line",
        "1,staging.stg_payments,table,raw.payments,staging/stg_payments.sql,14",
        "1,staging.stg_refunds,view,raw.payments,staging/stg_refunds.sql,2",
    ]


def test_writers_and_readers_give_file_line_and_kind(lineage):
    assert lineage("writers", "marts.fct_orders") == (
        0,
        "file                                 line  kind\n"
        "-----------------------------------  ----  ------------\n"
        "maintenance/apply_refunds.sql           3  UPDATE\n"
        "maintenance/purge_test_accounts.sql     3  DELETE\n"
        "marts/fct_orders.sql                    5  CREATE_TABLE\n"
        "marts/fct_orders.sql                   21  MERGE\n",
        "",
    )
    code, out, _ = lineage("readers", "raw.payments", "--format", "dot")
    assert code == 0
    assert '"raw.payments" -> "staging/stg_payments.sql" [label="INSERT line 14"];' in out
    assert '"raw.payments" -> "staging/stg_refunds.sql" [label="CREATE_VIEW line 2"];' in out


def test_column_lineage_both_ways(lineage):
    code, out, _ = lineage("column", "marts.customer_lifetime_value.net_revenue", "--format", "mermaid")
    assert code == 0
    assert out == (
        "flowchart LR\n"
        '  n0["marts.customer_lifetime_value.net_revenue"]\n'
        '  n1["marts.fct_orders.net_revenue"]\n'
        '  n2["staging.stg_refunds.refund_amount"]\n'
        '  n3["raw.refunds.amount_cents"]\n'
        '  n1 -->|"marts/customer_lifetime_value.sql:22"| n0\n'
        '  n2 -->|"marts/customer_lifetime_value.sql:22"| n0\n'
        '  n3 -->|"staging/stg_refunds.sql:2"| n2\n'
        "  style n0 stroke-width:3px\n"
    )
    code, out, _ = lineage("column", "raw.orders.order_id", "--downstream", "--format", "csv")
    assert code == 0
    rows = [(r["hops"], r["column"], r["from"]) for r in csv.DictReader(io.StringIO(out))]
    assert rows[:2] == [
        ("1", "staging.stg_orders.customer_order_number", "raw.orders.order_id"),
        ("1", "staging.stg_orders.order_id", "raw.orders.order_id"),
    ]
    assert ("2", "staging.stg_open_orders.order_id", "staging.stg_orders.order_id") in rows


def test_search_finds_tables_then_columns(lineage):
    code, out, _ = lineage("search", "stg_pay*", "--format", "csv", "--limit", "3")
    assert code == 0
    assert out.splitlines() == [
        "type,name,kind",
        "table,staging.stg_payments,table",
        "column,staging.stg_payments.AMOUNT,",
        "column,staging.stg_payments.amount,",
    ]


@pytest.mark.parametrize(
    ("args", "subject"),
    [
        (("upstream", "RAW.ORDERS"), "raw.orders"),  # unquoted names fold to lower case (generic dialect)
        (("upstream", '"raw"."orders"', "--dialect", "postgres"), "raw.orders"),
        (("upstream", "MARTS.FCT_ORDERS", "--dialect", "duckdb"), "marts.fct_orders"),
        (("upstream", "marts.fct_orders", "--dialect", "snowflake"), "marts.fct_orders"),  # the graph's own spelling
        (("column", "RAW.Orders.ORDER_ID"), "raw.orders.order_id"),
    ],
)
def test_names_are_normalised_like_the_graph_stores_them(lineage, args, subject):
    code, out, _ = lineage(*args, "--format", "json")
    assert code == 0 and json.loads(out)["subject"] == subject


@pytest.mark.parametrize(
    ("args", "problem", "best_match"),
    [
        (("upstream", "marts.custmer_lifetime_value"), "table", "marts.customer_lifetime_value"),
        # In Snowflake, unquoted RAW.ORDERS is another object than the lower-case raw.orders.
        (("writers", "RAW.ORDERS", "--dialect", "snowflake"), "table", "raw.orders"),
        (("column", "marts.daily_revenue.net_revenu"), "column", "marts.daily_revenue.net_revenue"),
        (("column", "mart.daily_revenue.net_revenue"), "column (its table is not in the graph either)", "marts.daily_revenue"),
        (("search", "paymnts"), "name (no table or column matches)", "raw.payments"),
        (("search", "zzz*"), "name (no table or column matches)", None),
    ],
)
def test_unknown_names_answer_with_the_closest_matches_and_exit_1(lineage, args, problem, best_match):
    code, out, err = lineage(*args)
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"unknown {problem}: {args[1]}"
    assert lines[1:3] == (["closest matches:", f"  {best_match}"] if best_match else ["no similar names in the graph"])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["upstream", "raw.orders", "--depth", "0"], "--depth"),
        (["downstream", "raw.orders", "--depth", "51"], "--depth: depth must be between 1 and 50"),
        (["column", "raw.orders.order_id", "--depth", "ten"], "--depth"),
        (["search", "orders", "--limit", "0"], "--limit: must be a positive number"),
    ],
)
def test_depth_outside_1_to_50_and_a_bad_limit_are_usage_errors(lineage, args, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["lineage", *args])
    assert exit_info.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


def test_neo4j_down_is_one_line_naming_neo4j_uri_and_exit_2(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"bolt://127.0.0.1:{probe.getsockname()[1]}"
    env = {"PATH": "/usr/bin:/bin", "NEO4J_URI": closed, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    result = subprocess.run([CLI, "lineage", "upstream", "raw.orders"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)

    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: Neo4j is unreachable at NEO4J_URI={closed} (ServiceUnavailable")


def test_a_database_neo4j_does_not_have_is_one_line_and_exit_2(lineage, monkeypatch):
    monkeypatch.setenv("NEO4J_DATABASE", "nosuchdb")

    code, out, err = lineage("upstream", "raw.orders")

    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert "NEO4J_URI=" in line and "(database 'nosuchdb') refused the query" in line and "DatabaseNotFound" in line
