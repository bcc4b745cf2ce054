"""End to end in a real browser (Debian's chromium, driven by selenium through chromedriver; nothing downloaded).

A person asks for a lawyer on Telegram (the Bot API stand-in); a lawyer signs in on the web, sees the case
appear live, takes it, replies; the reply reaches the person; the person answers; the lawyer sees it live;
a supervisor sees the case and the audit entries; a second lawyer cannot open it; a disabled account is
signed out at once. A WhatsApp case shows its city in the queue and each answer's delivery state live
(the Twilio stand-in posts signed status callbacks). Screenshots of each page, desktop and phone width,
go to var/screenshots/.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import update

from bot.records.staff import Role
from bot.storage.tables import WhatsAppWindowRow
from tests.conftest import _backends, record
from tests.console.conftest import PASSWORD, ConsoleStack
from tests.handoff.conftest import USER
from tests.handoff.test_flow import open_case
from tests.whatsapp.conftest import USER as WA_USER
from tests.whatsapp.conftest import WhatsAppStack, numbered

pytestmark = pytest.mark.asyncio

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP, PHONE = (1280, 900), (390, 844)
WAIT = 15.0  # seconds for anything the page should show (live updates poll every 0.2 s here)
QUESTION = "Мне отказали в статусе беженца, как обжаловать?"
REPLY = "Здравствуйте! Приходите завтра в 10:00 <с документами>"
ANSWER = "Спасибо, приду. Нужен ли паспорт?"
WA_REPLY = "Приходите в понедельник к 10:00"


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the whole session."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


async def until(check: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Wait (bounded) for something the page or the stand-in should show; the event loop keeps serving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await asyncio.to_thread(check):
                return
        except WebDriverException:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"not seen within {timeout} s: {what}")


class Page:
    """The browser, driven from a thread so the server under test (same event loop) keeps answering."""

    def __init__(self, driver: WebDriver, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    async def run(self, action: Callable[[], object]) -> object:
        return await asyncio.to_thread(action)

    async def open(self, path: str) -> None:
        await self.run(lambda: self.driver.get(self.base_url + path))

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    async def sign_in(
        self, username: str, code: Callable[[], str] | None = None, shoot: str = "", sign_out: str = "Sign out"
    ) -> None:
        """Password, then (for an account with one-time codes) the code its authenticator app shows.

        `sign_out` is the menu's "Sign out" in the account's language: seeing it, the person is signed in.
        """
        self.driver.delete_all_cookies()
        await self.open("/console/login?lang=en")

        def fill() -> None:
            self.driver.find_element(By.ID, "username").send_keys(username)
            self.driver.find_element(By.ID, "password").send_keys(PASSWORD)
            self.driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()

        await self.run(fill)
        if code is not None:
            await until(lambda: "/console/code" in self.driver.current_url, f"{username} asked for a code")
            if shoot:
                await self.shoot(shoot)

            def type_code() -> None:
                self.driver.find_element(By.ID, "code").send_keys(code())
                self.driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()

            await self.run(type_code)
        await until(lambda: sign_out in self.text(), f"{username} signed in")

    async def click(self, selector: str) -> None:
        await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, selector).click())

    async def type(self, selector: str, text: str) -> None:
        await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, selector).send_keys(text))

    async def shoot(self, name: str) -> None:
        """Desktop and phone screenshots of the page as it is (full height)."""

        def take() -> None:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
                self.driver.set_window_size(width, height)
                full = self.driver.execute_script("return document.documentElement.scrollHeight")
                self.driver.set_window_size(width, min(max(int(full) + 120, height), 4000))
                self.driver.save_screenshot(str(SCREENSHOTS / f"{name}-{label}.png"))
            self.driver.set_window_size(*DESKTOP)

        await self.run(take)


@pytest.mark.parametrize("database_url", [_backends()[-1]], indirect=True)
async def test_a_case_from_telegram_to_the_web_console_and_back(
    console_stack: ConsoleStack, browser: WebDriver
) -> None:
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER, languages=("en", "ru"), name="Aigerim")
    dana = await stack.add_staff("dana", Role.LAWYER, name="Dana")
    await stack.add_staff("sara", Role.SUPERVISOR, name="Sara")
    await stack.add_staff("omar", Role.ADMIN, name="Omar")
    page = Page(browser, stack.base_url)
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)

    await page.open("/console/login?lang=en")
    await page.shoot("login")
    await page.sign_in("aigerim")
    assert "No cases are waiting." in page.text()
    await page.shoot("queue-empty")

    # The person asks on Telegram; the open queue page shows the case without a reload.
    await stack.write(QUESTION)
    await open_case(stack)
    await until(lambda: "#1" in browser.find_element(By.ID, "live").text, "the new case in the queue, live")
    assert QUESTION not in page.text(), "the queue never shows the person's words"
    await page.shoot("queue")

    await page.click("a.case-link")
    await until(lambda: "Take this case" in page.text(), "the waiting case")
    await page.shoot("case-waiting")
    await page.click("form[action$='/take'] button")
    await until(lambda: "Reply to the person" in page.text(), "the taken case")
    assert QUESTION in page.text(), "the lawyer who took it sees the consented history"
    taken = stack.text_to(USER)
    assert "#1" in taken and "Aigerim" in taken, "the person is told who took the case"

    await page.type("#reply", REPLY)
    await page.click("form.reply button")
    await until(lambda: "Sent to the person." in page.text(), "the reply sent")
    await until(
        lambda: (
            REPLY.replace("<", "&lt;").replace(">", "&gt;") in stack.text_to(USER)
            or REPLY.replace("<", "&lt;").replace(">", "&gt;") in _all_to(stack)
        ),
        "the reply on Telegram",
    )
    assert "sent" in browser.find_element(By.CSS_SELECTOR, ".entry.lawyer .delivery").text

    await stack.write(ANSWER)
    await until(lambda: ANSWER in browser.find_element(By.ID, "live").text, "the person's answer, live")
    await page.shoot("case-holder")

    # A second lawyer cannot open it by URL.
    await page.sign_in("dana")
    await page.open("/console/cases/1")
    assert "Not available" in page.text() and QUESTION not in page.text() and ANSWER not in page.text()
    await page.shoot("case-refused")

    # The supervisor sees the case and the audit entries, not the words.
    await page.sign_in("sara", lambda: stack.code("sara"), shoot="code")  # supervisors: password and a code
    await until(lambda: "#1" in page.text() and "Aigerim" in page.text(), "the case on the supervisor's list")
    await page.shoot("cases")
    await page.open("/console/cases/1")
    assert "Reassign to" in page.text() and QUESTION not in page.text() and ANSWER not in page.text()
    await page.shoot("case-supervisor")
    await page.open("/console/audit?case=1")
    audit = page.text()
    assert "took" in audit and "opened" in audit, audit
    assert "viewed_refused" in audit and "replied" in audit
    await page.shoot("audit")
    await page.open("/console/content")
    assert "Applying for asylum" in page.text(), "topics by title"
    await page.click("form[action$='/sign-off'] button")
    await until(lambda: "Signed off." in page.text(), "a topic signed off")
    await page.shoot("content")
    await page.open("/console/reports")
    assert "Questions per week" in page.text() and "Nothing to chart: every week's count is hidden." in page.text()
    assert not browser.find_elements(By.CSS_SELECTOR, "svg.chart"), "one question: every week hidden, no axis"
    await page.shoot("reports")

    # The admin manages accounts on the web: the list, one account, a password reset shown once.
    await page.sign_in("omar", lambda: stack.code("omar"))
    await page.open("/console/accounts")
    assert "aigerim" in page.text() and "Last sign-in" in page.text()
    await page.shoot("accounts")
    await page.open(f"/console/accounts/{dana.id}")
    await page.shoot("account")
    await page.click("form[action$='/password'] button")
    await until(lambda: "shown only now" in page.text(), "the initial password page")
    await page.shoot("account-secret")

    # A disabled account is signed out at once: its open page goes to the login form by itself.
    await page.sign_in("aigerim")
    await page.open("/console/cases/1")
    await until(lambda: "Reply to the person" in page.text(), "the holder's case page")
    await stack.desk.staff.disable("aigerim", stack.clock())
    await until(lambda: "/console/login" in browser.current_url, "the disabled lawyer's page signed out")
    await page.open("/console/queue")
    assert "Sign in" in page.text() and "Password" in page.text()


@pytest.mark.parametrize("database_url", [_backends()[-1]], indirect=True)
async def test_a_chart_with_every_week_hidden_says_so_in_the_pages_language(
    console_stack: ConsoleStack, browser: WebDriver
) -> None:
    """Regression: an empty chart under a y-axis marked "1" (a made-up number) where every week was hidden."""
    stack = console_stack
    await stack.add_staff("dina", Role.SUPERVISOR, languages=("ru",), name="Dina")
    page = Page(browser, stack.base_url)
    await page.sign_in("dina", lambda: stack.code("dina"), sign_out="Выйти")
    await page.open("/console/reports")
    await until(lambda: "Вопросы по неделям" in page.text(), "the numbers page in Russian")
    empty = browser.find_elements(By.CSS_SELECTOR, "p.chart-empty")
    assert [e.text for e in empty] == ["Показать на графике нечего: число за каждую неделю скрыто."] * 2
    assert all(e.is_displayed() and e.size["height"] > 0 for e in empty)
    assert not browser.find_elements(By.CSS_SELECTOR, "svg.chart"), "no chart, so no axis with a made-up top"
    await page.shoot("reports-nothing-shown")


def _all_to(stack: ConsoleStack) -> str:
    return "\n".join(params["text"] for _, params in stack.messages_to(USER))


@pytest.mark.parametrize("database_url", [_backends()[-1]], indirect=True)
async def test_a_whatsapp_case_shows_its_city_and_each_answers_delivery_live(
    console_whatsapp: tuple[ConsoleStack, WhatsAppStack], browser: WebDriver
) -> None:
    stack, wa = console_whatsapp
    await stack.add_staff("aigerim", Role.LAWYER, languages=("en", "ru"), name="Aigerim")
    page = Page(browser, stack.base_url)
    person = f"whatsapp:{WA_USER}"

    await wa.send("Мне нужен юрист")
    asked = await wa.replies(1)
    await wa.send(numbered(asked[-1])[stack.tr("Yes, share it with a lawyer")])
    city_question = (await wa.replies(len(asked) + 2))[-1]
    await wa.send(numbered(city_question)["Алматы"])
    await wa.replies(len(asked) + 3)

    await page.sign_in("aigerim")
    await until(lambda: "#1" in page.text() and "Almaty" in page.text(), "the case and its city in the queue")
    await page.open("/console/queue?city=astana")
    assert "#1" not in browser.find_element(By.ID, "live").text, "filtered out by city"
    await page.open("/console/queue?city=almaty")
    assert "#1" in browser.find_element(By.ID, "live").text
    await page.shoot("queue-city")

    await page.click("a.case-link")
    await until(lambda: "Take this case" in page.text(), "the waiting case")
    await page.click("form[action$='/take'] button")
    await until(lambda: "Reply to the person" in page.text(), "the taken case")
    assert "Almaty" in page.text() and "delivered and read" in page.text()

    # The answer's state follows Twilio's callbacks on the open page, without a reload.
    await page.type("#reply", WA_REPLY)
    await page.click("form.reply button")
    answer = await _message_ending(wa, person, WA_REPLY)

    def state() -> str:
        """The last answer's state as shown; empty while the page is between loads."""
        shown = browser.find_elements(By.CSS_SELECTOR, ".entry.lawyer .delivery")
        return str(shown[-1].text) if shown else ""

    await until(lambda: state() == "queued", "queued")
    for status in ("sent", "delivered", "read"):
        assert await wa.api.report(answer["Sid"], status) == 204
        await until(lambda status=status: state() == status, f"{status}, live")  # type: ignore[misc]
    assert await wa.api.report(answer["Sid"], "sent") == 204, "late"
    await asyncio.sleep(1.0)  # five polls: a late callback must not show
    assert state() == "read"

    # A second answer refused outside the 24-hour window shows as failed, with what that means.
    await page.type("#reply", "Вы получили адрес?")
    await page.click("form.reply button")
    second = await _message_ending(wa, person, "Вы получили адрес?")
    await until(lambda: state() == "queued", "the second answer queued")
    assert await wa.api.report(second["Sid"], "undelivered", 63016) == 204
    await until(lambda: state() == "failed", "failed, live")
    assert "Twilio error 63016" in page.text()

    # A day of silence: the lawyer is warned before writing.
    async with record(stack.app)() as session:
        await session.execute(update(WhatsAppWindowRow).values(last_inbound_at=stack.clock() - dt.timedelta(hours=25)))
        await session.commit()
    await page.open("/console/cases/1")
    assert "more than 24 hours old" in browser.find_element(By.CSS_SELECTOR, ".warning.window").text
    await page.shoot("case-whatsapp")


async def _message_ending(wa: WhatsAppStack, recipient: str, text: str) -> dict[str, str]:
    """The message the Twilio stand-in accepted whose body ends with `text` (waited for, bounded)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = [m for m in wa.api.to(recipient) if m.get("Body", "").endswith(text)]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message to the person ending with {text!r}")
