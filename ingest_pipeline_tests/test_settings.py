"""settings: each variable declared once; a bad value is one line naming it, its value and what is allowed,
every problem at once; `.env` wins over the environment as in Dagster's CLI; the README table is generated."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_pipeline import settings
from ingest_pipeline.config_cli import readme_with_table
from ingest_pipeline.setting_kinds import NotAllowed, number

ROOT = Path(__file__).resolve().parents[1]
DIALECT_ALLOWED = "expected '' (sqlglot's generic dialect) or a sqlglot dialect name, e.g. postgres, snowflake, bigquery, tsql"

BAD_VALUES = [
    ("INGEST_WORKERS", "two", "INGEST_WORKERS='two' (environment): expected a whole number >= 0"),
    ("NEO4J_BATCH_SIZE", "-5", "NEO4J_BATCH_SIZE='-5' (environment): expected a whole number >= 1"),
    ("INGEST_MAX_FILE_BYTES", "1.5", "INGEST_MAX_FILE_BYTES='1.5' (environment): expected a whole number >= 1"),
    (
        "ENABLE_BATCHING",
        "maybe",
        "ENABLE_BATCHING='maybe' (environment): expected one of true, false, 1, 0, yes, no, on, off",
    ),
    ("NEO4J_BACKOFF_SECONDS", "-0.5", "NEO4J_BACKOFF_SECONDS='-0.5' (environment): expected a number >= 0"),
    ("INGEST_DEBOUNCE_SECONDS", "nan", "INGEST_DEBOUNCE_SECONDS='nan' (environment): expected a number >= 0"),
    ("PARSE_CACHE_TTL_DAYS", "0", "PARSE_CACHE_TTL_DAYS='0' (environment): expected a number > 0"),
    ("INGEST_DIALECT", "postgress", f"INGEST_DIALECT='postgress' (environment): {DIALECT_ALLOWED}; did you mean 'postgres'?"),
    (
        "INGEST_RECONCILE_CRON",
        "daily",
        "INGEST_RECONCILE_CRON='daily' (environment): expected a cron expression of five fields such as '0 2 * * *', "
        "or @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly",
    ),
    (
        "NEO4J_URI",
        "http://localhost:7474",
        "NEO4J_URI='http://localhost:7474' (environment): expected a bolt:// or neo4j:// URI (+s / +ssc for TLS), "
        "e.g. bolt://localhost:7687",
    ),
    ("NEO4J_LOCAL_HEAP", "lots", "NEO4J_LOCAL_HEAP='lots' (environment): expected a JVM memory size such as 768m or 2g"),
]


@pytest.fixture
def no_env_file(tmp_path: Path) -> Path:
    return tmp_path / ".env"


@pytest.mark.parametrize("name, value, message", BAD_VALUES, ids=[case[0] for case in BAD_VALUES])
def test_a_bad_value_is_one_line_naming_the_variable_the_value_and_what_is_allowed(name, value, message, no_env_file):
    assert settings.read({name: value}, no_env_file).problems == [message]


def test_an_unknown_dialect_without_a_close_match_lists_the_known_ones(no_env_file):
    [problem] = settings.read({"INGEST_DIALECT": "cobol"}, no_env_file).problems
    assert problem.startswith(f"INGEST_DIALECT='cobol' (environment): {DIALECT_ALLOWED}; known: athena, bigquery, ")
    assert "postgres" in problem and "tsql" in problem


def test_a_fraction_below_its_range_is_refused():
    fraction = number(0, maximum=1)
    assert fraction.allowed == "a number >= 0 and <= 1"
    assert fraction.parse("0.25") == 0.25
    for text in ("-0.1", "1.5"):
        with pytest.raises(NotAllowed):
            fraction.parse(text)


def test_every_problem_is_reported_at_once(no_env_file):
    environ = {name: value for name, value, _ in BAD_VALUES}

    with pytest.raises(settings.SettingsError) as raised:
        settings.load(environ, no_env_file)

    assert sorted(raised.value.problems) == sorted(message for _, _, message in BAD_VALUES)
    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid settings (environment variables or .env):"
    assert lines[1:] == [f"  {problem}" for problem in raised.value.problems]


def test_one_invalid_setting_does_not_block_reading_another(no_env_file):
    config = settings.read({"INGEST_WORKERS": "two", "NEO4J_BATCH_SIZE": "7"}, no_env_file)
    assert config[settings.NEO4J_BATCH_SIZE] == 7
    with pytest.raises(settings.SettingsError, match="INGEST_WORKERS='two'"):
        config[settings.INGEST_WORKERS]


@pytest.mark.parametrize(
    "text, expected",
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("Yes", True), ("no", False), (" on ", True), ("OFF", False)],
)
def test_booleans_take_the_eight_words(text, expected, no_env_file):
    assert settings.read({"ENABLE_BATCHING": text}, no_env_file)[settings.ENABLE_BATCHING] is expected


@pytest.mark.parametrize("text", ["y", "enabled", "2", "truee"])
def test_other_boolean_words_are_refused(text, no_env_file):
    assert settings.read({"NEO4J_BATCHING": text}, no_env_file).problems


def test_an_empty_value_means_the_default(no_env_file):
    config = settings.read({"INGEST_WORKERS": "  ", "INGEST_INCLUDE": ""}, no_env_file)
    assert config[settings.INGEST_WORKERS] == 0 and config[settings.INGEST_INCLUDE] == ("*.sql",)
    assert config.resolved(settings.INGEST_WORKERS).source == settings.DEFAULT


def test_env_file_wins_over_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nINGEST_WORKERS=4\nNEO4J_PASSWORD='s3 cret'\nINGEST_INCLUDE=*.sql, *.ddl\nBARE_NAME\n")

    config = settings.read({"INGEST_WORKERS": "2", "NEO4J_BATCH_SIZE": "7"}, env_file)

    assert (config[settings.INGEST_WORKERS], config.resolved(settings.INGEST_WORKERS).source) == (4, settings.DOTENV)
    assert (config[settings.NEO4J_BATCH_SIZE], config.resolved(settings.NEO4J_BATCH_SIZE).source) == (7, settings.ENVIRONMENT)
    assert config[settings.NEO4J_PASSWORD] == "s3 cret"
    assert config[settings.INGEST_INCLUDE] == ("*.sql", "*.ddl")
    assert config.resolved(settings.INGEST_SOURCE_DIR).source == settings.DEFAULT
    # Only a value the process environment holds can be re-read at launch.
    assert config.from_process_environment(settings.NEO4J_BATCH_SIZE)
    assert not config.from_process_environment(settings.INGEST_WORKERS)


def test_dagster_cli_lets_env_file_win_too(tmp_path):
    """The precedence above is Dagster's: its CLI copies .env over the environment before loading code."""
    (tmp_path / ".env").write_text("PROBE_SETTING=from_env_file\n")
    (tmp_path / "probe.py").write_text(
        "import os\nassert os.environ['PROBE_SETTING'] == 'from_env_file', os.environ['PROBE_SETTING']\n"
        "from dagster import Definitions\ndefs = Definitions()\n"
    )
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-f", "probe.py"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PROBE_SETTING": "from_environment"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_each_declaration_is_named_after_its_variable_and_its_default_is_allowed():
    declared = {name: value for name, value in vars(settings).items() if isinstance(value, settings.Setting)}
    assert all(name == setting.name for name, setting in declared.items())
    assert len(settings.REGISTRY) == len(declared) == len({s.name for s in settings.REGISTRY})
    for setting in settings.REGISTRY:
        assert setting.group in settings.GROUPS and setting.description.endswith(".")
        text = setting.kind.show(setting.default)
        if text:
            assert setting.kind.parse(text) == setting.default, setting.name


def test_no_other_module_reads_the_environment():
    package = ROOT / "ingest_pipeline"
    readers = re.compile(r"os\.environ|getenv\(|environ\.get\(")
    offenders = [
        str(path.relative_to(ROOT))
        for path in package.rglob("*.py")
        if path.name != "settings.py" and readers.search(path.read_text())
    ]
    assert offenders == []


def test_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    assert readme_with_table(readme) == readme, "README settings table is stale: run `make settings-table`"
