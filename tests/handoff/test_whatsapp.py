"""A WhatsApp user and a Telegram lawyer: the relay both ways, the 24-hour window, the rating by number."""

from __future__ import annotations

import asyncio
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
from bot.storage.handoff_tables import CaseRow, RelayRow
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
    seen = len(await _bodies(wa, len(asked) + 2))  # the case number, then the optional city question
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


# --- the delivery state of a lawyer's answer, from Twilio's status callbacks -------------------------------------
async def _taken(tg: HandoffStack, wa: fixtures.WhatsAppStack) -> None:
    """A case opened on WhatsApp and taken in Telegram."""
    wa.api.route_callbacks(fixtures.PUBLIC_URL, str(wa.client.make_url("")))
    await tg.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await wa.send("Мне нужен юрист")
    asked = await _bodies(wa, 1)
    await wa.send(fixtures.numbered(asked[-1])[tg.tr("Yes, share it with a lawyer")])
    await _bodies(wa, len(asked) + 1)
    await tg.press("take:1", chat_id=LAWYER_A)


async def _ending(wa: fixtures.WhatsAppStack, text: str, count: int = 1) -> list[dict[str, str]]:
    """The messages to the person whose body ends with `text`, once there are `count` (bounded wait)."""
    deadline = asyncio.get_running_loop().time() + 15
    while len(found := [m for m in wa.api.to(f"whatsapp:{PERSON}") if m.get("Body", "").endswith(text)]) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(found)} message(s) ending with {text!r}"
        await asyncio.sleep(0.05)
    return found


async def _answer_state(tg: HandoffStack) -> tuple[str | None, str | None, int | None]:
    """(delivery, message SID, error code) of the lawyer's last answer."""
    async with record(tg.app)() as session:
        query = select(RelayRow).where(RelayRow.direction == "to_user", RelayRow.kind == "message")
        relay = (await session.execute(query.order_by(RelayRow.id.desc()).limit(1))).scalar_one()
        return relay.delivery, relay.message_sid, relay.error_code


async def _following(tg: HandoffStack, message_sid: str) -> tuple[str | None, str | None, int | None]:
    """The answer's state once it follows this Twilio message (accepted a moment after the stand-in saw it)."""
    deadline = asyncio.get_running_loop().time() + 10
    while (state := await _answer_state(tg))[1] != message_sid:
        assert asyncio.get_running_loop().time() < deadline, f"the answer never followed {message_sid}: {state}"
        await asyncio.sleep(0.05)
    return state


async def test_an_answer_moves_forward_with_twilios_callbacks_and_never_back(
    both: tuple[HandoffStack, fixtures.WhatsAppStack], caplog: pytest.LogCaptureFixture
) -> None:
    tg, wa = both
    await _taken(tg, wa)
    await tg.write("Приходите в понедельник", chat_id=LAWYER_A)
    [answer] = await _ending(wa, "Приходите в понедельник")
    assert answer["StatusCallback"].startswith(f"{fixtures.PUBLIC_URL}/whatsapp/status?delivery=")
    assert await _following(tg, answer["Sid"]) == ("queued", answer["Sid"], None)

    for status, shown in [("sent", "sent"), ("delivered", "delivered"), ("read", "read")]:
        assert await wa.api.report(answer["Sid"], status) == 204
        assert (await _answer_state(tg))[0] == shown
    for late in ("sent", "delivered", "queued", "failed"):  # out of order or repeated: ignored
        assert await wa.api.report(answer["Sid"], late) == 204
    assert await _answer_state(tg) == ("read", answer["Sid"], None)
    assert PERSON not in caplog.text and PERSON.lstrip("+") not in caplog.text, "no phone number in the logs"


async def test_a_forged_status_callback_changes_nothing(both: tuple[HandoffStack, fixtures.WhatsAppStack]) -> None:
    tg, wa = both
    await _taken(tg, wa)
    await tg.write("Ответ", chat_id=LAWYER_A)
    [answer] = await _ending(wa, "Ответ")
    await _following(tg, answer["Sid"])
    path = answer["StatusCallback"].removeprefix(fixtures.PUBLIC_URL)
    form = {"MessageSid": answer["Sid"], "MessageStatus": "read", "AccountSid": fixtures.ACCOUNT_SID}
    assert (await wa.post(path, form, sign=False)).status == 403
    assert (await wa.post(path, form, sign="Zm9yZ2Vk")).status == 403
    signed_elsewhere = fixtures.signature("https://attacker.example" + path, form)
    assert (await wa.post(path, form, sign=signed_elsewhere)).status == 403
    assert (await _answer_state(tg))[0] == "queued"


