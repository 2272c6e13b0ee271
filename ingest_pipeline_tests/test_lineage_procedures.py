"""Procedures, functions, triggers and scripts: every statement of a body is a statement of its own.

Each case lists every statement the file yields: its line in the file, its kind, the tables it
reads and writes, the routine whose body holds it, the routines it calls, the locations it reads
and writes, and for a routine header the routine it defines. Control flow (BEGIN / END, IF, loops,
exception handlers) is structure, not statements; a condition is a statement when it reads a table.
"""

from __future__ import annotations

import pytest

from ingest_pipeline.lineage.extract import extract_lineage
from ingest_pipeline_tests.lineage_cases import S, actual, assert_well_formed, params

P = "p1"
CASES = [
    # ---- T-SQL --------------------------------------------------------------------------------
    ("proc-begin-end", "tsql", "CREATE PROCEDURE p1\nAS\nBEGIN\nINSERT INTO tab2 (col1)\nSELECT col1 FROM tab1;\nINSERT INTO tab3 (col2)\nSELECT col2 FROM tab2;\nEND",
     [S(1, "CREATE_PROCEDURE", defines=P), S(4, "INSERT", "tab1", "tab2", P), S(6, "INSERT", "tab2", "tab3", P)]),
    ("proc-no-begin-to-batch-end", "tsql", "CREATE PROC dbo.p1 @d DATE AS\nSET NOCOUNT ON\nDELETE FROM dbo.t WHERE d = @d\nINSERT dbo.t SELECT * FROM dbo.s WHERE d = @d\nGO\nSELECT * FROM dbo.t",
     [S(1, "CREATE_PROCEDURE", defines="dbo.p1"), S(2, "SET", routine="dbo.p1"), S(3, "DELETE", "", "dbo.t", "dbo.p1"),
      S(4, "INSERT", "dbo.s", "dbo.t", "dbo.p1"), S(6, "SELECT", "dbo.t")]),
    ("procs-in-go-batches-and-a-call", "tsql", "CREATE PROCEDURE dbo.a AS\nINSERT INTO dbo.x SELECT * FROM dbo.y\nGO\nCREATE PROCEDURE dbo.b AS\nBEGIN\n  EXEC dbo.a\nEND\nGO 2\nEXEC dbo.b",
     [S(1, "CREATE_PROCEDURE", defines="dbo.a"), S(2, "INSERT", "dbo.y", "dbo.x", "dbo.a"), S(4, "CREATE_PROCEDURE", defines="dbo.b"),
      S(6, "EXECUTE", routine="dbo.b", calls="dbo.a"), S(9, "EXECUTE", calls="dbo.b")]),
    ("if-else-without-begin", "tsql", "CREATE PROCEDURE p1 @m INT AS\nIF @m = 1\n  INSERT INTO a SELECT * FROM s\nELSE IF @m = 2\n  INSERT INTO b SELECT * FROM s\nELSE\n  DELETE FROM c",
     [S(1, "CREATE_PROCEDURE", defines=P), S(3, "INSERT", "s", "a", P), S(5, "INSERT", "s", "b", P), S(7, "DELETE", "", "c", P)]),
    ("if-exists-condition-reads", "tsql", "IF EXISTS (SELECT 1 FROM dbo.flags WHERE on_ = 1)\nBEGIN\n  UPDATE dbo.t SET x = 1\nEND",
     [S(1, "IF", "dbo.flags"), S(3, "UPDATE", "", "dbo.t")]),
    ("while-cursor", "tsql", "CREATE PROCEDURE p1 AS\nDECLARE c CURSOR FOR SELECT id FROM dbo.ids\nOPEN c\nFETCH NEXT FROM c INTO @id\nWHILE @@FETCH_STATUS = 0\nBEGIN\n  INSERT INTO dbo.done SELECT * FROM dbo.work WHERE id = @id\n  FETCH NEXT FROM c INTO @id\nEND\nCLOSE c\nDEALLOCATE c",
     [S(1, "CREATE_PROCEDURE", defines=P), S(2, "DECLARE", "dbo.ids", routine=P), S(3, "OPEN", routine=P), S(4, "FETCH", routine=P),
      S(7, "INSERT", "dbo.work", "dbo.done", P), S(8, "FETCH", routine=P), S(10, "CLOSE", routine=P), S(11, "DEALLOCATE", routine=P)]),
    ("try-catch", "tsql", "CREATE PROCEDURE p1 AS\nBEGIN TRY\n  BEGIN TRAN\n  MERGE dbo.t AS t USING dbo.s AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = s.v;\n  COMMIT\nEND TRY\nBEGIN CATCH\n  ROLLBACK\n  INSERT INTO dbo.errors SELECT ERROR_MESSAGE()\n  ;THROW\nEND CATCH",
     [S(1, "CREATE_PROCEDURE", defines=P), S(3, "TRANSACTION", routine=P), S(4, "MERGE", "dbo.s", "dbo.t", P), S(5, "COMMIT", routine=P),
      S(8, "ROLLBACK", routine=P), S(9, "INSERT", "", "dbo.errors", P), S(10, "THROW", routine=P)]),
    ("inline-table-function", "tsql", "CREATE FUNCTION dbo.f (@a INT)\nRETURNS TABLE\nAS\nRETURN (SELECT * FROM dbo.t WHERE a = @a)",
     [S(1, "CREATE_FUNCTION", defines="dbo.f"), S(4, "RETURN", "dbo.t", routine="dbo.f")]),
    ("multi-statement-function", "tsql", "CREATE FUNCTION dbo.g ()\nRETURNS @r TABLE (a INT)\nAS\nBEGIN\n  INSERT @r SELECT a FROM dbo.u\n  RETURN\nEND",
     [S(1, "CREATE_FUNCTION", defines="dbo.g"), S(5, "INSERT", "dbo.u", "@r", "dbo.g"), S(6, "RETURN", routine="dbo.g")]),
    ("scalar-function-without-as", "tsql", "CREATE FUNCTION dbo.n () RETURNS INT\nBEGIN\n  RETURN (SELECT COUNT(*) FROM dbo.t)\nEND",
     [S(1, "CREATE_FUNCTION", defines="dbo.n"), S(3, "RETURN", "dbo.t", routine="dbo.n")]),
    ("trigger-inserted-is-its-table", "tsql", "CREATE TRIGGER dbo.trg ON dbo.orders AFTER INSERT, UPDATE AS\nBEGIN\n  SET NOCOUNT ON;\n  IF UPDATE(amount)\n    INSERT INTO dbo.audit SELECT * FROM inserted JOIN deleted ON inserted.id = deleted.id\nEND",
     [S(1, "CREATE_TRIGGER", defines="dbo.trg"), S(3, "SET", routine="dbo.trg"), S(5, "INSERT", "dbo.orders", "dbo.audit", "dbo.trg")]),
    ("temp-table-chain", "tsql", "CREATE PROCEDURE p1 AS\nSELECT * INTO #stage FROM dbo.src\nINSERT INTO ##shared SELECT * FROM #stage\nDECLARE @v TABLE (a INT)\nINSERT INTO @v SELECT a FROM #stage\nINSERT INTO dbo.final SELECT a FROM @v\nDROP TABLE #stage",
     [S(1, "CREATE_PROCEDURE", defines=P), S(2, "SELECT_INTO", "dbo.src", "#stage", P), S(3, "INSERT", "#stage", "##shared", P),
      S(4, "DECLARE", routine=P), S(5, "INSERT", "#stage", "@v", P), S(6, "INSERT", "@v", "dbo.final", P), S(7, "DROP_TABLE", routine=P)]),
    ("dynamic-sql", "tsql", "CREATE PROCEDURE p1 AS\nEXEC sp_executesql N'INSERT INTO dbo.d SELECT * FROM dbo.e'\nEXEC ('DELETE FROM dbo.f WHERE x = ''y''')\nEXEC (@sql)\nEXEC sp_executesql @sql, N'@p INT', @p = 1",
     [S(1, "CREATE_PROCEDURE", defines=P), S(2, "INSERT", "dbo.e", "dbo.d", P), S(3, "DELETE", "", "dbo.f", P), S(4, "DYNAMIC_SQL", routine=P),
      S(5, "DYNAMIC_SQL", routine=P)]),
    ("alter-procedure", "tsql", "ALTER PROCEDURE dbo.p1 AS\nUPDATE dbo.t SET x = s.x FROM dbo.t JOIN dbo.s ON t.id = s.id",
     [S(1, "ALTER_PROCEDURE", defines="dbo.p1"), S(2, "UPDATE", "dbo.s", "dbo.t", "dbo.p1")]),
    ("create-or-alter-with-options", "tsql", "CREATE OR ALTER PROCEDURE [dbo].[p1]\n  @a AS INT = 1,\n  @b NVARCHAR(10) OUTPUT\nWITH EXECUTE AS OWNER, RECOMPILE\nAS\nINSERT INTO [dbo].[t] ([a]) VALUES (@a)",
     [S(1, "CREATE_PROCEDURE", defines="dbo.p1"), S(6, "INSERT", "", "dbo.t", "dbo.p1")]),
    ("insert-exec-links-the-call", "tsql", "CREATE PROCEDURE p1 AS\nINSERT INTO dbo.snapshot (a, b)\nEXEC dbo.producer @day = 1",
     [S(1, "CREATE_PROCEDURE", defines=P), S(2, "INSERT", "", "dbo.snapshot", P, calls="dbo.producer")]),
    ("labels-goto-return-code", "tsql", "CREATE PROCEDURE p1 AS\nBEGIN\n  IF @@ROWCOUNT = 0 GOTO done\n  INSERT INTO dbo.t SELECT * FROM dbo.s\ndone:\n  RETURN 0\nEND",
     [S(1, "CREATE_PROCEDURE", defines=P), S(3, "GOTO", routine=P), S(4, "INSERT", "dbo.s", "dbo.t", P), S(6, "RETURN", routine=P)]),
    ("nested-blocks", "tsql", "CREATE PROCEDURE p1 AS\nBEGIN\n  WHILE 1 = 1\n  BEGIN\n    IF @x > 1\n    BEGIN\n      BEGIN TRY\n        DELETE FROM dbo.q\n      END TRY\n      BEGIN CATCH\n        BREAK\n      END CATCH\n    END\n  END\nEND",
     [S(1, "CREATE_PROCEDURE", defines=P), S(8, "DELETE", "", "dbo.q", P), S(11, "BREAK", routine=P)]),
    # ---- Oracle PL/SQL -----------------------------------------------------------------------
    ("proc-as-begin", "oracle", "CREATE PROCEDURE p1\nAS\nBEGIN\nINSERT INTO tab2 (col1)\nSELECT col1 FROM tab1;\nINSERT INTO tab3 (col2)\nSELECT col2 FROM tab2;\nEND;",
     [S(1, "CREATE_PROCEDURE", defines="P1"), S(4, "INSERT", "TAB1", "TAB2", "P1"), S(6, "INSERT", "TAB2", "TAB3", "P1")]),
    ("proc-declarations-exception", "oracle", "CREATE OR REPLACE PROCEDURE hr.load (p_day DATE) IS\n  v_count NUMBER := 0;\n  CURSOR c IS SELECT id FROM hr.stage;\nBEGIN\n  SELECT COUNT(*) INTO v_count FROM hr.src;\n  INSERT INTO hr.tgt SELECT * FROM hr.src WHERE day = p_day;\n  COMMIT;\nEXCEPTION\n  WHEN NO_DATA_FOUND THEN\n    NULL;\n  WHEN OTHERS THEN\n    INSERT INTO hr.errors VALUES (SQLERRM);\n    RAISE;\nEND load;\n/",
     [S(1, "CREATE_PROCEDURE", defines="HR.LOAD"), S(3, "DECLARE", "HR.STAGE", routine="HR.LOAD"), S(5, "SELECT", "HR.SRC", routine="HR.LOAD"),
      S(6, "INSERT", "HR.SRC", "HR.TGT", "HR.LOAD"), S(7, "COMMIT", routine="HR.LOAD"), S(10, "NULL", routine="HR.LOAD"),
      S(12, "INSERT", "", "HR.ERRORS", "HR.LOAD"), S(13, "RAISE", routine="HR.LOAD")]),
    ("package-body", "oracle", "CREATE OR REPLACE PACKAGE BODY etl AS\n  PROCEDURE stage IS\n  BEGIN\n    DELETE FROM stg;\n    INSERT INTO stg SELECT * FROM src;\n  END stage;\n  FUNCTION total RETURN NUMBER IS\n    n NUMBER;\n  BEGIN\n    SELECT SUM(x) INTO n FROM stg;\n    RETURN n;\n  END;\nEND etl;",
     [S(1, "CREATE_PACKAGE", defines="ETL"), S(4, "DELETE", "", "STG", "ETL.STAGE"), S(5, "INSERT", "SRC", "STG", "ETL.STAGE"),
      S(10, "SELECT", "STG", routine="ETL.TOTAL"), S(11, "RETURN", routine="ETL.TOTAL")]),
    ("package-spec-has-no-statements", "oracle", "CREATE OR REPLACE PACKAGE etl AS\n  PROCEDURE stage;\n  FUNCTION total RETURN NUMBER;\nEND etl;\n/",
     [S(1, "CREATE_PACKAGE", defines="ETL")]),
    ("anonymous-block-loops", "oracle", "DECLARE\n  TYPE ids_t IS TABLE OF NUMBER;\n  ids ids_t;\nBEGIN\n  FOR r IN (SELECT id FROM src) LOOP\n    UPDATE tgt SET seen = 1 WHERE id = r.id;\n  END LOOP;\n  SELECT id BULK COLLECT INTO ids FROM src2;\n  FORALL i IN 1 .. ids.COUNT\n    DELETE FROM old WHERE id = ids(i);\n  WHILE v < 10 LOOP\n    v := v + 1;\n  END LOOP;\nEND;\n/",
     [S(5, "FOR", "SRC"), S(6, "UPDATE", "", "TGT"), S(8, "SELECT", "SRC2"), S(10, "DELETE", "", "OLD"), S(12, "ASSIGN")]),
    ("trigger", "oracle", "CREATE OR REPLACE TRIGGER trg_audit\nAFTER INSERT ON orders\nFOR EACH ROW\nBEGIN\n  INSERT INTO orders_audit (id) VALUES (:NEW.id);\nEND;\n/",
     [S(1, "CREATE_TRIGGER", defines="TRG_AUDIT"), S(5, "INSERT", "", "ORDERS_AUDIT", "TRG_AUDIT")]),
    ("execute-immediate-and-bare-call", "oracle", "CREATE PROCEDURE p1 IS\nBEGIN\n  EXECUTE IMMEDIATE 'TRUNCATE TABLE stage';\n  EXECUTE IMMEDIATE 'INSERT INTO stage SELECT * FROM ' || v_table;\n  dbms_stats.gather_table_stats('HR', 'STAGE');\n  log_done;\nEND;",
     [S(1, "CREATE_PROCEDURE", defines="P1"), S(3, "TRUNCATE", "", "STAGE", "P1"), S(4, "DYNAMIC_SQL", routine="P1"),
      S(5, "CALL", routine="P1", calls="DBMS_STATS.GATHER_TABLE_STATS"), S(6, "CALL", routine="P1", calls="LOG_DONE")]),
    ("if-elsif-case", "oracle", "BEGIN\n  IF x = 1 THEN\n    INSERT INTO a SELECT * FROM s;\n  ELSIF x = 2 THEN\n    INSERT INTO b SELECT * FROM s;\n  ELSE\n    CASE y\n      WHEN 1 THEN DELETE FROM c;\n      ELSE DELETE FROM d;\n    END CASE;\n  END IF;\nEND;",
     [S(3, "INSERT", "S", "A"), S(5, "INSERT", "S", "B"), S(8, "DELETE", "", "C"), S(9, "DELETE", "", "D")]),
    ("function-return-type-is-not-a-body", "oracle", "CREATE OR REPLACE FUNCTION f (p NUMBER) RETURN NUMBER IS\nBEGIN\n  RETURN p * 2;\nEND;",
     [S(1, "CREATE_FUNCTION", defines="F"), S(3, "RETURN", routine="F")]),
    ("sqlplus-exec-is-a-call", "oracle", "SET SERVEROUTPUT ON\nEXEC etl.stage\nEXECUTE etl.publish(SYSDATE)\nPROMPT done",
     [S(1, "SQLPLUS"), S(2, "CALL", calls="ETL.STAGE"), S(3, "CALL", calls="ETL.PUBLISH"), S(4, "SQLPLUS")]),
    # ---- BigQuery scripting ------------------------------------------------------------------
    ("proc-begin-end", "bigquery", "CREATE PROCEDURE p1()\nBEGIN\nINSERT INTO tab2 (col1)\nSELECT col1 FROM tab1;\nINSERT INTO tab3 (col2)\nSELECT col2 FROM tab2;\nEND",
     [S(1, "CREATE_PROCEDURE", defines=P), S(3, "INSERT", "tab1", "tab2", P), S(5, "INSERT", "tab2", "tab3", P)]),
    ("script-declare-set-if", "bigquery", "DECLARE d DATE DEFAULT (SELECT MAX(dt) FROM ds.events);\nDECLARE n INT64;\nSET n = (SELECT COUNT(*) FROM ds.a);\nIF n > 0 THEN\n  INSERT INTO ds.b SELECT * FROM ds.a WHERE dt = d;\nELSEIF n < 0 THEN\n  SELECT 1;\nELSE\n  DELETE ds.b WHERE TRUE;\nEND IF;",
     [S(1, "DECLARE", "ds.events"), S(2, "DECLARE"), S(3, "SET", "ds.a"), S(5, "INSERT", "ds.a", "ds.b"), S(7, "SELECT"), S(9, "DELETE", "", "ds.b")]),
    ("loops", "bigquery", "LOOP\n  SET i = i + 1;\n  IF i > 3 THEN LEAVE; END IF;\n  INSERT INTO ds.l SELECT i;\nEND LOOP;\nWHILE i < 10 DO\n  DELETE FROM ds.q WHERE id = i;\nEND WHILE;\nREPEAT\n  INSERT INTO ds.r SELECT 1;\nUNTIL (SELECT COUNT(*) FROM ds.r) > 5 END REPEAT;",
     [S(2, "SET"), S(3, "LEAVE"), S(4, "INSERT", "", "ds.l"), S(7, "DELETE", "", "ds.q"), S(10, "INSERT", "", "ds.r"), S(11, "REPEAT", "ds.r")]),
    ("for-in-query", "bigquery", "FOR rec IN (SELECT id FROM ds.ids) DO\n  MERGE ds.t USING ds.s ON t.id = s.id WHEN MATCHED THEN DELETE;\nEND FOR;",
     [S(1, "FOR", "ds.ids"), S(2, "MERGE", "ds.s", "ds.t")]),
    ("block-with-exception", "bigquery", "BEGIN\n  CREATE TEMP TABLE tmp AS SELECT * FROM ds.events;\n  INSERT INTO ds.out SELECT * FROM tmp;\nEXCEPTION WHEN ERROR THEN\n  INSERT INTO ds.errors SELECT @@error.message;\nEND;",
     [S(2, "CREATE_TABLE", "ds.events", "tmp"), S(3, "INSERT", "tmp", "ds.out"), S(5, "INSERT", "", "ds.errors")]),
    ("execute-immediate-and-call", "bigquery", "EXECUTE IMMEDIATE 'INSERT INTO ds.dyn SELECT * FROM ds.src';\nEXECUTE IMMEDIATE FORMAT('DELETE FROM %s WHERE TRUE', t);\nCALL ds.refresh(1);",
     [S(1, "INSERT", "ds.src", "ds.dyn"), S(2, "DYNAMIC_SQL"), S(3, "CALL", calls="ds.refresh")]),
    ("labels-and-case", "bigquery", "outer: BEGIN\n  CASE\n    WHEN EXISTS (SELECT 1 FROM ds.flag) THEN INSERT INTO ds.pos SELECT 1;\n    ELSE INSERT INTO ds.neg SELECT 1;\n  END CASE;\nEND outer;",
     [S(3, "CASE", "ds.flag"), S(3, "INSERT", "", "ds.pos"), S(4, "INSERT", "", "ds.neg")]),
    ("procedure-with-options-and-transaction", "bigquery", "CREATE OR REPLACE PROCEDURE `proj.ds.p`(x INT64)\nOPTIONS (strict_mode = FALSE)\nBEGIN\n  BEGIN TRANSACTION;\n  DELETE FROM ds.t WHERE id = x;\n  INSERT INTO ds.t SELECT * FROM ds.s WHERE id = x;\n  COMMIT TRANSACTION;\nEND;",
     [S(1, "CREATE_PROCEDURE", defines="proj.ds.p"), S(4, "TRANSACTION", routine="proj.ds.p"), S(5, "DELETE", "", "ds.t", "proj.ds.p"),
      S(6, "INSERT", "ds.s", "ds.t", "proj.ds.p"), S(7, "COMMIT", routine="proj.ds.p")]),
    # ---- Snowflake scripting -----------------------------------------------------------------
    ("proc-dollar-body", "snowflake", "CREATE OR REPLACE PROCEDURE p1()\nRETURNS VARCHAR\nLANGUAGE SQL\nAS\n$$\nDECLARE\n  c1 CURSOR FOR SELECT * FROM src;\nBEGIN\n  LET n := (SELECT COUNT(*) FROM src2);\n  FOR rec IN c1 DO\n    INSERT INTO tgt VALUES (rec.a);\n  END FOR;\n  RETURN 'ok';\nEND;\n$$;",
     [S(1, "CREATE_PROCEDURE", defines="P1"), S(7, "DECLARE", "SRC", routine="P1"), S(9, "ASSIGN", "SRC2", routine="P1"),
      S(11, "INSERT", "", "TGT", "P1"), S(13, "RETURN", routine="P1")]),
    ("proc-quoted-body", "snowflake", "CREATE PROCEDURE p1() RETURNS STRING LANGUAGE SQL AS '\nBEGIN\n  DELETE FROM t WHERE s = ''x'';\n  RETURN ''done'';\nEND';",
     [S(1, "CREATE_PROCEDURE", defines="P1"), S(3, "DELETE", "", "T", "P1"), S(4, "RETURN", routine="P1")]),
    ("anonymous-block", "snowflake", "EXECUTE IMMEDIATE $$\nBEGIN\n  CREATE TEMPORARY TABLE tmp AS SELECT * FROM src;\n  INSERT INTO tgt SELECT * FROM tmp;\nEND;\n$$;\nBEGIN\n  TRUNCATE TABLE t2;\nEND;",
     [S(3, "CREATE_TABLE", "SRC", "TMP"), S(4, "INSERT", "TMP", "TGT"), S(8, "TRUNCATE", "", "T2")]),
    ("javascript-body-is-not-analysed", "snowflake", "CREATE PROCEDURE js() RETURNS STRING LANGUAGE JAVASCRIPT AS $$ return snowflake.execute({sqlText: 'x'}); $$;\nCALL js();",
     [S(1, "CREATE_PROCEDURE", defines="JS"), S(2, "CALL", calls="JS")]),
    ("resultset-and-if", "snowflake", "DECLARE\n  res RESULTSET DEFAULT (SELECT * FROM a);\nBEGIN\n  IF ((SELECT COUNT(*) FROM b) > 0) THEN\n    MERGE INTO c USING b ON c.id = b.id WHEN MATCHED THEN DELETE;\n  END IF;\n  RETURN TABLE(res);\nEND;",
     [S(2, "DECLARE", "A"), S(4, "IF", "B"), S(5, "MERGE", "B", "C"), S(7, "RETURN")]),
    # ---- PostgreSQL / Redshift ---------------------------------------------------------------
    ("plpgsql-function", "postgres", "CREATE OR REPLACE FUNCTION refresh() RETURNS void AS $$\nDECLARE\n  n int := (SELECT count(*) FROM s);\nBEGIN\n  INSERT INTO t SELECT * FROM s;\n  PERFORM notify_done(n) FROM audit_targets;\n  EXECUTE 'DELETE FROM old_rows';\n  GET DIAGNOSTICS n = ROW_COUNT;\nEND\n$$ LANGUAGE plpgsql;",
     [S(1, "CREATE_FUNCTION", defines="refresh"), S(3, "DECLARE", "s", routine="refresh"), S(5, "INSERT", "s", "t", "refresh"),
      S(6, "PERFORM", "audit_targets", routine="refresh"), S(7, "DELETE", "", "old_rows", "refresh"), S(8, "GET", routine="refresh")]),
    ("do-block", "postgres", "DO $$\nBEGIN\n  UPDATE a SET x = b.x FROM b WHERE a.id = b.id;\n  IF NOT EXISTS (SELECT 1 FROM c) THEN\n    INSERT INTO c VALUES (1);\n  END IF;\nEND\n$$;",
     [S(3, "UPDATE", "b", "a"), S(4, "IF", "c"), S(5, "INSERT", "", "c")]),
    ("sql-language-function", "postgres", "CREATE FUNCTION recent() RETURNS SETOF events LANGUAGE sql AS '\n  SELECT * FROM events WHERE d > now() - interval ''1 day''\n';",
     [S(1, "CREATE_FUNCTION", defines="recent"), S(2, "SELECT", "events", routine="recent")]),
    ("return-query-and-loop", "postgres", "CREATE FUNCTION f() RETURNS TABLE (a int) AS $body$\nBEGIN\n  FOR r IN SELECT id FROM ids LOOP\n    DELETE FROM q WHERE id = r.id;\n  END LOOP;\n  RETURN QUERY SELECT a FROM w;\nEND\n$body$ LANGUAGE plpgsql;",
     [S(1, "CREATE_FUNCTION", defines="f"), S(3, "FOR", "ids", routine="f"), S(4, "DELETE", "", "q", "f"), S(6, "RETURN", "w", routine="f")]),
    ("procedure-and-call", "postgres", "CREATE PROCEDURE archive(cutoff date) LANGUAGE plpgsql AS $$\nBEGIN\n  INSERT INTO archive.orders SELECT * FROM orders WHERE d < cutoff;\n  DELETE FROM orders WHERE d < cutoff;\nEND $$;\nCALL archive('2024-01-01');",
     [S(1, "CREATE_PROCEDURE", defines="archive"), S(3, "INSERT", "orders", "archive.orders", "archive"), S(4, "DELETE", "", "orders", "archive"),
      S(6, "CALL", calls="archive")]),
    ("redshift-procedure-temp", "redshift", "CREATE OR REPLACE PROCEDURE s.refresh() AS $$\nBEGIN\n  CREATE TEMP TABLE stage AS SELECT * FROM s.raw;\n  DELETE FROM s.final USING stage WHERE s.final.id = stage.id;\n  INSERT INTO s.final SELECT * FROM stage;\nEND;\n$$ LANGUAGE plpgsql;\nCALL s.refresh();",
     [S(1, "CREATE_PROCEDURE", defines="s.refresh"), S(3, "CREATE_TABLE", "s.raw", "stage", "s.refresh"), S(4, "DELETE", "stage", "s.final", "s.refresh"),
      S(5, "INSERT", "stage", "s.final", "s.refresh"), S(8, "CALL", calls="s.refresh")]),
    # ---- Databricks / Spark / MySQL ----------------------------------------------------------
    ("sql-udf-return-select", "databricks", "CREATE OR REPLACE FUNCTION main.s.big(x INT)\nRETURNS TABLE (a INT)\nRETURN SELECT a FROM main.s.t WHERE a > x;",
     [S(1, "CREATE_FUNCTION", defines="main.s.big"), S(3, "RETURN", "main.s.t", routine="main.s.big")]),
    ("compound-statement", "databricks", "BEGIN\n  DECLARE v INT DEFAULT 0;\n  SET v = (SELECT count(*) FROM main.s.t);\n  IF v > 0 THEN\n    INSERT INTO main.s.log VALUES (v);\n  END IF;\nEND;",
     [S(2, "DECLARE"), S(3, "SET", "main.s.t"), S(5, "INSERT", "", "main.s.log")]),
    ("function-from-a-jar-has-no-body", "spark", "CREATE OR REPLACE TEMPORARY FUNCTION simple_udf AS 'SimpleUdf' USING JAR '/tmp/SimpleUdf.jar'",
     [S(1, "CREATE_FUNCTION", defines="simple_udf")]),
    ("procedure-begin-end", "mysql", "CREATE PROCEDURE load_t(IN d DATE)\nBEGIN\n  DECLARE n INT DEFAULT 0;\n  DELETE FROM t WHERE day = d;\n  INSERT INTO t SELECT * FROM s WHERE day = d;\n  WHILE n < 3 DO\n    SET n = n + 1;\n  END WHILE;\nEND;\nCALL load_t('2024-01-01');",
     [S(1, "CREATE_PROCEDURE", defines="load_t"), S(3, "DECLARE", routine="load_t"), S(4, "DELETE", "", "t", "load_t"),
      S(5, "INSERT", "s", "t", "load_t"), S(7, "SET", routine="load_t"), S(10, "CALL", calls="load_t")]),
]


