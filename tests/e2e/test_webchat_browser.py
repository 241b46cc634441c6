"""The chat page in headless Chromium on a phone-sized screen, against the real assistant.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromedriver``). Saves a
screenshot of an answered question to ``var/screenshots/webchat.png`` (and of the feedback
that follows to ``webchat-feedback.png``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_stack import REPO_ROOT, Stack
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = {"width": 390, "height": 844, "pixelRatio": 2}
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
REPLY_TIMEOUT = 120
CITATION = re.compile(r"《[^《》]+》第[〇零一二三四五六七八九十百千0-9]+条")
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    f"--window-size={PHONE['width']},{PHONE['height']}",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    if not Path(CHROMEDRIVER).exists() or not shutil.which("chromium"):
        pytest.fail("Chromium is not installed: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(stack: Stack, browser: WebDriver) -> WebDriver:
    """The chat page with a new conversation (the server issues a new id in a new cookie)."""
    browser.get(stack.webchat_url)
    browser.execute_script("window.localStorage.clear();")
    browser.delete_all_cookies()
    browser.get_log("browser")  # drop earlier tests' console messages
    browser.get(stack.webchat_url)
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "input").is_displayed())
    return browser


def bot_messages(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#messages .msg.bot")


def wait_for_replies(driver: WebDriver, before: int) -> list[WebElement]:
    """Wait until the typing indicator is gone and new bot messages arrived; return those."""

    def arrived(d: WebDriver) -> bool:
        typing = d.find_element(By.ID, "typing").is_displayed()
        return not typing and len(bot_messages(d)) > before

    try:
        WebDriverWait(driver, REPLY_TIMEOUT).until(arrived)
    except TimeoutException:
        pytest.fail(f"no reply within {REPLY_TIMEOUT} s; page log: {driver.get_log('browser')}")
    return bot_messages(driver)[before:]


def type_and_send(driver: WebDriver, text: str) -> list[WebElement]:
    before = len(bot_messages(driver))
    box = driver.find_element(By.ID, "input")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()
    return wait_for_replies(driver, before)


def click_and_wait(driver: WebDriver, button: WebElement) -> list[WebElement]:
    before = len(bot_messages(driver))
    button.click()
    return wait_for_replies(driver, before)


def last_user_text(driver: WebDriver) -> str:
    return driver.find_elements(By.CSS_SELECTOR, "#messages .msg.user")[-1].text


def save_screenshot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / name))


def assert_no_server_error(replies: list[WebElement]) -> None:
    for reply in replies:
        assert "system" not in reply.get_attribute("class"), reply.text


def test_page_loads(page: WebDriver) -> None:
    assert page.title == "县公共法律服务 · 智能咨询"
    header = page.find_element(By.TAG_NAME, "h1").text
    assert "县公共法律服务" in header and "智能咨询" in header
    notice = page.find_element(By.CLASS_NAME, "notice").text
    assert "请勿发送身份证号等敏感信息" in notice and "110" in notice
    chips = [c.text for c in page.find_elements(By.CLASS_NAME, "chip")]
    assert chips == ["讨薪", "离婚", "借钱不还", "交通事故", "土地纠纷", "转人工"]
    log = page.find_element(By.ID, "messages")
    assert log.get_attribute("aria-live") == "polite"
    label = page.find_element(By.CSS_SELECTOR, "label[for=input]")
    assert label.get_attribute("textContent") == "输入您的问题"
    cookie = page.get_cookie("webchat_id")
    assert cookie and cookie["value"].startswith("web-") and cookie["httpOnly"]
    assert "webchat_id" not in page.execute_script("return document.cookie;")  # the script cannot read it
    assert page.get_log("browser") == []
    page.refresh()
    assert page.get_cookie("webchat_id")["value"] == cookie["value"]  # the same conversation


def test_greeting_gets_a_reply(page: WebDriver) -> None:
    replies = type_and_send(page, "你好")
    assert last_user_text(page) == "你好"
    assert_no_server_error(replies)
    assert replies[0].text.strip()


def test_wage_question_is_answered_with_citation_and_feedback(page: WebDriver) -> None:
    replies = type_and_send(page, "老板拖欠我三个月工资不给怎么办")
    assert_no_server_error(replies)
    answer = replies[0]
    cards = answer.find_elements(By.CSS_SELECTOR, "blockquote.article")
    assert cards, f"no quoted article in: {answer.text}"
    citation = cards[0].find_element(By.CSS_SELECTOR, ".cite")
    assert CITATION.fullmatch(citation.text), citation.text
    assert int(citation.value_of_css_property("font-weight")) >= 700
    buttons = {b.text: b for b in answer.find_elements(By.CSS_SELECTOR, "button.action")}
    helpful = next((b for title, b in buttons.items() if "有帮助" in title), None)
    assert helpful is not None and any("没帮助" in title for title in buttons), list(buttons)
    page.execute_script("arguments[0].scrollIntoView({block: 'start'});", answer)
    save_screenshot(page, "webchat.png")

    thanks = click_and_wait(page, helpful)
    assert "有帮助" in last_user_text(page)
    assert "谢" in thanks[0].text
    assert not helpful.is_enabled()
    save_screenshot(page, "webchat-feedback.png")


def test_quick_reply_chip_sends_its_question(page: WebDriver) -> None:
    chip = page.find_element(By.XPATH, "//button[contains(@class, 'chip')][.='借钱不还']")
    replies = click_and_wait(page, chip)
    assert last_user_text(page) == chip.get_attribute("data-message")
    assert_no_server_error(replies)
    assert replies[0].text.strip()


def test_network_failure_offers_a_retry(page: WebDriver) -> None:
    page.execute_cdp_cmd("Network.enable", {})
    page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/webhooks/webchat/webhook*"]})
    try:
        failed = type_and_send(page, "你好")
    finally:
        page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert "system" in failed[-1].get_attribute("class")
    assert "稍后" in failed[-1].text
    retry = failed[-1].find_element(By.XPATH, ".//button[.='重试']")
    replies = click_and_wait(page, retry)
    assert_no_server_error(replies)
    assert replies[0].text.strip()
    assert [m.text for m in page.find_elements(By.CSS_SELECTOR, "#messages .msg.user")] == ["你好"]
