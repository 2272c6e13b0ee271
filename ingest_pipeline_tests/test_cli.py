"""`ingest-pipeline` commands: the bundled Neo4j's lifecycle, the parse cache operations, the settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest_pipeline import settings
from ingest_pipeline.derivation import Derivation
from ingest_pipeline.lineage import extract_lineage
from ingest_pipeline.state.parse_cache import ParseCache, cache_key

CLI = str(Path(sys.executable).parent / "ingest-pipeline")


def run_cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in cwd; with env given, in an environment holding no setting but those."""
    environ = None
    if env or cwd:
        environ = {k: v for k, v in os.environ.items() if k not in {s.name for s in settings.REGISTRY}} | env
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=environ)


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
    cache.put_many({cache_key("ab" * 32, Derivation("postgres", True)): extract_lineage("SELECT * FROM t", "postgres")})
    cache.get_many([cache_key("ab" * 32, Derivation("postgres", True)), "missing"])
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


def test_config_show_on_a_clean_environment_lists_every_default(tmp_path):
    shown = run_cli("config", "show", "--json", cwd=tmp_path)

    assert shown.returncode == 0, shown.stderr
    rows = {row["name"]: row for row in json.loads(shown.stdout)}
    assert list(rows) == [setting.name for setting in settings.REGISTRY]
    assert {row["source"] for row in rows.values()} == {"default"}
    assert rows["INGEST_WORKERS"]["value"] == 0 and rows["INGEST_INCLUDE"]["value"] == ["*.sql"]


def test_config_show_masks_secrets_and_names_each_origin(tmp_path):
    (tmp_path / ".env").write_text("INGEST_WORKERS=3\n")

    shown = run_cli("config", "show", cwd=tmp_path, NEO4J_PASSWORD="s3cret-value", NEO4J_BATCH_SIZE="7", INGEST_WORKERS="2")
    as_json = run_cli("config", "show", "--json", cwd=tmp_path, NEO4J_PASSWORD="s3cret-value")

    assert shown.returncode == 0, shown.stderr
    assert "s3cret-value" not in shown.stdout + as_json.stdout
    lines = {line.split()[0]: line.split()[1:] for line in shown.stdout.splitlines() if line.startswith("  ")}
    assert lines["NEO4J_PASSWORD"] == ["********", "environment"]
    assert lines["NEO4J_BATCH_SIZE"] == ["7", "environment"]
    assert lines["INGEST_WORKERS"] == ["3", ".env"]
    assert lines["NEO4J_URI"] == ["bolt://localhost:7687", "default"]
    assert {row["name"]: row["value"] for row in json.loads(as_json.stdout)}["NEO4J_PASSWORD"] == "********"


def test_config_check_with_neo4j_up_passes_every_probe(neo4j_server, tmp_path):
    (tmp_path / "sql").mkdir()
    state = {name: str(tmp_path / "state" / name) for name in ("ledger.db", "cache.db", "dead.jsonl")}

    checked = run_cli(
        "config", "check", cwd=tmp_path, NEO4J_URI=neo4j_server.uri, INGEST_SOURCE_DIR=str(tmp_path / "sql"),
        INGEST_LEDGER_PATH=state["ledger.db"], PARSE_CACHE_PATH=state["cache.db"], INGEST_DEAD_LETTER_PATH=state["dead.jsonl"],
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("ok  ") for line in lines)
    assert f"NEO4J_URI={neo4j_server.uri}: answers, version 5." in lines[0]
    assert not (tmp_path / "state").exists()  # probing creates nothing


def test_config_check_names_each_failure_on_its_own_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    checked = run_cli(
        "config", "check", "--timeout", "2", cwd=tmp_path, NEO4J_URI="bolt://127.0.0.1:1",
        INGEST_LEDGER_PATH=str(blocker / "ledger.db"), ENABLE_PARSE_CACHE="false",
    )

    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("FAIL  Neo4j is unreachable at NEO4J_URI=bolt://127.0.0.1:1")
    assert lines[1] == f"FAIL  ledger {blocker / 'ledger.db'} (INGEST_LEDGER_PATH): {blocker} is not a directory"
    assert lines[2] == "ok    parse cache: disabled (ENABLE_PARSE_CACHE=false)"
    assert lines[4] == "FAIL  source folder data/raw (INGEST_SOURCE_DIR): does not exist"