@pytest.mark.parametrize(("dialect", "sql", "expected"), params(CASES))
def test_script_statements(dialect, sql, expected):
    statements = extract_lineage(sql, dialect).statements
    assert [actual(s) for s in statements] == [e.expected() for e in expected]
    assert_well_formed(statements)


def test_cases_cover_the_procedural_dialects():
    dialects = {row[1] for row in CASES}
    assert {"tsql", "oracle", "bigquery", "snowflake", "postgres", "redshift", "databricks"} <= dialects
    assert len(CASES) >= 45


def test_column_lineage_inside_a_body_matches_the_same_statement_outside():
    body = extract_lineage("CREATE PROCEDURE p AS\nBEGIN\n  INSERT INTO t (a, b) SELECT x, y + z FROM s\nEND", "tsql").statements[1]
    alone = extract_lineage("INSERT INTO t (a, b) SELECT x, y + z FROM s", "tsql").statements[0]
    assert body.columns and body.columns == alone.columns
    assert body.routine is not None and body.routine.fqn == "p"


def test_a_body_the_parser_cannot_follow_keeps_its_readable_statements():
    sql = "CREATE PROCEDURE p AS\nBEGIN\n  INSERT INTO t SELECT * FROM s\n  SELECT FROM WHERE x\n  DELETE FROM u\nEND"
    kinds = [(s.line, s.kind) for s in extract_lineage(sql, "tsql").statements]
    assert kinds == [(1, "CREATE_PROCEDURE"), (3, "INSERT"), (4, "ERROR"), (5, "DELETE")]


