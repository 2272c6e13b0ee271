"""Client-tool lines: GO batches, SQLCMD, SQL*Plus and MySQL DELIMITER commands, SSMS template parameters.

They are recognised for what they are (never an ERROR), blanked before parsing with every line
break kept, and the statements around them keep their true lines.
"""

from __future__ import annotations

import pytest

from ingest_pipeline.lineage.extract import extract_lineage
from ingest_pipeline_tests.lineage_cases import S, actual, assert_well_formed

CASES = [
    # ---- T-SQL: GO and SQLCMD ----------------------------------------------------------------------
    ("go-separates-batches", "tsql", "CREATE TABLE dbo.t (a INT)\nGO\nINSERT INTO dbo.t SELECT a FROM dbo.s\ngo\nSELECT * FROM dbo.t",
     [S(1, "CREATE_TABLE", "", "dbo.t"), S(3, "INSERT", "dbo.s", "dbo.t"), S(5, "SELECT", "dbo.t")]),
    ("go-with-count-and-comment", "tsql", "INSERT INTO dbo.log VALUES (1)\n  GO 5 -- five times\nSELECT 1",
     [S(1, "INSERT", "", "dbo.log"), S(3, "SELECT")]),
    ("go-inside-comment-or-string-is-text", "tsql", "/* setup\nGO\n*/\nSELECT 'a\nGO\nb' FROM dbo.t\n-- GO\nSELECT 2",
     [S(4, "SELECT", "dbo.t"), S(8, "SELECT")]),
    ("go-ends-a-procedure-body", "tsql", "CREATE PROCEDURE dbo.p AS\nSELECT * FROM dbo.a\nGO\nSELECT * FROM dbo.b",
     [S(1, "CREATE_PROCEDURE", defines="dbo.p"), S(2, "SELECT", "dbo.a", routine="dbo.p"), S(4, "SELECT", "dbo.b")]),
    ("sqlcmd-setvar-and-variables", "tsql", ':setvar Db "Sales"\n:setvar Schema dbo\nUSE $(Db)\nGO\nINSERT INTO $(Db).$(Schema).t SELECT * FROM $(Missing).s',
     [S(1, "SQLCMD"), S(2, "SQLCMD"), S(3, "USE"), S(5, "INSERT", "missing.s", "sales.dbo.t")]),
    ("sqlcmd-r-on-error-connect", "tsql", ":on error exit\n:connect $(Server)\n:r .\\tables.sql\n!!mkdir x\nSELECT 1",
     [S(1, "SQLCMD"), S(2, "SQLCMD"), S(3, "SQLCMD"), S(4, "SQLCMD"), S(5, "SELECT")]),
    ("utf-16-style-bracketed-go", "tsql", "SET ANSI_NULLS ON\r\nGO\r\nSET QUOTED_IDENTIFIER ON\r\nGO\r\nCREATE VIEW [dbo].[v] AS SELECT [a] FROM [dbo].[t]\r\nGO\r\n",
     [S(1, "SET"), S(3, "SET"), S(5, "CREATE_VIEW", "dbo.t", "dbo.v")]),
    ("backslash-ends-no-string", "tsql", "BULK INSERT dbo.t FROM 'C:\\data\\'\nGO\nSELECT * FROM dbo.u",
     [S(1, "BULK_INSERT", "", "dbo.t", location_reads="C:\\data\\"), S(3, "SELECT", "dbo.u")]),
    # ---- MySQL: DELIMITER ----------------------------------------------------------------------
    ("delimiter-procedure-dump", "mysql", "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t SELECT * FROM s;\nEND //\nDELIMITER ;\nCALL p();",
     [S(1, "DELIMITER"), S(2, "CREATE_PROCEDURE", defines="p"), S(4, "INSERT", "s", "t", "p"), S(6, "DELIMITER"), S(7, "CALL", calls="p")]),
    ("delimiter-dollars-trigger", "mysql", "DELIMITER $$\nCREATE TRIGGER tr BEFORE INSERT ON a FOR EACH ROW BEGIN INSERT INTO b VALUES (1); END$$\nDELIMITER ;\n# a DELIMITER in a comment\nSELECT * FROM c;",
     [S(1, "DELIMITER"), S(2, "CREATE_TRIGGER", defines="tr"), S(2, "INSERT", "", "b", "tr"), S(3, "DELIMITER"), S(5, "SELECT", "c")]),
    ("delimiter-inside-a-string-is-text", "mysql", "DELIMITER //\nINSERT INTO t VALUES ('it\\'s //') //\nDELIMITER ;",
     [S(1, "DELIMITER"), S(2, "INSERT", "", "t"), S(3, "DELIMITER")]),
    # ---- PostgreSQL / Redshift: psql --------------------------------------------------------------
    ("psql-meta-commands-and-client-copy", "postgres",
     "\\set ON_ERROR_STOP on\n\\copy staging.t FROM 'data/t.csv' WITH CSV HEADER\n\\i other.sql\nINSERT INTO mart.t SELECT * FROM staging.t;",
     [S(1, "PSQL"), S(2, "COPY", "", "staging.t", location_reads="data/t.csv"), S(3, "PSQL"), S(4, "INSERT", "staging.t", "mart.t")]),
    ("psql-copy-query-out", "redshift", "\\connect warehouse\n\\copy (SELECT * FROM s.a JOIN s.b USING (id)) TO 'out.csv' CSV\nSELECT 1;",
     [S(1, "PSQL"), S(2, "COPY", "s.a s.b", location_writes="out.csv"), S(3, "SELECT")]),
    ("psql-backslash-in-string-is-text", "postgres", "SELECT 'a\n\\b' FROM t;\nSELECT 1;", [S(1, "SELECT", "t"), S(3, "SELECT")]),
    # ---- Oracle: SQL*Plus ------------------------------------------------------------------------
    ("sqlplus-settings-and-prompts", "oracle", "SET ECHO OFF\nSET SERVEROUTPUT ON SIZE 1000000\nPROMPT Don't stop now\nREM a remark\nWHENEVER SQLERROR EXIT SQL.SQLCODE\nINSERT INTO t SELECT * FROM s;\nSPOOL OFF\nEXIT",
     [S(1, "SQLPLUS"), S(2, "SQLPLUS"), S(3, "SQLPLUS"), S(4, "SQLPLUS"), S(5, "SQLPLUS"), S(6, "INSERT", "S", "T"), S(7, "SQLPLUS"), S(8, "SQLPLUS")]),
    ("sqlplus-define-and-substitution", "oracle", "DEFINE schema = HR\nINSERT INTO &schema..tgt SELECT * FROM &&schema..src;\nSELECT * FROM &unknown..t;",
     [S(1, "SQLPLUS"), S(2, "INSERT", "HR.SRC", "HR.TGT"), S(3, "SELECT", "UNKNOWN.T")]),
    ("sqlplus-define-off-keeps-ampersands", "oracle", "SET DEFINE OFF\nINSERT INTO t VALUES ('AT&T');",
     [S(1, "SQLPLUS"), S(2, "INSERT", "", "T")]),
    ("sqlplus-slash-ends-a-block", "oracle", "BEGIN\n  DELETE FROM a;\nEND;\n/\nBEGIN\n  DELETE FROM b;\nEND;\n/\n@@next_script.sql\nSTART other.sql",
     [S(2, "DELETE", "", "A"), S(6, "DELETE", "", "B"), S(9, "SQLPLUS"), S(10, "SQLPLUS")]),
    ("sql-that-looks-like-sqlplus-stays-sql", "oracle", "UPDATE t\nSET echo = 1;\nSELECT * FROM emp\nSTART WITH mgr IS NULL\nCONNECT BY PRIOR id = mgr;",
     [S(1, "UPDATE", "", "T"), S(3, "SELECT", "EMP")]),
    ("sqlplus-column-and-show", "oracle", "COLUMN name FORMAT a20\nSHOW ERRORS\nSELECT name FROM t;",
     [S(1, "SQLPLUS"), S(2, "SQLPLUS"), S(3, "SELECT", "T")]),
]


