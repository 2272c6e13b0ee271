"""Acceptance: the ingest job on Celery workers with Redis and PostgreSQL, end to end on loopback.

One box plays a cluster: PostgreSQL (Dagster's storage and the pipeline's state), redis-server
(broker and result backend), the bundled Neo4j, and two Celery workers - the parse worker on the
default queue with 2 processes, the writer on `neo4j_writer` with 1 - each with its own working
directory, HOME and temp dir, sharing nothing with the launcher but those three servers. The
launcher is `dagster job execute` with INGEST_EXECUTOR=celery and the `dagster.celery.yaml`
instance. Everything is stopped by pid.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from ingest_pipeline import workers
from ingest_pipeline.jobs.assets import ingest_run_config
from ingest_pipeline.jobs.cluster import DEFAULT_QUEUE, WRITER_QUEUE
from ingest_pipeline.resources import LedgerResource, Neo4jResource, ParseCacheResource
from ingest_pipeline.state.ledger import INGESTED, Ledger
from ingest_pipeline.state.parse_cache import ParseCache
from ingest_pipeline_tests import services
from ingest_pipeline_tests.support import EXAMPLES, graph_snapshot, job_resources, run_ingest

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_SECONDS = 300


@dataclass
class Cluster:
    root: Path
    neo4j: Neo4jResource
    state_url: str
    broker_url: str
    backend_url: str
    launcher_home: Path
    launcher_cwd: Path
    worker_dirs: dict[str, Path]
    pids: dict[str, int]

    def launcher_env(self, **overrides: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(REPO),
            "HOME": str(self.launcher_home),
            "TMPDIR": str(self.launcher_home),
            "DAGSTER_HOME": str(self.launcher_home),
            "INGEST_EXECUTOR": "celery",
            "INGEST_STATE_URL": self.state_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_BACKEND_URL": self.backend_url,
            "NEO4J_URI": self.neo4j.uri,
            **overrides,
        }

    def launch(self, tag: str, env: dict[str, str] | None = None, **config: Any) -> tuple[subprocess.CompletedProcess, float]:
        """`dagster job execute` of ingest_sql_files (the launcher); returns its outcome and wall seconds."""
        run_config = ingest_run_config(**{"source_dir": str(EXAMPLES), **config})
        config_path = self.launcher_cwd / f"{tag}.json"
        config_path.write_text(json.dumps(run_config))
        started = time.perf_counter()
        outcome = subprocess.run(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", "ingest_pipeline.definitions", "-j", "ingest_sql_files",
             "-c", str(config_path), "--tags", json.dumps({"test/run": tag})],
            cwd=self.launcher_cwd, env=env or self.launcher_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
        )
        return outcome, time.perf_counter() - started

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(str(self.launcher_home))

    def run_id(self, instance: DagsterInstance, tag: str) -> str:
        (run,) = instance.get_runs(RunsFilter(tags={"test/run": tag}))
        return run.run_id


def _metadata(instance: DagsterInstance, run_id: str, asset: str) -> dict[str, Any]:
    """The metadata of the run's materialization of `asset`, or of its observation (the parse cache is observed)."""
    for kind in (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION):
        for record in instance.all_logs(run_id, of_type=kind):
            event = record.dagster_event.event_specific_data
            found = event.materialization if kind == DagsterEventType.ASSET_MATERIALIZATION else event.asset_observation
            if found.asset_key == AssetKey(asset):
                return {key: value.value for key, value in found.metadata.items()}
    raise AssertionError(f"run {run_id} recorded nothing about {asset}")


def _op_step(step_key: str) -> str:
    """`parse_chunk[0]` of `sql_lineage_graph.parse_chunk[0]` (the ops live inside the graph-backed asset)."""
    return step_key.rsplit(".", 1)[-1]


def _step_pids(instance: DagsterInstance, run_id: str, prefix: str) -> set[int]:
    return {
        record.dagster_event.pid
        for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
        if _op_step(record.dagster_event.step_key).startswith(prefix)
    }


def _private_dirs(root: Path, name: str) -> dict[str, Path]:
    dirs = {part: root / name / part for part in ("cwd", "home", "tmp", "pids")}
    for folder in dirs.values():
        folder.mkdir(parents=True)
    return dirs


