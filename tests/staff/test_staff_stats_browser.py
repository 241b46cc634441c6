"""The statistics dashboard in headless Chromium: the admin logs in, opens the dashboard, changes the
period, sees the charts drawn beside their tables, and downloads the XLSX.

Artefacts: ``var/screenshots/stats-dashboard.png`` (laptop), ``stats-dashboard-phone.png`` and
``stats-report-page1.png`` (the first page of the PDF report, via ``pdftoppm``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from staff_harness import PASSWORD, REPO_ROOT, StaffServer, login, start, stop

import records
from records import users
from staff.passwords import hash_password

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "records"))
from stats_fixture import seed  # noqa: E402

pytestmark = pytest.mark.browser
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
WAIT = 30


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffServer]:
    tmp = tmp_path_factory.mktemp("stats-browser")
    url = f"sqlite:///{tmp / 'legal.db'}"
    engine = records.get_engine(url)
    records.init_db(engine)
    seed(engine)
    users.create_user("bureau", hash_password(PASSWORD), ["admin"], engine=engine)
    server = start(url, tmp, STAFF_TRUST_PROXY="0")
    try:
        yield server
    finally:
        stop(server)
        records.db.dispose_engines(url)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[WebDriver]:
    if not Path(CHROMEDRIVER).exists() or not shutil.which("chromium"):
        pytest.fail("Chromium is not installed: scripts/ensure_browser.sh")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1280,900",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield driver
    finally:
        driver.quit()


def _set_period(driver: WebDriver, start: str, end: str) -> None:
    for field, value in (("from", start), ("to", end)):
        driver.execute_script("arguments[0].value = arguments[1];", driver.find_element(By.ID, field), value)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "apply").click()
    # The form loads a new page: wait for the old one to go (the URL alone may already match).
    WebDriverWait(driver, WAIT).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, WAIT).until(
        lambda d: f"from={start}" in d.current_url
        and f"to={end}" in d.current_url
        and d.find_elements(By.ID, "fig-consultations")
    )


def _charts_drawn(driver: WebDriver) -> int:
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".chart[data-drawn] svg"))
    return len(driver.find_elements(By.CSS_SELECTOR, ".chart[data-drawn] svg"))


def test_admin_changes_the_period_and_downloads_the_xlsx(app: StaffServer, browser: WebDriver, downloads: Path) -> None:
    browser.get(f"{app.url}/login")
    browser.find_element(By.ID, "username").send_keys("bureau")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, WAIT).until(lambda d: "/login" not in d.current_url)
    browser.find_element(By.LINK_TEXT, "统计").click()
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.ID, "period-form"))

    _set_period(browser, "2026-03-01", "2026-03-31")
    assert browser.find_element(By.ID, "fig-consultations").text == "7"
    charts = browser.find_elements(By.CSS_SELECTOR, ".chart")
    assert _charts_drawn(browser) == len(charts) >= 8, "every chart drawn"
    for chart in charts:  # each chart sits beside its own table
        assert browser.find_element(By.ID, chart.get_attribute("data-table")).tag_name == "table"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1280, 3200)  # the figures, the first charts and their tables
    browser.save_screenshot(str(SCREENSHOTS / "stats-dashboard.png"))
    browser.set_window_size(1280, 900)

    _set_period(browser, "2026-03-01", "2026-03-01")  # the first local day only: c2 (00:00) and c3
    assert browser.find_element(By.ID, "fig-consultations").text == "2"
    browser.set_window_size(390, 844)
    browser.save_screenshot(str(SCREENSHOTS / "stats-dashboard-phone.png"))
    browser.set_window_size(1280, 900)

    browser.find_element(By.ID, "export-xlsx").click()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not list(downloads.glob("*.xlsx")):
        time.sleep(0.2)
    files = list(downloads.glob("*.xlsx"))
    assert [f.name for f in files] == ["statistics-2026-03-01-2026-03-01.xlsx"]
    book = load_workbook(files[0], read_only=True)
    overview = list(book["总体情况"].iter_rows(values_only=True))
    assert overview[2] == ("解答法律咨询（人次）", 2, 1)  # the day before: c1

    problems = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not problems, problems  # no CSP violation, no script error


def test_first_page_of_the_pdf_report(app: StaffServer, tmp_path: Path) -> None:
    reply = login(app, "bureau").get("/stats/report.pdf?from=2026-03-01&to=2026-03-31")
    assert reply.status_code == 200
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(reply.content)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "stats-report-page1"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(target)],
        check=True,
        timeout=60,
    )
    assert target.with_suffix(".png").stat().st_size > 10_000
