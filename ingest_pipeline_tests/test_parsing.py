"""Reading and parsing planned files: dialect choice, bad bytes, size limit, and the cache in between."""

from __future__ import annotations

from pathlib import Path

from ingest_pipeline.derivation import DialectRules
from ingest_pipeline.parsing import parse_files
from ingest_pipeline.planning import FileTask
from ingest_pipeline.sources import sha256_of
from ingest_pipeline.state.parse_cache import ParseCache


def task_for(folder: Path, name: str) -> FileTask:
    path = folder / name
    return FileTask(name, sha256_of(path), path.stat().st_size, path.stat().st_mtime_ns)


def test_dialect_comment_beats_glob_beats_default():
    rules = DialectRules("postgres", (("sf/*", "snowflake"), ("*", "bigquery")))

    assert rules.for_file("sf/a.sql", "-- dialect: tsql\nSELECT 1") == "tsql"
    assert rules.for_file("sf/a.sql", "SELECT 1") == "snowflake"
    assert rules.for_file("other.sql", "SELECT 1") == "bigquery"
    assert DialectRules("duckdb").for_file("x.sql", "SELECT 1") == "duckdb"


def test_dialect_decides_identifier_case(tmp_path):
    (tmp_path / "sf.sql").write_text("-- dialect: snowflake\nINSERT INTO Mart.Sales SELECT * FROM Raw.Orders")
    (tmp_path / "pg.sql").write_text("INSERT INTO Mart.Sales SELECT * FROM Raw.Orders")
    tasks = [task_for(tmp_path, "sf.sql"), task_for(tmp_path, "pg.sql")]

    sf, pg = parse_files(tmp_path, tasks, DialectRules("postgres"), cache=None)

    assert [t.fqn for t in sf.lineage.statements[0].writes] == ["MART.SALES"]
    assert [t.fqn for t in pg.lineage.statements[0].writes] == ["mart.sales"]


def test_oversized_file_is_recorded_not_read(tmp_path):
    (tmp_path / "big.sql").write_text("SELECT 1;\n" * 1000)

    (parsed,) = parse_files(tmp_path, [task_for(tmp_path, "big.sql")], DialectRules(), cache=None, max_file_bytes=100)

    (statement,) = parsed.lineage.statements
    assert statement.kind == "ERROR" and "INGEST_MAX_FILE_BYTES" in statement.error


def test_cache_serves_the_second_parse_and_respects_the_column_switch(tmp_path):
    (tmp_path / "a.sql").write_text("INSERT INTO t SELECT a FROM s")
    tasks = [task_for(tmp_path, "a.sql")]
    cache = ParseCache(tmp_path / "cache.db")

    (first,) = parse_files(tmp_path, tasks, DialectRules(), cache)
    (second,) = parse_files(tmp_path, tasks, DialectRules(), cache)
    (tables_only,) = parse_files(tmp_path, tasks, DialectRules(), cache, columns=False)

    assert not first.from_cache and second.from_cache and second.lineage == first.lineage
    assert not tables_only.from_cache and tables_only.lineage.statements[0].columns == []
    assert first.lineage.statements[0].columns  # column lineage was extracted the first time


def test_bytes_changed_after_planning_are_parsed_and_cached_under_their_own_hash(tmp_path):
    """A file rewritten between plan and parse must never poison the cache entry of the planned bytes."""
    (tmp_path / "a.sql").write_text("INSERT INTO mart.old SELECT * FROM raw.old")
    planned = task_for(tmp_path, "a.sql")
    (tmp_path / "a.sql").write_text("INSERT INTO mart.new SELECT * FROM raw.new")  # rewritten after planning
    cache = ParseCache(tmp_path / "cache.db")

    (first,) = parse_files(tmp_path, [planned], DialectRules(), cache)

    assert [t.fqn for t in first.lineage.statements[0].writes] == ["mart.new"]
    assert first.task.sha256 == sha256_of(tmp_path / "a.sql") != planned.sha256
    assert first.task.reason == "changed since planning"

    # The file goes back to the planned bytes: their lineage must be theirs, even from a warm cache.
    (tmp_path / "a.sql").write_text("INSERT INTO mart.old SELECT * FROM raw.old")
    (again,) = parse_files(tmp_path, [task_for(tmp_path, "a.sql")], DialectRules(), cache)

    assert [t.fqn for t in again.lineage.statements[0].writes] == ["mart.old"]
    assert not again.from_cache
