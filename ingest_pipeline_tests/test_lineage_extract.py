"""Table-driven tests for the pure SQL -> lineage extractor.

Expectations follow the lineage contract, not whatever the extractor happens to output:

* WRITES: every table whose contents or definition the statement creates or changes.
* READS: every table the statement takes rows from; never CTE names, derived-table aliases,
  UNNEST or table-valued functions; a table the statement only writes is not also read.
* Inside its own non-recursive definition a CTE name refers to the real table it shadows.
* DDL other than CREATE has no reads.
* Identifiers are normalised per dialect: unquoted ones case-folded the way the dialect does it,
  quoted ones kept.

Where the extractor is known to disagree, the case carries a strict xfail with the reason, so a
fix shows up as an XPASS that forces the mark to be removed.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest_pipeline.lineage.extract import MAX_NESTING_DEPTH, dialect_from_comment, extract_lineage
from ingest_pipeline.lineage.model import FileLineage, StatementLineage

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def only_statement(sql: str, dialect: str) -> StatementLineage:
    """Extract `sql` and return its single statement."""
    lineage = extract_lineage(sql, dialect)
    assert len(lineage.statements) == 1, [s.kind for s in lineage.statements]
    return lineage.statements[0]


def fqns(refs) -> list[str]:
    return sorted(ref.fqn for ref in refs)


def cases(rows):
    """Turn (id, dialect, sql, *expected[, xfail(reason)]) rows into pytest params with readable ids."""
    params = []
    for row in rows:
        name, dialect, *rest = row
        marks = ()
        if isinstance(rest[-1], str) and rest[-1].startswith("XFAIL:"):
            reason = rest.pop()[len("XFAIL:") :].strip()
            marks = (pytest.mark.xfail(reason=reason, strict=True),)
        params.append(pytest.param(dialect, *rest, id=f"{dialect or 'default'}-{name}", marks=marks))
    return params


def xfail(reason: str) -> str:
    return f"XFAIL: {reason}"



# --------------------------------------------------------------------------------------------
# The case table: (id, dialect, sql, kind, reads, writes[, xfail reason])
# --------------------------------------------------------------------------------------------

STATEMENT_CASES = [
    # ---- SELECT basics, joins, subqueries ------------------------------------------------
    ("select-literal", "", "SELECT 1", "SELECT", [], []),
    ("select-values", "", "VALUES (1), (2)", "SELECT", [], []),
    ("select-paren", "", "(SELECT 1)", "SELECT", [], []),
    ("select-simple", "", "SELECT a, b FROM t", "SELECT", ["t"], []),
    ("select-qualified", "", "SELECT * FROM s.t", "SELECT", ["s.t"], []),
    ("select-three-part", "", "SELECT * FROM c.s.t", "SELECT", ["c.s.t"], []),
    ("joins", "", "SELECT * FROM t1 JOIN t2 ON t1.id = t2.id LEFT JOIN t3 USING (id) CROSS JOIN t4", "SELECT", ["t1", "t2", "t3", "t4"], []),
    ("self-join-aliases", "", "SELECT * FROM t AS a JOIN t AS b ON a.p = b.id", "SELECT", ["t"], []),
    ("implicit-join", "", "SELECT * FROM a, b WHERE a.id = b.id", "SELECT", ["a", "b"], []),
    ("scalar-subquery-select", "", "SELECT a, (SELECT MAX(x) FROM b) FROM a", "SELECT", ["a", "b"], []),
    ("scalar-subquery-where", "", "SELECT * FROM t WHERE x = (SELECT MAX(x) FROM t2)", "SELECT", ["t", "t2"], []),
    ("scalar-subqueries-only", "", "SELECT (SELECT COUNT(*) FROM a) + (SELECT COUNT(*) FROM b)", "SELECT", ["a", "b"], []),
    ("exists-in", "", "SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.id = a.id) AND a.id NOT IN (SELECT id FROM c)", "SELECT", ["a", "b", "c"], []),
    ("exists-in-case", "", "SELECT CASE WHEN EXISTS (SELECT 1 FROM a) THEN 1 END", "SELECT", ["a"], []),
    ("in-subquery-join-on", "", "SELECT * FROM a JOIN b ON a.id IN (SELECT id FROM c)", "SELECT", ["a", "b", "c"], []),
    ("derived-table", "", "SELECT d.x FROM (SELECT x FROM src) AS d", "SELECT", ["src"], []),
    ("derived-nested", "", "SELECT * FROM (SELECT * FROM (SELECT * FROM deep) AS d1) AS d2", "SELECT", ["deep"], []),
    ("derived-join-real", "", "SELECT * FROM (SELECT id FROM a) AS d JOIN b ON d.id = b.id", "SELECT", ["a", "b"], []),
    ("lateral-subquery", "", "SELECT * FROM a CROSS JOIN LATERAL (SELECT * FROM b WHERE b.id = a.id) AS l", "SELECT", ["a", "b"], []),
    ("union", "", "SELECT a FROM x UNION SELECT a FROM y", "SELECT", ["x", "y"], []),
    ("union-all-parens", "", "(SELECT a FROM x) UNION ALL (SELECT a FROM y)", "SELECT", ["x", "y"], []),
    ("union-intersect-except", "", "SELECT a FROM x UNION SELECT a FROM y INTERSECT SELECT a FROM z EXCEPT SELECT a FROM w", "SELECT", ["w", "x", "y", "z"], []),
    # ---- CTEs ------------------------------------------------------------------------------
    ("cte-simple", "", "WITH c AS (SELECT * FROM a) SELECT * FROM c JOIN b ON c.id = b.id", "SELECT", ["a", "b"], []),
    ("cte-multiple-chained", "", "WITH a1 AS (SELECT * FROM t), a2 AS (SELECT * FROM a1) SELECT * FROM a2", "SELECT", ["t"], []),
    ("cte-column-list", "", "WITH c(x) AS (SELECT x FROM t) SELECT x FROM c", "SELECT", ["t"], []),
    ("cte-used-twice", "", "WITH c AS (SELECT * FROM t) SELECT * FROM c AS c1 JOIN c AS c2 ON c1.id = c2.id", "SELECT", ["t"], []),
    ("cte-forward-ref-is-table", "", "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM t) SELECT * FROM a", "SELECT", ["b", "t"], []),
    ("cte-shadows-table", "", "WITH t AS (SELECT * FROM t) SELECT * FROM t", "SELECT", ["t"], []),
    ("cte-shadows-table-qualified-source", "", "WITH orders AS (SELECT * FROM sales.orders) SELECT * FROM orders", "SELECT", ["sales.orders"], []),
    ("cte-qualified-name-is-table", "", "WITH c AS (SELECT 1 AS n) SELECT * FROM db.c", "SELECT", ["db.c"], []),
    ("cte-in-union-both-branches", "", "WITH c AS (SELECT * FROM s) SELECT * FROM c UNION ALL SELECT * FROM c", "SELECT", ["s"], []),
    ("cte-scoped-to-parenthesised-branch", "", "(WITH c AS (SELECT * FROM s) SELECT * FROM c) UNION SELECT * FROM c", "SELECT", ["c", "s"], []),
    ("cte-nested-with-in-derived", "", "SELECT * FROM (WITH c AS (SELECT * FROM a) SELECT * FROM c) AS d", "SELECT", ["a"], []),
    ("cte-nested-with-in-in", "", "SELECT * FROM a WHERE x IN (WITH c AS (SELECT * FROM d) SELECT id FROM c)", "SELECT", ["a", "d"], []),
    ("cte-nested-sees-outer", "", "WITH a AS (SELECT * FROM x) SELECT * FROM (WITH b AS (SELECT * FROM a) SELECT * FROM b) AS sub", "SELECT", ["x"], []),
    ("cte-nested-shadows-outer", "", "WITH c AS (SELECT * FROM a) SELECT * FROM (WITH c AS (SELECT * FROM c) SELECT * FROM c) AS s", "SELECT", ["a"], []),
    ("cte-out-of-scope-is-table", "", "SELECT * FROM (WITH c AS (SELECT 1 AS n) SELECT * FROM c) AS s JOIN c ON TRUE", "SELECT", ["c"], []),
    ("cte-recursive-no-table", "postgres", "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r", "SELECT", [], []),
    ("cte-recursive-with-base", "postgres", "WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE parent IS NULL UNION ALL SELECT n.id FROM nodes n JOIN tree t ON n.parent = t.id) SELECT * FROM tree", "SELECT", ["nodes"], []),
    ("cte-recursive-forward-ref", "postgres", "WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1 AS n) SELECT * FROM a", "SELECT", [], []),
    ("cte-shadowing-pg", "postgres", "WITH orders AS (SELECT * FROM orders WHERE amount > 0) SELECT * FROM orders", "SELECT", ["orders"], []),
    ("cte-case-folds-pg", "postgres", "WITH Recent AS (SELECT * FROM t) SELECT * FROM RECENT", "SELECT", ["t"], []),
    ("cte-quoted-vs-unquoted-pg", "postgres", 'WITH "Foo" AS (SELECT 1 AS n) SELECT * FROM foo', "SELECT", ["foo"], []),
    ("cte-case-folds-sf", "snowflake", "WITH c AS (SELECT * FROM raw.events) SELECT * FROM C", "SELECT", ["RAW.EVENTS"], []),
    ("cte-quoted-lower-vs-unquoted-sf", "snowflake", 'WITH "recent" AS (SELECT 1 AS n) SELECT * FROM recent', "SELECT", ["RECENT"], []),
    ("cte-case-insensitive-bq", "bigquery", "WITH Recent AS (SELECT * FROM d.t) SELECT * FROM recent", "SELECT", ["d.t"], []),
    # ---- Table-valued functions, UNNEST, LATERAL ------------------------------------------
    ("generate-series", "postgres", "SELECT * FROM generate_series(1, 10) AS g(n)", "SELECT", [], []),
    ("lateral-generate-series", "postgres", "SELECT * FROM a CROSS JOIN LATERAL generate_series(1, a.n) AS g", "SELECT", ["a"], []),
    ("lateral-comma-subquery", "postgres", "SELECT * FROM a, LATERAL (SELECT * FROM b WHERE b.id = a.id) x", "SELECT", ["a", "b"], []),
    ("unnest-literal-pg", "postgres", "SELECT * FROM unnest(ARRAY[1, 2]) AS u(x)", "SELECT", [], []),
    ("unnest-column-pg", "postgres", "SELECT * FROM t, unnest(t.arr) AS u(x)", "SELECT", ["t"], []),
    ("json-to-recordset", "postgres", "SELECT * FROM json_to_recordset('[]') AS r(a INT)", "SELECT", [], []),
    ("values-derived", "postgres", "SELECT * FROM (VALUES (1), (2)) AS v(x)", "SELECT", [], []),
    ("only", "postgres", "SELECT * FROM ONLY t", "SELECT", ["t"], []),
    ("unnest-literal-bq", "bigquery", "SELECT x FROM UNNEST([1, 2, 3]) AS x", "SELECT", [], []),
    ("unnest-column-bq", "bigquery", "SELECT * FROM d.t, UNNEST(t.arr) AS a", "SELECT", ["d.t"], []),
    ("implicit-unnest-bq", "bigquery", "SELECT * FROM d.t, t.arr AS a", "SELECT", ["d.t"], []),
    ("generate-array-bq", "bigquery", "SELECT * FROM UNNEST(GENERATE_ARRAY(1, 10)) AS n", "SELECT", [], []),
    ("lateral-flatten", "snowflake", "SELECT f.value FROM t, LATERAL FLATTEN(input => t.arr) f", "SELECT", ["T"], []),
    ("table-flatten", "snowflake", "SELECT * FROM TABLE(FLATTEN(input => PARSE_JSON('[1,2]')))", "SELECT", [], []),
    ("table-generator", "snowflake", "SELECT * FROM TABLE(GENERATOR(ROWCOUNT => 10))", "SELECT", [], []),
    ("stage-is-not-table", "snowflake", "INSERT INTO t SELECT $1 FROM @stage", "INSERT", [], ["T"]),
    ("lateral-view-explode", "spark", "SELECT * FROM t LATERAL VIEW explode(t.arr) e AS x", "SELECT", ["t"], []),
    ("range-tvf-spark", "spark", "SELECT * FROM range(10)", "SELECT", [], []),
    ("inline-values-spark", "spark", "SELECT * FROM VALUES (1, 2) AS v(a, b)", "SELECT", [], []),
    ("lateral-view-outer", "hive", "SELECT * FROM t LATERAL VIEW OUTER explode(t.arr) e AS x", "SELECT", ["t"], []),
    ("read-files", "databricks", "SELECT * FROM read_files('/mnt/x', format => 'csv')", "SELECT", [], []),
    ("unnest-ordinality", "trino", "SELECT * FROM t CROSS JOIN UNNEST(t.arr) WITH ORDINALITY AS u(x, n)", "SELECT", ["t"], []),
    ("unnest-literal-trino", "trino", "SELECT * FROM UNNEST(ARRAY[1, 2]) AS u(x)", "SELECT", [], []),
    ("table-function-trino", "trino", "SELECT * FROM TABLE(system.query(query => 'SELECT 1'))", "SELECT", [], []),
    ("table-sequence-trino", "trino", "SELECT * FROM TABLE(sequence(start => 1, stop => 10))", "SELECT", [], []),
    ("range-tvf-duckdb", "duckdb", "SELECT * FROM range(10)", "SELECT", [], []),
    ("generate-series-duckdb", "duckdb", "SELECT * FROM generate_series(1, 5)", "SELECT", [], []),
    ("unnest-duckdb", "duckdb", "SELECT * FROM unnest([1, 2, 3])", "SELECT", [], []),
    ("read-parquet-ctas", "duckdb", "CREATE TABLE t AS SELECT * FROM read_parquet('x.parquet')", "CREATE_TABLE", [], ["t"]),
    ("cross-apply-subquery", "tsql", "SELECT * FROM dbo.t AS t CROSS APPLY (SELECT TOP 1 * FROM dbo.s WHERE s.id = t.id) AS x", "SELECT", ["dbo.s", "dbo.t"], []),
    ("cross-apply-openjson", "tsql", "SELECT * FROM dbo.t CROSS APPLY OPENJSON(t.doc) AS j", "SELECT", ["dbo.t"], []),
    ("table-function-oracle", "oracle", "SELECT * FROM TABLE(my_pkg.my_func(1))", "SELECT", [], []),
    # ---- Dialect specific SELECT syntax -----------------------------------------------------
    ("nolock-top", "tsql", "SELECT TOP 10 * FROM dbo.t WITH (NOLOCK)", "SELECT", ["dbo.t"], []),
    ("set-ops", "tsql", "SELECT * FROM dbo.t UNION SELECT * FROM dbo.u EXCEPT SELECT * FROM dbo.w", "SELECT", ["dbo.t", "dbo.u", "dbo.w"], []),
    ("time-travel-at", "snowflake", "SELECT * FROM t AT(TIMESTAMP => '2024-01-01'::TIMESTAMP)", "SELECT", ["T"], []),
    ("exists", "snowflake", "SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE a.id = b.id)", "SELECT", ["A", "B"], []),
    ("for-system-time", "bigquery", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01'", "SELECT", ["d.t"], []),
    ("wildcard-table", "bigquery", "SELECT * FROM `p.d.events_*` WHERE _TABLE_SUFFIX > '2024'", "SELECT", ["p.d.events_*"], []),
    ("intersect-distinct", "bigquery", "SELECT * FROM d.a INTERSECT DISTINCT SELECT * FROM d.b", "SELECT", ["d.a", "d.b"], []),
    ("except-distinct", "bigquery", "SELECT * FROM d.a EXCEPT DISTINCT SELECT * FROM d.b", "SELECT", ["d.a", "d.b"], []),
    ("scalar-subquery", "bigquery", "SELECT (SELECT COUNT(*) FROM d.b) AS n FROM d.a", "SELECT", ["d.a", "d.b"], []),
    ("tablesample", "spark", "SELECT * FROM t TABLESAMPLE (10 PERCENT)", "SELECT", ["t"], []),
    ("semi-anti-join", "spark", "SELECT * FROM a LEFT ANTI JOIN b ON a.id = b.id LEFT SEMI JOIN c ON a.id = c.id", "SELECT", ["a", "b", "c"], []),
    ("version-as-of", "databricks", "SELECT * FROM main.sales.orders VERSION AS OF 3", "SELECT", ["main.sales.orders"], []),
    ("join-union-all", "hive", "SELECT * FROM a JOIN b ON a.id = b.id UNION ALL SELECT * FROM c", "SELECT", ["a", "b", "c"], []),
    ("from-first", "duckdb", "FROM t SELECT a", "SELECT", ["t"], []),
    ("from-only", "duckdb", "FROM t", "SELECT", ["t"], []),
    ("using-sample", "duckdb", "SELECT * FROM t USING SAMPLE 10", "SELECT", ["t"], []),
    ("positional-join", "duckdb", "SELECT * FROM a POSITIONAL JOIN b", "SELECT", ["a", "b"], []),
    ("asof-join", "duckdb", "SELECT * FROM a ASOF JOIN b USING (id, ts)", "SELECT", ["a", "b"], []),
    ("pivot-statement", "duckdb", "PIVOT t ON year USING SUM(x)", "SELECT", ["t"], []),
    ("connect-by", "oracle", "SELECT * FROM emp START WITH mgr IS NULL CONNECT BY PRIOR id = mgr", "SELECT", ["EMP"], []),
    ("minus", "oracle", "SELECT * FROM a UNION SELECT * FROM b MINUS SELECT * FROM c", "SELECT", ["A", "B", "C"], []),
    ("in-subquery", "redshift", "SELECT * FROM s.t WHERE id IN (SELECT id FROM s.u)", "SELECT", ["s.t", "s.u"], []),
    # ---- Identifier normalisation ----------------------------------------------------------
    ("fold-lower-default", "", "SELECT * FROM Sch.Tbl", "SELECT", ["sch.tbl"], []),
    ("fold-lower-pg", "postgres", "SELECT * FROM Public.Orders", "SELECT", ["public.orders"], []),
    ("quoted-kept-pg", "postgres", 'SELECT * FROM "Orders"', "SELECT", ["Orders"], []),
    ("quoted-mixed-parts-pg", "postgres", 'SELECT * FROM Raw."Events"', "SELECT", ["raw.Events"], []),
    ("fold-upper-sf", "snowflake", "SELECT * FROM Analytics.Public.Orders", "SELECT", ["ANALYTICS.PUBLIC.ORDERS"], []),
    ("quoted-kept-sf", "snowflake", 'SELECT * FROM "MixedCase"."Tbl"', "SELECT", ["MixedCase.Tbl"], []),
    ("quoted-lower-kept-sf", "snowflake", 'SELECT * FROM db."lower_case"', "SELECT", ["DB.lower_case"], []),
    ("fold-upper-oracle", "oracle", "SELECT * FROM hr.employees", "SELECT", ["HR.EMPLOYEES"], []),
    ("quoted-kept-oracle", "oracle", 'SELECT * FROM "MixedCase"', "SELECT", ["MixedCase"], []),
    ("case-sensitive-mysql", "mysql", "SELECT * FROM Db.Tbl", "SELECT", ["Db.Tbl"], []),
    ("backticks-mysql", "mysql", "SELECT * FROM `Db`.`Tbl`", "SELECT", ["Db.Tbl"], []),
    ("backtick-three-part-bq", "bigquery", "SELECT * FROM `p.d.t`", "SELECT", ["p.d.t"], []),
    ("backtick-parts-bq", "bigquery", "SELECT * FROM `p`.`d`.`t`", "SELECT", ["p.d.t"], []),
    ("table-case-kept-bq", "bigquery", "SELECT * FROM MyDataset.MyTable", "SELECT", ["MyDataset.MyTable"], []),
    ("backtick-case-kept-bq", "bigquery", "SELECT * FROM `my-project.MyDataset.MyTable`", "SELECT", ["my-project.MyDataset.MyTable"], []),
    ("fold-spark", "spark", "SELECT * FROM Db.Tbl", "SELECT", ["db.tbl"], []),
    ("fold-trino", "trino", "SELECT * FROM Hive.Sales.Orders", "SELECT", ["hive.sales.orders"], []),
    ("three-part-tsql", "tsql", "SELECT * FROM Sales.dbo.Orders", "SELECT", ["sales.dbo.orders"], []),
    ("three-part-duckdb", "duckdb", "SELECT * FROM db.main.t", "SELECT", ["db.main.t"], []),
    # ---- INSERT ------------------------------------------------------------------------------
    ("insert-select", "", "INSERT INTO t SELECT * FROM s", "INSERT", ["s"], ["t"]),
    ("insert-columns", "", "INSERT INTO t (a, b) SELECT a, b FROM s", "INSERT", ["s"], ["t"]),
    ("insert-values", "", "INSERT INTO t (a) VALUES (1), (2)", "INSERT", [], ["t"]),
    ("insert-self", "", "INSERT INTO t SELECT * FROM t WHERE x > 1", "INSERT", ["t"], ["t"]),
    ("insert-cte-first", "", "WITH c AS (SELECT * FROM s) INSERT INTO t SELECT * FROM c", "INSERT", ["s"], ["t"]),
    ("insert-join-subquery", "", "INSERT INTO t SELECT a.x FROM a JOIN (SELECT * FROM b) AS d ON a.id = d.id", "INSERT", ["a", "b"], ["t"]),
    ("insert-on-conflict", "postgres", "INSERT INTO t (id, x) SELECT id, x FROM s ON CONFLICT (id) DO UPDATE SET x = EXCLUDED.x", "INSERT", ["s"], ["t"]),
    ("insert-returning", "postgres", "INSERT INTO t VALUES (1, 2) RETURNING id", "INSERT", [], ["t"]),
    ("insert-default-values", "postgres", "INSERT INTO t DEFAULT VALUES", "INSERT", [], ["t"]),
    ("insert-on-duplicate", "mysql", "INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b)", "INSERT", [], ["t"]),
    ("insert-cross-db", "mysql", "INSERT INTO db1.t SELECT * FROM db2.s", "INSERT", ["db2.s"], ["db1.t"]),
    ("replace-into", "mysql", "REPLACE INTO t SELECT * FROM s", "INSERT", ["s"], ["t"]),
    ("insert-no-into", "bigquery", "INSERT d.t (a) SELECT a FROM d.s", "INSERT", ["d.s"], ["d.t"]),
    ("insert-overwrite-into", "snowflake", "INSERT OVERWRITE INTO t SELECT * FROM s", "INSERT", ["S"], ["T"]),
    ("insert-all", "snowflake", "INSERT ALL INTO a INTO b SELECT * FROM s", "INSERT", ["S"], ["A", "B"]),
    ("insert-all", "oracle", "INSERT ALL INTO a (x) VALUES (x) INTO b (x) VALUES (x) SELECT x FROM s", "INSERT", ["S"], ["A", "B"]),
    ("insert-hint", "oracle", "INSERT /*+ APPEND */ INTO t SELECT * FROM s", "INSERT", ["S"], ["T"]),
    ("insert-into-table", "spark", "INSERT INTO t SELECT * FROM s", "INSERT", ["s"], ["t"]),
    ("insert-overwrite-dynamic-partition", "spark", "INSERT OVERWRITE t PARTITION (dt) SELECT a, dt FROM s", "INSERT", ["s"], ["t"]),
    ("insert-partition-columns", "spark", "INSERT INTO TABLE t PARTITION (dt='x') (a, b) SELECT a, b FROM s", "INSERT", ["s"], ["t"]),
    ("insert-cte-after-into", "spark", "INSERT INTO t WITH c AS (SELECT * FROM s) SELECT * FROM c", "INSERT", ["s"], ["t"]),
    ("cte-insert-overwrite", "spark", "WITH c AS (SELECT * FROM s) INSERT OVERWRITE TABLE t SELECT * FROM c", "INSERT", ["s"], ["t"]),
    ("insert-by-name", "databricks", "INSERT INTO main.s.t BY NAME SELECT * FROM main.s.u", "INSERT", ["main.s.u"], ["main.s.t"]),
    ("insert-replace-where", "databricks", "INSERT INTO main.s.t REPLACE WHERE dt = '2024-01-01' SELECT * FROM main.s.u", "INSERT", ["main.s.u"], ["main.s.t"]),
    ("insert-into-table", "hive", "INSERT INTO TABLE t SELECT * FROM s", "INSERT", ["s"], ["t"]),
    ("insert-overwrite-static-partition", "hive", "INSERT OVERWRITE TABLE t PARTITION (dt='2024-01-01') SELECT a FROM s", "INSERT", ["s"], ["t"]),
    ("insert-overwrite-dynamic-partition", "hive", "INSERT OVERWRITE TABLE db.t PARTITION (dt) SELECT a, dt FROM db.s", "INSERT", ["db.s"], ["db.t"]),
    ("insert-overwrite-partition-columns", "hive", "INSERT OVERWRITE TABLE t PARTITION (dt='x') (a, b) SELECT a, b FROM s", "INSERT", ["s"], ["t"]),
    ("from-first-multi-insert", "hive", "FROM src INSERT OVERWRITE TABLE a SELECT x INSERT OVERWRITE TABLE b SELECT y", "INSERT", ["src"], ["a", "b"]),
    ("insert-no-into", "tsql", "INSERT dbo.t (a) VALUES (1)", "INSERT", [], ["dbo.t"]),
    ("insert-cte", "tsql", "WITH c AS (SELECT * FROM dbo.s) INSERT INTO dbo.t SELECT * FROM c", "INSERT", ["dbo.s"], ["dbo.t"]),
    ("insert-temp-table", "tsql", "INSERT INTO #tmp (a) SELECT a FROM dbo.t", "INSERT", ["dbo.t"], ["#tmp"]),
    ("insert-catalog", "trino", "INSERT INTO hive.s.t SELECT * FROM hive.s.u", "INSERT", ["hive.s.u"], ["hive.s.t"]),
    ("insert-or-replace", "duckdb", "INSERT OR REPLACE INTO t SELECT * FROM s", "INSERT", ["s"], ["t"]),
    ("insert-by-name", "duckdb", "INSERT INTO t BY NAME SELECT * FROM s", "INSERT", ["s"], ["t"]),
    ("insert-columns", "redshift", "INSERT INTO s.t (a) SELECT a FROM s.u", "INSERT", ["s.u"], ["s.t"]),
    # ---- CREATE TABLE / CTAS ------------------------------------------------------------------
    ("ctas", "", "CREATE TABLE t AS SELECT * FROM s", "CREATE_TABLE", ["s"], ["t"]),
    ("ctas-cte", "", "CREATE TABLE t AS WITH c AS (SELECT * FROM s) SELECT * FROM c", "CREATE_TABLE", ["s"], ["t"]),
    ("create-columns", "", "CREATE TABLE IF NOT EXISTS s.t (a INT, b TEXT)", "CREATE_TABLE", [], ["s.t"]),
    ("ctas-temp", "postgres", "CREATE TEMP TABLE t AS SELECT * FROM s", "CREATE_TABLE", ["s"], ["t"]),
    ("create-references", "postgres", "CREATE TABLE t (a INT REFERENCES other(id))", "CREATE_TABLE", [], ["t"]),
    ("create-columns", "mysql", "CREATE TABLE t (id INT PRIMARY KEY, x VARCHAR(10)) ENGINE=InnoDB", "CREATE_TABLE", [], ["t"]),
    ("create-columns", "bigquery", "CREATE TABLE d.t (a INT64, b STRING)", "CREATE_TABLE", [], ["d.t"]),
    ("ctas-replace", "bigquery", "CREATE OR REPLACE TABLE `p.d.t` AS SELECT * FROM `p.d.s`", "CREATE_TABLE", ["p.d.s"], ["p.d.t"]),
    ("create-columns", "snowflake", "CREATE TABLE t (id NUMBER, name VARCHAR)", "CREATE_TABLE", [], ["T"]),
    ("ctas-transient", "snowflake", "CREATE OR REPLACE TRANSIENT TABLE t AS SELECT * FROM s", "CREATE_TABLE", ["S"], ["T"]),
    ("dynamic-table", "snowflake", "CREATE DYNAMIC TABLE dt TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT * FROM s", "CREATE_TABLE", ["S"], ["DT"]),
    ("clone", "snowflake", "CREATE TABLE t CLONE s", "CREATE_TABLE", ["S"], ["T"]),
    ("create-like", "snowflake", "CREATE TABLE t LIKE s", "CREATE_TABLE", ["S"], ["T"]),
    ("create-like-paren", "redshift", "CREATE TABLE t (LIKE s)", "CREATE_TABLE", ["s"], ["t"]),
    ("ctas-using-delta", "spark", "CREATE TABLE t USING delta AS SELECT * FROM s", "CREATE_TABLE", ["s"], ["t"]),
    ("create-partitioned", "spark", "CREATE TABLE t (a INT, b STRING) USING parquet PARTITIONED BY (b)", "CREATE_TABLE", [], ["t"]),
    ("ctas-replace", "databricks", "CREATE OR REPLACE TABLE main.sales.t AS SELECT * FROM main.raw.s", "CREATE_TABLE", ["main.raw.s"], ["main.sales.t"]),
    ("streaming-table", "databricks", "CREATE STREAMING TABLE st AS SELECT * FROM STREAM(main.s.t)", "CREATE_TABLE", ["main.s.t"], ["st"]),
    ("create-stored-as", "hive", "CREATE TABLE t (a INT) PARTITIONED BY (dt STRING) STORED AS ORC", "CREATE_TABLE", [], ["t"]),
    ("ctas", "hive", "CREATE TABLE t AS SELECT * FROM s", "CREATE_TABLE", ["s"], ["t"]),
    ("create-columns", "tsql", "CREATE TABLE dbo.t (id INT NOT NULL, name NVARCHAR(50))", "CREATE_TABLE", [], ["dbo.t"]),
    ("ctas-catalog", "trino", "CREATE TABLE hive.s.t AS SELECT * FROM hive.s.u", "CREATE_TABLE", ["hive.s.u"], ["hive.s.t"]),
    ("ctas-distkey", "redshift", "CREATE TABLE t DISTKEY(a) SORTKEY(a) AS SELECT * FROM s", "CREATE_TABLE", ["s"], ["t"]),
    ("create-diststyle", "redshift", "CREATE TABLE t (a INT) DISTSTYLE KEY DISTKEY(a)", "CREATE_TABLE", [], ["t"]),
    ("ctas", "oracle", "CREATE TABLE t AS SELECT * FROM s", "CREATE_TABLE", ["S"], ["T"]),
    ("global-temporary", "oracle", "CREATE GLOBAL TEMPORARY TABLE t (a NUMBER) ON COMMIT PRESERVE ROWS", "CREATE_TABLE", [], ["T"]),
    # ---- CREATE VIEW -------------------------------------------------------------------------
    ("view", "", "CREATE VIEW v AS SELECT * FROM t", "CREATE_VIEW", ["t"], ["v"]),
    ("view-cte", "", "CREATE VIEW v AS WITH c AS (SELECT * FROM s) SELECT * FROM c", "CREATE_VIEW", ["s"], ["v"]),
    ("view-columns", "postgres", "CREATE VIEW v (a, b) AS SELECT a, b FROM t", "CREATE_VIEW", ["t"], ["v"]),
    ("materialized-view", "postgres", "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t", "CREATE_VIEW", ["t"], ["mv"]),
    ("replace-view", "mysql", "CREATE OR REPLACE VIEW v AS SELECT * FROM t", "CREATE_VIEW", ["t"], ["v"]),
    ("secure-view", "snowflake", "CREATE OR REPLACE SECURE VIEW v AS SELECT * FROM t", "CREATE_VIEW", ["T"], ["V"]),
    ("materialized-view", "snowflake", "CREATE MATERIALIZED VIEW mv AS SELECT a FROM db.sch.t", "CREATE_VIEW", ["DB.SCH.T"], ["MV"]),
    ("materialized-view", "bigquery", "CREATE MATERIALIZED VIEW d.mv AS SELECT * FROM d.t", "CREATE_VIEW", ["d.t"], ["d.mv"]),
    ("temp-view", "spark", "CREATE OR REPLACE TEMPORARY VIEW v AS SELECT * FROM s", "CREATE_VIEW", ["s"], ["v"]),
    ("materialized-view", "databricks", "CREATE MATERIALIZED VIEW mv AS SELECT * FROM main.s.t", "CREATE_VIEW", ["main.s.t"], ["mv"]),
    ("view", "hive", "CREATE VIEW v AS SELECT * FROM db.s", "CREATE_VIEW", ["db.s"], ["v"]),
    ("view", "tsql", "CREATE VIEW dbo.v AS SELECT a FROM dbo.t", "CREATE_VIEW", ["dbo.t"], ["dbo.v"]),
    ("view-security", "trino", "CREATE OR REPLACE VIEW c.s.v SECURITY INVOKER AS SELECT * FROM c.s.t", "CREATE_VIEW", ["c.s.t"], ["c.s.v"]),
    ("replace-view", "duckdb", "CREATE OR REPLACE VIEW v AS SELECT * FROM t", "CREATE_VIEW", ["t"], ["v"]),
    ("materialized-view", "redshift", "CREATE MATERIALIZED VIEW mv AS SELECT * FROM s", "CREATE_VIEW", ["s"], ["mv"]),
    ("replace-view", "oracle", "CREATE OR REPLACE VIEW v AS SELECT * FROM s", "CREATE_VIEW", ["S"], ["V"]),
    # ---- MERGE -------------------------------------------------------------------------------
    ("merge-cte-source", "", "WITH src AS (SELECT * FROM s) MERGE INTO t USING src ON t.id = src.id WHEN MATCHED THEN DELETE", "MERGE", ["s"], ["t"]),
    ("merge-target-also-read", "", "MERGE INTO t USING (SELECT * FROM s WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.id = s.id)) AS src ON t.id = src.id WHEN NOT MATCHED THEN INSERT (id) VALUES (src.id)", "MERGE", ["s", "t"], ["t"]),
    ("merge-aliases", "snowflake", "MERGE INTO t AS tgt USING s AS src ON tgt.id = src.id WHEN MATCHED THEN UPDATE SET tgt.x = src.x WHEN NOT MATCHED THEN INSERT (id, x) VALUES (src.id, src.x)", "MERGE", ["S"], ["T"]),
    ("merge-by-source", "tsql", "MERGE dbo.t AS tgt USING dbo.s AS src ON tgt.id = src.id WHEN MATCHED THEN UPDATE SET tgt.x = src.x WHEN NOT MATCHED BY TARGET THEN INSERT (id, x) VALUES (src.id, src.x) WHEN NOT MATCHED BY SOURCE THEN DELETE", "MERGE", ["dbo.s"], ["dbo.t"]),
    ("merge-insert-row", "bigquery", "MERGE d.t T USING d.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET x = S.x WHEN NOT MATCHED THEN INSERT ROW", "MERGE", ["d.s"], ["d.t"]),
    ("merge-delete", "spark", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "MERGE", ["s"], ["t"]),
    ("merge-star", "databricks", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT * WHEN NOT MATCHED BY SOURCE THEN DELETE", "MERGE", ["s"], ["t"]),
    ("merge-subquery-source", "oracle", "MERGE INTO t USING (SELECT id, x FROM s) src ON (t.id = src.id) WHEN MATCHED THEN UPDATE SET t.x = src.x", "MERGE", ["S"], ["T"]),
    ("merge", "trino", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x", "MERGE", ["s"], ["t"]),
    # ---- UPDATE --------------------------------------------------------------------------------
    ("update-plain", "", "UPDATE t SET x = x + 1 WHERE y = 2", "UPDATE", [], ["t"]),
    ("update-scalar-subquery", "", "UPDATE t SET x = (SELECT y FROM s WHERE s.id = t.id)", "UPDATE", ["s"], ["t"]),
    ("update-cte", "", "WITH c AS (SELECT * FROM s) UPDATE t SET x = 1 WHERE id IN (SELECT id FROM c)", "UPDATE", ["s"], ["t"]),
    ("update-from", "postgres", "UPDATE t SET x = s.x FROM s WHERE t.id = s.id", "UPDATE", ["s"], ["t"]),
    ("update-from-join", "postgres", "UPDATE t SET x = s.x FROM s JOIN u ON s.id = u.id WHERE t.id = s.id", "UPDATE", ["s", "u"], ["t"]),
    ("update-only", "postgres", "UPDATE ONLY t SET x = 1", "UPDATE", [], ["t"]),
    ("update-join", "mysql", "UPDATE a JOIN b ON a.id = b.id SET a.x = b.x", "UPDATE", ["b"], ["a"]),
    ("update-comma", "mysql", "UPDATE a, b SET a.x = b.x WHERE a.id = b.id", "UPDATE", ["b"], ["a"]),
    ("update-from", "snowflake", "UPDATE t SET x = s.x FROM s WHERE t.id = s.id", "UPDATE", ["S"], ["T"]),
    ("update-no-from", "bigquery", "UPDATE d.t SET x = 1 WHERE true", "UPDATE", [], ["d.t"]),
    ("update-in-subquery", "trino", "UPDATE t SET x = 1 WHERE id IN (SELECT id FROM s)", "UPDATE", ["s"], ["t"]),
    ("update-from", "duckdb", "UPDATE t SET x = s.x FROM s WHERE t.id = s.id", "UPDATE", ["s"], ["t"]),
    ("update-from", "redshift", "UPDATE t SET x = s.x FROM s WHERE t.id = s.id", "UPDATE", ["s"], ["t"]),
    ("update-correlated", "oracle", "UPDATE t SET x = (SELECT MAX(y) FROM s WHERE s.id = t.id)", "UPDATE", ["S"], ["T"]),
    ("update-in-subquery", "tsql", "UPDATE dbo.t SET x = 1 WHERE id IN (SELECT id FROM dbo.s)", "UPDATE", ["dbo.s"], ["dbo.t"]),
    ("update-from-other", "tsql", "UPDATE dbo.t SET x = s.x FROM dbo.s AS s WHERE dbo.t.id = s.id", "UPDATE", ["dbo.s"], ["dbo.t"]),
    ("update-alias-from-join", "tsql", "UPDATE a SET a.x = s.x FROM dbo.target AS a JOIN dbo.src AS s ON a.id = s.id", "UPDATE", ["dbo.src"], ["dbo.target"]),
    ("update-alias-from", "tsql", "UPDATE t SET x = 1 FROM dbo.t AS t WHERE t.id = 1", "UPDATE", [], ["dbo.t"]),
    ("update-target-in-from", "tsql", "UPDATE dbo.t SET x = s.x FROM dbo.t JOIN dbo.s ON t.id = s.id", "UPDATE", ["dbo.s"], ["dbo.t"]),
    # ---- DELETE --------------------------------------------------------------------------------
    ("delete-where", "", "DELETE FROM t WHERE x = 1", "DELETE", [], ["t"]),
    ("delete-exists", "", "DELETE FROM t WHERE EXISTS (SELECT 1 FROM s WHERE s.id = t.id)", "DELETE", ["s"], ["t"]),
    ("delete-cte", "", "WITH c AS (SELECT * FROM s) DELETE FROM t WHERE id IN (SELECT id FROM c)", "DELETE", ["s"], ["t"]),
    ("delete-using", "postgres", "DELETE FROM t USING s WHERE t.id = s.id", "DELETE", ["s"], ["t"]),
    ("delete-using", "snowflake", "DELETE FROM t USING s WHERE t.id = s.id", "DELETE", ["S"], ["T"]),
    ("delete-using", "duckdb", "DELETE FROM t USING s WHERE t.id = s.id", "DELETE", ["s"], ["t"]),
    ("delete-using", "redshift", "DELETE FROM t USING s WHERE t.id = s.id", "DELETE", ["s"], ["t"]),
    ("delete-in-subquery", "trino", "DELETE FROM t WHERE id IN (SELECT id FROM s)", "DELETE", ["s"], ["t"]),
    ("delete-in-subquery", "oracle", "DELETE FROM t WHERE id IN (SELECT id FROM s)", "DELETE", ["S"], ["T"]),
    ("delete-no-from", "bigquery", "DELETE d.t WHERE true", "DELETE", [], ["d.t"]),
    ("delete-join", "mysql", "DELETE a FROM a JOIN b ON a.id = b.id", "DELETE", ["b"], ["a"]),
    ("delete-multi-target", "mysql", "DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id", "DELETE", [], ["t1", "t2"]),
    ("delete-alias-join", "tsql", "DELETE t FROM dbo.t AS t JOIN dbo.s AS s ON t.id = s.id", "DELETE", ["dbo.s"], ["dbo.t"]),
    ("delete-double-from", "tsql", "DELETE FROM t FROM t JOIN s ON t.id = s.id", "DELETE", ["s"], ["t"]),
    ("data-modifying-cte", "postgres", "WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved", "INSERT", [], ["a", "b"]),
    # ---- SELECT INTO ---------------------------------------------------------------------------
    ("select-into", "tsql", "SELECT * INTO dbo.new_t FROM dbo.old_t", "SELECT_INTO", ["dbo.old_t"], ["dbo.new_t"]),
    ("select-into-cte", "tsql", "WITH c AS (SELECT * FROM s) SELECT * INTO t FROM c", "SELECT_INTO", ["s"], ["t"]),
    ("select-into-union", "tsql", "SELECT a INTO t FROM x UNION SELECT a FROM y", "SELECT_INTO", ["x", "y"], ["t"]),
    ("select-into-temp", "tsql", "SELECT * INTO #tmp FROM dbo.t", "SELECT_INTO", ["dbo.t"], ["#tmp"]),
    ("select-into-global-temp", "tsql", "SELECT * INTO ##g FROM dbo.t", "SELECT_INTO", ["dbo.t"], ["##g"]),
    ("select-into", "postgres", "SELECT * INTO new_t FROM s", "SELECT_INTO", ["s"], ["new_t"]),
    ("select-into-temp", "postgres", "SELECT * INTO TEMP new_t FROM s", "SELECT_INTO", ["s"], ["new_t"]),
    ("select-into", "redshift", "SELECT * INTO new_t FROM s", "SELECT_INTO", ["s"], ["new_t"]),
    # ---- Other DDL / commands: no reads --------------------------------------------------------
    ("drop-table", "", "DROP TABLE a, b", "DROP_TABLE", [], []),
    ("drop-table", "postgres", "DROP TABLE IF EXISTS s.t", "DROP_TABLE", [], []),
    ("drop-view", "postgres", "DROP VIEW v", "DROP_VIEW", [], []),
    ("drop-materialized-view", "postgres", "DROP MATERIALIZED VIEW mv", "DROP_VIEW", [], []),
    ("drop-table", "snowflake", "DROP TABLE IF EXISTS db.sch.t", "DROP_TABLE", [], []),
    ("drop-table", "bigquery", "DROP TABLE d.t", "DROP_TABLE", [], []),
    ("drop-view", "spark", "DROP VIEW IF EXISTS v", "DROP_VIEW", [], []),
    ("drop-table", "tsql", "DROP TABLE IF EXISTS dbo.t", "DROP_TABLE", [], []),
    ("grant", "postgres", "GRANT SELECT ON t TO bob", "GRANT", [], []),
    ("grant", "snowflake", "GRANT SELECT ON TABLE t TO ROLE r", "GRANT", [], []),
    ("use", "snowflake", "USE DATABASE analytics", "USE", [], []),
    ("create-index", "postgres", "CREATE INDEX i ON t (a)", "CREATE_INDEX", [], []),
    ("set", "", "SET x = 1", "SET", [], []),
    ("add-jar", "spark", "ADD JAR /tmp/SimpleUdf.jar", "ADD_JAR", [], []),
    ("add-file", "hive", "ADD FILE /tmp/udf.py", "ADD_FILE", [], []),
    ("msck-repair", "databricks", "MSCK REPAIR TABLE t", "MSCK_REPAIR", [], []),
    ("lock-tables", "mysql", "LOCK TABLES t WRITE", "LOCK_TABLES", [], []),
    ("exec", "tsql", "EXEC dbo.proc @a = 1", "EXECUTE", [], []),
    ("alter-add-column", "postgres", "ALTER TABLE t ADD COLUMN c INT", "ALTER", [], ["t"]),
    ("swap-with", "snowflake", "ALTER TABLE a SWAP WITH b", "ALTER", ["B"], ["A"]),
    ("truncate", "", "TRUNCATE TABLE a", "TRUNCATE", [], ["a"]),
    ("truncate-many", "postgres", "TRUNCATE a, b", "TRUNCATE", [], ["a", "b"]),
    ("truncate-if-exists", "snowflake", "TRUNCATE TABLE IF EXISTS db.sch.t", "TRUNCATE", [], ["DB.SCH.T"]),
    ("truncate", "bigquery", "TRUNCATE TABLE d.t", "TRUNCATE", [], ["d.t"]),
    ("copy-into", "snowflake", "COPY INTO t FROM @stage", "COPY", [], ["T"]),
    ("copy-from", "postgres", "COPY t FROM '/tmp/x.csv'", "COPY", [], ["t"]),
    ("copy-to", "postgres", "COPY t TO '/tmp/x.csv'", "COPY", ["t"], []),
    # ---- Generalisations of the fixes above ------------------------------------------------------
    ("copy-into-stage-from-table", "snowflake", "COPY INTO @stage FROM t", "COPY", ["T"], []),
    ("copy-query-to-file", "postgres", "COPY (SELECT * FROM t JOIN u ON t.id = u.id) TO '/tmp/x.csv'", "COPY", ["t", "u"], []),
    ("alter-add-foreign-key", "postgres", "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES o(id)", "ALTER", [], ["t"]),
    ("alter-set-options", "bigquery", "ALTER TABLE d.t SET OPTIONS (description = 'x')", "ALTER", [], ["d.t"]),
    ("alter-index-is-not-a-table", "postgres", "ALTER INDEX i RENAME TO j", "ALTER", [], []),
    ("alter-session", "snowflake", "ALTER SESSION SET TIMEZONE = 'UTC'", "ALTER", [], []),
    ("data-modifying-ctes", "postgres", "WITH u AS (UPDATE a SET x = 1 RETURNING *), i AS (INSERT INTO b SELECT * FROM c RETURNING *) SELECT * FROM u, i", "SELECT", ["c"], ["a", "b"]),
    ("insert-first", "snowflake", "INSERT FIRST WHEN x > 1 THEN INTO a ELSE INTO b SELECT x FROM s", "INSERT", ["S"], ["A", "B"]),
    ("update-multi-alias-set", "mysql", "UPDATE a AS x JOIN b AS y ON x.id = y.id SET y.v = x.v", "UPDATE", ["a"], ["b"]),
    ("delete-double-from-alias", "tsql", "DELETE FROM t FROM dbo.t AS t JOIN s ON t.id = s.id", "DELETE", ["s"], ["dbo.t"]),
    ("replace-no-into", "mysql", "REPLACE t (a) VALUES (1)", "INSERT", [], ["t"]),
    ("select-into-nested-union", "tsql", "SELECT a INTO ##g FROM x UNION ALL SELECT a FROM y UNION SELECT a FROM z", "SELECT_INTO", ["x", "y", "z"], ["##g"]),
    ("temp-tables-read", "tsql", "SELECT * FROM #tmp JOIN ##g ON 1 = 1", "SELECT", ["##g", "#tmp"], []),
    ("create-like-including", "postgres", "CREATE TABLE t (LIKE s INCLUDING ALL)", "CREATE_TABLE", ["s"], ["t"]),
    ("cte-quoted-matches-quoted-pg", "postgres", 'WITH "Foo" AS (SELECT * FROM s) SELECT * FROM "Foo"', "SELECT", ["s"], []),
    ("cte-quoted-upper-matches-unquoted-sf", "snowflake", 'WITH "RECENT" AS (SELECT * FROM s) SELECT * FROM recent', "SELECT", ["S"], []),
    ("cte-backtick-case-insensitive-bq", "bigquery", "WITH `Recent` AS (SELECT * FROM d.t) SELECT * FROM recent", "SELECT", ["d.t"], []),
    ("cte-recursive-self-ref", "postgres", "WITH RECURSIVE t AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t", "SELECT", [], []),
]

# (id, dialect, sql, renamed_from, writes[, xfail reason]); kind is always ALTER_RENAME.
RENAME_CASES = [
    ("alter-rename", "", "ALTER TABLE a RENAME TO b", "a", ["b"]),
    ("alter-rename-keeps-schema", "postgres", "ALTER TABLE s.a RENAME TO b", "s.a", ["s.b"]),
    ("alter-view-rename", "postgres", "ALTER VIEW v RENAME TO w", "v", ["w"]),
    ("alter-rename", "mysql", "ALTER TABLE a RENAME TO b", "a", ["b"]),
    ("rename-table", "mysql", "RENAME TABLE a TO b", "a", ["b"]),
    ("alter-rename-keeps-dataset", "bigquery", "ALTER TABLE d.a RENAME TO b", "d.a", ["d.b"]),
    ("alter-rename-case-kept-bq", "bigquery", "ALTER TABLE d.A RENAME TO B", "d.A", ["d.B"]),
    ("rename-table-keeps-db", "mysql", "RENAME TABLE db.a TO b", "db.a", ["db.b"]),
    ("alter-rename-upper", "oracle", "ALTER TABLE a RENAME TO b", "A", ["B"]),
    ("alter-rename", "spark", "ALTER TABLE a RENAME TO b", "a", ["b"]),
    ("alter-rename-qualified", "databricks", "ALTER TABLE main.s.a RENAME TO main.s.b", "main.s.a", ["main.s.b"]),
    ("alter-rename", "hive", "ALTER TABLE a RENAME TO b", "a", ["b"]),
    ("alter-rename", "redshift", "ALTER TABLE a RENAME TO b", "a", ["b"]),
]

DIALECTS = ["", "postgres", "mysql", "bigquery", "snowflake", "spark", "databricks", "hive", "tsql", "redshift", "duckdb", "oracle", "trino"]


def test_case_table_is_broad():
    ids = [row[0] + "@" + row[1] for row in STATEMENT_CASES + RENAME_CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(ids) >= 160
    assert {row[1] for row in STATEMENT_CASES} >= set(DIALECTS)


# --------------------------------------------------------------------------------------------
# Table-driven tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "sql", "kind", "reads", "writes"), cases(STATEMENT_CASES))
def test_statement_lineage(dialect, sql, kind, reads, writes):
    statement = only_statement(sql, dialect)
    assert (statement.kind, fqns(statement.reads), fqns(statement.writes)) == (kind, sorted(reads), sorted(writes))
    # Views are the created views, a subset of writes; nothing else carries them.
    assert fqns(statement.views) == (sorted(writes) if kind == "CREATE_VIEW" else [])
    assert statement.renamed_from is None
    assert statement.error is None
    assert statement.index == 0 and statement.line == 1
    assert statement.reads == sorted(statement.reads) and statement.writes == sorted(statement.writes)


@pytest.mark.parametrize(("dialect", "sql", "renamed_from", "writes"), cases(RENAME_CASES))
def test_alter_rename(dialect, sql, renamed_from, writes):
    statement = only_statement(sql, dialect)
    assert statement.kind == "ALTER_RENAME"
    assert statement.renamed_from is not None and statement.renamed_from.fqn == renamed_from
    assert fqns(statement.writes) == writes
    assert statement.reads == [] and statement.views == []


def test_rename_table_several_pairs():
    """One statement renaming several tables writes every new name; no single old name applies."""
    statement = only_statement("RENAME TABLE db.a TO db.b, c TO d", "mysql")
    assert (statement.kind, fqns(statement.writes), statement.renamed_from, statement.reads) == ("ALTER_RENAME", ["d", "db.b"], None, [])


def test_alter_view_as_query_redefines_the_view():
    statement = only_statement("ALTER VIEW dbo.v AS SELECT * FROM dbo.t JOIN dbo.u ON t.id = u.id", "tsql")
    assert (statement.kind, fqns(statement.reads), fqns(statement.writes), fqns(statement.views)) == (
        "ALTER",
        ["dbo.t", "dbo.u"],
        ["dbo.v"],
        ["dbo.v"],
    )


# --------------------------------------------------------------------------------------------
# File-level behaviour
# --------------------------------------------------------------------------------------------

MULTI_STATEMENT_FILE = """-- nightly build
-- second header line

