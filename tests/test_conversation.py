"""Scripted conversations through the real core, real Rasa server and a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.core import payloads
from bot.core.messages import IncomingMessage, Outcome, Turn
from bot.storage.tables import ContactRow, MessageRow
from tests.conftest import Say, record

pytestmark = pytest.mark.asyncio
# The NLU's, the content's and the dialogue's choices are the same on either database: SQLite only. What the storage
# keeps (the language, deletion, the record, redelivery, the flood guard) is proven on both, here and in test_turns.
ONE_DATABASE = pytest.mark.one_database


@ONE_DATABASE
@pytest.mark.parametrize(
    ("text", "language", "topic"),
    [
        ("Қазақстанда босқын мәртебесіне қалай өтініш беремін?", "kk", "asylum_apply"),
        ("баламның туу туралы куәлігін қалай аламын", "kk", "birth_registration"),
        ("Как подать заявление на статус беженца в Казахстане?", "ru", "asylum_apply"),
        ("Мне отказали в статусе беженца, как обжаловать?", "ru", "asylum_rejected"),
        ("How do I apply for asylum in Kazakhstan?", "en", "asylum_apply"),
        ("how can I get a birth certificate for my baby", "en", "birth_registration"),
    ],
)
async def test_topic_question_is_answered_from_content_in_the_users_language(
    say: Say, app: App, text: str, language: str, topic: str
) -> None:
    turn = await say(text)
    assert turn.language == language
    assert turn.topic == topic
    answer = app.catalog.topics[topic].answer.get(turn.language)
    assert turn.replies[0].text.startswith(answer)
    assert any(o.payload == payloads.LAWYER for o in turn.replies[-1].options)


@ONE_DATABASE
@pytest.mark.parametrize(
    ("text", "language", "greeting_word"),
    [("сәлем", "kk", "Сәлеметсіз бе"), ("Здравствуйте", "ru", "Здравствуйте"), ("hello", "en", "Hello")],
)
async def test_greeting_in_each_language_offers_the_topic_menu(
    say: Say, text: str, language: str, greeting_word: str
) -> None:
    turn = await say(text)
    assert (turn.intent, turn.language) == ("greet", language)
    assert turn.replies[0].text.startswith(greeting_word)
    assert any(o.payload.startswith("menu:") for o in turn.replies[0].options)


async def test_language_is_remembered_for_short_messages(say: Say) -> None:
    await say("Менің құжаттарым жоқ, не істеуім керек?")
    turn = await say("ok")
    assert turn.language == "kk"


async def test_user_switches_language_by_asking(say: Say, app: App) -> None:
    first = await say("Где подать на статус беженца?")
    assert first.language == "ru"
    switched = await say("please answer in English")
    assert (switched.intent, switched.language) == ("change_language", "en")
    after = await say("Как получить гражданство?")
    assert after.language == "en", "an explicit choice wins over detection"
    assert after.topic == "citizenship_naturalization"


async def test_user_switches_language_with_an_option(say: Say) -> None:
    await say("hello")
    turn = await say(payload=payloads.language("kk"))
    assert turn.language == "kk"
    assert "қазақ" in turn.replies[0].text.lower()


@ONE_DATABASE
async def test_follow_up_option_shows_the_longer_part(say: Say, app: App) -> None:
    entry = next(e for e in app.catalog.topics.values() if e.followups)
    followup = entry.followups[0]
    turn = await say(payload=payloads.more(entry.id, followup.id), language_hint="ru")
    assert turn.replies[0].text == followup.text.get(turn.language)


@ONE_DATABASE
async def test_menu_category_lists_its_topics(say: Say, app: App) -> None:
    category = app.catalog.menu.categories[0]
    turn = await say(payload=payloads.category(category.id), language_hint="en")
    listed = {o.payload for o in turn.replies[0].options}
    assert {payloads.topic(t) for t in category.topics} <= listed


@ONE_DATABASE
async def test_urgent_topic_leads_with_emergency_and_legal_aid_contacts(say: Say, app: App) -> None:
    turn = await say("Моего мужа задержала полиция и хотят депортировать, что делать?")
    assert turn.topic == "detention_deportation"
    first = turn.replies[0].text
    assert "полици" in first.lower()
    unhcr = next(o for o in app.catalog.directory.organisations if "unhcr" in o.kinds and o.phones)
    assert unhcr.phones[0] in first
    content = app.catalog.topics["detention_deportation"].answer.get("ru")
    assert any(r.text.startswith(content) for r in turn.replies[1:])


@ONE_DATABASE
async def test_request_lawyer_goes_through_the_handoff_seam(say: Say, app: App) -> None:
    turn = await say("I want to talk to a real lawyer")
    assert turn.intent == "request_lawyer"
    assert turn.handoff is None  # no queue yet: the seam points to free legal aid
    joined = "\n".join(r.text for r in turn.replies)
    assert any(o.name.en in joined for o in app.catalog.organisations(("legal_aid",)))


@ONE_DATABASE
async def test_out_of_scope_says_what_pana_covers(say: Say) -> None:
    turn = await say("what will the weather be like in Almaty tomorrow?")
    assert turn.intent == "out_of_scope"
    assert "asylum" in turn.replies[0].text
    assert turn.topic is None


@ONE_DATABASE
async def test_low_confidence_offers_likely_topics_and_a_lawyer(
    app: App,
    database_url: str,
    rasa_settings,
    detector,  # type: ignore[no-untyped-def]
) -> None:
    from bot.app import create_app
    from bot.core.messages import IncomingMessage
    from tests.conftest import make_settings

    strict = await create_app(
        make_settings(database_url, rasa_settings, answer_threshold=1.0, suggest_threshold=0.0, urgent_threshold=1.0),
        detector=detector,
    )
    try:
        turn = await strict.conversation.handle(IncomingMessage("test", "strict", "документы для статуса беженца"))
    finally:
        await strict.close()
    options = [o.payload for o in turn.replies[0].options]
    assert 2 <= sum(p.startswith("topic:") for p in options) <= 3
    assert payloads.LAWYER in options


async def test_delete_my_data_asks_then_deletes_everything(say: Say, app: App) -> None:
    await say("Как получить вид на жительство?", user="leaver")
    asked = await say("удалите все мои данные", user="leaver")
    assert asked.intent == "delete_my_data"
    assert {o.payload for o in asked.replies[0].options} == {payloads.DELETE_YES, payloads.DELETE_NO}
    done = await say(payload=payloads.DELETE_YES, user="leaver")
    assert done.language == "ru"
    async with record(app)() as session:
        contacts = await session.scalar(
            select(func.count()).select_from(ContactRow).where(ContactRow.platform_id == "leaver")
        )
        messages = await session.scalar(select(func.count()).select_from(MessageRow))
    assert contacts == 0
    assert messages == 0


async def test_delete_can_be_declined(say: Say, app: App) -> None:
    await say("delete everything you stored about me", user="stayer")
    kept = await say("no", user="stayer")
    assert kept.intent == "delete_my_data"
    assert await app.store.find_contact("test", "stayer") is not None


async def test_delete_can_be_confirmed_by_typing_the_word_in_kazakh(say: Say, app: App) -> None:
    asked = await say("менің деректерімді өшіріңіз", user="ketushi")
    assert asked.intent == "delete_my_data"
    done = await say("жою", user="ketushi")
    assert done.outcome is Outcome.DELETED
    assert await app.store.find_contact("test", "ketushi") is None


async def test_confirmation_without_a_pending_request_deletes_nothing(say: Say, app: App) -> None:
    await say("hello", user="careful")
    turn = await say(payload=payloads.DELETE_YES, user="careful")
    assert turn.outcome is not Outcome.DELETED
    assert await app.store.find_contact("test", "careful") is not None


async def test_every_message_is_recorded_with_intent_and_confidence(say: Say, app: App) -> None:
    await say("How do I register my stay?", user="recorded")
    async with record(app)() as session:
        rows = (await session.execute(select(MessageRow).order_by(MessageRow.id))).scalars().all()
    inbound = [r for r in rows if r.direction == "in"]
    outbound = [r for r in rows if r.direction == "out"]
    assert len(inbound) == 1 and outbound
    assert inbound[0].intent and inbound[0].confidence is not None and inbound[0].language == "en"


async def test_redelivered_message_is_answered_once(say: Say, app: App) -> None:
    first = await say("How do I apply for asylum?", user="twice", channel_message_id="m-1")
    await app.conversation.delivered(first)
    again = await say("How do I apply for asylum?", user="twice", channel_message_id="m-1")
    assert first.replies
    assert again.replies == () and again.outcome is Outcome.DUPLICATE
    async with record(app)() as session:
        inbound = await session.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.direction == "in"))
    assert inbound == 1


async def test_flooding_user_is_asked_to_slow_down_once_and_others_are_served(say: Say, app: App) -> None:
    limit = app.settings.pana.flood_limit
    turns = [await say("Как получить гражданство?", user="flooder") for _ in range(limit + 5)]
    slowed = [t for t in turns if t.intent == "flood"]
    assert len(slowed) == 5
    assert len([t for t in slowed if t.replies]) == 1, "one slow-down note per flood"
    assert "медленнее" in slowed[0].replies[0].text or "подождите" in slowed[0].replies[0].text.lower()
    other = await say("Как получить гражданство?", user="patient")
    assert other.topic == "citizenship_naturalization"
    async with record(app)() as session:
        kept = await session.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.direction == "in"))
    assert kept == limit + 5 + 1, "messages over the limit are still recorded"


async def test_a_slow_down_note_that_failed_to_send_comes_again_with_the_redelivery(say: Say, app: App) -> None:
    limit = app.settings.pana.flood_limit
    for n in range(limit):
        turn = await say("Как получить гражданство?", user="hasty", channel_message_id=f"h{n}")
        await app.conversation.delivered(turn)
    note = await say("Как получить гражданство?", user="hasty", channel_message_id="over")
    assert note.intent == "flood" and note.replies
    await app.conversation.unsent(note)  # the send failed
    again = await say("Как получить гражданство?", user="hasty", channel_message_id="over")
    assert again.replies == note.replies and again.outcome is Outcome.REPLAYED
    async with record(app)() as session:
        intents = (await session.execute(select(MessageRow.intent).where(MessageRow.direction == "in"))).scalars()
        assert "flood" in set(intents), "a message over the limit is recorded as such"


LANGUAGE_PAYLOADS = {payloads.language(code) for code in ("kk", "ru", "en")}


def _offered_languages(turn: Turn) -> bool:
    return {o.payload for o in turn.replies[-1].options} >= LANGUAGE_PAYLOADS


@pytest.mark.parametrize("text", ["hi", "salam", "?", "паспорт"])
async def test_first_short_message_without_a_platform_hint_offers_the_languages(say: Say, text: str) -> None:
    turn = await say(text, user=f"new-{text}")
    assert _offered_languages(turn)
    last = turn.replies[-1].text
    assert "Қай тілде" in last and "На каком языке" in last and "Which language" in last, "asked in all three"
    again = await say(text, user=f"new-{text}")
    assert not _offered_languages(again), "only the first reply to a new contact"


@ONE_DATABASE
async def test_languages_are_not_offered_when_the_platform_hints_or_the_text_tells(say: Say) -> None:
    assert not _offered_languages(await say("hi", user="hinted", language_hint="en"))
    assert not _offered_languages(await say("Как подать на статус беженца в Казахстане?", user="clear"))
    assert not _offered_languages(await say(payload=payloads.MENU, user="picked"))


@ONE_DATABASE
async def test_legal_aid_contacts_are_filtered_by_the_city_the_user_names(say: Say, app: App) -> None:
    turn = await say("Где найти бесплатную юридическую помощь в Шымкенте?")
    assert turn.topic == "legal_aid_contacts"
    shown = "\n".join(r.text for r in turn.replies)
    by_id = {o.id: o for o in app.catalog.directory.organisations}
    assert by_id["sana_sezim"].name.ru in shown
    assert by_id["kibhr"].name.ru not in shown, "an Almaty organisation is not offered to someone in Shymkent"
    everywhere = await say("Где найти бесплатную юридическую помощь?", user="anywhere")
    shown_everywhere = "\n".join(r.text for r in everywhere.replies)
    assert by_id["kibhr"].name.ru in shown_everywhere and by_id["sana_sezim"].name.ru in shown_everywhere


async def test_replies_that_were_not_sent_come_again_with_the_redelivery(say: Say, app: App) -> None:
    first = await say("How do I apply for asylum?", user="unsent", channel_message_id="m-2")
    # The channel failed to send them (no `delivered`): the platform delivers the message again.
    await app.conversation.unsent(first)
    again = await say("How do I apply for asylum?", user="unsent", channel_message_id="m-2")
    assert again.replies == first.replies and again.outcome is Outcome.REPLAYED
    assert (again.language, again.intent, again.topic) == (first.language, first.intent, first.topic)
    await app.conversation.delivered(again)
    third = await say("How do I apply for asylum?", user="unsent", channel_message_id="m-2")
    assert third.replies == () and third.outcome is Outcome.DUPLICATE
    async with record(app)() as session:
        rows = (await session.execute(select(MessageRow).order_by(MessageRow.id))).scalars().all()
    assert [r.direction for r in rows].count("in") == 1
    assert len([r for r in rows if r.direction == "out"]) == len(first.replies), "replayed, not answered twice"
    assert all(r.turn is None for r in rows), "nothing kept once sent"


async def test_a_message_stored_before_a_crash_is_answered_when_it_comes_again(say: Say, app: App) -> None:
    contact = await app.store.get_or_create_contact("test", "crashed")
    question = IncomingMessage("test", "crashed", "How do I apply for asylum?", channel_message_id="m-3")
    # Stored by a process that died at once: its hold on the message has ended.
    await app.store.record_inbound(contact.id, question, question.text, lease_until=dt.datetime.now(dt.UTC))
    # The process died before deciding: the redelivery is answered as if it were new.
    turn = await say("How do I apply for asylum?", user="crashed", channel_message_id="m-3")
    assert turn.intent == "asylum_apply" and turn.replies


@ONE_DATABASE
@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Сәлеметсіз бе. Біз бес күн бұрын Ауғанстаннан Алматыға балаларымызбен келдік, визамыз жоқ. "
            "Бізді елге қайтарып жібере ме деп қорқамыз, қайда барамыз?",
            "kk",
        ),
        ("salem, auganstannan kelgenimizge 6 kun boldy, otbasymmen. viza joq. qaitaryp jiberedi me? ne isteimiz", "kk"),
        (
            "Здравствуйте. Мы неделю назад приехали в Алматы из Афганистана с детьми, визы нет. "
            "Очень боимся, что нас вернут обратно. Куда нам обратиться?",
            "ru",
        ),
        ("zdravstvuite, my iz afganistana, v almaty 5 dnei, vizy net, boimsya deportacii. chto nam delat?", "ru"),
        (
            "Hello. My family and I got to Almaty from Afghanistan six days ago and we have no visa. "
            "We are scared they will send us back. Where should we go?",
            "en",
        ),
    ],
)
async def test_arrival_story_gets_the_asylum_answer_with_detention_and_a_lawyer_offered(
    say: Say, app: App, text: str, language: str
) -> None:
    turn = await say(text)
    assert turn.language == language
    assert turn.topic == "asylum_apply"
    joined = "\n".join(r.text for r in turn.replies)
    assert app.catalog.topics["asylum_apply"].answer.get(language) in joined
    assert "5" in joined  # the 5-day limit is in the asylum answer itself
    options = [o.payload for o in turn.replies[-1].options]
    assert options[0] == payloads.topic("detention_deportation")
    assert payloads.LAWYER in options


@ONE_DATABASE
async def test_an_unsure_urgent_story_leads_with_the_danger_header_not_a_neutral_menu(
    app: App,
    database_url: str,
    rasa_settings,
    detector,  # type: ignore[no-untyped-def]
) -> None:
    from bot.app import create_app
    from bot.core.messages import IncomingMessage
    from tests.conftest import make_settings

    # Nothing is answered outright, so the safety-first rule alone decides what comes first.
    unsure = await create_app(make_settings(database_url, rasa_settings, answer_threshold=1.0), detector=detector)
    try:
        text = "Мой брат работает на стройке. Вчера его забрали полицейские и говорят, что вышлют из страны."
        turn = await unsure.conversation.handle(IncomingMessage("test", "unsure", text))
    finally:
        await unsure.close()
    unhcr = next(o for o in app.catalog.directory.organisations if "unhcr" in o.kinds and o.phones)
    assert "полици" in turn.replies[0].text.lower()
    assert unhcr.phones[0] in turn.replies[0].text
    options = [o.payload for o in turn.replies[-1].options]
    assert options[0] == payloads.topic("detention_deportation")
    assert payloads.LAWYER in options
