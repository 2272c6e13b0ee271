"""Teradata attribute phrases blanked before parsing, offsets kept, function calls untouched."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot.dialects.dialect import Dialect

from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.lineage.phrases import blank_attribute_phrases

TERADATA = Dialect.get_or_raise("teradata")


def blanked(sql: str, *phrases: str) -> str:
    for phrase in phrases:
        sql = sql.replace(phrase, " " * len(phrase))
    return sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("SELECT a (TITLE 'A') FROM t", blanked("SELECT a (TITLE 'A') FROM t", "(TITLE 'A')"), id="title"),
        pytest.param("SELECT a (NAMED b) FROM t", "SELECT a AS     b  FROM t", id="named-becomes-alias"),
        pytest.param("SELECT a (NAMED b) AS c FROM t", blanked("SELECT a (NAMED b) AS c FROM t", "(NAMED b)"), id="named-before-alias"),
        pytest.param("SELECT a (FORMAT 'X') (TITLE 'Y') FROM t", blanked("SELECT a (FORMAT 'X') (TITLE 'Y') FROM t", "(FORMAT 'X')", "(TITLE 'Y')"), id="two-lists"),
        pytest.param("SELECT d (DATE, FORMAT 'YYYY') FROM t", blanked("SELECT d (DATE, FORMAT 'YYYY') FROM t", "(DATE, FORMAT 'YYYY')"), id="type-and-phrase"),
        pytest.param("SELECT c (CHAR(10), NOT CASESPECIFIC) FROM t", blanked("SELECT c (CHAR(10), NOT CASESPECIFIC) FROM t", "(CHAR(10), NOT CASESPECIFIC)"), id="sized-type"),
        pytest.param("SELECT a (NAMED\n b) FROM t", "SELECT a AS    \n b  FROM t", id="newline-kept"),
        pytest.param("SELECT f(FORMAT('%d', x)) FROM t", "SELECT f(FORMAT('%d', x)) FROM t", id="function-call"),
        pytest.param("SELECT a (INTEGER) FROM t", "SELECT a (INTEGER) FROM t", id="type-alone-is-no-phrase"),
        pytest.param("SELECT '(TITLE ''x'')' FROM t", "SELECT '(TITLE ''x'')' FROM t", id="inside-string"),
        pytest.param("SELECT (TITLE 'x') FROM t", "SELECT (TITLE 'x') FROM t", id="not-after-a-value"),
    ],
)
def test_blank_attribute_phrases(sql, expected):
    assert blank_attribute_phrases(sql, TERADATA) == expected


def test_text_without_phrases_is_returned_as_is():
    sql = "SELECT a FROM t"
    assert blank_attribute_phrases(sql, TERADATA) is sql


def test_blanked_statement_parses_with_lineage():
    sql = "INSERT INTO db.r\nSELECT amount (TITLE 'Amount') (FORMAT 'Z9'), id (NAMED customer_id)\nFROM db.t"
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(sql, read="teradata")  # what sqlglot makes of it alone
    [statement] = extract_lineage(sql, "teradata").statements  # extraction blanks the phrases first
    assert statement.error is None and statement.line == 1
    assert [(e.target.column, [s.fqn for s in e.sources]) for e in statement.columns] == [
        ("amount", ["db.t.amount"]),
        ("customer_id", ["db.t.id"]),
    ]
