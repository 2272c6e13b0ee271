"""Every environment variable the pipeline reads, declared once: name, kind, default, group, meaning.

Values come from the process environment and from a `.env` file in the working directory. A value
in `.env` wins over the same variable in the environment: that is what Dagster's CLI and `dagster
dev` do (they copy `.env` into the environment before loading the code location), so `ingest-pipeline
config show` agrees with what the UI loads. An empty value means the default.

Nothing else in the package reads os.environ: code asks `SETTING.current()`, or takes one snapshot
with `load()`, which fails with one line per invalid value (all of them at once).

A new setting is one declaration below, in its group: `NAME = Setting("NAME", kind, default, group,
"Description.")`, the kind from setting_kinds (integer(minimum), number(minimum), BOOLEAN, PATH, ...).
Read it with `NAME.current()` (or `config[NAME]`), feed a Config or resource field with
`NAME.config_field()` / `NAME.field()`, then run `make settings-table` to regenerate the README table.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from dotenv import dotenv_values
from pydantic import Field

from ingest_pipeline.setting_kinds import (
    BOOLEAN, CRON, GLOBS, OWNERS, PATH, TEXT, Kind, NotAllowed, choice, integer, number, pattern,
)

T = TypeVar("T")

DEFAULT, ENVIRONMENT, DOTENV = "default", "environment", ".env"
GROUPS = (
    "source", "parsing", "sensor", "schedules", "state", "neo4j", "assets", "metrics", "openlineage", "bundled-neo4j", "dagster",
    "cluster",
)


class SettingsError(ValueError):
    """Invalid settings; str() is one line per problem, which Dagster shows as the load error."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(["invalid settings (environment variables or .env):", *(f"  {p}" for p in self.problems)]))


@dataclass(frozen=True)
class Setting(Generic[T]):
    name: str
    kind: Kind[T]
    default: T
    group: str
    description: str
    secret: bool = False
    # Read again when a run launches (Dagster EnvVar) rather than fixed when the definitions load.
    at_launch: bool = False

    def current(self) -> T:
        """The value now (environment and .env); SettingsError listing every problem if this one is invalid."""
        return read()[self]

    def field(self) -> Any:
        """A pydantic field with this default and description (a resource's fixed default)."""
        return Field(default=self.default, description=f"{self.description} ({self.name})")

    def config_field(self, description: str | None = None) -> Any:
        """A run config field (IngestConfig) defaulting to the value when the definitions load: the
        Launchpad shows it, and each run, whose worker loads the definitions afresh, gets the current one."""
        return Field(default=_plain(self.current()), description=f"{description or self.description} ({self.name})")


@dataclass(frozen=True)
class Resolved:
    value: Any
    source: str
    raw: str | None
    problem: str | None = None


class Settings:
    """One reading of every setting: values, where each came from, and the problems found."""

    def __init__(self, resolved: Mapping[str, Resolved], environ: Mapping[str, str], env_file: Path) -> None:
        self._resolved = dict(resolved)
        self._environ = dict(environ)
        self.env_file = env_file

    def __getitem__(self, setting: Setting[T]) -> T:
        resolved = self._resolved[setting.name]
        if resolved.problem is not None:
            raise SettingsError(self.problems)
        return resolved.value

    def resolved(self, setting: Setting[Any]) -> Resolved:
        return self._resolved[setting.name]

    @property
    def problems(self) -> list[str]:
        return [r.problem for r in self._resolved.values() if r.problem is not None]

    def from_process_environment(self, setting: Setting[Any]) -> bool:
        """True when the process environment holds the effective value, so a run can read it again at launch."""
        resolved = self._resolved[setting.name]
        return resolved.source != DEFAULT and self._environ.get(setting.name) == resolved.raw


