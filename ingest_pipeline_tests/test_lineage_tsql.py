"""T-SQL batch rules: statements without semicolons, compound assignments, bracketed names,
UPDATE / DELETE through an alias, temporary tables and table variables, hints, EXEC forms.

Each case lists every statement the batch yields (line, kind, reads, writes, routine, calls).
"""

from __future__ import annotations

import pytest

from ingest_pipeline.lineage.extract import extract_lineage
from ingest_pipeline_tests.lineage_cases import S, actual, assert_well_formed

CASES = [
    # ---- statements without semicolons ---------------------------------------------------------
    ("two-inserts", "insert into tab1 select * from foo\ninsert into tab2 select * from bar",
     [S(1, "INSERT", "foo", "tab1"), S(2, "INSERT", "bar", "tab2")]),
    ("select-then-select", "SELECT a FROM t SELECT b FROM u", [S(1, "SELECT", "t"), S(1, "SELECT", "u")]),
    ("values-then-insert", "INSERT INTO t (a) VALUES (1), (2)\nINSERT INTO t (a) SELECT a FROM s",
     [S(1, "INSERT", "", "t"), S(2, "INSERT", "s", "t")]),
    ("insert-select-union-stays-one", "INSERT INTO t SELECT a FROM x\nUNION ALL\nSELECT a FROM y\nSELECT 1",
     [S(1, "INSERT", "x y", "t"), S(4, "SELECT")]),
    ("update-set-then-set-variable", "UPDATE t SET a = 1 WHERE b = 2\nSET @x = 1\nDELETE FROM t WHERE a = @x",
     [S(1, "UPDATE", "", "t"), S(2, "SET"), S(3, "DELETE", "", "t")]),
    ("set-option-then-delete", "SET NOCOUNT ON\nDELETE FROM dbo.t", [S(1, "SET"), S(2, "DELETE", "", "dbo.t")]),
    ("declare-then-insert", "DECLARE @age int = 10\nINSERT INTO tgt\nSELECT Name, @age\nFROM People",
     [S(1, "DECLARE"), S(2, "INSERT", "people", "tgt")]),
    ("declare-with-query", "DECLARE @n INT = (SELECT COUNT(*) FROM dbo.t), @m INT = COALESCE((SELECT MAX(a) FROM dbo.u), 0)",
     [S(1, "DECLARE", "dbo.t dbo.u")]),
    ("cte-after-statement", "SELECT 1\n;WITH c AS (SELECT * FROM dbo.s) INSERT INTO dbo.t SELECT * FROM c",
     [S(1, "SELECT"), S(2, "INSERT", "dbo.s", "dbo.t")]),
    ("cte-without-semicolon", "UPDATE dbo.x SET a = 1\nWITH c AS (SELECT * FROM dbo.s)\nSELECT * FROM c",
     [S(1, "UPDATE", "", "dbo.x"), S(2, "SELECT", "dbo.s")]),
    ("merge-then-select", "MERGE dbo.t AS t USING dbo.s AS s ON t.id = s.id\nWHEN MATCHED THEN UPDATE SET t.v = s.v\nWHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)\nWHEN NOT MATCHED BY SOURCE THEN DELETE\nSELECT * FROM dbo.t",
     [S(1, "MERGE", "dbo.s", "dbo.t"), S(5, "SELECT", "dbo.t")]),
    ("alter-table-actions-stay-together", "ALTER TABLE dbo.t ADD c INT\nALTER TABLE dbo.t ALTER COLUMN c BIGINT\nALTER TABLE dbo.t DROP COLUMN c\nDROP TABLE dbo.old",
     [S(1, "ALTER", "", "dbo.t"), S(2, "ALTER", "", "dbo.t"), S(3, "ALTER", "", "dbo.t"), S(4, "DROP_TABLE")]),
    ("create-table-on-delete-cascade", "CREATE TABLE dbo.c (id INT REFERENCES dbo.p (id) ON DELETE CASCADE ON UPDATE SET NULL)\nSELECT * FROM dbo.c",
     [S(1, "CREATE_TABLE", "", "dbo.c"), S(2, "SELECT", "dbo.c")]),
    ("grant-lists-keywords", "GRANT SELECT, INSERT, UPDATE ON dbo.t TO app\nSELECT * FROM dbo.t",
     [S(1, "GRANT"), S(2, "SELECT", "dbo.t")]),
    ("drop-if-exists-then-create", "DROP TABLE IF EXISTS dbo.t\nCREATE TABLE dbo.t (a INT)\nIF OBJECT_ID('dbo.u') IS NOT NULL DROP TABLE dbo.u",
     [S(1, "DROP_TABLE"), S(2, "CREATE_TABLE", "", "dbo.t"), S(3, "DROP_TABLE")]),
    ("offset-fetch-is-not-a-cursor", "SELECT a FROM dbo.t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY\nSELECT 2",
     [S(1, "SELECT", "dbo.t"), S(2, "SELECT")]),
    ("keyword-named-tables", "SELECT * FROM [open] JOIN dbo.print ON 1 = 1\nINSERT INTO [status] SELECT * FROM [order]",
     [S(1, "SELECT", "dbo.print open"), S(2, "INSERT", "order", "status")]),
    ("print-raiserror-waitfor", "PRINT 'start'\nRAISERROR('x', 10, 1) WITH NOWAIT\nWAITFOR DELAY '00:00:01'\nINSERT INTO dbo.t VALUES (1)",
     [S(1, "PRINT"), S(2, "RAISERROR"), S(3, "WAITFOR"), S(4, "INSERT", "", "dbo.t")]),
    ("transactions", "BEGIN TRANSACTION\nUPDATE dbo.t SET a = 1\nCOMMIT TRANSACTION\nBEGIN TRAN\nDELETE dbo.t\nROLLBACK",
     [S(1, "TRANSACTION"), S(2, "UPDATE", "", "dbo.t"), S(3, "COMMIT"), S(4, "TRANSACTION"), S(5, "DELETE", "", "dbo.t"), S(6, "ROLLBACK")]),
    ("variables-named-like-keywords", "exec dbo.p @start='2024-01-01',@end='2024-12-31'\nDECLARE @begin INT, @if INT\nSET @end = @begin",
     [S(1, "EXECUTE", calls="dbo.p"), S(2, "DECLARE"), S(3, "SET")]),
    # ---- compound assignment operators -------------------------------------------------------
    ("update-compound-operators", "UPDATE dbo.t SET a += s.a, b -= 1, c *= 2, d /= 2, e %= 3, f &= 1, g |= 2, h ^= 4 FROM dbo.t JOIN dbo.s ON t.id = s.id",
     [S(1, "UPDATE", "dbo.s", "dbo.t")]),
    ("set-variable-compound", "SET @total += (SELECT SUM(x) FROM dbo.t)\nSET @n -= 1", [S(1, "SET", "dbo.t"), S(2, "SET")]),
    # ---- bracketed names ----------------------------------------------------------------------
    ("bracket-with-dot-is-one-name", 'SELECT * FROM [sales.orders] JOIN sales.orders ON 1 = 1', [S(1, "SELECT", '"sales.orders" sales.orders')]),
    ("bracket-with-quotes", "SELECT * FROM [it's] JOIN [a\"b].[c]] d] ON 1 = 1", [S(1, "SELECT", ("it's", '"a""b".c] d'))]),
    ("bracket-with-spaces", "INSERT INTO [Order Details] SELECT * FROM [dbo].[Old Orders]", [S(1, "INSERT", ("dbo.old orders",), ("order details",))]),
    ("database-dot-dot-table", "INSERT INTO a SELECT * FROM db..t", [S(1, "INSERT", "db..t", "a")]),
    # ---- UPDATE / DELETE through an alias -----------------------------------------------------
    ("update-alias-from-as-join", "UPDATE o SET o.total = s.total FROM dbo.orders AS o JOIN dbo.sums AS s ON o.id = s.id",
     [S(1, "UPDATE", "dbo.sums", "dbo.orders")]),
    ("update-alias-without-as", "UPDATE a SET a.x = b.y FROM dbo.t a INNER JOIN dbo.s b ON a.id = b.id",
     [S(1, "UPDATE", "dbo.s", "dbo.t")]),
    ("update-alias-with-hints", "UPDATE a SET a.x = 1 FROM dbo.t AS a WITH (ROWLOCK) JOIN dbo.s AS b WITH (NOLOCK) ON a.id = b.id",
     [S(1, "UPDATE", "dbo.s", "dbo.t")]),
    ("delete-alias", "DELETE d FROM dbo.detail AS d JOIN dbo.header AS h ON d.hid = h.id WHERE h.old = 1",
     [S(1, "DELETE", "dbo.header", "dbo.detail")]),
    ("delete-top", "DELETE TOP (100) FROM dbo.q WHERE done = 1\nUPDATE TOP (5) dbo.t SET a = 1",
     [S(1, "DELETE", "", "dbo.q"), S(2, "UPDATE", "", "dbo.t")]),
    # ---- temporary tables and table variables -------------------------------------------------
    ("temp-tables", "SELECT * INTO #a FROM dbo.s\nSELECT * INTO ##b FROM #a\nCREATE TABLE #c (x INT)\nINSERT INTO #c SELECT x FROM ##b",
     [S(1, "SELECT_INTO", "dbo.s", "#a"), S(2, "SELECT_INTO", "#a", "##b"), S(3, "CREATE_TABLE", "", "#c"), S(4, "INSERT", "##b", "#c")]),
    ("table-variable", "DECLARE @t TABLE (a INT)\nINSERT INTO @t SELECT a FROM dbo.s\nUPDATE @t SET a = 2\nSELECT * FROM @t AS v JOIN dbo.u ON 1 = 1",
     [S(1, "DECLARE"), S(2, "INSERT", "dbo.s", "@t"), S(3, "UPDATE", "", "@t"), S(4, "SELECT", "@t dbo.u")]),
    # ---- hints, EXEC forms, bulk movement -----------------------------------------------------
    ("insert-table-hint-and-option", "INSERT INTO dbo.h WITH (TABLOCK) SELECT * FROM dbo.s OPTION (MAXDOP 1, RECOMPILE)",
     [S(1, "INSERT", "dbo.s", "dbo.h")]),
    ("query-hint-use-hint", "SELECT * FROM dbo.t OPTION (USE HINT ('DISABLE_OPTIMIZER_ROWGOAL'))", [S(1, "SELECT", "dbo.t")]),
    ("exec-forms", "EXEC dbo.p 1, 'x'\nEXECUTE @rc = [dbo].[q] @a = 1\nEXEC sys.sp_getapplock @Resource = 'r', @LockMode = 'Exclusive'\nEXECUTE AS USER = 'app'\nREVERT",
     [S(1, "EXECUTE", calls="dbo.p"), S(2, "EXECUTE", calls="dbo.q"), S(3, "EXECUTE", calls="sys.sp_getapplock"), S(4, "EXECUTE_AS"), S(5, "REVERT")]),
    ("exec-literal-with-concatenation", "EXEC ('INSERT INTO dbo.a ' + 'SELECT * FROM dbo.b')", [S(1, "INSERT", "dbo.b", "dbo.a")]),
    ("external-script-input-query", "EXEC sp_execute_external_script @language = N'R', @script = N'x <- 1', @input_data_1 = N'SELECT * FROM dbo.features'",
     [S(1, "EXECUTE", calls="sp_execute_external_script"), S(1, "SELECT", "dbo.features")]),
    ("insert-exec", "INSERT INTO dbo.snap EXEC dbo.produce\nINSERT INTO dbo.snap2 EXEC ('SELECT * FROM dbo.src')",
     [S(1, "INSERT", "", "dbo.snap", calls="dbo.produce"), S(2, "INSERT", "", "dbo.snap2"), S(2, "SELECT", "dbo.src")]),
    ("bulk-insert", "BULK INSERT dbo.stage FROM 'C:\\data\\in.csv' WITH (FIELDTERMINATOR = ',')",
     [S(1, "BULK_INSERT", "", "dbo.stage", location_reads="C:\\data\\in.csv")]),
    ("switch-partition-moves-rows", "ALTER TABLE dbo.stage SWITCH PARTITION 1 TO dbo.fact PARTITION 1", [S(1, "ALTER", "dbo.stage", "dbo.fact")]),
    ("create-or-alter-view", "CREATE OR ALTER VIEW dbo.v AS SELECT a FROM dbo.t\nSELECT * FROM dbo.v", [S(1, "CREATE_VIEW", "dbo.t", "dbo.v"), S(2, "SELECT", "dbo.v")]),
    ("update-statistics", "UPDATE STATISTICS dbo.t WITH FULLSCAN\nUPDATE dbo.t SET a = 1", [S(1, "UPDATE_STATISTICS"), S(2, "UPDATE", "", "dbo.t")]),
]


@pytest.mark.parametrize(("sql", "expected"), [pytest.param(row[1], row[2], id=row[0]) for row in CASES])
def test_tsql_batch(sql, expected):
    statements = extract_lineage(sql, "tsql").statements
    assert [actual(s) for s in statements] == [e.expected() for e in expected]
    assert_well_formed(statements)


def test_case_ids_are_unique():
    assert len({row[0] for row in CASES}) == len(CASES) >= 40


def test_temporary_tables_are_marked():
    statements = extract_lineage("SELECT * INTO #a FROM dbo.s\nINSERT INTO dbo.t SELECT * FROM #a JOIN @v ON 1 = 1", "tsql").statements
    assert [[t.fqn for t in s.temporary] for s in statements] == [["#a"], ["#a", "@v"]]


def test_update_compound_assignment_keeps_column_lineage():
    [statement] = extract_lineage("UPDATE t SET a += s.b FROM t JOIN s ON t.id = s.id", "tsql").statements
    [edge] = statement.columns
    assert edge.target.fqn == "t.a" and sorted(s.fqn for s in edge.sources) == ["s.b", "t.a"]

