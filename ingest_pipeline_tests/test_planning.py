"""Planning: unchanged vs re-derived files, deletions decided by the graph, the mass-deletion guard,
what the folder scan passes over, and source keys."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from ingest_pipeline.derivation import Derivation, DialectRules
from ingest_pipeline.planning import keys_to_paths, mass_deletion_problem, plan_batch
from ingest_pipeline.sources import ScanRules, file_key, read_source, sha256_of, split_key, UnreadableFile
from ingest_pipeline.state.ledger import IngestedFile, Ledger


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.sql", "b.sql", "c.sql"):
        (source / name).write_text(f"SELECT 1 FROM {name[0]}")
    return source


def ingested(ledger: Ledger, folder: Path, paths, derivation: Derivation = Derivation("", True)) -> dict[str, str]:
    """Record paths as ingested under `derivation`; returns what the graph then holds (key -> sha256)."""
    ledger.mark_ingested(IngestedFile(p, sha256_of(folder / p), 1, 1, derivation.signature) for p in paths)
    return {p: sha256_of(folder / p) for p in paths}


def test_only_files_current_in_both_ledger_and_graph_are_unchanged(folder, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    graph = ingested(ledger, folder, ["a.sql", "b.sql", "c.sql"])
    ledger.mark_failed({"c.sql": "rejected"})
    (folder / "b.sql").write_text("SELECT 2 FROM b")

    plan = plan_batch(folder, ledger.entries(), graph)

    assert plan.unchanged == ["a.sql"]
    assert [(t.path, t.reason) for t in plan.tasks] == [("b.sql", "content changed"), ("c.sql", "previous attempt failed")]
    assert [t.path for t in plan_batch(folder, ledger.entries(), graph, force=True).tasks] == ["a.sql", "b.sql", "c.sql"]


@pytest.mark.parametrize(
    "recorded, rules, columns, says",
    [
        (Derivation("", True, extractor="1"), DialectRules(), True, "extractor 1 -> "),
        (Derivation("", True, sqlglot="25.0.0"), DialectRules(), True, "sqlglot 25.0.0 -> "),
        (Derivation("", True), DialectRules("tsql"), True, "dialect  -> tsql"),
        (Derivation("", True), DialectRules(globs=(("a.*", "snowflake"),)), True, "dialect  -> snowflake"),
        (Derivation("", True), DialectRules(), False, "columns on -> off"),
    ],
    ids=["extractor", "sqlglot", "default-dialect", "dialect-glob", "column-switch"],
)
def test_a_changed_derivation_re_derives_and_says_why(folder, tmp_path, recorded, rules, columns, says):
    ledger = Ledger(tmp_path / "l.db")
    graph = ingested(ledger, folder, ["a.sql"], recorded)

    plan = plan_batch(folder, ledger.entries(), graph, dialects=rules, columns=columns, only_paths=["a.sql"])

    (task,) = plan.tasks
    assert task.reason.startswith("re-derive: ") and says in task.reason


def test_a_dialect_comment_is_part_of_the_derivation(folder, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    (folder / "a.sql").write_text("-- dialect: bigquery\nSELECT 1")
    graph = ingested(ledger, folder, ["a.sql"], Derivation("bigquery", True))

    assert plan_batch(folder, ledger.entries(), graph, only_paths=["a.sql"]).unchanged == ["a.sql"]
    # Another default dialect does not matter while the file names its own.
    assert plan_batch(folder, ledger.entries(), graph, dialects=DialectRules("tsql"), only_paths=["a.sql"]).unchanged == ["a.sql"]


def test_deletions_come_from_the_graph_even_with_a_reset_ledger(folder, tmp_path):
    ledger = Ledger(tmp_path / "l.db")  # fresh: the old one was moved aside
    graph = {"a.sql": sha256_of(folder / "a.sql"), "gone.sql": "0" * 64, "old/x.sql": "1" * 64}

    plan = plan_batch(folder, ledger.entries(), graph)

    assert plan.deleted == ["gone.sql", "old/x.sql"]
    assert ("a.sql", "not in the ledger") in [(t.path, t.reason) for t in plan.tasks]
    assert plan.graph_deletions == 2 and plan.graph_files == 3


def test_a_file_the_ledger_has_but_the_graph_lost_is_written_again(folder, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    graph = ingested(ledger, folder, ["a.sql", "b.sql"])
    del graph["b.sql"]
    graph["a.sql"] = "f" * 64

    reasons = {t.path: t.reason for t in plan_batch(folder, ledger.entries(), graph, only_paths=["a.sql", "b.sql"]).tasks}

    assert reasons == {"a.sql": "graph holds other bytes", "b.sql": "missing from the graph"}


@pytest.mark.parametrize(
    "on_disk, graph_count, fraction, refused",
    [
        (["a.sql", "b.sql", "c.sql"], 4, 0.5, False),  # 1 of 4 deleted
        (["a.sql"], 4, 0.5, True),  # 3 of 4
        (["a.sql", "b.sql"], 4, 0.5, False),  # exactly half is allowed
        (["a.sql"], 4, 0.8, False),  # 75% under a looser limit
        ([], 4, 1.0, True),  # an empty (unmounted) folder, whatever the limit
        ([], 0, 0.5, False),  # nothing in the graph: nothing to lose
    ],
)
def test_mass_deletion_is_refused_with_how_many_why_and_how_to_confirm(tmp_path, on_disk, graph_count, fraction, refused):
    folder = tmp_path / "src"
    folder.mkdir()
    for name in on_disk:
        (folder / name).write_text("SELECT 1")
    graph = {name: None for name in ["a.sql", "b.sql", "c.sql", "d.sql"][:graph_count]}

    problem = mass_deletion_problem(plan_batch(folder, {}, graph), fraction)

    assert (problem is not None) == refused
    if refused:
        assert f"refusing to delete {graph_count - len(on_disk)} file(s)" in problem
        assert "allow_mass_delete: true" in problem and str(folder) in problem


def test_a_fifo_a_socket_and_outside_links_are_skipped_with_reasons(folder, tmp_path):
    outside = tmp_path / "elsewhere.sql"
    outside.write_text("INSERT INTO secret SELECT * FROM hr.salaries")
    os.mkfifo(folder / "pipe.sql")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.sql"))
    (folder / "inside.sql").symlink_to(folder / "a.sql")
    (folder / "outside.sql").symlink_to(outside)
    (folder / "dangling.sql").symlink_to(folder / "nowhere.sql")

    # A FIFO would block open() forever: planning must return, so it runs under a watchdog.
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.setdefault("plan", plan_batch(folder, {})), daemon=True)
    worker.start()
    worker.join(timeout=30)
    server.close()
    assert "plan" in result, "planning blocked on the FIFO"
    plan = result["plan"]

    assert sorted(t.path for t in plan.tasks) == ["a.sql", "b.sql", "c.sql", "inside.sql"]
    assert "FIFO" in plan.skipped["pipe.sql"] and "socket" in plan.skipped["sock.sql"]
    assert "outside the source folder" in plan.skipped["outside.sql"] and "INGEST_FOLLOW_SYMLINKS" in plan.skipped["outside.sql"]
    assert "dangling.sql" in plan.unreadable

    followed = plan_batch(folder, {}, scan_rules=ScanRules(follow_symlinks=True))
    assert "outside.sql" in [t.path for t in followed.tasks]


def test_reading_a_file_swapped_for_a_fifo_fails_instead_of_blocking(tmp_path):
    os.mkfifo(tmp_path / "late.sql")

    with pytest.raises(UnreadableFile, match="FIFO"):
        read_source(tmp_path / "late.sql")


def test_selected_paths_outside_or_missing_are_reported(folder, tmp_path):
    graph = {"known_gone.sql": "0" * 64}

    plan = plan_batch(
        folder, {}, graph, only_paths=["a.sql", "../elsewhere.sql", "/etc/passwd", "missing.sql", "known_gone.sql", "./b.sql"]
    )

    assert sorted(t.path for t in plan.tasks) == ["a.sql", "b.sql"]
    assert plan.deleted == ["known_gone.sql"]
    assert set(plan.rejected) == {"../elsewhere.sql", "/etc/passwd", "missing.sql"}
    assert "outside the source folder" in plan.rejected["../elsewhere.sql"]
    assert "not found" in plan.rejected["missing.sql"]


def test_a_named_source_keys_its_files_and_deletes_only_its_own(folder, tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    ledger.mark_ingested([IngestedFile("a.sql", "0" * 64, 1, 1), IngestedFile("erp//gone.sql", "0" * 64, 1, 1)])
    graph = {"erp//a.sql": sha256_of(folder / "a.sql"), "erp//old.sql": "0" * 64}

    plan = plan_batch(folder, ledger.entries(), graph, source="erp")

    assert [t.key for t in plan.tasks] == ["erp//a.sql", "erp//b.sql", "erp//c.sql"]
    assert plan.deleted == ["erp//gone.sql", "erp//old.sql"]  # never the default source's a.sql
    assert file_key("default", "x/y.sql") == "x/y.sql" and split_key("erp//x/y.sql") == ("erp", "x/y.sql")
    assert keys_to_paths("erp", ["a.sql", "erp//b.sql", "web//c.sql"]) == ["b.sql"]
