"""The UI as a user meets it, in a real browser: `dagster dev` on the example warehouse, the job
launched from the Launchpad, the run page's summary, the warehouse tables on the Lineage page.

Needs Debian's `chromium` and `chromium-driver` (`make test-services` installs them) and selenium;
skipped, saying why, where Chromium cannot start. Screenshots of each step land in the test's
temporary folder (printed at the end; `pytest -s` shows the paths).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingest_pipeline_tests.support import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,1000",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    """Headless Chromium through Debian's chromedriver, with a fresh profile; skipped where it cannot start."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    if not CHROMEDRIVER.exists():
        pytest.skip(f"{CHROMEDRIVER} is missing: apt-get install chromium chromium-driver (make test-services does it as root)")
    options = webdriver.ChromeOptions()
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except WebDriverException as error:
        pytest.skip(f"Chromium cannot start here: {error.msg.splitlines()[0] if error.msg else error}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dagster_dev(neo4j, tmp_path: Path) -> Iterator[str]:
    """`dagster dev` (webserver and daemon) on a free port, over examples/sql and the test's Neo4j."""
    port = _free_port()
    home, work, state = tmp_path / "dagster_home", tmp_path / "work", tmp_path / "state"
    for folder in (home, work, state):
        folder.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    shutil.copy(ROOT / "workspace.yaml", work / "workspace.yaml")  # both code locations, as `make dev` loads them
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DAGSTER_HOME": str(home),
        "NEO4J_URI": neo4j.uri,
        "INGEST_SOURCE_DIR": str(EXAMPLES),
        "INGEST_LEDGER_PATH": str(state / "ledger.db"),
        "PARSE_CACHE_PATH": str(state / "cache.db"),
        "INGEST_DEAD_LETTER_PATH": str(state / "failed.jsonl"),
        "INGEST_TABLE_ASSETS_PATH": str(state / "table_assets.json"),
        "DAGSTER_WEBSERVER_URL": url,
    }
    log = (tmp_path / "dagster-dev.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait(lambda: _answers(f"{url}/server_info") or server.poll() is not None, 120, "dagster dev to serve")
        assert server.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)  # polling a page or a port: there is no event to await
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


class Page:
    """The browser on one Dagster UI, with the few gestures the test needs."""

    def __init__(self, driver, url: str, shots: Path) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.url, self.shots, self.by = driver, url, shots, By
        self.count = 0

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)

    def text(self) -> str:
        self.dismiss_welcome()
        return self.driver.find_element(self.by.TAG_NAME, "body").text

    def wait_for(self, *texts: str, seconds: float = 60) -> str:
        return _wait(lambda: all(t in (body := self.text()) for t in texts) and body, seconds, f"{texts} on {self.driver.current_url}")

    def click(self, label: str) -> None:
        self.dismiss_welcome()
        self.driver.find_element(self.by.XPATH, f"//button[normalize-space()='{label}'] | //a[normalize-space()='{label}']").click()

    def dismiss_welcome(self) -> None:
        for button in self.driver.find_elements(self.by.XPATH, "//button[normalize-space()='Skip']"):
            button.click()  # the first-visit "Join the Dagster community" dialog

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def test_a_run_launched_from_the_ui_fills_the_lineage_page_and_explains_itself(browser, dagster_dev, tmp_path):
    started = time.monotonic()
    marks: list[str] = []

    def mark(what: str) -> None:
        marks.append(f"{what} at {time.monotonic() - started:.0f} s")

    shots = Path(os.environ.get("INGEST_UI_SCREENSHOTS") or tempfile.mkdtemp(prefix="ui-", dir=tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page = Page(browser, dagster_dev, shots)

    # The Launchpad shows the folder and dialect the run will use, and launches it.
    page.open("/locations/ingest_pipeline/jobs/ingest_sql_files/playground")
    page.wait_for("source_dir", "dialect", str(EXAMPLES), "Launch Run")
    page.shot("launchpad")
    mark("launchpad shown")
    page.click("Launch Run")
    _wait(lambda: "/runs/" in browser.current_url, 60, "the run page")

    # The run page: success, and the run's summary in its own words.
    page.wait_for("Success", "sql_lineage_graph_checks", seconds=150)
    mark("run succeeded")
    page.shot("run")
    run_page = browser.current_url.split("?")[0]
    browser.get(f"{run_page}?logs=run%7Csummary")  # the log filter as the UI writes "run summary" typed in its box
    page.wait_for("run summary: 24 files seen in source 'default', 24 ingested")
    line = browser.find_element(page.by.XPATH, "//*[starts-with(normalize-space(text()), 'run summary:')]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", line)
    page.shot("run-summary-line")
    browser.get(f"{run_page}?logs=type%3AASSET_MATERIALIZATION")
    page.wait_for("Show Markdown")
    page.click("[Show Markdown]")
    summary = page.wait_for("24 files ingested", "Speed", "Table assets")
    page.shot("run-summary-markdown")
    assert "Problems" in summary

    # The Lineage page: the warehouse's schemas as groups, their tables inside (after a definitions reload).
    page.open("/asset-groups")
    page.wait_for("Reload definitions")
    page.click("Reload definitions")
    page.wait_for("raw", "staging", "marts", "sql_lineage", seconds=90)
    page.shot("lineage")
    page.open("/locations/warehouse_tables/asset-groups/marts")
    page.wait_for("daily_revenue", "fct_orders", "customer_lifetime_value")
    page.shot("lineage-marts")
    mark("lineage shown")
    print(f"\nscreenshots: {shots}; {', '.join(marks)}")