CREATE TABLE staging.orders AS
SELECT * FROM raw.orders;
INSERT INTO mart.daily
SELECT d, COUNT(*) FROM staging.orders GROUP BY d;

;


CREATE VIEW mart.v AS SELECT * FROM mart.daily; DROP TABLE staging.orders
"""


def test_multi_statement_order_index_and_lines():
    lineage = extract_lineage(MULTI_STATEMENT_FILE, "postgres")
    got = [(s.index, s.kind, s.line, fqns(s.reads), fqns(s.writes)) for s in lineage.statements]
    assert got == [
        (0, "CREATE_TABLE", 4, ["raw.orders"], ["staging.orders"]),
        (1, "INSERT", 6, ["staging.orders"], ["mart.daily"]),
        (2, "CREATE_VIEW", 12, ["mart.daily"], ["mart.v"]),
        (3, "DROP_TABLE", 12, [], []),
    ]
    assert lineage.error_count == 0
    assert lineage.dialect == "postgres"


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param("SELECT * FROM (SELECT 1", id="unclosed-paren"),
        pytest.param("SELECT FROM WHERE )", id="missing-table"),
        pytest.param("INSERT INTO VALUES", id="insert-without-table"),
    ],
)
def test_broken_statement_between_good_ones(broken):
    text = f"SELECT * FROM a;\n\n{broken};\nINSERT INTO c SELECT * FROM b;"
    lineage = extract_lineage(text, "postgres")
    first, bad, last = lineage.statements
    assert (first.index, first.kind, fqns(first.reads)) == (0, "SELECT", ["a"])
    assert (bad.index, bad.kind, bad.line) == (1, "ERROR", 3)
    assert bad.error and "line 3" in bad.error
    assert bad.reads == bad.writes == []
    assert (last.index, last.kind, last.line, fqns(last.reads), fqns(last.writes)) == (2, "INSERT", 4, ["b"], ["c"])
    assert lineage.error_count == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("SELECT * FROM {{ ref('orders') }}", 1, id="ref"),
        pytest.param("SELECT 1;\n{% if x %}SELECT * FROM t{% endif %}", 2, id="block"),
        pytest.param("-- ok\n\nSELECT 1 {# note #}", 3, id="comment"),
    ],
)
def test_templated_sql_is_an_error_statement(text, line):
    lineage = extract_lineage(text, "snowflake")
    assert lineage.templated and f"line {line}" in lineage.templated
    [statement] = lineage.statements
    assert (statement.kind, statement.line) == ("ERROR", line)
    assert statement.error and "templated" in statement.error


def test_unknown_dialect_is_an_error_statement():
    lineage = extract_lineage("SELECT * FROM t", "no_such_dialect")
    [statement] = lineage.statements
    assert statement.kind == "ERROR"
    assert "no_such_dialect" in statement.error


def _nested_select(depth: int) -> str:
    return "SELECT * FROM " + "(SELECT * FROM " * depth + "t" + ") AS x" * depth


def test_nesting_at_the_limit_is_parsed():
    statement = only_statement(_nested_select(MAX_NESTING_DEPTH), "")
    assert (statement.kind, fqns(statement.reads), statement.error) == ("SELECT", ["t"], None)


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 5_000], ids=["just-over", "far-over"])
def test_nesting_beyond_the_limit_is_an_error(depth):
    text = f"SELECT * FROM ok;\n{_nested_select(depth)};\nSELECT * FROM also_ok"
    first, deep, last = extract_lineage(text, "").statements
    assert (deep.kind, deep.line) == ("ERROR", 2)
    assert "nesting depth" in deep.error
    assert fqns(first.reads) == ["ok"] and fqns(last.reads) == ["also_ok"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("-- dialect: snowflake\nSELECT 1", "snowflake", id="plain"),
        pytest.param("  --Dialect :BigQuery\nSELECT 1", "bigquery", id="spacing-and-case"),
        pytest.param("-- dialect: tsql", "tsql", id="no-newline"),
        pytest.param("SELECT 1\n-- dialect: snowflake", None, id="not-first-line"),
        pytest.param("-- some other comment\nSELECT 1", None, id="other-comment"),
        pytest.param("", None, id="empty"),
    ],
)
def test_dialect_from_comment(text, expected):
    assert dialect_from_comment(text) == expected


def test_dialect_comment_drives_extraction():
    text = "-- dialect: snowflake\nSELECT * FROM db.sch.orders"
    [statement] = extract_lineage(text, dialect_from_comment(text)).statements
    assert (statement.line, fqns(statement.reads)) == (2, ["DB.SCH.ORDERS"])


@pytest.mark.parametrize(
    ("text", "decode_errors"),
    [
        pytest.param(
            "CREATE VIEW v AS SELECT * FROM a JOIN b ON a.id = b.id;\n"
            "ALTER TABLE s.x RENAME TO y;\n"
            "SELECT FROM WHERE );\n"
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;\n"
            "VACUUM;",
            True,
            id="mixed",
        ),
        pytest.param("SELECT * FROM {{ ref('x') }}", False, id="templated"),
        pytest.param("", False, id="empty"),
    ],
)
def test_to_dict_from_dict_round_trip(text, decode_errors):
    lineage = extract_lineage(text, "postgres", decode_errors=decode_errors)
    row = json.loads(json.dumps(lineage.to_dict()))
    assert FileLineage.from_dict(row) == lineage


def test_round_trip_covers_every_field():
    lineage = extract_lineage(
        "CREATE VIEW v AS SELECT * FROM a;\nALTER TABLE s.x RENAME TO y;\nSELECT FROM WHERE )", "postgres", decode_errors=True
    )
    view, rename, broken = lineage.statements
    assert view.views and rename.renamed_from and broken.error and lineage.decode_errors
    assert FileLineage.from_dict(lineage.to_dict()) == lineage


# --------------------------------------------------------------------------------------------
# Data movement hidden in DDL, vendor functions, keyword-like names (issue 12)
# --------------------------------------------------------------------------------------------

# (id, dialect, sql, kind, reads, writes). Direction chosen for two-table DDL: the named table
# receives the other's rows (`ALTER TABLE t EXCHANGE PARTITION ... WITH TABLE s` and `ALTER TABLE t
# SWAP WITH s` write t and read s; T-SQL `ALTER TABLE s SWITCH ... TO t` writes t and reads s).
MOVEMENT_CASES = [
    ("create-like", "", "CREATE TABLE tab1 LIKE tab2", "CREATE_TABLE", ["tab2"], ["tab1"]),
    ("create-like", "mysql", "CREATE TABLE db.t LIKE db.s", "CREATE_TABLE", ["db.s"], ["db.t"]),
    ("create-like", "spark", "CREATE TABLE IF NOT EXISTS t LIKE s", "CREATE_TABLE", ["s"], ["t"]),
    ("create-like", "hive", "CREATE TABLE t LIKE s", "CREATE_TABLE", ["s"], ["t"]),
    ("create-like", "bigquery", "CREATE TABLE d.t LIKE d.s", "CREATE_TABLE", ["d.s"], ["d.t"]),
    ("create-clone", "bigquery", "CREATE TABLE d.t2 CLONE d.t1", "CREATE_TABLE", ["d.t1"], ["d.t2"]),
    ("create-or-replace-clone", "snowflake", "CREATE OR REPLACE TABLE new CLONE original", "CREATE_TABLE", ["ORIGINAL"], ["NEW"]),
    ("create-clone-at", "snowflake", "CREATE TABLE t2 CLONE t1 AT (OFFSET => -3600)", "CREATE_TABLE", ["T1"], ["T2"]),
    ("create-snapshot-clone", "bigquery", "CREATE SNAPSHOT TABLE d.snap CLONE d.t FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR)", "CREATE_TABLE", ["d.t"], ["d.snap"]),
    ("create-select-without-as", "spark", "CREATE TABLE tab1 SELECT * FROM tab2", "CREATE_TABLE", ["tab2"], ["tab1"]),
    ("create-select-without-as", "databricks", "CREATE TABLE tab1 SELECT * FROM tab2", "CREATE_TABLE", ["tab2"], ["tab1"]),
    ("exchange-partition", "hive", "ALTER TABLE tab1 EXCHANGE PARTITION (pt='part1') WITH TABLE tab2", "ALTER", ["tab2"], ["tab1"]),
    ("exchange-partition", "oracle", "ALTER TABLE sales EXCHANGE PARTITION p2024 WITH TABLE sales_stage INCLUDING INDEXES", "ALTER", ["SALES_STAGE"], ["SALES"]),
    ("swap-with", "", "ALTER TABLE tab1 SWAP WITH tab2", "ALTER", ["tab2"], ["tab1"]),
    ("switch-partition", "tsql", "ALTER TABLE dbo.stage SWITCH TO dbo.fact PARTITION 3", "ALTER", ["dbo.stage"], ["dbo.fact"]),
    ("swap-partitions-function", "", "SELECT swap_partitions_between_tables('staging', 'min-range-value', 'max-range-value', 'target')", "SELECT", ["staging"], ["target"]),
    ("copy-partitions-function", "", "SELECT copy_partitions_to_table('s.src', '2024-01', '2024-12', 's.tgt')", "SELECT", ["s.src"], ["s.tgt"]),
    ("move-partitions-function", "postgres", "SELECT MOVE_PARTITIONS_TO_TABLE('public.src', '1', '9', 'public.tgt', true)", "SELECT", ["public.src"], ["public.tgt"]),
    ("copy-table-function", "", "SELECT copy_table('a', 'b')", "SELECT", ["a"], ["b"]),
    ("partition-function-with-alias", "", "SELECT swap_partitions_between_tables('st', '1', '2', 'tg') AS result", "SELECT", ["st"], ["tg"]),
    ("unknown-function-moves-nothing", "", "SELECT refresh_tables('a', 'b', 'c', 'd')", "SELECT", [], []),
    ("keyword-source", "", "SELECT col1, col2 FROM segment", "SELECT", ["segment"], []),
    ("keyword-target", "", "INSERT INTO host SELECT col1, col2 FROM segment", "INSERT", ["segment"], ["host"]),
    ("keyword-cte", "", "WITH summary AS (SELECT * FROM segment) INSERT INTO host SELECT * FROM summary", "INSERT", ["segment"], ["host"]),
    ("keyword-tables", "postgres", "INSERT INTO status SELECT * FROM events JOIN session ON events.sid = session.id", "INSERT", ["events", "session"], ["status"]),
    ("keyword-tables", "bigquery", "INSERT INTO ds.user SELECT * FROM ds.date JOIN ds.time USING (id)", "INSERT", ["ds.date", "ds.time"], ["ds.user"]),
    ("keyword-tables", "hive", "INSERT OVERWRITE TABLE location SELECT * FROM format", "INSERT", ["format"], ["location"]),
    ("keyword-tables", "snowflake", "INSERT INTO result SELECT * FROM stage_data JOIN options ON 1 = 1", "INSERT", ["OPTIONS", "STAGE_DATA"], ["RESULT"]),
    ("keyword-tables", "oracle", "INSERT INTO history SELECT * FROM events", "INSERT", ["EVENTS"], ["HISTORY"]),
    ("keyword-loop-table", "bigquery", "BEGIN\n  INSERT INTO ds.loop SELECT * FROM ds.end;\nEND", "INSERT", ["ds.end"], ["ds.loop"]),
    ("materialized-view-to-table", "clickhouse", "CREATE MATERIALIZED VIEW a.mv TO a.agg (d Date) AS SELECT toDate(ts) AS d FROM a.events", "CREATE_VIEW", ["a.events"], ["a.agg", "a.mv"]),
    ("delete-from-table-keyword", "", "DELETE FROM TABLE tab1", "DELETE", [], ["tab1"]),
    ("delete-from-table-keyword", "hive", "delete from table db.tab1 where x = 1", "DELETE", [], ["db.tab1"]),
    # IDENTIFIER('name') / IDENTIFIER(name) names a table; so does a session variable set to a string
    # earlier in the file ($v); any other variable stays unknown.
    ("identifier-string", "snowflake", "SELECT col1 FROM IDENTIFIER('target') WHERE x = 1", "SELECT", ["TARGET"], []),
    ("identifier-bare-name", "snowflake", "SELECT col1 FROM identifier(db.target)", "SELECT", ["DB.TARGET"], []),
    ("identifier-quoted", "snowflake", "SELECT i.a FROM IDENTIFIER('\"Mixed\"') AS i", "SELECT", ["Mixed"], []),
    ("identifier-delete", "snowflake", "DELETE FROM identifier('t') WHERE x = 1", "DELETE", [], ["T"]),
    ("identifier-insert", "databricks", "INSERT INTO IDENTIFIER('db.sch.tgt') SELECT a FROM identifier('src')", "INSERT", ["src"], ["db.sch.tgt"]),
    ("identifier-variable", "snowflake", "SELECT col1 FROM IDENTIFIER($target)", "SELECT", [], []),
    ("identifier-session-variable", "snowflake", "SET v = 'db.s.t';\nSET (a, b) = ('raw.e', 'x');\nINSERT INTO IDENTIFIER($v) SELECT * FROM identifier($a)", "INSERT", ["RAW.E"], ["DB.S.T"]),
    ("identifier-variable", "databricks", "SELECT col1 FROM IDENTIFIER(:tab)", "SELECT", [], []),
]

# (id, dialect, sql, reads, writes, the dialect that parsed it)
FALLBACK_CASES = [
    ("backtick-select", "athena", "SELECT * FROM `db`.`t`", ["db.t"], [], "hive"),
    ("backtick-insert", "athena", "INSERT INTO db.t2 SELECT a FROM `db`.`s`", ["db.s"], ["db.t2"], "hive"),
    ("backtick", "trino", "SELECT * FROM `a`.`b`", ["a.b"], [], "hive"),
    ("backtick", "presto", "INSERT INTO x SELECT * FROM `y`", ["y"], ["x"], "hive"),
    ("tsql-top", "", "SELECT TOP 5 * FROM t", ["t"], [], "tsql"),
    ("tsql-brackets", "", "INSERT INTO [dbo].[t] SELECT * FROM [s]", ["s"], ["dbo.t"], "tsql"),
    ("brackets", "redshift", "SELECT [col1] FROM [test_schema].[test_table]", ["test_schema.test_table"], [], "tsql"),
    ("own-dialect-first", "athena", "SELECT * FROM db.t", ["db.t"], [], None),
]


@pytest.mark.parametrize(("dialect", "sql", "kind", "reads", "writes"), cases(MOVEMENT_CASES))
def test_data_movement_and_names(dialect, sql, kind, reads, writes):
    statements = extract_lineage(sql, dialect).statements
    [statement] = [s for s in statements if s.kind == kind]
    assert (fqns(statement.reads), fqns(statement.writes), statement.error) == (sorted(reads), sorted(writes), None)


@pytest.mark.parametrize(("dialect", "sql", "reads", "writes", "parsed_as"), cases(FALLBACK_CASES))
def test_dialect_fallback_is_recorded(dialect, sql, reads, writes, parsed_as):
    statement = only_statement(sql, dialect)
    assert (fqns(statement.reads), fqns(statement.writes), statement.parsed_as, statement.error) == (reads, writes, parsed_as, None)


def test_a_fallback_that_only_gives_a_command_is_not_taken():
    statement = only_statement("FROBNICATE TABLE x WITH y", "athena")
    assert statement.kind in ("COMMAND", "ERROR") and statement.parsed_as is None


@pytest.mark.parametrize(
    ("dialect", "sql", "temporary"),
    [
        pytest.param("postgres", "CREATE TEMP TABLE tt AS SELECT * FROM s;\nINSERT INTO fin SELECT * FROM tt", [["tt"], ["tt"]], id="postgres-temp"),
        pytest.param("redshift", "CREATE TEMPORARY TABLE tt (a INT);\nINSERT INTO tt SELECT * FROM s", [["tt"], ["tt"]], id="redshift-temporary"),
        pytest.param("bigquery", "CREATE TEMP TABLE tt AS SELECT 1 AS a;\nSELECT * FROM tt", [["tt"], ["tt"]], id="bigquery-temp"),
        pytest.param("snowflake", "CREATE TEMPORARY TABLE tt AS SELECT * FROM s;\nSELECT * FROM tt", [["TT"], ["TT"]], id="snowflake-temporary"),
        pytest.param("spark", "CREATE TEMPORARY VIEW v AS SELECT * FROM s;\nINSERT INTO t SELECT * FROM v", [["v"], ["v"]], id="spark-temp-view"),
        pytest.param("postgres", "SELECT * INTO TEMP tt FROM s;\nSELECT * FROM tt", [["tt"], ["tt"]], id="postgres-select-into-temp"),
        pytest.param("", "DECLARE GLOBAL TEMPORARY TABLE gt (a INT);\nINSERT INTO session.gt SELECT * FROM s", [["session.gt"], ["session.gt"]], id="declare-global-temporary"),
        pytest.param("tsql", "SELECT * INTO #t FROM s\nSELECT * FROM ##g JOIN @v ON 1 = 1", [["#t"], ["##g", "@v"]], id="tsql-prefixes"),
        pytest.param("postgres", "SELECT * FROM tt;\nCREATE TEMP TABLE tt (a INT);\nSELECT * FROM tt", [[], ["tt"], ["tt"]], id="only-after-creation"),
        pytest.param("oracle", "CREATE GLOBAL TEMPORARY TABLE gtt (a NUMBER);\nINSERT INTO gtt SELECT * FROM s", [[], []], id="oracle-gtt-is-permanent"),
        pytest.param("postgres", "CREATE LOCAL TEMP TABLE lt AS SELECT * FROM s;\nINSERT INTO t SELECT * FROM lt", [["lt"], ["lt"]], id="postgres-local-temp"),
        pytest.param("", "CREATE LOCAL TEMPORARY TABLE lt (a INT);\nINSERT INTO lt SELECT * FROM s", [["lt"], ["lt"]], id="ansi-local-temporary"),
        pytest.param("teradata", "CREATE MULTISET VOLATILE TABLE vt, NO LOG AS (SELECT a FROM db.s) WITH DATA PRIMARY INDEX (a) ON COMMIT PRESERVE ROWS;\nINSERT INTO db.t SELECT * FROM vt", [["vt"], ["vt"]], id="teradata-multiset-volatile"),
        pytest.param("oracle", "CREATE PRIVATE TEMPORARY TABLE ora$ptt_x AS SELECT * FROM s;\nINSERT INTO t SELECT * FROM ora$ptt_x", [["ORA$PTT_X"], ["ORA$PTT_X"]], id="oracle-private-temporary"),
    ],
)
def test_temporary_tables(dialect, sql, temporary):
    statements = extract_lineage(sql, dialect).statements
    assert [fqns(s.temporary) for s in statements] == temporary


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        pytest.param("postgres", 'SELECT * FROM "sales.orders" JOIN sales.orders ON TRUE', ['"sales.orders"', "sales.orders"], id="dotted-name-vs-two-parts"),
        pytest.param("snowflake", 'SELECT * FROM "a""b"."c.d"', ['"a""b"."c.d"'], id="quote-and-dot"),
        pytest.param("tsql", "SELECT * FROM [a.b].[c] JOIN a.b.c ON 1 = 1", ['"a.b".c', "a.b.c"], id="brackets"),
        pytest.param("bigquery", "SELECT * FROM `p.d.t` JOIN `p`.`d.t` ON TRUE", ["p.d.t"], id="bigquery-splits-paths"),
        pytest.param("tsql", "SELECT * FROM db..t JOIN db.t ON 1 = 1", ["db..t", "db.t"], id="empty-schema"),
    ],
)
def test_table_keys_keep_quoting_distinctions(dialect, sql, expected):
    assert fqns(only_statement(sql, dialect).reads) == expected


@pytest.mark.parametrize(
    ("dialect", "sql", "reads", "writes"),
    [
        pytest.param("tsql", "CREATE TABLE dbo.hot (id INT NOT NULL, CONSTRAINT pk PRIMARY KEY NONCLUSTERED HASH (id) WITH (BUCKET_COUNT = 64)) WITH (MEMORY_OPTIMIZED = ON)", [], ["dbo.hot"], id="tsql-memory-optimized"),
        pytest.param("tsql", "CREATE VIEW dbo.v AS SELECT a AS Annual Usage FROM dbo.t", [], ["dbo.v"], id="tsql-view-with-broken-body"),
    ],
)
def test_a_definition_the_parser_rejects_still_writes_its_table(dialect, sql, reads, writes):
    statement = only_statement(sql, dialect)
    assert (fqns(statement.reads), fqns(statement.writes), statement.error) == (reads, writes, None)
    assert statement.column_error and "not fully parsed" in statement.column_error


def test_issue_12_single_statement_cases_are_broad():
    assert len(MOVEMENT_CASES) + len(FALLBACK_CASES) >= 35


# --------------------------------------------------------------------------------------------
# Property: token soup never raises
# --------------------------------------------------------------------------------------------

_SOUP_TOKENS = [
    "SELECT", "FROM", "WHERE", "JOIN", "ON", "WITH", "RECURSIVE", "AS", "INSERT", "INTO", "OVERWRITE",
    "TABLE", "VALUES", "UPDATE", "SET", "DELETE", "USING", "MERGE", "WHEN", "MATCHED", "THEN", "CREATE",
    "OR", "REPLACE", "VIEW", "MATERIALIZED", "DROP", "ALTER", "RENAME", "TO", "UNION", "ALL", "EXCEPT",
    "INTERSECT", "LATERAL", "UNNEST", "PARTITION", "GROUP", "BY", "ORDER", "CASE", "END", "NOT", "EXISTS",
    "IN", "NULL", "TOP", "LIMIT", "QUALIFY", "PIVOT", "GRANT", "COPY", "t", "s.t", "c.s.t", "x", "orders",
    "generate_series", "@stage", "#tmp", "$1", "1", "2.5", "'str'", "'", '"', '"Q"', "`", "`b.q`", "[",
    "]", "[br]", "(", ")", "((", "))", ",", ".", ";", "*", "=", "<>", "+", "-", "/", "::", "=>", ":",
    "--", "/*", "*/", "\n", "{", "}", "?", "%s", "$$", "E'\\x'",
]


@settings(max_examples=200, deadline=None)
@given(
    tokens=st.lists(st.sampled_from(_SOUP_TOKENS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), max_size=60),
    separator=st.sampled_from([" ", "", "\n"]),
    dialect=st.sampled_from(DIALECTS),
)
def test_token_soup_never_raises(tokens, separator, dialect):
    lineage = extract_lineage(separator.join(tokens), dialect)
    assert isinstance(lineage, FileLineage)
    assert [s.index for s in lineage.statements] == list(range(len(lineage.statements)))
    for statement in lineage.statements:
        assert statement.line >= 1
        assert (statement.kind == "ERROR") <= (statement.error is not None)
