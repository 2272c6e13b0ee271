"""`ingest-pipeline config show | check`: every setting's value and origin, and whether what they point at works.

`show` lists each setting, its effective value (secrets masked) and where it came from (default,
environment, .env); `--markdown` prints the settings table the README carries. `check` fails on
invalid values, then probes Neo4j, the state files (or the state database), the Celery broker when
INGEST_EXECUTOR=celery, and the source folder, one line each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from ingest_pipeline import settings as s

MASK = "********"
NEO4J_MINIMUM = (5, 23)  # CALL (x) { ... } subqueries
README_START, README_END = "<!-- settings:start -->", "<!-- settings:end -->"
VERSION_QUERY = "CALL dbms.components() YIELD name, versions RETURN versions[0] AS version"


def add_parser(commands: Any) -> None:
    config = commands.add_parser("config", help="show the effective settings (`config show`) or check them (`config check`)")
    config.add_argument("action", choices=["show", "check"])
    output = config.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="show: one JSON list of settings")
    output.add_argument("--markdown", action="store_true", help="show: the README's table of settings (defaults)")
    config.add_argument("--timeout", type=float, default=5.0, help="check: seconds to wait for Neo4j")
    config.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        return check(args.timeout)
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    config = s.read()
    rows = [_row(config, setting) for setting in s.REGISTRY]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        found = "" if config.env_file.is_file() else " (none there)"
        print(f"# from the process environment and {config.env_file.resolve()}{found}; .env wins")
        _print_table(config, rows)
    for problem in config.problems:
        print(f"invalid: {problem}", file=sys.stderr)
    return 1 if config.problems else 0


def _row(config: s.Settings, setting: s.Setting[Any]) -> dict[str, Any]:
    resolved = config.resolved(setting)
    value = MASK if setting.secret and resolved.value else resolved.value
    row = {"name": setting.name, "value": list(value) if isinstance(value, tuple) else value, "source": resolved.source}
    if resolved.problem:
        row["invalid"] = resolved.problem
    return {**row, "group": setting.group, "type": setting.kind.name, "default": setting.kind.show(setting.default)}


def _print_table(config: s.Settings, rows: list[dict[str, Any]]) -> None:
    shown = [_shown_value(config, setting) for setting in s.REGISTRY]
    name_width = max(len(r["name"]) for r in rows)
    value_width = min(40, max(len(text) for text in shown))
    group = None
    for row, text in zip(rows, shown):
        if row["group"] != group:
            group = row["group"]
            print(f"[{group}]")
        source = f"{row['source']} (INVALID)" if "invalid" in row else row["source"]
        print(f"  {row['name']:<{name_width}}  {text:<{value_width}}  {source}")


def _shown_value(config: s.Settings, setting: s.Setting[Any]) -> str:
    resolved = config.resolved(setting)
    if resolved.problem:
        return str(resolved.raw)
    text = setting.kind.show(resolved.value)
    return "(empty)" if not text else MASK if setting.secret else text


def markdown_table() -> str:
    """The README's settings table: one section per group, generated from the registry."""
    lines = []
    for group in s.GROUPS:
        members = [setting for setting in s.REGISTRY if setting.group == group]
        lines += [f"**{group}**", "", "| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
        for setting in members:
            default = setting.kind.show(setting.default)
            meaning = setting.description.replace("|", "\\|")
            lines.append(f"| `{setting.name}` | {setting.kind.name} | {f'`{default}`' if default else '(empty)'} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def readme_with_table(readme: str) -> str:
    """The README text with the generated table between its settings markers."""
    start, end = readme.index(README_START) + len(README_START), readme.index(README_END)
    return readme[:start] + "\n" + markdown_table() + readme[end:]


# -- check ----------------------------------------------------------------------------------------


def check(timeout: float) -> int:
    config = s.read()
    if config.problems:
        for problem in config.problems:
            print(f"FAIL  {problem}")
        return 2
    if config[s.INGEST_STATE_URL]:
        state = [_check_state_database(config)]
    else:
        state = [
            _check_state_file("ledger", config, s.INGEST_LEDGER_PATH),
            _check_state_file("parse cache", config, s.PARSE_CACHE_PATH)
            if config[s.ENABLE_PARSE_CACHE]
            else (True, "parse cache: disabled (ENABLE_PARSE_CACHE=false)"),
        ]
    results = [
        _check_neo4j(config, timeout),
        *state,
        _check_state_file("dead-letter file", config, s.INGEST_DEAD_LETTER_PATH),
        *([_check_broker(config)] if config[s.INGEST_EXECUTOR] == "celery" else []),
        _check_source(config),
    ]
    for ok, message in results:
        print(f"{'ok  ' if ok else 'FAIL'}  {message}")
    return 0 if all(ok for ok, _ in results) else 1


def _check_neo4j(config: s.Settings, timeout: float) -> tuple[bool, str]:
    from ingest_pipeline.resources import GraphUnavailableError
    from ingest_pipeline.resources.configured import neo4j_resource

    uri, database = config[s.NEO4J_URI], config[s.NEO4J_DATABASE]
    neo4j = neo4j_resource(config, at_launch=False, max_retries=0, connection_timeout_seconds=timeout)
    try:
        version = str(neo4j.query(VERSION_QUERY)[0]["version"])
    except GraphUnavailableError as error:
        return False, _one_line(str(error))
    except Exception as error:  # any other failure to answer (authentication, database, ...) is the finding
        return False, f"Neo4j at NEO4J_URI={uri} (database {database!r}): {_one_line(f'{type(error).__name__}: {error}')}"
    finally:
        neo4j.close()
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if numbers < NEO4J_MINIMUM:
        minimum = ".".join(map(str, NEO4J_MINIMUM))
        return False, f"Neo4j at NEO4J_URI={uri}: version {version} is older than {minimum}, which the pipeline's Cypher needs"
    return True, f"Neo4j at NEO4J_URI={uri}: answers, version {version}, database {database!r}"


def _check_state_database(config: s.Settings) -> tuple[bool, str]:
    from ingest_pipeline.state.postgres import connect
    from ingest_pipeline.state.store import StateFileError, masked

    url = config[s.INGEST_STATE_URL]
    try:
        connection = connect(url, "ingest-pipeline config check")
    except StateFileError as error:
        return False, _one_line(str(error))
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    finally:
        connection.close()
    return True, f"state database {masked(url)} (INGEST_STATE_URL): answers, PostgreSQL {version}"


def _check_broker(config: s.Settings) -> tuple[bool, str]:
    from ingest_pipeline.jobs.cluster import BrokerUnavailableError, check_reachable
    from ingest_pipeline.state.store import masked

    broker, backend = config[s.CELERY_BROKER_URL], config[s.CELERY_BACKEND_URL]
    try:
        check_reachable(broker, backend)
    except BrokerUnavailableError as error:
        return False, _one_line(str(error))
    return True, f"Celery broker {masked(broker)} (CELERY_BROKER_URL) and backend {masked(backend)} (CELERY_BACKEND_URL): answer"


def _check_state_file(label: str, config: s.Settings, setting: s.Setting[str]) -> tuple[bool, str]:
    path = Path(config[setting])
    problem = _unwritable(path)
    return problem is None, f"{label} {path} ({setting.name}): {problem or 'writable'}"


def _unwritable(path: Path) -> str | None:
    """Why the file could not be created or written (with its folder, for SQLite's journal); None if it can."""
    if path.is_dir():
        return "is a directory"
    if path.exists() and not os.access(path, os.W_OK):
        return "is not writable"
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a directory"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"folder {folder} is not writable"


def _check_source(config: s.Settings) -> tuple[bool, str]:
    folder = Path(config[s.INGEST_SOURCE_DIR])
    found = "exists" if folder.is_dir() else "is not a directory" if folder.exists() else "does not exist"
    return folder.is_dir(), f"source folder {folder} (INGEST_SOURCE_DIR): {found}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
