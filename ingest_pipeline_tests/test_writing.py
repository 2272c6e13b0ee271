"""What the writer does besides talking to Neo4j: the column catalog it keeps while a run writes its
chunks one by one (writing.py), against a real ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_pipeline import writing
from ingest_pipeline.derivation import DialectRules
from ingest_pipeline.graph.columns import file_definitions
from ingest_pipeline.lineage import build_catalog
from ingest_pipeline.parsing import parse_files
from ingest_pipeline.planning import plan_batch
from ingest_pipeline.state.ledger import Ledger
from ingest_pipeline.writing import ChunkFile, attach_column_rows, rows_for
from ingest_pipeline_tests.support import write_star_chain_corpus


def attach(folder: Path, paths: list[str], state: Ledger, deleted: tuple[str, ...] = ()) -> dict[str, list]:
    """Attach the column rows of `paths` (as the writer does for one chunk); their derives, by path."""
    tasks = [t for t in plan_batch(folder, {}).tasks if t.path in paths]
    parsed = [p for p in parse_files(folder, tasks, DialectRules(""), None) if p.lineage is not None]
    lineages = {p.key: p.lineage for p in parsed}
    rows = rows_for([ChunkFile(p.task, p.key, p.derivation) for p in parsed], lineages, "2026-12-01T00:00:00Z")
    attach_column_rows(rows, {p.task.key: p.lineage for p in parsed}, list(deleted), state)
    return {r.path: r.derives for r in rows}


@pytest.fixture
def ledger(tmp_path):
    state = Ledger(tmp_path / "ledger.db")
    yield state
    state.close()


def test_the_catalog_refreshed_chunk_by_chunk_is_the_catalog_of_the_definitions(tmp_path, ledger):
    folder = write_star_chain_corpus(tmp_path / "corpus", 12)
    files = sorted(p.name for p in folder.glob("*.sql"))
    # Chunks out of chain order, a file redefined with other columns, then one deleted.
    for chunk in ([files[i] for i in (5, 0, 9)], files[1:5], files[6:9] + files[10:]):
        attach(folder, chunk, ledger)
        assert writing._LAST_CATALOG[2] == build_catalog(ledger.definitions())
    (folder / files[0]).write_text("CREATE TABLE s.t0 (id INT, amount INT, note TEXT);\n")
    attach(folder, [files[0]], ledger)
    assert writing._LAST_CATALOG[2] == build_catalog(ledger.definitions())
    assert writing._LAST_CATALOG[2]["s.t11"] == ["id", "amount", "note"]
    attach(folder, [], ledger, deleted=(files[0],))
    assert writing._LAST_CATALOG[2] == build_catalog(ledger.definitions())
    assert writing._LAST_CATALOG[2]["s.t11"] == ["*"]


def test_definitions_another_writer_changed_are_read_again(tmp_path, ledger):
    """Another process writing to the same ledger between two chunks changes the definitions'
    version: the catalog this process kept is not used for the next chunk."""
    folder = write_star_chain_corpus(tmp_path / "corpus", 3)
    attach(folder, ["f0000.sql"], ledger)
    other = Ledger(tmp_path / "ledger.db")
    try:
        (folder / "f0000.sql").write_text("CREATE TABLE s.t0 (id INT, renamed TEXT);\n")
        [parsed] = parse_files(folder, [t for t in plan_batch(folder, {}).tasks if t.path == "f0000.sql"], DialectRules(""), None)
        other.replace_definitions(["f0000.sql"], {"f0000.sql": file_definitions(parsed.lineage)})
    finally:
        other.close()

    derives = attach(folder, ["f0001.sql"], ledger)

    targets = {d["target"] for d in derives["f0001.sql"]}
    assert "s.t1.renamed" in targets and "s.t1.name" not in targets
