"""The case queue on in-memory stores (fast): consent, opening once, the place in the queue, announcements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from bot.content.catalog import ContentCatalog
from bot.content.loader import load_catalog
from bot.core.ports import ContactRecord
from bot.handoff.announce import ANNOUNCE_LEASE, NEVER, Announcer
from bot.handoff.cards import CaseCards
from bot.handoff.outbox import Outbox
from bot.handoff.queue import HandoffQueue
from bot.hours import WorkingHours
from bot.i18n import Translations
from bot.records.cases import CaseStatus
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.fakes.handoff_stores import MemoryCaseStore, MemoryLawyerStore, MemoryRelayStore
from tests.fakes.senders import RecordingNotifier, RecordingSender

pytestmark = [pytest.mark.fast, pytest.mark.asyncio]

PERSON = ContactRecord(1, "telegram", "42", "en", True)
OTHER = ContactRecord(2, "whatsapp", "+77010000000", "en", True)
LAWYER = 9001


@dataclass
class Queue:
    queue: HandoffQueue
    cases: MemoryCaseStore
    lawyers: MemoryLawyerStore
    notifier: RecordingNotifier
    sender: RecordingSender
    announcer: Announcer
    clock: FakeClock


@pytest.fixture(scope="module")
def catalog() -> ContentCatalog:
    return load_catalog(REPO / "content")


@pytest.fixture
def queue(catalog: ContentCatalog) -> Queue:
    clock, translations = FakeClock(), Translations(REPO / "locales")
    hours = WorkingHours.parse("Mon-Sun 00:00-24:00", "Asia/Almaty")
    cases = MemoryCaseStore(contacts={1: ("telegram", "42"), 2: ("whatsapp", "+77010000000")})
    cases.texts[1] = ["My brother was detained", " ", "What can I do?", "1"]  # "1": the typed consent
    lawyers, relays = MemoryLawyerStore(), MemoryRelayStore(cases)
    outbox = Outbox(
        cases=cases, lawyers=lawyers, relays=relays, translator=translations, show_lawyer_name=True, clock=clock
    )
    notifier, sender = RecordingNotifier(), RecordingSender()
    outbox.attach_lawyers(notifier)
    outbox.register_sender("telegram", sender)
    announcer = Announcer(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        cards=CaseCards(catalog, translations, hours),
        hours=hours,
        group_chat_id=None,
        group_language="ru",
        reannounce_after=dt.timedelta(hours=1),
        clock=clock,
    )
    handoff = HandoffQueue(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        announcer=announcer,
        catalog=catalog,
        translator=translations,
        hours=hours,
        summary_messages=5,
        clock=clock,
    )
    return Queue(handoff, cases, lawyers, notifier, sender, announcer, clock)


async def test_without_lawyers_the_person_gets_legal_aid_contacts_and_no_case(queue: Queue) -> None:
    outcome = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert outcome.case_id is None and outcome.confirm is None and queue.cases.cases == {}
    assert outcome.replies


async def test_consent_opens_one_case_and_tells_the_lawyers(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    asked = await queue.queue.request(PERSON, "en", topic="detention_deportation", urgent=True, reason="urgent")
    assert asked.confirm is not None and asked.case_id is None
    opened = await queue.queue.choose(PERSON, "en", asked.confirm[0])
    assert opened.case_id == "1"
    case = queue.cases.cases[1]
    assert (case.status, case.urgent, case.topic) == (CaseStatus.WAITING, True, "detention_deportation")
    # The lawyer reads the person's words, not the blank message or the option number they typed to consent.
    assert case.summary == "— My brother was detained\n— What can I do?"
    assert [chat for chat, _ in queue.notifier.sent] == [LAWYER] and case.announced_at is not None
    again = await queue.queue.choose(PERSON, "en", asked.confirm[0])  # a second tap opens nothing new
    assert again.case_id == "1" and len(queue.cases.cases) == 1


async def test_declining_opens_nothing(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    await queue.queue.choose(PERSON, "en", asked.confirm[1])
    assert queue.cases.cases == {} and queue.notifier.sent == []


async def test_urgent_cases_go_first_in_the_queue(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    calm = await queue.queue.request(OTHER, "en", topic=None, urgent=False)
    assert calm.confirm is not None
    await queue.queue.choose(OTHER, "en", calm.confirm[0])
    urgent = await queue.queue.request(PERSON, "en", topic="detention_deportation", urgent=True, reason="urgent")
    assert urgent.confirm is not None
    await queue.queue.choose(PERSON, "en", urgent.confirm[0])
    first, second = queue.cases.cases[2], queue.cases.cases[1]
    assert await queue.cases.position(first) == 1 and await queue.cases.position(second) == 2


async def test_while_a_lawyer_holds_the_case_text_is_relayed_to_them(queue: Queue) -> None:
    lawyer = await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    await queue.queue.choose(PERSON, "en", asked.confirm[0])
    assert await queue.cases.claim(1, lawyer.id, FakeClock().now)
    routed = await queue.queue.route(PERSON, "en", "They took my passport", None)
    assert routed is not None and routed.replies == ()
    assert queue.notifier.sent[-1] == (LAWYER, "#1: They took my passport")
    assert await queue.queue.route(OTHER, "en", "hello", None) is None  # no case: the core answers


@pytest.mark.parametrize("forged", ["case:rate:²:5", "case:rate:99999999999:5", "case:rate:1:²"])
async def test_a_forged_rating_button_is_answered_with_the_menu(queue: Queue, forged: str) -> None:
    outcome = await queue.queue.choose(PERSON, "en", forged)  # int("²") and an overflowing id used to raise
    assert outcome.replies and outcome.case_id is None


# --- limits: the daily cap, and announcing only what went out ------------------------------------------
async def open_and_close(queue: Queue) -> str | None:
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    opened = await queue.queue.choose(PERSON, "en", asked.confirm[0])
    if opened.case_id is not None and opened.case_id.isdigit():
        lawyer = await queue.lawyers.active_by_telegram_id(LAWYER)
        assert lawyer is not None
        case_id = int(opened.case_id)
        assert await queue.cases.claim(case_id, lawyer.id, queue.clock())
        assert await queue.cases.close(case_id, lawyer.id, "advised", queue.clock())
    return opened.case_id


async def test_a_person_opens_at_most_three_cases_a_day_and_is_told_where_help_is(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    assert [await open_and_close(queue) for _ in range(3)] == ["1", "2", "3"]
    announced = len(queue.notifier.sent)
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    refused = await queue.queue.choose(PERSON, "en", asked.confirm[0])
    assert refused.case_id is None and len(queue.cases.cases) == 3
    said = "\n".join(reply.text for reply in refused.replies)
    assert "several times today" in said and "112" in said, "no new case, but the emergency numbers and contacts"
    assert len(queue.notifier.sent) == announced, "the lawyers are not flooded"
    queue.clock.advance(hours=24, minutes=1)
    assert await open_and_close(queue) == "4", "the next day the person may ask again"


async def test_a_case_is_marked_announced_only_after_the_announcement_went_out(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    queue.notifier.fail = True  # Telegram refuses: nothing went out
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=True)
    assert asked.confirm is not None
    await queue.queue.choose(PERSON, "en", asked.confirm[0])
    assert queue.cases.cases[1].announced_at is None
    queue.notifier.fail = False
    assert await queue.announcer.announce_due() == 1, "the next sweep announces it"
    assert queue.cases.cases[1].announced_at is not None


async def test_a_process_dying_while_announcing_leaves_the_case_to_the_next_sweep_after_its_lease(
    queue: Queue,
) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    queue.notifier.fail = True
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    await queue.queue.choose(PERSON, "en", asked.confirm[0])
    queue.notifier.fail = False
    now = queue.clock()
    # Another process took the lease and died before sending (kill -9 during the announcement).
    assert await queue.cases.claim_announcement(1, NEVER, now, now + ANNOUNCE_LEASE)
    assert await queue.announcer.announce_due() == 0, "not twice at once"
    queue.clock.advance(seconds=ANNOUNCE_LEASE.total_seconds() + 1)
    assert await queue.announcer.announce_due() == 1
    assert queue.cases.cases[1].announced_at == queue.clock()
    assert await queue.announcer.announce_due() == 0, "announced once"
    assert dt.timedelta(minutes=10) < ANNOUNCE_LEASE