@pytest.fixture(scope="module")
def cluster(neo4j_server, postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make test-services installs it: apt-get install redis-server)")
    root = tmp_path_factory.mktemp("cluster")
    database = postgres.create_database()
    neo4j = Neo4jResource(uri=neo4j_server.uri, dead_letter_path=str(root / "failed.jsonl"))
    launcher = _private_dirs(root, "launcher")
    shutil.copy(REPO / "dagster.celery.yaml", launcher["home"] / "dagster.yaml")
    started: list[Path] = []
    with services.redis_server() as redis, pytest.MonkeyPatch.context() as patch:
        cluster = Cluster(
            root, neo4j, postgres.url(database), redis.url(0), redis.url(1), launcher["home"], launcher["cwd"], {}, {"redis": redis.pid}
        )
        patch.setenv("INGEST_STATE_URL", cluster.state_url)  # this process reads the launcher's instance
        try:
            for spec in (workers.WorkerSpec("parse", DEFAULT_QUEUE, 2), workers.WorkerSpec("writer", WRITER_QUEUE, 1)):
                own = _private_dirs(root, spec.name)
                env = {**cluster.launcher_env(), "HOME": str(own["home"]), "TMPDIR": str(own["tmp"])}
                del env["DAGSTER_HOME"]  # a worker knows the instance only from the run it is handed
                (worker,) = workers.start(own["pids"], [spec], env=env, cwd=own["cwd"])
                started.append(own["pids"])
                cluster.worker_dirs[spec.name] = own["pids"]
                cluster.pids[spec.name] = worker.pid
            yield cluster
        finally:
            for name, folder in zip(("parse", "writer"), started):
                workers.stop(folder, [name], timeout=30)
            neo4j.close()
            postgres.drop_database(database)


def _snapshot_with_nodes(neo4j: Neo4jResource) -> tuple[Any, set[tuple[str, str]]]:
    nodes = {(r["label"], r["key"]) for r in neo4j.query("MATCH (n) WHERE NOT n:IngestMeta RETURN labels(n)[0] AS label, coalesce(n.path, n.id, n.fqn) AS key")}
    return graph_snapshot(neo4j), nodes


@pytest.fixture(scope="module")
def single_machine_graph(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory):
    """The oracle: the same folder ingested in process with fresh SQLite state, and its wall time."""
    folder = tmp_path_factory.mktemp("single")
    cluster.neo4j.query("MATCH (n) DETACH DELETE n")
    started = time.perf_counter()
    assert run_ingest(job_resources(cluster.neo4j, folder), EXAMPLES).success
    seconds = time.perf_counter() - started
    snapshot = _snapshot_with_nodes(cluster.neo4j)
    cluster.neo4j.query("MATCH (n) DETACH DELETE n")
    return snapshot, seconds


def test_celery_run_builds_the_single_machine_graph_on_two_worker_processes(cluster, single_machine_graph):
    oracle, single_seconds = single_machine_graph

    outcome, seconds = cluster.launch("first", workers=4)

    assert outcome.returncode == 0, outcome.stdout[-3000:] + outcome.stderr[-3000:]
    assert _snapshot_with_nodes(cluster.neo4j) == oracle
    instance = cluster.instance()
    run_id = cluster.run_id(instance, "first")
    parse_pids = _step_pids(instance, run_id, "parse_chunk")
    writer_pids = _step_pids(instance, run_id, "write_graph")
    assert len(parse_pids) >= 2, parse_pids  # the fan-out really ran in parallel worker processes
    (run_start,) = instance.all_logs(run_id, of_type=DagsterEventType.RUN_START)
    orchestrator = run_start.dagster_event.pid  # the launcher's process
    assert orchestrator not in parse_pids | writer_pids
    assert len(writer_pids) == 1 and not writer_pids & parse_pids  # the writer worker's own process
    metadata = _metadata(instance, run_id, "sql_lineage_graph")
    assert metadata["executor"] == "celery" and metadata["files_ingested"] == len(list(EXAMPLES.rglob("*.sql")))
    # No step output or log was left in the launcher's instance folder: they went through PostgreSQL.
    assert sorted(p.name for p in cluster.launcher_home.rglob("*") if p.is_file()) == ["dagster.yaml"]
    print(
        f"\ncelery: {seconds:.1f} s wall ({metadata['wall_seconds']} s run, {metadata['files_per_second']} files/s, "
        f"step start-up p50 {metadata['step_startup_seconds_p50']} s); single machine in process: {single_seconds:.1f} s"
    )


def test_a_second_run_is_all_cache_hits_from_postgres(cluster, single_machine_graph):
    outcome, _ = cluster.launch("again", force=True)

    assert outcome.returncode == 0, outcome.stdout[-3000:] + outcome.stderr[-3000:]
    instance = cluster.instance()
    cache = _metadata(instance, cluster.run_id(instance, "again"), "parse_cache")
    files = len(list(EXAMPLES.rglob("*.sql")))
    assert (cache["hits"], cache["misses"]) == (files, 0)
    assert ParseCache(Path("unused"), state_url=cluster.state_url).stats().entries == files
    assert _snapshot_with_nodes(cluster.neo4j) == single_machine_graph[0]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _kill_a_busy_parse_process(cluster: Cluster, deadline: float) -> int:
    """SIGKILL the parse worker's pool process that is busy parsing: the one whose CPU time grows by more
    than 0.7 s (the slow file; a step's events reach Dagster only when its Celery task ends)."""
    baseline: dict[int, float] = {}
    while time.monotonic() < deadline:
        for child in _children(cluster.pids["parse"]):
            try:
                cpu = _cpu_seconds(child)
            except OSError:
                continue
            if cpu - baseline.setdefault(child, cpu) > 0.7:
                os.kill(child, signal.SIGKILL)
                return child
        time.sleep(0.05)
    instance = cluster.instance()
    runs = instance.get_runs(RunsFilter(tags={"test/run": "killed"}))
    tail = [f"{r.step_key} {r.user_message[:200]}" for r in instance.all_logs(runs[0].run_id)][-15:] if runs else "no run"
    raise AssertionError(f"no parse worker process got busy in time; children {_children(cluster.pids['parse'])}, {baseline}; {tail}")


