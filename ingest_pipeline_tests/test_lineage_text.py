"""decode_sql: byte-order marks, UTF-16 with or without one, UTF-8, and bytes that are none of them."""

from __future__ import annotations

import codecs

import pytest

from ingest_pipeline.lineage.text import decode_sql

SQL = "SELECT 'café' FROM dbo.t\r\nGO\r\n"


@pytest.mark.parametrize(
    ("raw", "decode_errors"),
    [
        pytest.param(SQL.encode("utf-8"), False, id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + SQL.encode("utf-8"), False, id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + SQL.encode("utf-16-le"), False, id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + SQL.encode("utf-16-be"), False, id="utf-16-be-bom"),
        pytest.param(SQL.encode("utf-16-le"), False, id="utf-16-le-no-bom"),
        pytest.param(SQL.encode("utf-16-be"), False, id="utf-16-be-no-bom"),
        pytest.param(codecs.BOM_UTF32_LE + SQL.encode("utf-32-le"), False, id="utf-32-le-bom"),
    ],
)
def test_decodes_every_encoding_sql_tools_write(raw, decode_errors):
    assert decode_sql(raw) == (SQL, decode_errors)


def test_invalid_utf8_is_replaced_and_flagged():
    text, errors = decode_sql("SELECT 'caf\xe9'".encode("latin-1"))
    assert errors and text == "SELECT 'caf\ufffd'"


def test_odd_length_utf16_is_replaced_and_flagged():
    text, errors = decode_sql(codecs.BOM_UTF16_LE + "SELECT 1".encode("utf-16-le") + b"\x00\xd8"[:1])
    assert errors and text.startswith("SELECT 1")


@pytest.mark.parametrize("raw", [b"", b"a", b"SELECT 1\x00", "日本語のコメント".encode("utf-8")], ids=["empty", "one-byte", "stray-nul", "cjk-utf-8"])
def test_short_or_non_ascii_utf8_is_not_taken_for_utf16(raw):
    assert decode_sql(raw)[0] == raw.decode("utf-8", errors="replace")


def test_parsing_and_planning_read_utf16_files(tmp_path):
    """The parse step decodes with it, and the planner reads a UTF-16 file's `-- dialect:` line with it."""
    from ingest_pipeline.derivation import DialectRules
    from ingest_pipeline.parsing import parse_files
    from ingest_pipeline.planning import plan_batch

    text = "-- dialect: tsql\r\nINSERT INTO dbo.t SELECT * FROM dbo.s\r\nGO\r\n"
    (tmp_path / "u16.sql").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))

    (task,) = plan_batch(tmp_path, {}).tasks
    (parsed,) = parse_files(tmp_path, [task], DialectRules(), None)

    assert parsed.derivation.startswith("extractor=") and ";dialect=tsql;" in parsed.derivation
    assert not parsed.lineage.decode_errors
    assert [t.fqn for t in parsed.lineage.statements[0].writes] == ["dbo.t"]
