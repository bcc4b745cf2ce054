"""A WhatsApp user and a Telegram lawyer: the relay both ways, the 24-hour window, the rating by number."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select, update

from bot.app import create_app
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_telegram
from bot.settings import LawyerSettings, RasaSettings, TelegramSettings
from bot.storage.handoff_tables import CaseRow
from bot.web import create_web_app
from tests.conftest import make_settings, record
from tests.handoff.conftest import ALWAYS_OPEN, LAWYER_A, SECRET, Clock, HandoffStack
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi

whatsapp = pytest.importorskip("bot.channels.whatsapp.factory", reason="the WhatsApp channel is not there yet")
fixtures = pytest.importorskip("tests.whatsapp.conftest", reason="the Twilio stand-in is not there yet")
from bot.registry import create_whatsapp  # noqa: E402  (exists once the WhatsApp channel does)
from bot.storage.tables import WhatsAppWindowRow  # noqa: E402
from tests.whatsapp.fake_twilio_api import FakeTwilioApi  # noqa: E402

pytestmark = pytest.mark.asyncio
PERSON = fixtures.USER


@pytest.fixture
async def both(
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
    clock: Clock,
) -> AsyncIterator[tuple[HandoffStack, fixtures.WhatsAppStack]]:
    """One `pana serve`: lawyers on Telegram, the person on WhatsApp."""
    base = fixtures.whatsapp_settings(make_settings(database_url, rasa_settings), twilio_api, **fixtures.TEMPLATES)
    settings = base.model_copy(
        update={
            "telegram": TelegramSettings(
                bot_token=SecretStr(TOKEN),
                api_base=bot_api.base_url,
                webhook_url=WEBHOOK_URL,
                webhook_secret=SecretStr(SECRET),
            ),
            "lawyers": LawyerSettings(hours=ALWAYS_OPEN),
        }
    )
    app = await create_app(settings, detector=detector, clock=clock)
    telegram = create_telegram(settings, app)
    runtime = create_whatsapp(settings, app)
    client = TestClient(TestServer(create_web_app(app, telegram, runtime), host="127.0.0.1"))
    await client.start_server()
    yield HandoffStack(app, telegram, client, bot_api, clock), fixtures.WhatsAppStack(app, runtime, client, twilio_api)
    await client.close()
    await app.close()


async def _bodies(wa: fixtures.WhatsAppStack, count: int) -> list[str]:
    return await wa.replies(count, user=PERSON)


async def test_a_whatsapp_user_and_a_telegram_lawyer(both: tuple[HandoffStack, fixtures.WhatsAppStack]) -> None:
    tg, wa = both
    await tg.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    assert (await wa.send("Мне нужен юрист")).status == 200
    asked = await _bodies(wa, 1)
    yes = fixtures.numbered(asked[-1])[tg.tr("Yes, share it with a lawyer")]
    await wa.send(yes)
    seen = len(await _bodies(wa, len(asked) + 1))
    assert tg.buttons(tg.new_to(LAWYER_A)[-1]) == ["take:1"]
    async with record(tg.app)() as session:
        assert (await session.execute(select(CaseRow.language))).scalar_one() == "ru"

    await tg.press("take:1", chat_id=LAWYER_A)
    bodies = await _bodies(wa, seen + 1)
    assert "Aigerim" in bodies[-1] and "#1" in bodies[-1], "told on WhatsApp that the lawyer took it"
    seen = len(bodies)
    tg.new_to(LAWYER_A)

    await wa.send("Мой паспорт у работодателя")
    assert [m["text"] for m in tg.new_to(LAWYER_A)] == ["#1: Мой паспорт у работодателя"]
    await tg.write("В каком вы городе?", chat_id=LAWYER_A, reply_to=tg.last_id_to(LAWYER_A))
    bodies = await _bodies(wa, seen + 1)
    label = tg.tr("Lawyer {name} (case #{case}):").format(name="Aigerim", case=1)
    assert bodies[-1] == f"{label}\nВ каком вы городе?"
    seen = len(bodies)

    # A day later the 24-hour window is closed: WhatsApp gets the template, the answer waits for the person.
    async with record(tg.app)() as session:
        day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
        await session.execute(update(WhatsAppWindowRow).values(last_inbound_at=day_ago))
        await session.commit()
    await tg.write("Вы получили моё сообщение?", chat_id=LAWYER_A)
    template = (await wa.api.wait_for(seen + 1, recipient=f"whatsapp:{PERSON}"))[-1]
    assert template.get("ContentSid") == fixtures.TEMPLATES["ru"] and "Body" not in template
    await wa.send("Да, я здесь")
    bodies = await _bodies(wa, seen + 2)  # the template, then the answer it held (not the template alone)
    assert bodies[-1] == f"{label}\nВы получили моё сообщение?", "delivered once the person wrote"
    assert [m["text"] for m in tg.new_to(LAWYER_A)] == ["#1: Да, я здесь"]
    seen = len(bodies)

    await tg.write("/close 1", chat_id=LAWYER_A)
    closing = (await _bodies(wa, seen + 1))[-1]
    assert fixtures.numbered(closing).get("5") == "5"
    await wa.send("5")
    assert tg.tr("Thank you for your rating. It helps us improve.") in (await _bodies(wa, seen + 2))[-1]
    async with record(tg.app)() as session:
        assert (await session.execute(select(CaseRow.rating))).scalar_one() == 5