def _slow_warehouse(folder: Path) -> Path:
    """The example warehouse plus one file that takes seconds to parse: a parse step long enough to kill."""
    shutil.copytree(EXAMPLES, folder)
    slow = folder / "zz_slow" / "many_inserts.sql"
    slow.parent.mkdir()
    slow.write_text(
        "".join(f"INSERT INTO slow.t{i % 40} SELECT a, b + {i} AS b FROM slow.src{i % 40} WHERE c > {i};\n" for i in range(6000))
    )
    return folder


def test_a_parse_worker_killed_mid_run_ends_the_run_loses_nothing_and_a_rerun_completes(cluster, tmp_path):
    folder = _slow_warehouse(tmp_path / "warehouse")
    cluster.neo4j.query("MATCH (n) DETACH DELETE n")
    assert run_ingest(job_resources(cluster.neo4j, tmp_path / "oracle-state"), folder).success
    oracle = _snapshot_with_nodes(cluster.neo4j)
    cluster.neo4j.query("MATCH (n) DETACH DELETE n")  # a new graph: every file is written again...
    ParseCache(Path("unused"), state_url=cluster.state_url).clear()  # ...and parsed again
    config_path = cluster.launcher_cwd / "killed.json"
    config_path.write_text(json.dumps(ingest_run_config(source_dir=str(folder), workers=2)))
    launcher = subprocess.Popen(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "ingest_pipeline.definitions", "-j", "ingest_sql_files",
         "-c", str(config_path), "--tags", json.dumps({"test/run": "killed"})],
        cwd=cluster.launcher_cwd, env=cluster.launcher_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        killed = _kill_a_busy_parse_process(cluster, time.monotonic() + 120)
        launcher.wait(timeout=RUN_TIMEOUT_SECONDS)  # dagster-celery alone would wait here forever (jobs/lost_workers.py)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    instance = cluster.instance()
    run = instance.get_run_by_id(cluster.run_id(instance, "killed"))
    assert run.status == DagsterRunStatus.FAILURE, f"killing parse process {killed} did not fail the run"
    said = [r.user_message for r in instance.all_logs(run.run_id) if "Celery worker lost while running" in r.user_message]
    assert len(said) == 1 and "parse_chunk[" in said[0]
    succeeded = {_op_step(r.dagster_event.step_key) for r in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)}
    assert "report" not in succeeded and not {"parse_chunk[0]", "parse_chunk[1]"} <= succeeded
    ledger = Ledger(Path("unused"), state_url=cluster.state_url)
    in_graph = {r["path"] for r in cluster.neo4j.query("MATCH (f:SqlFile) RETURN f.path AS path")}
    assert {p for p, e in ledger.entries().items() if e.status == INGESTED} <= in_graph  # nothing marked that is not written
    ledger.close()

    outcome, _ = cluster.launch("rerun", source_dir=str(folder))

    assert outcome.returncode == 0, outcome.stdout[-3000:] + outcome.stderr[-3000:]
    assert _snapshot_with_nodes(cluster.neo4j) == oracle


def test_an_unreachable_broker_fails_the_run_at_once_naming_the_setting(cluster):
    dead = f"redis://127.0.0.1:{services.free_port()}/0"
    started = time.monotonic()

    outcome, _ = cluster.launch("no-broker", env=cluster.launcher_env(CELERY_BROKER_URL=dead))

    assert outcome.returncode != 0
    assert f"cannot reach the Celery broker at {dead} (CELERY_BROKER_URL)" in outcome.stdout + outcome.stderr
    assert time.monotonic() - started < 60


def test_an_unreachable_state_database_fails_the_run_at_once_naming_the_setting(neo4j, tmp_path):
    dead = f"postgresql://ingest:secret@127.0.0.1:{services.free_port()}/state"
    resources = {
        **job_resources(neo4j, tmp_path),
        "ledger": LedgerResource(path=str(tmp_path / "l.db"), state_url=dead),
        "parse_cache": ParseCacheResource(path=str(tmp_path / "c.db"), state_url=dead),
    }

    result = run_ingest(resources, EXAMPLES)

    assert not result.success
    errors = [getattr(e.event_specific_data, "error", None) for e in result.all_events if e.is_failure or e.event_type_value == "RESOURCE_INIT_FAILURE"]
    message = "\n".join(error.to_string() for error in errors if error is not None)
    assert "cannot reach PostgreSQL at postgresql://ingest:***@127.0.0.1" in message and "(set by INGEST_STATE_URL)" in message
    assert "secret" not in message
    assert neo4j.query("MATCH (f:SqlFile) RETURN count(f) AS n")[0]["n"] == 0
