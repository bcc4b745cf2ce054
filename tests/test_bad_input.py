"""Bad input gets a clear, polite answer in the user's language and loses nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.storage.repository import MAX_STORED_CHARS
from bot.storage.tables import MessageRow
from tests.conftest import Say, record

pytestmark = pytest.mark.asyncio


async def _inbound(app: App) -> list[MessageRow]:
    async with record(app)() as session:
        query = select(MessageRow).where(MessageRow.direction == "in").order_by(MessageRow.id)
        return list((await session.execute(query)).scalars().all())


async def test_empty_message_gets_a_polite_request_for_words(say: Say, app: App) -> None:
    turn = await say("   ", language_hint="ru")
    assert turn.language == "ru"
    assert "пуст" in turn.replies[0].text.lower()
    assert turn.replies[0].options
    assert len(await _inbound(app)) == 1


async def test_huge_message_is_answered_and_kept_within_bounds(say: Say, app: App) -> None:
    story = "Я приехал из Афганистана три года назад, живу в Алматы с семьёй. " * 320
    turn = await say(story + "Как подать на статус беженца?")
    assert len(story) > 20_000
    assert turn.language == "ru"
    assert turn.replies and all(r.text for r in turn.replies)
    stored = await _inbound(app)
    assert 0 < len(stored[0].text) <= MAX_STORED_CHARS


async def test_emoji_only_message_is_not_an_error(say: Say) -> None:
    turn = await say("🙏😢🙏", language_hint="kk")
    assert turn.language == "kk"
    assert turn.replies[0].text
    assert turn.replies[0].options


async def test_control_characters_are_dropped(say: Say, app: App) -> None:
    turn = await say("\x00\x07How do I apply\x1b for asylum?\x00")
    assert turn.topic == "asylum_apply"
    stored = await _inbound(app)
    assert "\x00" not in stored[0].text and "\x1b" not in stored[0].text


async def test_voice_note_is_answered_in_the_remembered_language(say: Say) -> None:
    await say("Здравствуйте, мне нужна помощь с документами", user="voice")
    turn = await say("", user="voice", attachment="voice")
    assert turn.language == "ru"
    assert "голос" in turn.replies[0].text.lower()


async def test_unknown_option_payload_shows_the_menu(say: Say) -> None:
    turn = await say(payload="topic:not_a_topic", language_hint="en")
    assert turn.replies[0].options