def read(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Every setting from the environment (os.environ by default) and `.env` (in the working directory by default)."""
    environ = os.environ if environ is None else environ
    env_file = Path(".env") if env_file is None else env_file
    dotenv = env_file_values(env_file)
    return Settings({s.name: _resolve(s, environ, dotenv) for s in REGISTRY}, environ, env_file)


def load(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Like read(), but a SettingsError names every invalid value."""
    settings = read(environ, env_file)
    if settings.problems:
        raise SettingsError(settings.problems)
    return settings


def env_file_values(env_file: Path) -> dict[str, str]:
    """The variables a `.env` file sets, parsed as Dagster parses it (python-dotenv; bare names dropped)."""
    if not env_file.is_file():
        return {}
    return {key: value for key, value in dotenv_values(env_file).items() if value is not None}


def export_env_file(env_file: Path | None = None) -> None:
    """Copy `.env` into the process environment, as Dagster's CLI does before it loads code, so
    runs started from our own commands (and the processes they fork) see what `dagster dev` sees."""
    os.environ.update(env_file_values(Path(".env") if env_file is None else env_file))


def export(values: Mapping[Setting[Any], str]) -> None:
    """Set settings in the process environment, for definitions loaded afterwards (the demo)."""
    os.environ.update({setting.name: value for setting, value in values.items()})


def _resolve(setting: Setting[Any], environ: Mapping[str, str], dotenv: Mapping[str, str]) -> Resolved:
    if setting.name in dotenv:
        source, raw = DOTENV, dotenv[setting.name]
    else:
        source, raw = ENVIRONMENT, environ.get(setting.name)
    if raw is None or not raw.strip():
        return Resolved(setting.default, DEFAULT, None)
    try:
        return Resolved(setting.kind.parse(raw), source, raw)
    except ValueError as error:
        hint = f"; {error.hint}" if isinstance(error, NotAllowed) and error.hint else ""
        return Resolved(raw, source, raw, f"{setting.name}={raw!r} ({source}): expected {setting.kind.allowed}{hint}")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _sqlglot_dialects() -> list[str]:
    from sqlglot.dialects.dialect import Dialects

    return [dialect.value for dialect in Dialects]


DIALECT = choice(_sqlglot_dialects, "'' (sqlglot's generic dialect) or a sqlglot dialect name, e.g. postgres, snowflake, bigquery, tsql")
BOLT_URI = pattern(
    r"(bolt|neo4j)(\+s|\+ssc)?://\S+", "a bolt:// or neo4j:// URI (+s / +ssc for TLS), e.g. bolt://localhost:7687", "uri"
)
SOURCE_NAME = pattern(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", "name"
)
POSTGRES_URL = pattern(
    r"postgresql://\S+", "empty (SQLite files) or a postgresql:// URL, e.g. postgresql://ingest@db:5432/ingest", "url"
)
BROKER_URL = pattern(
    r"(redis|rediss|amqp|amqps|pyamqp|sentinel)://\S*", "a Celery broker URL, e.g. redis://localhost:6379/0 or amqp://guest@localhost//", "url"
)
BACKEND_URL = pattern(r"(redis|rediss|rpc|db\+postgresql)://\S*", "a Celery result backend URL, e.g. redis://localhost:6379/1", "url")
JVM_SIZE = pattern(r"\d+[kKmMgG]?", "a JVM memory size such as 768m or 2g", "size")

# -- source ---------------------------------------------------------------------------------------
INGEST_SOURCE_DIR = Setting("INGEST_SOURCE_DIR", PATH, "data/raw", "source", "Folder scanned recursively for SQL files.")
INGEST_INCLUDE = Setting(
    "INGEST_INCLUDE", GLOBS, ("*.sql",), "source", "Comma-separated globs (file name or relative path) of the files to ingest."
)
INGEST_IGNORE = Setting("INGEST_IGNORE", GLOBS, (), "source", "Comma-separated globs of files to leave out, even when included.")
INGEST_SOURCE_NAME = Setting(
    "INGEST_SOURCE_NAME", SOURCE_NAME, "default", "source",
    "Name of this folder's files in the graph (SqlFile.source); several sources can feed one graph, a run deletes only its own.",
)
INGEST_FOLLOW_SYMLINKS = Setting(
    "INGEST_FOLLOW_SYMLINKS", BOOLEAN, False, "source", "Follow symbolic links that lead out of the folder; false: they are skipped."
)
INGEST_MAX_DELETE_FRACTION = Setting(
    "INGEST_MAX_DELETE_FRACTION", number(0, maximum=1), 0.5, "source",
    "A run refuses to delete more than this fraction of its source's files (or to empty it) unless allow_mass_delete is set.",
)

# -- parsing --------------------------------------------------------------------------------------
INGEST_DIALECT = Setting(
    "INGEST_DIALECT", DIALECT, "", "parsing", "Default sqlglot dialect; a first-line `-- dialect: <name>` comment wins."
)
INGEST_WORKERS = Setting(
    "INGEST_WORKERS", integer(0), 0, "parsing",
    "Parse chunks and worker processes per run (step processes, or a parse pool when the run executes in process); 0 = the CPU count."
)
INGEST_CHUNK_MAX_FILES = Setting(
    "INGEST_CHUNK_MAX_FILES", integer(1), 1000, "parsing", "Upper bound of files per parse step; a terminated run stops between steps."
)
INGEST_MAX_FILE_BYTES = Setting(
    "INGEST_MAX_FILE_BYTES", integer(1), 20_000_000, "parsing", "Larger files get one ERROR statement instead of being parsed."
)
INGEST_FILE_TIME_BUDGET_SECONDS = Setting(
    "INGEST_FILE_TIME_BUDGET_SECONDS", number(0, above=True), 5.0, "parsing",
    "Per-file parse budget; statements past it are recorded as errors.",
)
INGEST_COLUMN_LINEAGE = Setting(
    "INGEST_COLUMN_LINEAGE", BOOLEAN, True, "parsing", "Extract column lineage (Column nodes, DERIVES_FROM); false: tables only."
)

# -- sensor ---------------------------------------------------------------------------------------
INGEST_SENSOR_INTERVAL_SECONDS = Setting(
    "INGEST_SENSOR_INTERVAL_SECONDS", integer(1), 10, "sensor", "How often the daemon evaluates sql_files_sensor."
)
INGEST_DEBOUNCE_SECONDS = Setting("INGEST_DEBOUNCE_SECONDS", number(0), 5.0, "sensor", "Quiet period before pending changes flush.")
INGEST_BATCH_THRESHOLD = Setting("INGEST_BATCH_THRESHOLD", integer(1), 50, "sensor", "Pending changes that flush at once, quiet or not.")
ENABLE_BATCHING = Setting("ENABLE_BATCHING", BOOLEAN, True, "sensor", "false: realtime, every tick flushes what it saw.")
INGEST_MAX_FILES_PER_RUN = Setting("INGEST_MAX_FILES_PER_RUN", integer(1), 5000, "sensor", "Larger backlogs become several runs.")
INGEST_MAX_ATTEMPTS = Setting(
    "INGEST_MAX_ATTEMPTS", integer(1), 3, "sensor", "Runs a file may fail in before it is parked (not requested again)."
)
INGEST_RETRY_BACKOFF_SECONDS = Setting(
    "INGEST_RETRY_BACKOFF_SECONDS", number(0), 60.0, "sensor", "Wait before a failed file is requested again; doubles per attempt."
)
INGEST_CRITICAL_GLOBS = Setting(
    "INGEST_CRITICAL_GLOBS", GLOBS, (), "sensor", "Comma-separated path globs whose batches run at CRITICAL priority."
)
INGEST_INPROCESS_MAX_FILES = Setting(
    "INGEST_INPROCESS_MAX_FILES", integer(0), 5000, "sensor",
    "Runs that can touch fewer files than this run in process (no step start-up): sensor batches, and launches whose executor is auto. "
    "On 2 cores with a local Neo4j, in process was faster at every size measured (docs/performance.md); lower it on larger hosts.",
)
INGEST_MAX_QUEUED_RUNS = Setting(
    "INGEST_MAX_QUEUED_RUNS", integer(1), 10, "sensor", "The sensor skips while this many ingest runs wait in the queue."
)
INGEST_MIN_AVAILABLE_MEMORY_MB = Setting(
    "INGEST_MIN_AVAILABLE_MEMORY_MB", number(0), 256.0, "sensor", "The sensor skips while less memory than this is available."
)

# -- schedules (both ship running) ----------------------------------------------------------------
INGEST_RECONCILE_CRON = Setting(
    "INGEST_RECONCILE_CRON", CRON, "0 2 * * *", "schedules", "When full_reconcile rescans the whole folder (repairs missed changes)."
)
CACHE_MAINTENANCE_CRON = Setting(
    "CACHE_MAINTENANCE_CRON", CRON, "30 3 * * *", "schedules", "When cache_maintenance_daily expires and vacuums the parse cache."
)

# -- state ----------------------------------------------------------------------------------------
INGEST_LEDGER_PATH = Setting("INGEST_LEDGER_PATH", PATH, "data/ingest_ledger.db", "state", "SQLite ingestion ledger.")
INGEST_DEAD_LETTER_PATH = Setting(
    "INGEST_DEAD_LETTER_PATH", PATH, "data/failed_ingestion.jsonl", "state", "Files Neo4j rejected, one JSON object per line."
)
PARSE_CACHE_PATH = Setting("PARSE_CACHE_PATH", PATH, "data/parse_cache.db", "state", "SQLite parse cache.")
INGEST_SPOOL_PATH = Setting(
    "INGEST_SPOOL_PATH", PATH, "data/ingest_spool.db", "state",
    "SQLite spool where parse steps leave their results for the writer of the same run when the parse cache is off "
    "(in PostgreSQL instead when INGEST_STATE_URL is set).",
)
ENABLE_PARSE_CACHE = Setting(
    "ENABLE_PARSE_CACHE", BOOLEAN, True, "state", "false parses every file every time (same results, slower)."
)
PARSE_CACHE_MAX_ENTRIES = Setting("PARSE_CACHE_MAX_ENTRIES", integer(1), 10_000, "state", "Parse cache size limit (least recently used go).")
INGEST_STATE_URL = Setting(
    "INGEST_STATE_URL", POSTGRES_URL, "", "state",
    "PostgreSQL holding the parse cache, ledger and step outputs for every host; empty: the SQLite files above.",
    secret=True, at_launch=True,
)
PARSE_CACHE_TTL_DAYS = Setting(
    "PARSE_CACHE_TTL_DAYS", number(0, above=True), 30.0, "state", "Parse cache entries unused this long are dropped by clean-up."
)

# -- neo4j ----------------------------------------------------------------------------------------
NEO4J_URI = Setting("NEO4J_URI", BOLT_URI, "bolt://localhost:7687", "neo4j", "Neo4j (5.23 or later) to write to.", at_launch=True)
NEO4J_USER = Setting("NEO4J_USER", TEXT, "", "neo4j", "Neo4j user; empty: no authentication.", at_launch=True)
NEO4J_PASSWORD = Setting(
    "NEO4J_PASSWORD", TEXT, "", "neo4j", "Neo4j password; never logged or shown.", secret=True, at_launch=True
)
NEO4J_DATABASE = Setting("NEO4J_DATABASE", TEXT, "neo4j", "neo4j", "Database name.", at_launch=True)
NEO4J_BATCH_SIZE = Setting(
    "NEO4J_BATCH_SIZE", integer(1), 1000, "neo4j", "Rows per UNWIND batch (a grouped row counts its items); 1000 from the sweep."
)
NEO4J_FILES_PER_TRANSACTION = Setting(
    "NEO4J_FILES_PER_TRANSACTION", integer(1), 100, "neo4j", "Files replaced per transaction (a failing group is split 50, 10, 1)."
)
NEO4J_BATCHING = Setting(
    "NEO4J_BATCHING", BOOLEAN, True, "neo4j", "false: one transaction per entity (the unoptimised baseline)."
)
NEO4J_MAX_ROWS_PER_TRANSACTION = Setting(
    "NEO4J_MAX_ROWS_PER_TRANSACTION", integer(1), 50_000, "neo4j",
    "Rows per transaction at most; a larger file is replaced in bounded stages instead of one transaction.",
)
NEO4J_MAX_RETRIES = Setting("NEO4J_MAX_RETRIES", integer(0), 5, "neo4j", "Retries of transient Neo4j errors.")
NEO4J_BACKOFF_SECONDS = Setting(
    "NEO4J_BACKOFF_SECONDS", number(0), 1.0, "neo4j", "First retry delay; doubles per retry (1, 2, 4, 8, 16 s)."
)

# -- assets ---------------------------------------------------------------------------------------
INGEST_TABLE_ASSETS = Setting(
    "INGEST_TABLE_ASSETS", BOOLEAN, True, "assets",
    "Show the graph's tables as assets in Dagster's Lineage page (loaded from INGEST_TABLE_ASSETS_PATH when the definitions load).",
)
INGEST_TABLE_ASSETS_MAX = Setting(
    "INGEST_TABLE_ASSETS_MAX", integer(0), 3000, "assets",
    "Largest table count shown as assets; a larger graph shows none (and says so), to keep the UI and the code location load quick.",
)
INGEST_TABLE_ASSETS_PATH = Setting(
    "INGEST_TABLE_ASSETS_PATH", PATH, "data/table_assets.json", "assets",
    "Where each ingest run saves the tables, their dependencies, columns and writers for the table assets.",
)
INGEST_ASSET_OWNERS = Setting(
    "INGEST_ASSET_OWNERS", OWNERS, ("team:data-engineering",), "assets",
    "Owners of the sql_lineage_graph and parse_cache assets: email addresses or team:name entries.",
)
INGEST_PARSE_ERROR_RATE_MAX = Setting(
    "INGEST_PARSE_ERROR_RATE_MAX", number(0, maximum=1), 0.05, "assets",
    "The parse_error_rate check warns when more than this fraction of the graph's statements failed to parse.",
)

# -- metrics --------------------------------------------------------------------------------------
PROMETHEUS_PUSHGATEWAY = Setting(
    "PROMETHEUS_PUSHGATEWAY", TEXT, "", "metrics", "Pushgateway URL (http://host:9091) for metrics; empty: not pushed."
)

# -- openlineage ----------------------------------------------------------------------------------
OPENLINEAGE_URL = Setting(
    "OPENLINEAGE_URL", TEXT, "", "openlineage", "OpenLineage endpoint base URL (Marquez, DataHub...); set: every run exports what it changed."
)
OPENLINEAGE_ENDPOINT = Setting("OPENLINEAGE_ENDPOINT", TEXT, "api/v1/lineage", "openlineage", "Path of the lineage endpoint under OPENLINEAGE_URL.")
OPENLINEAGE_API_KEY = Setting(
    "OPENLINEAGE_API_KEY", TEXT, "", "openlineage", "Bearer token for the OpenLineage endpoint; never logged or shown.", secret=True
)
OPENLINEAGE_NAMESPACE = Setting("OPENLINEAGE_NAMESPACE", TEXT, "ingest-pipeline", "openlineage", "Namespace of the exported jobs (one per SQL file).")
OPENLINEAGE_DATASET_NAMESPACE = Setting(
    "OPENLINEAGE_DATASET_NAMESPACE", TEXT, "", "openlineage", "Namespace of the exported datasets (tables); empty: OPENLINEAGE_NAMESPACE."
)
OPENLINEAGE_SOURCE_URL = Setting(
    "OPENLINEAGE_SOURCE_URL", TEXT, "", "openlineage", "Base URL of sourceCodeLocation links; empty: the source folder's file:// URL."
)
OPENLINEAGE_EVENT_TYPE = Setting(
    "OPENLINEAGE_EVENT_TYPE", choice(lambda: ["run", "job"], "run or job"), "run", "openlineage",
    "run: a COMPLETE RunEvent per file; job: a JobEvent per file.",
)

# -- bundled-neo4j --------------------------------------------------------------------------------
NEO4J_LOCAL_HOME = Setting(
    "NEO4J_LOCAL_HOME", PATH, "", "bundled-neo4j", "A built neo4j-local/ folder; empty: the one next to the package."
)
NEO4J_LOCAL_HEAP = Setting(
    "NEO4J_LOCAL_HEAP", JVM_SIZE, "768m", "bundled-neo4j", "Java heap of the bundled Neo4j (-Xms and -Xmx: reserved up front)."
)
NEO4J_LOCAL_YOUNG_GEN = Setting(
    "NEO4J_LOCAL_YOUNG_GEN", JVM_SIZE, "256m", "bundled-neo4j",
    "Young generation of the bundled Neo4j's heap (-Xmn): a bulk write's short-lived objects die there; keep it under half the heap.",
)
NEO4J_LOCAL_PAGECACHE_MB = Setting(
    "NEO4J_LOCAL_PAGECACHE_MB", integer(1), 64, "bundled-neo4j", "Page cache of the bundled Neo4j, in MB."
)
NEO4J_LOCAL_AUTH = Setting(
    "NEO4J_LOCAL_AUTH", BOOLEAN, False, "bundled-neo4j",
    "Authentication on the bundled Neo4j; true: user neo4j, initial password NEO4J_PASSWORD (8+ characters).",
)
JAVA = Setting("JAVA", TEXT, "java", "bundled-neo4j", "Java 17+ executable that runs the bundled Neo4j.")

# -- dagster --------------------------------------------------------------------------------------
DAGSTER_HOME = Setting(
    "DAGSTER_HOME", PATH, "", "dagster", "Dagster instance folder (runs, sensor state); empty: shell commands use a temporary one."
)
DAGSTER_WEBSERVER_URL = Setting(
    "DAGSTER_WEBSERVER_URL", TEXT, "", "dagster",
    "The UI's address (http://127.0.0.1:3000); set: table_assets_refresh reloads the warehouse_tables code location when the table assets changed.",
)

# -- cluster --------------------------------------------------------------------------------------
INGEST_EXECUTOR = Setting(
    "INGEST_EXECUTOR", choice(lambda: ["auto", "multiprocess", "in_process", "celery"], "auto, multiprocess, in_process or celery"),
    "auto", "cluster",
    "How ingest runs execute their steps by default; auto: in process below INGEST_INPROCESS_MAX_FILES files, else "
    "multiprocess; celery: on Celery workers (docs/deployment.md).",
)
CELERY_BROKER_URL = Setting(
    "CELERY_BROKER_URL", BROKER_URL, "redis://localhost:6379/0", "cluster", "Broker the Celery executor and workers share.",
    secret=True, at_launch=True,
)
CELERY_BACKEND_URL = Setting(
    "CELERY_BACKEND_URL", BACKEND_URL, "redis://localhost:6379/1", "cluster", "Where Celery workers leave step results.",
    secret=True, at_launch=True,
)
INGEST_WORKER_CONCURRENCY = Setting(
    "INGEST_WORKER_CONCURRENCY", integer(0), 0, "cluster", "Processes of the parse worker `ingest-pipeline workers start` runs; 0 = the CPU count."
)
INGEST_WORKER_DIR = Setting(
    "INGEST_WORKER_DIR", PATH, "data/workers", "cluster", "Pid and log files of the Celery workers `ingest-pipeline workers` manages."
)

REGISTRY: tuple[Setting[Any], ...] = tuple(value for value in list(globals().values()) if isinstance(value, Setting))
