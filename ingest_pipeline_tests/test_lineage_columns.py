"""Table-driven tests for column lineage: extraction per statement and star expansion from a catalog.

Edges are written `target <- source, source` (sources sorted, `<-` with nothing after it for
constants), in the order the statement lists them (a target table's edges follow its query's
output order). A star that leaves columns out is written `t.* EXCEPT(a,b)`.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ingest_pipeline.lineage.column_extract as column_extract
from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.lineage.catalog import build_catalog, refresh_catalog, star_tables
from ingest_pipeline.lineage.expansion import expand_stars
from ingest_pipeline.lineage.model import Choice, ColumnLineage, ColumnRef, FileLineage, StatementLineage, TableRef

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def only_statement(sql: str, dialect: str) -> StatementLineage:
    lineage = extract_lineage(sql, dialect)
    assert len(lineage.statements) == 1, [s.kind for s in lineage.statements]
    return lineage.statements[0]


def ref_text(ref: ColumnRef) -> str:
    if ref.rows:
        return f"rows({ref.table.fqn})"
    return ref.fqn + (f" EXCEPT({','.join(ref.excluded)})" if ref.excluded else "")


def choice_text(choice: Choice) -> str:
    """`{x.a | y.a}`: one of the candidates; `{x.g else alias x.a, x.b}`: a lateral reference."""
    candidates = " | ".join(ref_text(ref) for ref in choice.candidates)
    if not choice.lateral:
        return f"{{{candidates}}}"
    alias = ", ".join([ref_text(ref) for ref in choice.alias] + [choice_text(c) for c in choice.alias_choices])
    return f"{{{candidates} else alias {alias}}}".replace(" alias }", " alias}")


def edge_texts(edges: list[ColumnLineage]) -> list[str]:
    """`target <- sources` per edge; `[k] ` before an edge of set-operation branch k > 0, `?` after
    an ambiguous source, choices in braces after the certain sources."""
    texts = []
    for edge in edges:
        ambiguous = set(edge.ambiguous)
        sources = [ref_text(s) + ("?" if s in ambiguous else "") for s in edge.sources]
        sources += [choice_text(c) for c in edge.choices]
        branch = f"[{edge.branch}] " if edge.branch else ""
        texts.append(f"{branch}{ref_text(edge.target)} <- {', '.join(sources)}".rstrip())
    return texts


def table(fqn: str) -> TableRef:
    parts = fqn.split(".")
    return TableRef(*([""] * (3 - len(parts)) + parts))


def col(text: str) -> ColumnRef:
    """`s.t.c` -> ColumnRef(TableRef('', 's', 't'), 'c'); `t.* EXCEPT(a,b)` for an excluding star."""
    text, _, excluded = text.partition(" EXCEPT(")
    fqn, _, name = text.rpartition(".")
    return ColumnRef(table(fqn), name, tuple(excluded.rstrip(")").split(",")) if excluded else ())


# --------------------------------------------------------------------------------------------
# Extraction: (id, dialect, sql, edges[, defined columns[, positional targets]])
# --------------------------------------------------------------------------------------------

EXTRACT_CASES = [
    # ---- INSERT ------------------------------------------------------------------------------
    ("insert-column-list", "", "INSERT INTO t (a, b) SELECT x, y + z FROM s", ["t.a <- s.x", "t.b <- s.y, s.z"]),
    ("insert-no-column-list", "", "INSERT INTO t SELECT x, y AS b FROM s", ["t.x <- s.x", "t.b <- s.y"], [], ["t"]),
    ("insert-values", "postgres", "INSERT INTO t (a, b) VALUES (1, 2), (3, 4)", ["t.a <-", "t.b <-"]),
    ("insert-star", "", "INSERT INTO t SELECT * FROM s", ["t.* <- s.*"], [], ["t"]),
    ("insert-list-around-star", "", "INSERT INTO t (a, b, c, d) SELECT k, *, 'x' AS z FROM s",
     ["t.a <- s.k", "t.b <- s.*", "t.c <- s.*", "t.d <-"]),
    ("insert-case-expression", "trino", "INSERT INTO t (a) SELECT CASE WHEN p > 0 THEN q ELSE r END FROM s", ["t.a <- s.p, s.q, s.r"]),
    ("insert-by-name", "duckdb", "INSERT INTO t BY NAME SELECT b AS x, a FROM s", ["t.x <- s.b", "t.a <- s.a"]),
    ("insert-cte-column-list", "", "WITH c(x) AS (SELECT a FROM s) INSERT INTO t SELECT x FROM c", ["t.x <- s.a"], [], ["t"]),
    ("insert-lateral-view", "hive", "INSERT OVERWRITE TABLE t SELECT id, c FROM s LATERAL VIEW explode(s.arr) e AS c",
     ["t.id <- s.id", "t.c <- s.arr"], [], ["t"]),
    ("insert-recursive-cte", "postgres",
     "WITH RECURSIVE r AS (SELECT id, parent FROM nodes UNION ALL SELECT n.id, r.parent FROM nodes n JOIN r ON n.parent = r.id) "
     "INSERT INTO t (id, parent) SELECT id, parent FROM r",
     ["t.id <- nodes.id", "t.parent <- nodes.parent"]),
    ("insert-union-of-stars", "", "INSERT INTO t SELECT * FROM a UNION ALL SELECT * FROM b", ["t.* <- a.*", "[1] t.* <- b.*"], [], ["t"]),
    ("insert-all-star", "snowflake", "INSERT ALL INTO a INTO b SELECT * FROM s", ["A.* <- S.*", "B.* <- S.*"], [], ["A", "B"]),
    ("insert-all-values", "oracle", "INSERT ALL INTO a (x) VALUES (y) INTO b (x) VALUES (x) SELECT x, y FROM s",
     ["A.X <- S.Y", "B.X <- S.X"]),
    ("from-multi-insert", "hive", "FROM src INSERT OVERWRITE TABLE a SELECT x INSERT OVERWRITE TABLE b SELECT y",
     ["a.x <- src.x", "b.y <- src.y"], [], ["a", "b"]),
    ("replace-into", "mysql", "REPLACE INTO t (a) SELECT b FROM s", ["t.a <- s.b"]),
    ("insert-select-temp", "tsql", "INSERT INTO #tmp (a) SELECT a + b FROM dbo.t", ["#tmp.a <- dbo.t.a, dbo.t.b"]),
    # ---- CTAS / CREATE TABLE ---------------------------------------------------------------------
    ("ctas-agg-window", "postgres",
     "CREATE TABLE t AS SELECT s.a, COUNT(*) AS n, SUM(s.b) OVER (PARTITION BY s.c ORDER BY s.d) AS w FROM s GROUP BY s.a",
     ["t.a <- s.a", "t.n <- rows(s)", "t.w <- s.b, s.c, s.d"], ["t.a", "t.n", "t.w"]),
    ("ctas-filters-are-not-sources", "", "CREATE TABLE t AS SELECT a FROM s WHERE b > 0 GROUP BY a HAVING COUNT(c) > 1",
     ["t.a <- s.a"], ["t.a"]),
    ("ctas-star", "snowflake", "CREATE TABLE t AS SELECT * FROM s", ["T.* <- S.*"], ["S.*"]),
    ("ctas-union-by-position", "", "CREATE TABLE t AS SELECT a, b FROM x UNION ALL SELECT c, d FROM y",
     ["t.a <- x.a, y.c", "t.b <- x.b, y.d"], ["t.a", "t.b"]),
    ("ctas-subquery-predicates", "",
     "CREATE TABLE t AS SELECT a IN (SELECT b FROM u) AS f, EXISTS (SELECT 1 FROM w WHERE w.id = s.id) AS e FROM s",
     ["t.f <- s.a, u.b", "t.e <-"], ["t.f", "t.e"]),
    ("ctas-values", "", "CREATE TABLE t AS SELECT v.x FROM (VALUES (1), (2)) AS v(x)", ["t.x <-"], ["t.x"]),
    ("ctas-table-function", "postgres", "CREATE TABLE t AS SELECT g.n FROM s, generate_series(1, s.k) AS g(n)", ["t.n <- s.k"], ["t.n"]),
    ("ctas-lateral-subquery", "postgres",
     "CREATE TABLE t AS SELECT a.id, l.m FROM a CROSS JOIN LATERAL (SELECT MAX(b.v) AS m FROM b WHERE b.id = a.id) AS l",
     ["t.id <- a.id", "t.m <- b.v"], ["t.id", "t.m"]),
    ("ctas-quoted", "postgres", 'CREATE TABLE "T" AS SELECT "Col", Other FROM s', ["T.Col <- s.Col", "T.other <- s.other"], ["T.Col", "T.other"]),
    ("ctas-lambda", "spark", "CREATE TABLE t AS SELECT transform(arr, x -> x + k) AS z FROM s", ["t.z <- s.arr, s.k"], ["t.z"]),
    ("ctas-unnamed-expression", "", "CREATE TABLE t AS SELECT a + 1, b FROM s", ["t.a + 1 <- s.a", "t.b <- s.b"], ["t.a + 1", "t.b"]),
    ("ctas-stream-columns", "databricks", "CREATE STREAMING TABLE st AS SELECT a, b + 1 AS c FROM STREAM(main.s.t)",
     ["st.a <- main.s.t.a", "st.c <- main.s.t.b"], ["st.a", "st.c"]),
    ("ctas-stream-star", "databricks", "CREATE STREAMING TABLE st AS SELECT * FROM STREAM(main.s.t)", ["st.* <- main.s.t.*"], ["main.s.t.*"]),
    ("ctas-file-function-star", "duckdb", "CREATE TABLE t AS SELECT * FROM read_parquet('x.parquet')", ["t.* <-"], ["t.*"]),
    ("create-columns", "", "CREATE TABLE t (a INT, b TEXT)", [], ["t.a", "t.b"]),
    ("create-like", "snowflake", "CREATE TABLE t LIKE s", [], ["S.*"]),
    ("create-clone", "snowflake", "CREATE TABLE t CLONE s", ["T.* <- S.*"], ["S.*"]),
    ("select-into", "tsql", "SELECT a, b + 1 AS c INTO #tmp FROM dbo.t", ["#tmp.a <- dbo.t.a", "#tmp.c <- dbo.t.b"], ["#tmp.a", "#tmp.c"]),
    # ---- Views: CTEs, subqueries, stars, ambiguity ---------------------------------------------
    ("view-cte-collapse", "", "CREATE VIEW v AS WITH c AS (SELECT a, b + 1 AS bb FROM s) SELECT c.a, bb FROM c",
     ["v.a <- s.a", "v.bb <- s.b"], ["v.a", "v.bb"]),
    ("view-nested-subqueries", "",
     "CREATE VIEW v AS SELECT d2.x FROM (SELECT d1.y * 2 AS x FROM (SELECT a + b AS y FROM s) AS d1) AS d2",
     ["v.x <- s.a, s.b"], ["v.x"]),
    ("view-chained-ctes", "",
     "CREATE VIEW v AS WITH c1 AS (SELECT id, amount FROM orders), c2 AS (SELECT id, SUM(amount) AS total FROM c1 GROUP BY id) "
     "SELECT c2.total, c1.id FROM c2 JOIN c1 ON c1.id = c2.id",
     ["v.total <- orders.amount", "v.id <- orders.id"], ["v.total", "v.id"]),
    ("view-column-list", "postgres", "CREATE VIEW v (p, q) AS SELECT a, b FROM t", ["v.p <- t.a", "v.q <- t.b"], ["v.p", "v.q"]),
    ("view-qualified-star", "", "CREATE VIEW v AS SELECT s.*, u.x FROM s JOIN u ON s.id = u.id", ["v.* <- s.*", "v.x <- u.x"], ["s.*", "v.x"]),
    ("view-star-through-cte", "", "CREATE VIEW v AS WITH c AS (SELECT * FROM s) SELECT c.a, c.* FROM c",
     ["v.a <- s.a", "v.* <- s.*"], ["v.a", "s.*"]),
    ("view-ambiguous-unqualified", "", "CREATE VIEW v AS SELECT a FROM x JOIN y ON x.id = y.id", ["v.a <- {x.a | y.a}"], ["v.a"]),
    ("view-cte-disambiguates", "", "CREATE VIEW v AS WITH c AS (SELECT k FROM s) SELECT k, z FROM c JOIN t ON c.k = t.k",
     ["v.k <- s.k", "v.z <- t.z"], ["v.k", "v.z"]),
    ("view-join-using", "bigquery", "CREATE VIEW d.v AS WITH e AS (SELECT h FROM d.x) SELECT h FROM d.s AS s FULL JOIN e USING (h)",
     ["d.v.h <- d.s.h, d.x.h"], ["d.v.h"]),
    ("view-except-replace", "bigquery", "CREATE VIEW d.v AS SELECT * EXCEPT (a) REPLACE (LOWER(b) AS b) FROM d.s",
     ["d.v.* <- d.s.* EXCEPT(a,b)", "d.v.b <- d.s.b"], ["d.s.* EXCEPT(a)"]),
    ("view-except-known-columns", "bigquery",
     "CREATE VIEW d.v AS WITH c AS (SELECT a, b, c FROM d.s) SELECT * EXCEPT (b) REPLACE (a + c AS a) FROM c",
     ["d.v.a <- d.s.a, d.s.c", "d.v.c <- d.s.c"], ["d.v.a", "d.v.c"]),
    ("view-unnest-and-row", "bigquery",
     "CREATE VIEW d.v AS SELECT e.key, ARRAY_AGG(t) AS all_rows, u FROM d.t AS t CROSS JOIN UNNEST(t.events) AS e, UNNEST(t.arr) AS u GROUP BY 1, 3",
     ["d.v.key <- d.t.events", "d.v.all_rows <- d.t.*", "d.v.u <- d.t.arr"], ["d.v.key", "d.v.all_rows", "d.v.u"]),
    ("view-struct-and-correlated", "bigquery",
     "CREATE VIEW d.v AS SELECT t.payload.metric AS m, (SELECT MAX(x) FROM d.o WHERE o.id = t.id) AS mx FROM d.t",
     ["d.v.m <- d.t.payload", "d.v.mx <- d.o.x"], ["d.v.m", "d.v.mx"]),
    ("view-case-insensitive-columns", "bigquery", "CREATE VIEW d.V AS SELECT Client_Id AS ID FROM d.T",
     ["d.V.id <- d.T.client_id"], ["d.V.id"]),
    ("view-exclude-flatten", "snowflake",
     "CREATE VIEW v AS SELECT t.* EXCLUDE (raw), f.value:name::string AS name FROM t, LATERAL FLATTEN(input => t.raw) f",
     ["V.* <- T.* EXCEPT(RAW)", "V.NAME <- T.RAW"], ["T.* EXCEPT(RAW)", "V.NAME"]),
    ("view-pivot", "bigquery", "CREATE VIEW d.v AS SELECT * FROM d.t PIVOT(SUM(x) AS s FOR y IN ('a', 'b'))",
     ["d.v.* <- d.t.* EXCEPT(x,y)", "d.v.s_a <- d.t.x, d.t.y", "d.v.s_b <- d.t.x, d.t.y"],
     ["d.t.* EXCEPT(x,y)", "d.v.s_a", "d.v.s_b"]),
    ("view-unpivot", "bigquery", "CREATE VIEW d.v AS SELECT * FROM d.t UNPIVOT(val FOR name IN (a, b))",
     ["d.v.* <- d.t.* EXCEPT(a,b)", "d.v.val <- d.t.a, d.t.b"], ["d.t.* EXCEPT(a,b)", "d.v.val"]),
    ("view-recursive-forward-cte", "postgres",
     "CREATE VIEW v AS WITH RECURSIVE a AS (SELECT n FROM b), b AS (SELECT x AS n FROM t) SELECT n FROM a",
     ["v.n <- t.x"], ["v.n"]),
    ("materialized-view-feeds-its-to-table", "clickhouse",
     "CREATE MATERIALIZED VIEW a.mv TO a.agg AS SELECT toDate(ts) AS d, count(*) AS n FROM a.events GROUP BY d",
     ["a.mv.d <- a.events.ts", "a.mv.n <- rows(a.events)", "a.agg.d <- a.events.ts", "a.agg.n <- rows(a.events)"], ["a.mv.d", "a.mv.n"]),
    # ---- MERGE -------------------------------------------------------------------------------
    ("merge-update-insert", "",
     "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x WHEN NOT MATCHED THEN INSERT (id, x) VALUES (s.id, s.x + s.y)",
     ["t.x <- s.x, s.y", "t.id <- s.id"]),
    ("merge-subquery-source", "oracle",
     "MERGE INTO t USING (SELECT id, a + b AS x FROM s) src ON (t.id = src.id) WHEN MATCHED THEN UPDATE SET t.x = src.x",
     ["T.X <- S.A, S.B"]),
    ("merge-target-in-expression", "tsql",
     "MERGE dbo.t AS tgt USING dbo.s AS src ON tgt.id = src.id WHEN MATCHED THEN UPDATE SET tgt.x = tgt.x + src.x",
     ["dbo.t.x <- dbo.s.x, dbo.t.x"]),
    ("merge-insert-row", "bigquery",
     "MERGE d.t T USING d.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET x = S.x WHEN NOT MATCHED THEN INSERT ROW",
     ["d.t.x <- d.s.x", "d.t.* <- d.s.*"]),
    ("merge-star", "databricks",
     "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
     ["t.* <- s.*"]),
    ("merge-cte-source", "snowflake",
     "MERGE INTO t USING (WITH c AS (SELECT id, v FROM raw) SELECT id, v * 2 AS v2 FROM c) AS src ON t.id = src.id "
     "WHEN MATCHED THEN UPDATE SET t.v = src.v2",
     ["T.V <- RAW.V"]),
    # An unqualified name in NOT MATCHED [BY TARGET] can only be the source's (the target has no
    # row); in NOT MATCHED BY SOURCE only the target's; in MATCHED either (left to the catalog).
    ("merge-not-matched-sees-source", "bigquery",
     "MERGE d.t USING (SELECT * FROM d.s) AS src ON FALSE WHEN NOT MATCHED THEN INSERT (a, b) VALUES (a, b + 1)",
     ["d.t.a <- d.s.a", "d.t.b <- d.s.b"]),
    ("merge-by-source-sees-target", "tsql",
     "MERGE t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN UPDATE SET a = b WHEN NOT MATCHED BY TARGET THEN INSERT (a) VALUES (c)",
     ["t.a <- s.c, t.b"]),
    ("merge-matched-either-side", "", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = b", ["t.a <- {s.b | t.b}"]),
    # ---- UPDATE ------------------------------------------------------------------------------
    ("update-row-from-subquery", "postgres",
     "UPDATE accounts SET (first, last) = (SELECT fn, ln FROM employees WHERE employees.id = accounts.person)",
     ["accounts.first <- employees.fn", "accounts.last <- employees.ln"]),
    ("update-row-from-tuple", "postgres", "UPDATE t SET (a, b) = (s.x, s.y + 1) FROM s WHERE s.id = t.id", ["t.a <- s.x", "t.b <- s.y"]),
    ("update-from", "postgres", "UPDATE t SET x = s.y + t.z FROM s WHERE t.id = s.id", ["t.x <- s.y, t.z"]),
    ("update-scalar-subquery", "", "UPDATE t SET x = (SELECT MAX(y) FROM s WHERE s.id = t.id), z = 0", ["t.x <- s.y", "t.z <-"]),
    ("update-alias-from-join", "tsql", "UPDATE a SET a.x = s.x FROM dbo.target AS a JOIN dbo.src AS s ON a.id = s.id",
     ["dbo.target.x <- dbo.src.x"]),
    ("update-multi-table", "mysql", "UPDATE a JOIN b ON a.id = b.id SET b.x = a.y", ["b.x <- a.y"]),
    ("update-from-table-variable", "tsql", "UPDATE b SET x = t.id FROM dbo.b AS b JOIN @t AS t ON t.id = b.id", ["dbo.b.x <- @t.id"]),
    ("insert-from-table-variable", "tsql", "INSERT INTO dbo.z (id, n) SELECT id, COUNT(*) FROM @t GROUP BY id",
     ["dbo.z.id <- @t.id", "dbo.z.n <- rows(@t)"]),
    ("update-plain", "bigquery", "UPDATE d.t SET total = price * qty WHERE true", ["d.t.total <- d.t.price, d.t.qty"]),
    # ---- What only the catalog can decide, as the model records it -----------------------------
    ("lateral-alias-choice", "snowflake", "CREATE TABLE t AS SELECT a * b AS g, g - f AS n FROM x",
     ["T.G <- X.A, X.B", "T.N <- X.F, {X.G else alias X.A, X.B}"], ["T.G", "T.N"]),
    ("lateral-alias-forbidden", "bigquery", "CREATE TABLE d.t AS SELECT a * b AS g, g - f AS n FROM d.x",
     ["d.t.g <- d.x.a, d.x.b", "d.t.n <- d.x.f, d.x.g"], ["d.t.g", "d.t.n"]),
    ("ambiguous-choice", "", "INSERT INTO t (c) SELECT a FROM x JOIN y ON x.id = y.id", ["t.c <- {x.a | y.a}"]),
    ("ambiguous-through-side-by-side-stars", "spark", "CREATE VIEW v AS SELECT a FROM (SELECT x.*, y.* FROM x JOIN y ON x.k = y.k) d",
     ["v.a <- {x.a | y.a}"], ["v.a"]),
    ("union-star-branches", "", "CREATE TABLE t AS SELECT *, 1 AS one FROM a UNION ALL SELECT * FROM b",
     ["t.* <- a.*", "t.one <-", "[1] t.* <- b.*"], ["a.*", "t.one"]),
    ("count-rows", "", "INSERT INTO t (n, m) SELECT COUNT(*), COUNT(1) FROM a JOIN (SELECT k FROM b) AS d ON a.k = d.k",
     ["t.n <- rows(a), rows(b)", "t.m <- rows(a), rows(b)"]),
    ("quoted-star-column", "postgres", 'CREATE TABLE t AS SELECT "*", * FROM s', ['t."*" <- s."*"', "t.* <- s.*"], ['t."*"', "s.*"]),
]

DIALECTS_COVERED = {"", "postgres", "bigquery", "snowflake", "tsql", "mysql", "oracle", "hive", "spark", "duckdb", "trino", "databricks"}


def test_case_table_is_broad():
    ids = [row[0] for row in EXTRACT_CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(ids) >= 40
    assert {row[1] for row in EXTRACT_CASES} >= DIALECTS_COVERED


@pytest.mark.parametrize(
    ("dialect", "sql", "edges", "defined", "positional"),
    [
        pytest.param(row[1], row[2], row[3], row[4] if len(row) > 4 else [], row[5] if len(row) > 5 else [], id=f"{row[1] or 'default'}-{row[0]}")
        for row in EXTRACT_CASES
    ],
)
def test_column_lineage(dialect, sql, edges, defined, positional):
    statement = only_statement(sql, dialect)
    assert statement.error is None and statement.column_error is None
    assert edge_texts(statement.columns) == edges
    assert [ref_text(ref) for ref in statement.defined_columns] == defined
    assert [t.fqn for t in statement.positional] == positional
    # Every edge targets a table the statement writes.
    assert {e.target.table for e in statement.columns} <= set(statement.writes)


def test_selects_and_ddl_have_no_column_lineage():
    lineage = extract_lineage("SELECT a FROM s; DROP TABLE t; DELETE FROM t WHERE x = 1; TRUNCATE t", "postgres")
    assert all(not s.columns and not s.defined_columns for s in lineage.statements)


def test_columns_false_skips_column_work():
    sql = "CREATE VIEW v AS SELECT a FROM s; INSERT INTO t SELECT * FROM v"
    full, tables_only = extract_lineage(sql, ""), extract_lineage(sql, "", columns=False)
    assert all(s.columns == s.defined_columns == s.positional == [] for s in tables_only.statements)
    assert [(s.kind, s.reads, s.writes, s.views) for s in full.statements] == [
        (s.kind, s.reads, s.writes, s.views) for s in tables_only.statements
    ]
    assert any(s.columns for s in full.statements)


def test_column_failure_keeps_table_lineage(monkeypatch):
    def boom(*args, **kwargs):
        raise RecursionError("too deep")

    monkeypatch.setattr(column_extract, "statement_columns", boom)
    [statement] = extract_lineage("INSERT INTO t SELECT a FROM s", "").statements
    assert (statement.kind, statement.error, [r.fqn for r in statement.reads], [w.fqn for w in statement.writes]) == (
        "INSERT",
        None,
        ["s"],
        ["t"],
    )
    assert statement.columns == [] and "too deep" in statement.column_error


def test_deeply_nested_query_resolves_or_records():
    sql = "INSERT INTO t SELECT x FROM " + "(SELECT x FROM " * 150 + "s" + ") AS d" * 150
    [statement] = extract_lineage(sql, "").statements
    assert statement.kind == "INSERT" and statement.error is None
    assert edge_texts(statement.columns) == ["t.x <- s.x"] or statement.column_error


def test_round_trip_with_columns():
    sql = (
        "CREATE VIEW d.v AS SELECT * EXCEPT (a) REPLACE (LOWER(b) AS b) FROM d.s;\n"
        "INSERT INTO d.t SELECT x, y FROM d.s;\n"
        "MERGE d.t T USING d.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET x = S.x;\n"
        "CREATE TABLE d.u AS SELECT k, COUNT(*) AS n FROM d.a JOIN d.b ON a.id = b.id GROUP BY k;\n"
        "CREATE TABLE d.w AS SELECT * FROM d.a UNION ALL SELECT * FROM d.b"
    )
    lineage = extract_lineage(sql, "bigquery")
    assert lineage.statements[0].defined_columns and lineage.statements[1].positional
    assert lineage.statements[3].columns[0].choices and lineage.statements[3].columns[1].sources[0].rows
    assert lineage.statements[4].columns[1].branch == 1
    lateral = extract_lineage("CREATE TABLE t AS SELECT a AS g, g + b AS h FROM x JOIN y ON x.k = y.k", "snowflake")
    assert any(choice.alias_choices for choice in lateral.statements[0].columns[1].choices)
    lineage.statements.extend(lateral.statements)
    payload = json.loads(json.dumps(lineage.to_dict()))
    assert FileLineage.from_dict(payload) == lineage


def test_payload_without_column_keys_still_loads():
    """Version 1 payloads (no column keys) load with empty column fields."""
    row = {"d": "postgres", "s": [{"i": 0, "k": "INSERT", "l": 1, "r": [["", "", "s"]], "w": [["", "", "t"]]}]}
    [statement] = FileLineage.from_dict(row).statements
    assert (statement.columns, statement.defined_columns, statement.positional, statement.column_error) == ([], [], [], None)
    assert statement.to_dict() == row["s"][0]


# --------------------------------------------------------------------------------------------
# Star expansion: (id, dialect, sql, catalog, expanded edges)
# --------------------------------------------------------------------------------------------

EXPAND_CASES = [
    ("ctas-star-known", "", "CREATE TABLE t AS SELECT * FROM s", {"s": ["a", "b"]}, ["t.a <- s.a", "t.b <- s.b"]),
    ("ctas-star-unknown", "", "CREATE TABLE t AS SELECT * FROM s", {}, ["t.* <- s.*"]),
    ("view-star-except", "bigquery", "CREATE VIEW d.v AS SELECT * EXCEPT (a) FROM d.s", {"d.s": ["a", "b", "c"]},
     ["d.v.b <- d.s.b", "d.v.c <- d.s.c"]),
    ("view-star-replace", "bigquery", "CREATE VIEW d.v AS SELECT * REPLACE (UPPER(b) AS b) FROM d.s", {"d.s": ["a", "b"]},
     ["d.v.a <- d.s.a", "d.v.b <- d.s.b"]),
    ("qualified-star-and-column", "", "CREATE VIEW v AS SELECT s.*, u.x FROM s JOIN u ON s.id = u.id", {"s": ["id", "y"]},
     ["v.id <- s.id", "v.y <- s.y", "v.x <- u.x"]),
    ("union-of-stars", "", "CREATE TABLE t AS SELECT * FROM a UNION ALL SELECT * FROM b", {"a": ["k", "v"], "b": ["k", "v"]},
     ["t.k <- a.k, b.k", "t.v <- a.v, b.v"]),
    ("partially-known", "", "CREATE TABLE t AS SELECT * FROM s", {"s": ["a", "*", "b"]}, ["t.a <- s.a", "t.* <- s.*", "t.b <- s.b"]),
    ("row-reference", "bigquery", "CREATE VIEW d.v AS SELECT TO_JSON_STRING(t) AS j FROM d.t AS t", {"d.t": ["a", "b"]},
     ["d.v.j <- d.t.a, d.t.b"]),
    ("insert-positional-target-known", "", "INSERT INTO t SELECT x, y FROM s", {"t": ["c1", "c2"]},
     ["t.c1 <- s.x", "t.c2 <- s.y"]),
    ("insert-positional-star-both-known", "", "INSERT INTO t SELECT *, 1 AS k FROM s", {"t": ["p", "q", "r"], "s": ["a", "b"]},
     ["t.p <- s.a", "t.q <- s.b", "t.r <-"]),
    ("insert-positional-source-only", "", "INSERT INTO t SELECT * FROM s", {"s": ["a", "b"]}, ["t.a <- s.a", "t.b <- s.b"]),
    ("insert-positional-stops-at-unknown-star", "", "INSERT INTO t SELECT x, *, y FROM s", {"t": ["c1", "c2", "c3"]},
     ["t.c1 <- s.x", "t.* <- s.*", "t.y <- s.y"]),
    ("insert-column-list-star", "", "INSERT INTO t (a, b) SELECT * FROM s", {"s": ["x", "y"]}, ["t.a <- s.x, s.y", "t.b <- s.x, s.y"]),
    ("disambiguated-by-catalog", "", "CREATE VIEW v AS SELECT a, b FROM x JOIN y ON x.id = y.id", {"x": ["id", "a"], "y": ["id", "b"]},
     ["v.a <- x.a", "v.b <- y.b"]),
    ("known-candidate-wins", "", "CREATE VIEW v AS SELECT a FROM x JOIN y ON x.id = y.id", {"x": ["id", "a"]},
     ["v.a <- x.a"]),
    ("known-lacking-candidate-drops", "", "CREATE VIEW v AS SELECT a FROM x JOIN y ON x.id = y.id", {"x": ["id"]},
     ["v.a <- y.a"]),
    ("ambiguous-without-catalog", "", "CREATE VIEW v AS SELECT a FROM x JOIN y ON x.id = y.id", {}, ["v.a <- x.a?, y.a?"]),
    ("merge-insert-star", "databricks", "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *", {"s": ["id", "v"]},
     ["t.id <- s.id", "t.v <- s.v"]),
    ("merge-insert-star-target-known", "databricks", "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *",
     {"s": ["id", "v", "extra"], "t": ["id", "v"]}, ["t.id <- s.id", "t.v <- s.v"]),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "catalog", "expected"),
    [pytest.param(row[1], row[2], row[3], row[4], id=row[0]) for row in EXPAND_CASES],
)
def test_expand_stars(dialect, sql, catalog, expected):
    statement = only_statement(sql, dialect)
    assert edge_texts(expand_stars(statement, catalog)) == expected


def test_expand_stars_without_stars_is_identity():
    statement = only_statement("INSERT INTO t (a) SELECT b FROM s", "")
    assert expand_stars(statement, {"s": ["b"], "t": ["a"]}) == statement.columns


# --------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------


def definitions(**tables: list[str]) -> dict[str, list[ColumnRef]]:
    """definitions(v=["s.*", "v.x"]) -> {"v": [ColumnRef(s, "*"), ColumnRef(v, "x")]}"""
    return {fqn.replace("__", "."): [col(text) for text in refs] for fqn, refs in tables.items()}


@pytest.mark.parametrize(
    ("defs", "expected"),
    [
        pytest.param(definitions(t=["t.a", "t.b"]), {"t": ["a", "b"]}, id="plain"),
        pytest.param(
            definitions(v3=["v2.*"], v2=["v1.* EXCEPT(a)", "v2.z"], v1=["t.a", "t.b", "t.c"], t=["t.a", "t.b", "t.c"]),
            {"v3": ["b", "c", "z"], "v2": ["b", "c", "z"], "v1": ["a", "b", "c"], "t": ["a", "b", "c"]},
            id="chain",
        ),
        pytest.param(definitions(v=["raw.*", "v.x"]), {"v": ["*", "x"]}, id="undefined-source-stays-star"),
        pytest.param(
            definitions(a=["b.*", "a.x"], b=["a.*", "b.y"], c=["a.*", "c.z"]),
            {"a": ["*", "x"], "b": ["*", "y"], "c": ["*", "x", "z"]},
            id="cycle",
        ),
        pytest.param(definitions(s=["s.*", "s.k"]), {"s": ["*", "k"]}, id="self-cycle"),
        pytest.param(definitions(v=["a.*", "b.*"], a=["a.id", "a.x"], b=["b.id", "b.y"]), {"v": ["id", "x", "y"], "a": ["id", "x"], "b": ["id", "y"]}, id="join-dedupes"),
        pytest.param(definitions(d__v=["d.s.*"], d__s=["d.s.a"]), {"d.v": ["a"], "d.s": ["a"]}, id="qualified"),
    ],
)
def test_build_catalog(defs, expected):
    assert build_catalog(defs) == expected


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(definitions(t=["t.a"]), definitions(t=["t.a"], u=["u.b"]), id="table-added"),
        pytest.param(
            definitions(v3=["v2.*"], v2=["v1.*", "v2.z"], v1=["t.a"], t=["t.a"], other=["other.o"]),
            definitions(v3=["v2.*"], v2=["v1.*", "v2.z"], v1=["t.a", "t.b"], t=["t.a"], other=["other.o"]),
            id="change-reaches-a-star-chain",
        ),
        pytest.param(definitions(v=["s.*", "v.x"], s=["s.a"]), definitions(v=["s.*", "v.x"]), id="source-removed-becomes-star"),
        pytest.param(definitions(v=["s.*", "v.x"]), definitions(v=["s.*", "v.x"], s=["s.a"]), id="undefined-source-defined"),
        pytest.param(
            definitions(a=["b.*", "a.x"], b=["b.y"], c=["a.*", "c.z"]),
            definitions(a=["b.*", "a.x"], b=["a.*", "b.y"], c=["a.*", "c.z"]),
            id="cycle-made",
        ),
        pytest.param(
            definitions(a=["b.*", "a.x"], b=["a.*", "b.y"], c=["a.*", "c.z"]),
            definitions(a=["b.*", "a.x"], b=["b.y"], c=["a.*", "c.z"]),
            id="cycle-broken",
        ),
        pytest.param(definitions(v=["a.* EXCEPT(x)"], a=["a.x", "a.y"]), definitions(v=["a.* EXCEPT(x)"], a=["a.x", "a.z"]), id="exclusions"),
        pytest.param(definitions(t=["t.a"], v=["t.*"]), {}, id="everything-removed"),
    ],
)
def test_a_refreshed_catalog_equals_one_built_from_the_new_definitions(before, after):
    changed = {fqn for fqn in before.keys() | after.keys() if before.get(fqn) != after.get(fqn)}
    assert refresh_catalog(build_catalog(before), after, changed) == build_catalog(after)


_TABLES = ["a", "b", "c", "d", "e"]
_REFS = st.sampled_from([f"{t}.*" for t in _TABLES] + [f"{t}.* EXCEPT(x)" for t in _TABLES] + ["t.x", "t.y", "t.z"])
_DEFINITIONS = st.dictionaries(st.sampled_from(_TABLES), st.lists(_REFS, min_size=1, max_size=4), max_size=5)


@settings(max_examples=300, deadline=None)
@given(before=_DEFINITIONS, after=_DEFINITIONS)
def test_refreshing_any_change_of_definitions_equals_a_full_build(before, after):
    """Stars between five tables, cycles included: a refresh rebuilds exactly what the change reaches."""
    old, new = definitions(**before), definitions(**after)
    changed = {fqn for fqn in old.keys() | new.keys() if old.get(fqn) != new.get(fqn)}
    assert refresh_catalog(build_catalog(old), new, changed) == build_catalog(new)


def test_catalog_from_extracted_definitions():
    sql = (
        "CREATE TABLE raw.events (id INT, payload TEXT, ts TIMESTAMP);\n"
        "CREATE VIEW stg.events AS SELECT * EXCEPT (payload), 1 AS version FROM raw.events;\n"
        "CREATE TABLE mart.daily AS SELECT e.*, DATE(ts) AS day FROM stg.events AS e;\n"
        "INSERT INTO mart.copy SELECT * FROM mart.daily"
    )
    statements = extract_lineage(sql, "bigquery").statements
    defs = {s.writes[0].fqn: s.defined_columns for s in statements if s.defined_columns}
    catalog = build_catalog(defs)
    assert catalog == {
        "raw.events": ["id", "payload", "ts"],
        "stg.events": ["id", "ts", "version"],
        "mart.daily": ["id", "ts", "version", "day"],
    }
    # Edges stay within the statement; the graph chains them across statements.
    assert edge_texts(expand_stars(statements[2], catalog)) == [
        "mart.daily.id <- stg.events.id",
        "mart.daily.ts <- stg.events.ts",
        "mart.daily.version <- stg.events.version",
        "mart.daily.day <- stg.events.ts",
    ]
    assert star_tables(statements[3]) == {"mart.copy", "mart.daily"}
    assert star_tables(statements[3], defs) == {"mart.copy", "mart.daily", "stg.events", "raw.events"}


def test_output_positions():
    """The target's place in the query output: None after a star (width unknown) and for MERGE."""
    [insert, merge] = extract_lineage(
        "INSERT INTO t SELECT a, b + 1, *, c FROM s;\nMERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x",
        "",
    ).statements
    assert [(e.target.column, e.position) for e in insert.columns] == [("a", 0), ("b + 1", 1), ("*", 2), ("c", None)]
    assert [e.position for e in merge.columns] == [None]
    expanded = expand_stars(insert, {"s": ["a", "b", "c"]})
    assert [(e.target.column, e.position) for e in expanded] == [("a", 0), ("b + 1", 1), ("b", 3), ("c", 4)]


def test_set_operation_of_unequal_width_is_recorded():
    [statement] = extract_lineage("CREATE TABLE t AS SELECT a FROM x UNION ALL SELECT b, c FROM y", "").statements
    assert edge_texts(statement.columns) == ["t.a <- x.a, y.b"]
    assert statement.column_error == "set operation branches have 1, 2 columns: extra columns ignored"


def test_star_tables_include_choice_candidates():
    statement = only_statement("CREATE TABLE t AS SELECT a AS g, g + b AS h FROM x JOIN y ON x.k = y.k", "snowflake")
    assert star_tables(statement) == {"X", "Y"}
