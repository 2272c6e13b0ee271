"""Start, stop and inspect the bundled Neo4j (neo4j-local/) from Python.

The server runs as a background Java process owning one data directory; its pid and Bolt port are
kept in files inside that directory so that a second `start` reuses a running instance instead of
fighting it for the store lock. The directory also remembers the last port it served on, and a
`start` without a port takes that one again: a restarted server keeps its URI, so NEO4J_URI (and a
running `dagster dev`) stays right.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline import settings
from ingest_pipeline.processes import process_alive

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = Path("data/neo4j")
DEFAULT_BOLT_PORT = 7687
READY_PREFIX = "NEO4J_LOCAL_READY port="
MAIN_CLASS = "ingest.neo4jlocal.LocalNeo4j"

# Neo4j 5 reaches into JDK internals; Java 17 refuses that without these flags.
ADD_OPENS = [
    f"--add-opens=java.base/{package}=ALL-UNNAMED"
    for package in (
        "java.lang",
        "java.lang.reflect",
        "java.io",
        "java.net",
        "java.nio",
        "java.util",
        "java.util.concurrent",
        "sun.nio.ch",
        "jdk.internal.misc",
        "jdk.internal.ref",
    )
]


class Neo4jLocalError(RuntimeError):
    """The bundled Neo4j could not be started or found."""


@dataclass(frozen=True)
class LocalInstance:
    pid: int
    port: int

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"


def neo4j_local_home() -> Path:
    return Path(settings.NEO4J_LOCAL_HOME.current() or PROJECT_ROOT / "neo4j-local")


def java_command(data_dir: Path, port: int, auth: bool | None = None) -> list[str]:
    home = neo4j_local_home()
    classes, lib = home / "target" / "classes", home / "target" / "lib"
    if not (classes / "ingest" / "neo4jlocal" / "LocalNeo4j.class").exists() or not lib.is_dir():
        raise Neo4jLocalError(
            f"the bundled Neo4j is not built in {home}: run `make install` "
            "(or `mvn -q dependency:copy-dependencies compile` there)"
        )
    heap = settings.NEO4J_LOCAL_HEAP.current()
    young = _young_gen(heap, settings.NEO4J_LOCAL_YOUNG_GEN.current())
    page_cache_mb = settings.NEO4J_LOCAL_PAGECACHE_MB.current()
    return [
        settings.JAVA.current(),
        # The whole heap up front and a young generation sized for bulk writes: a write's transaction
        # state and query garbage die young instead of filling a small old generation (full GCs).
        f"-Xms{heap}",
        f"-Xmx{heap}",
        f"-Xmn{young}",
        "-XX:+UseSerialGC",
        f"-Dneo4j.pagecache.mb={page_cache_mb}",
        *([] if auth is None else [f"-Dneo4j.local.auth={'true' if auth else 'false'}"]),
        *ADD_OPENS,
        "-cp",
        f"{classes}{os.pathsep}{lib}/*",
        MAIN_CLASS,
        str(data_dir),
        str(port),
    ]


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _young_gen(heap: str, young: str) -> str:
    """The young generation asked for, or half the heap when that is less (a small NEO4J_LOCAL_HEAP)."""

    def size(value: str) -> int:
        unit = value[-1].lower() if value[-1].isalpha() else ""
        return int(value[: len(value) - len(unit)]) * _UNITS[unit]

    half = size(heap) // 2
    return young if size(young) <= half else f"{half >> 10}k"


def _pid_file(data_dir: Path) -> Path:
    return data_dir / "neo4j-local.pid"


def _port_file(data_dir: Path) -> Path:
    return data_dir / "neo4j-local.port"


def _last_port_file(data_dir: Path) -> Path:
    """The port the directory served on last; kept across stops (the running port file is not)."""
    return data_dir / "neo4j-local.last-port"


def last_port(data_dir: Path) -> int | None:
    try:
        return int(_last_port_file(data_dir).read_text().strip())
    except (OSError, ValueError):
        return None


def _port_free(port: int) -> bool:
    """Nothing listens on the port (a just-closed connection's TIME_WAIT does not count: the server reuses those)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def bolt_answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def status(data_dir: Path = DEFAULT_DATA_DIR) -> LocalInstance | None:
    """The instance running on data_dir, or None."""
    try:
        pid = int(_pid_file(data_dir).read_text().strip())
        port = int(_port_file(data_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    return LocalInstance(pid, port) if process_alive(pid) else None


def auth_from_settings() -> bool | None:
    """NEO4J_LOCAL_AUTH when it is set, else None: neo4j-local.conf decides (off when it says nothing)."""
    config = settings.read()
    return None if config.resolved(settings.NEO4J_LOCAL_AUTH).source == settings.DEFAULT else config[settings.NEO4J_LOCAL_AUTH]


MIN_PASSWORD_LENGTH = 8


def start(
    data_dir: Path = DEFAULT_DATA_DIR,
    bolt_port: int | None = None,
    timeout: float = 180.0,
    extra_settings: dict[str, str] | None = None,
    auth: bool | None = None,
    initial_password: str | None = None,
) -> LocalInstance:
    """Start (or reuse) the bundled Neo4j on data_dir and wait until Bolt answers.

    bolt_port: None = the port this directory served on last (else 7687), refused with a clear
    error if another process holds it; 0 = any free port; any other number = that port.

    extra_settings are Neo4j settings (name -> value) for neo4j-local.conf, e.g. {"db.lock.acquisition.timeout": "2s"}.
    auth switches authentication on or off (default: NEO4J_LOCAL_AUTH, else whatever neo4j-local.conf
    says, else off); with auth on, user neo4j gets initial_password (default: NEO4J_PASSWORD) as
    its password the first time the store starts.
    """
    data_dir = data_dir.resolve()
    running = status(data_dir)
    if running is not None:
        return running
    auth = auth_from_settings() if auth is None else auth
    initial_password = settings.NEO4J_PASSWORD.current() if initial_password is None else initial_password
    if auth and len(initial_password) < MIN_PASSWORD_LENGTH:
        raise Neo4jLocalError(
            f"NEO4J_LOCAL_AUTH=true needs the password of user neo4j in NEO4J_PASSWORD "
            f"({MIN_PASSWORD_LENGTH} characters or more); it sets the server's initial password"
        )
    if bolt_port is None:
        bolt_port = _remembered_port(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if extra_settings:
        lines = [f"{name}={value}" for name, value in sorted(extra_settings.items())]
        (data_dir / "neo4j-local.conf").write_text("\n".join(lines) + "\n")
    log_path = data_dir / "neo4j-local.out"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            java_command(data_dir, bolt_port, auth),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        # The initial password travels on stdin: never on the command line or in the environment.
        assert process.stdin is not None
        process.stdin.write(f"{initial_password if auth is not False else ''}\n".encode())
        process.stdin.close()
    _pid_file(data_dir).write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port = _ready_port(log_path)
        if port is not None and bolt_answers(port):
            _port_file(data_dir).write_text(str(port))
            _last_port_file(data_dir).write_text(str(port))
            return LocalInstance(process.pid, port)
        if process.poll() is not None:
            refusal = [line for line in _tail(log_path).splitlines() if line.startswith("neo4j-local: ")]
            if refusal:
                raise Neo4jLocalError(refusal[-1][len("neo4j-local: ") :])
            raise Neo4jLocalError(f"Neo4j exited with code {process.returncode}; see {log_path}:\n{_tail(log_path)}")
        time.sleep(0.2)
    process.terminate()
    raise Neo4jLocalError(f"Neo4j did not open Bolt within {timeout:.0f}s; see {log_path}")


PORT_RELEASE_SECONDS = 15.0


def _remembered_port(data_dir: Path) -> int:
    """The port the directory served on last; a server just stopped may hold it a few seconds longer."""
    port = last_port(data_dir)
    if port is None:
        return DEFAULT_BOLT_PORT
    deadline = time.monotonic() + PORT_RELEASE_SECONDS
    while not _port_free(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not _port_free(port):
        raise Neo4jLocalError(
            f"port {port}, where {data_dir} served last (its NEO4J_URI bolt://127.0.0.1:{port}), is taken by another "
            "process: stop that process, or start with --bolt-port 0 (any free port) or --bolt-port N and update NEO4J_URI"
        )
    return port


def stop(data_dir: Path = DEFAULT_DATA_DIR, timeout: float = 60.0) -> bool:
    """Stop the instance on data_dir (SIGTERM, then SIGKILL after timeout). False if none ran."""
    data_dir = data_dir.resolve()
    running = status(data_dir)
    if running is None:
        _pid_file(data_dir).unlink(missing_ok=True)
        _port_file(data_dir).unlink(missing_ok=True)
        return False
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(running.pid) and time.monotonic() < deadline:
        _reap(running.pid)
        time.sleep(0.2)
    if process_alive(running.pid):
        os.kill(running.pid, signal.SIGKILL)
    _reap(running.pid)
    _pid_file(data_dir).unlink(missing_ok=True)
    _port_file(data_dir).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _ready_port(log_path: Path) -> int | None:
    try:
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith(READY_PREFIX):
                return int(line[len(READY_PREFIX) :].split()[0])
    except OSError:
        return None
    return None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