@pytest.mark.parametrize(("dialect", "sql", "expected"), [pytest.param(r[1], r[2], r[3], id=f"{r[1]}-{r[0]}") for r in CASES])
def test_client_lines(dialect, sql, expected):
    statements = extract_lineage(sql, dialect).statements
    assert [actual(s) for s in statements] == [e.expected() for e in expected]
    assert_well_formed(statements)


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        pytest.param("CREATE DATABASE <database_name, sysname, sample_db>\nGO", 1, id="name-type-default"),
        pytest.param("-- header\nSELECT * FROM <schema_name, sysname, dbo>.<table_name, sysname, t>", 2, id="two-parameters"),
        pytest.param("EXEC p <@param1, sysname, @p1> = <value, , 0>", 1, id="empty-type"),
        pytest.param("/*\n<Author,,Name>\n*/\nSELECT 1", 2, id="in-a-comment"),
    ],
)
def test_ssms_template_parameters_make_the_file_a_template(sql, line):
    lineage = extract_lineage(sql, "tsql")
    assert lineage.templated and "SSMS template parameter" in lineage.templated
    [statement] = lineage.statements
    assert (statement.kind, statement.line) == ("ERROR", line)
    assert "templated" in statement.error


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param("SELECT * FROM t WHERE a < b, c > d", "tsql", id="comparisons-tsql"),
        pytest.param("SELECT CAST(x AS STRUCT<a INT64, b STRING, c INT64>) FROM d.t", "bigquery", id="bigquery-struct"),
    ],
)
def test_angle_brackets_that_are_no_template(sql, dialect):
    assert extract_lineage(sql, dialect).templated is None


def test_lines_after_blanked_client_lines_stay_true():
    sql = "PROMPT one\nPROMPT two\n\nINSERT INTO t\nSELECT *\nFROM s;\nPROMPT three\nDELETE FROM u;"
    statements = extract_lineage(sql, "oracle").statements
    assert [(s.line, s.kind) for s in statements] == [
        (1, "SQLPLUS"), (2, "SQLPLUS"), (4, "INSERT"), (7, "SQLPLUS"), (8, "DELETE"),
    ]  # fmt: skip


def test_a_batch_that_does_not_tokenize_loses_only_itself():
    sql = "SELECT * FROM dbo.a\nGO\nSELECT 'unterminated\nGO\nSELECT * FROM dbo.b"
    first, broken = extract_lineage(sql, "tsql").statements
    assert (first.kind, first.line, [r.fqn for r in first.reads]) == ("SELECT", 1, ["dbo.a"])
    assert (broken.kind, broken.line) == ("ERROR", 3) and "tokeniz" in broken.error