async def test_an_answer_refused_outside_the_window_shows_63016_then_follows_its_resend(
    both: tuple[HandoffStack, fixtures.WhatsAppStack],
) -> None:
    tg, wa = both
    await _taken(tg, wa)
    await tg.write("Вы получили документы?", chat_id=LAWYER_A)
    [first] = await _ending(wa, "Вы получили документы?")
    await _following(tg, first["Sid"])
    assert await wa.api.report(first["Sid"], "undelivered", 63016) == 204
    assert await _answer_state(tg) == ("failed", None, 63016), "shown failed, with the code, while it waits"

    await wa.send("Да, я здесь")  # the window opens again: the held answer goes out as a new message
    resent = await _ending(wa, "Вы получили документы?", count=2)
    assert len(resent) == 2 and resent[0]["Sid"] == first["Sid"]
    assert await _following(tg, resent[1]["Sid"]) == ("queued", resent[1]["Sid"], None)
    assert await wa.api.report(first["Sid"], "read") == 204, "a late callback for the refused message"
    assert (await _answer_state(tg))[0] == "queued"
    assert await wa.api.report(resent[1]["Sid"], "delivered") == 204
    assert await _answer_state(tg) == ("delivered", resent[1]["Sid"], None)


async def test_an_answer_split_in_two_messages_shows_its_worst_part(
    both: tuple[HandoffStack, fixtures.WhatsAppStack],
) -> None:
    """Over 1,600 characters, the answer goes out as two messages: the person has it once both arrived."""
    tg, wa = both
    await _taken(tg, wa)
    long_answer = "Первая часть ответа. " * 60 + "\n\n" + "Вторая часть ответа. " * 60 + "Конец."
    await tg.write(long_answer, chat_id=LAWYER_A)
    [second] = await _ending(wa, "Конец.")
    sent = wa.api.to(f"whatsapp:{PERSON}")
    first = sent[sent.index(second) - 1]
    assert "Первая часть" in first["Body"] and "Вторая часть" not in first["Body"], "split in two parts"
    assert await _following(tg, first["Sid"]) == ("queued", first["Sid"], None)

    assert await wa.api.report(first["Sid"], "delivered") == 204
    assert await wa.api.report(second["Sid"], "sent") == 204
    assert (await _answer_state(tg))[0] == "sent", "not delivered while its second part is not"
    assert await wa.api.report(second["Sid"], "read") == 204
    assert (await _answer_state(tg))[0] == "delivered", "the first part is not read yet"
    assert await wa.api.report(first["Sid"], "read") == 204
    assert await _answer_state(tg) == ("read", first["Sid"], None)

    await tg.write(long_answer.replace("Конец.", "Всё."), chat_id=LAWYER_A)
    [second] = await _ending(wa, "Всё.")
    sent = wa.api.to(f"whatsapp:{PERSON}")
    first = sent[sent.index(second) - 1]
    await _following(tg, first["Sid"])
    assert await wa.api.report(first["Sid"], "delivered") == 204
    assert await wa.api.report(second["Sid"], "undelivered", 30008) == 204
    assert await _answer_state(tg) == ("failed", first["Sid"], 30008), "a lost part fails the answer, with its code"
    assert await wa.api.report(first["Sid"], "read") == 204
    assert await _answer_state(tg) == ("failed", first["Sid"], 30008)


async def test_a_kazakh_whatsapp_user_names_the_city_by_typing_its_number(
    both: tuple[HandoffStack, fixtures.WhatsAppStack],
) -> None:
    """WhatsApp has no buttons: the optional city is a numbered list, answered by typing the number."""
    tg, wa = both
    await tg.add_lawyer(LAWYER_A, "Aigerim", ("kk",))
    assert (await wa.send("Маған заңгермен сөйлесу керек")).status == 200
    asked = await _bodies(wa, 1)
    await wa.send(fixtures.numbered(asked[-1])[tg.tr("Yes, share it with a lawyer", "kk")])
    bodies = await _bodies(wa, len(asked) + 2)  # the case number, then the optional city question
    question = bodies[-1]
    assert question.startswith(
        tg.tr("Optional: in which city are you? It helps us find a lawyer near you. You can skip this.", "kk")
    )
    await wa.send(fixtures.numbered(question)[tg.tr("Almaty", "kk")])
    thanks = (await _bodies(wa, len(bodies) + 1))[-1]
    assert thanks.startswith(tg.tr("Thank you. While you wait, you can keep asking me questions.", "kk"))
    async with record(tg.app)() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
    assert (case.city, case.language) == ("almaty", "kk")
