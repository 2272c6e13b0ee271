"""Real PostgreSQL and Redis servers for the tests: Debian's binaries, a temp dir, a free loopback port.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (initdb
and pg_ctl run through runuser); otherwise it runs as the current user. Everything is stopped by
the pid the server wrote, and the temp dir is removed.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_binary(name: str) -> str | None:
    """initdb / pg_ctl from PATH, else from Debian's versioned folder (not on PATH by default)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # the server is still binding its port
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


@dataclass
class Postgres:
    port: int
    data_dir: Path

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def admin(self, sql: str) -> None:
        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        try:
            connection.cursor().execute(sql)
        finally:
            connection.close()

    def pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster (trust auth, fsync off) on a free loopback port."""
    initdb, postgres = postgres_binary("initdb"), postgres_binary("postgres")
    if not initdb or not postgres:
        raise FileNotFoundError("PostgreSQL is not installed (make test-services installs it: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="ingest-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    data_dir, port = root / "data", free_port()
    process = server = None
    try:
        subprocess.run(
            [*as_postgres, initdb, "-D", str(data_dir), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )
        options = ["-c", f"port={port}", "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                   "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"]
        log = (root / "postgres.log").open("wb")
        process = subprocess.Popen([*as_postgres, postgres, "-D", str(data_dir), *options], stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, process)
        server = Postgres(port, data_dir)
        _wait_until_accepting(server)
        yield server
    finally:
        postmaster = server.pid() if server is not None else None
        if postmaster is not None:
            os.kill(postmaster, signal.SIGINT)  # fast shutdown, by the pid the server wrote (runuser is its parent)
        if process is not None:
            _stop(process, signal.SIGINT)
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_accepting(server: Postgres, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(server.admin_url).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # "the database system is starting up"


@dataclass
class Redis:
    port: int
    pid: int

    def url(self, database: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"


@contextmanager
def redis_server() -> Iterator[Redis]:
    """redis-server on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (make test-services installs it: apt-get install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="ingest-redis-"))
    port = free_port()
    log = (root / "redis.log").open("wb")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process)
        yield Redis(port, process.pid)
    finally:
        _stop(process, signal.SIGTERM)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