def test_deeply_nested_blocks_never_raise():
    for dialect in ("bigquery", "tsql", "oracle"):
        sql = "BEGIN " * 300 + "INSERT INTO t SELECT 1; " + "END; " * 300
        statements = extract_lineage(sql, dialect).statements
        assert any("nested deeper" in (s.error or "") for s in statements), dialect
        assert_well_formed(statements)


def test_dynamic_sql_inside_dynamic_sql_stops_at_a_depth():
    inner = "EXECUTE IMMEDIATE 'INSERT INTO t SELECT 1'"
    for _ in range(5):
        inner = "EXECUTE IMMEDIATE '" + inner.replace("'", "''") + "'"
    [statement] = extract_lineage(f"BEGIN {inner}; END;", "oracle").statements
    assert statement.kind == "EXECUTE_IMMEDIATE" and statement.error is None
    two_deep = "BEGIN EXECUTE IMMEDIATE 'EXECUTE IMMEDIATE ''INSERT INTO t SELECT 1'''; END;"
    [statement] = extract_lineage(two_deep, "oracle").statements
    assert (statement.kind, [w.fqn for w in statement.writes]) == ("INSERT", ["T"])


def test_the_time_budget_covers_statements_inside_bodies():
    body = "\n".join(f"  INSERT INTO t{i} SELECT * FROM s{i};" for i in range(200))
    statements = extract_lineage(f"CREATE PROCEDURE p()\nBEGIN\n{body}\nEND", "bigquery", time_budget_seconds=0.0).statements
    assert statements and all(s.kind == "ERROR" and "time budget" in s.error for s in statements)
    assert [s.line for s in statements] == list(range(1, 2)) + list(range(3, 203))


def test_a_walker_failure_falls_back_to_semicolon_statements(monkeypatch):
    from ingest_pipeline.lineage.tsql import TsqlWalker

    def broken(self):
        raise RuntimeError("unforeseen input")

    monkeypatch.setattr(TsqlWalker, "walk", broken)
    statements = extract_lineage("INSERT INTO a SELECT * FROM b; DELETE FROM c", "tsql").statements
    assert [(s.kind, [w.fqn for w in s.writes]) for s in statements] == [("INSERT", ["a"]), ("DELETE", ["c"])]
