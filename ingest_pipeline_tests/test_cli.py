"""`ingest-pipeline` commands: the bundled Neo4j's lifecycle and the parse cache operations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.state.parse_cache import ParseCache, cache_key

CLI = str(Path(sys.executable).parent / "ingest-pipeline")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300)


def test_neo4j_start_status_reuse_stop(tmp_path):
    data_dir = str(tmp_path / "neo4j")

    started = run_cli("neo4j", "start", "--data-dir", data_dir, "--bolt-port", "0")
    try:
        assert started.returncode == 0, started.stderr
        uri = started.stdout.strip()
        assert uri.startswith("bolt://127.0.0.1:")
        status = run_cli("neo4j", "status", "--data-dir", data_dir)
        assert status.returncode == 0 and uri in status.stdout
        again = run_cli("neo4j", "start", "--data-dir", data_dir, "--bolt-port", "0")
        assert again.stdout.strip() == uri  # reused, not a second server
    finally:
        stopped = run_cli("neo4j", "stop", "--data-dir", data_dir)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    after = run_cli("neo4j", "status", "--data-dir", data_dir)
    assert after.returncode == 3 and "not running" in after.stdout


def test_cache_stats_and_clear(tmp_path):
    path = tmp_path / "cache.db"
    cache = ParseCache(path)
    cache.put_many({cache_key("ab" * 32, "postgres"): extract_lineage("SELECT * FROM t", "postgres")})
    cache.get_many([cache_key("ab" * 32, "postgres"), "missing"])
    cache.close()

    stats = json.loads(run_cli("cache", "stats", "--path", str(path), "--json").stdout)
    assert stats["entries"] == 1 and stats["hits"] == 1 and stats["misses"] == 1 and stats["hit_rate"] == 0.5
    assert stats["size_bytes"] > 0 and stats["oldest_entry"]

    cleared = run_cli("cache", "clear", "--path", str(path))
    assert cleared.returncode == 0 and "cleared 1 entries" in cleared.stdout
    assert json.loads(run_cli("cache", "stats", "--path", str(path), "--json").stdout)["entries"] == 0


def test_cache_in_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    result = run_cli("cache", "stats", "--path", str(blocker / "cache.db"))

    assert result.returncode == 1
    assert "PARSE_CACHE_PATH" in result.stderr and str(blocker) in result.stderr
