"""jobs.summary: the run's metadata and log lines, from plain facts."""

from __future__ import annotations

import dataclasses

import pytest

from ingest_pipeline.graph.health import ParseError
from ingest_pipeline.jobs.summary import RunFacts, cache_metadata, graph_metadata, markdown, names, parse_line, run_line, write_line

WRITE = {"transactions": 3, "batches": 9, "entities": 120, "relationships": 300, "retries": 1, "splits": 0, "dead_letters": 1, "seconds": 1.23456}

FACTS = RunFacts(
    source="default",
    source_dir="/srv/sql",
    files_seen=24,
    ingested=["a.sql", "b.sql"],
    unchanged=20,
    deleted=["gone.sql"],
    failed={"bad.sql": "DatabaseError: too large to index", "unreadable.sql": "PermissionError: denied"},
    dead_lettered=["bad.sql"],
    parsed=1,
    from_cache=1,
    statements=7,
    parse_errors=1,
    tables=4,
    columns=9,
    column_edges=5,
    column_edges_ambiguous=0,
    graph_rows_written=80,
    wall_seconds=3.14159,
    write=WRITE,
    parallelism={"executor": "in_process", "workers": 1, "step_startup_seconds_p50": 0.123456},
    parse_seconds=[0.0123, 0.0456],
    parse_error_list=[ParseError("b.sql", 3, "ERROR", "Invalid expression / Unexpected token. Line 3, Col: 7.\n  SELEC x")],
    skipped={"fifo": "not a regular file (FIFO)"},
    rejected={"../x.sql": "outside the source folder"},
    dead_letter_path="/srv/state/failed_ingestion.jsonl",
    dead_letter_entries=1,
    table_assets="4 tables shown",
)

IDLE = dataclasses.replace(
    FACTS, ingested=[], deleted=[], failed={}, dead_lettered=[], parsed=0, from_cache=0, statements=0, parse_errors=0,
    parse_seconds=[], parse_error_list=[], skipped={}, rejected={}, dead_letter_entries=0,
    write={"transactions": 0, "seconds": 0.0},
)


def test_metadata_has_the_summary_first_units_in_names_and_rounded_floats():
    metadata = graph_metadata(FACTS)

    assert next(iter(metadata)) == "summary"
    assert metadata["files_ingested"] == 2 and metadata["files_failed"] == 2 and metadata["files_skipped"] == 1
    assert metadata["wall_seconds"] == 3.14 and metadata["files_per_second"] == 7.6
    assert metadata["parse_latency_p50_ms"] == 29.0 and metadata["neo4j_seconds"] == 1.235
    assert metadata["step_startup_seconds_p50"] == 0.12
    assert metadata["neo4j_nodes_created"] == 120 and metadata["neo4j_relationships_created"] == 300
    floats = [value for value in metadata.values() if isinstance(value, float)]
    assert all(len(repr(value).split(".")[1]) <= 3 for value in floats)
    # one name per quantity: no `relationships_written` next to the Neo4j count, no Neo4j copy of the file counts
    assert not {"relationships_written", "neo4j_relationships", "neo4j_files_written", "neo4j_files_deleted"} & set(metadata)
    assert all(not key.endswith(("_s", "_time", "_latency")) for key in metadata)


def test_tables_list_parse_errors_and_every_file_not_ingested():
    metadata = graph_metadata(FACTS)

    (error,) = metadata["parse_error_details"].records
    assert error.data == {"path": "b.sql", "line": 3, "kind": "ERROR", "message": "Invalid expression / Unexpected token. Line 3, Col: 7."}
    rows = [(r.data["path"], r.data["status"]) for r in metadata["failed_files"].records]
    assert rows == [("../x.sql", "rejected"), ("bad.sql", "dead-lettered"), ("fifo", "skipped"), ("unreadable.sql", "failed")]
    assert metadata["dead_letter_file"].path == "/srv/state/failed_ingestion.jsonl"


def test_rates_and_tables_are_left_out_when_nothing_was_processed():
    metadata = graph_metadata(IDLE)

    assert not {"files_per_second", "parse_latency_p50_ms", "parse_latency_p95_ms", "parse_error_details", "failed_files", "dead_letter_file"} & set(metadata)
    assert "hit_rate" not in cache_metadata(True, 0, 0)
    assert cache_metadata(True, 3, 1, {"entries": 10, "size_bytes": 4096, "hits": 99})["hit_rate"] == 0.75


def test_markdown_says_what_changed_how_fast_and_what_failed():
    text = markdown(FACTS)

    assert text.startswith("**2 files ingested, 1 deleted, 2 failed** in 3.1 s")
    assert "- **Ingested**: a.sql, b.sql" in text and "- **Deleted**: gone.sql" in text
    assert "7.6 files/s" in text and "Neo4j write 1.2 s in 3 transactions" in text
    assert "`b.sql:3: Invalid expression / Unexpected token. Line 3, Col: 7.`" in text
    assert "`bad.sql` dead-lettered: DatabaseError: too large to index" in text
    assert "`/srv/state/failed_ingestion.jsonl`" in text and "replay_failed" in text
    assert "Problems**: none" in markdown(IDLE) and "files/s" not in markdown(IDLE)


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ([], "none"),
        (["b.sql", "a.sql"], "a.sql, b.sql"),
        ([f"f{i:02}.sql" for i in range(12)], "f00.sql, f01.sql, f02.sql, f03.sql, f04.sql, f05.sql, f06.sql, f07.sql, f08.sql, f09.sql and 2 more"),
    ],
)
def test_names_lists_small_batches_and_counts_the_rest(paths, expected):
    assert names(paths) == expected


def test_log_lines_are_one_readable_sentence_per_phase():
    assert parse_line(["a.sql", "b.sql"], 1, 1, 1, 0.25) == (
        "read 2 files in 250 ms: 1 parsed, 1 from the parse cache, 1 statement with errors: a.sql, b.sql"
    )
    assert write_line(WRITE, ["a.sql"], [], ["bad.sql"]) == (
        "wrote 1 file to Neo4j in 1.2 s (3 transactions, 1 retry), deleted 0, 1 not written: a.sql"
    )
    assert run_line(FACTS).startswith("run summary: 24 files seen in source 'default', 2 ingested, 20 unchanged, 1 deleted, 2 failed in 3.1 s; ")
    assert "\n" not in run_line(FACTS) and "{" not in run_line(FACTS)