def test_config_check_of_a_cluster_probes_the_state_database_and_the_broker(postgres, tmp_path):
    from ingest_pipeline_tests.services import free_port

    dead_broker = f"redis://127.0.0.1:{free_port()}/0"

    checked = run_cli(
        "config", "check", "--timeout", "2", cwd=tmp_path, NEO4J_URI="bolt://127.0.0.1:1",
        INGEST_STATE_URL=postgres.admin_url, INGEST_EXECUTOR="celery", CELERY_BROKER_URL=dead_broker,
    )

    lines = checked.stdout.splitlines()
    assert checked.returncode == 1
    assert lines[1].startswith(f"ok    state database {postgres.admin_url} (INGEST_STATE_URL): answers, PostgreSQL ")
    assert lines[3].startswith(f"FAIL  cannot reach the Celery broker at {dead_broker} (CELERY_BROKER_URL)")
    unreachable = run_cli("config", "check", "--timeout", "2", cwd=tmp_path, INGEST_STATE_URL=f"postgresql://u:pw@127.0.0.1:{free_port()}/x")
    assert "FAIL  cannot reach PostgreSQL at postgresql://u:***@127.0.0.1:" in unreachable.stdout and ":pw@" not in unreachable.stdout


def test_config_check_lists_invalid_settings_and_probes_nothing(tmp_path):
    checked = run_cli(
        "config", "check", cwd=tmp_path, INGEST_WORKERS="two", ENABLE_BATCHING="maybe", INGEST_DIALECT="postgress"
    )

    assert checked.returncode == 2, checked.stderr
    assert [line.split(":")[0] for line in checked.stdout.splitlines()] == [
        "FAIL  INGEST_DIALECT='postgress' (environment)",
        "FAIL  INGEST_WORKERS='two' (environment)",
        "FAIL  ENABLE_BATCHING='maybe' (environment)",
    ]
    assert "FAIL  INGEST_WORKERS='two' (environment): expected a whole number >= 0" in checked.stdout
    assert "expected one of true, false, 1, 0, yes, no, on, off" in checked.stdout


def test_cache_stats_from_postgres_when_the_state_url_is_set(postgres, tmp_path):
    database = postgres.create_database()
    url = postgres.url(database)
    try:
        cache = ParseCache(tmp_path / "unused.db", state_url=url)
        cache.put_many({"k": extract_lineage("SELECT * FROM t", "postgres")})
        cache.close()

        stats = json.loads(run_cli("cache", "stats", "--json", cwd=tmp_path, INGEST_STATE_URL=url).stdout)

        assert stats["entries"] == 1 and stats["path"].startswith(f"{url} (schema ingest_parse_cache)")
        assert not (tmp_path / "data").exists()  # no SQLite file was created beside it
    finally:
        postgres.drop_database(database)


def test_workers_start_status_stop_by_pid(tmp_path):
    from ingest_pipeline_tests.services import redis_server

    with redis_server() as redis:
        env = {
            "INGEST_WORKER_DIR": str(tmp_path / "workers"),
            "INGEST_WORKER_CONCURRENCY": "1",
            "CELERY_BROKER_URL": redis.url(0),
            "CELERY_BACKEND_URL": redis.url(1),
        }
        started = run_cli("workers", "start", cwd=tmp_path, **env)
        try:
            assert started.returncode == 0, started.stderr
            assert "parse: pid=" in started.stdout and "queue=dagster" in started.stdout
            assert "writer: pid=" in started.stdout and "queue=neo4j_writer" in started.stdout
            status = run_cli("workers", "status", cwd=tmp_path, **env)
            assert status.returncode == 0 and status.stdout.count("running pid=") == 2
        finally:
            stopped = run_cli("workers", "stop", cwd=tmp_path, **env)
        assert stopped.returncode == 0 and "stopped parse, writer" in stopped.stdout
        after = run_cli("workers", "status", cwd=tmp_path, **env)
        assert after.returncode == 3 and after.stdout.count("not running") == 2
