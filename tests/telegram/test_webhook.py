"""End to end: real Update JSON posted to the webhook, the real aiogram Bot talking to the stand-in."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.storage.tables import ContactRow, MessageRow
from tests.conftest import record
from tests.telegram.conftest import TelegramStack
from tests.telegram.fake_bot_api import button_payload, button_press, private_message, signed

pytestmark = pytest.mark.asyncio


async def _counts(stack: TelegramStack) -> tuple[int, int]:
    async with record(stack.app)() as session:
        contacts = await session.scalar(select(func.count()).select_from(ContactRow))
        messages = await session.scalar(select(func.count()).select_from(MessageRow))
    return int(contacts or 0), int(messages or 0)


@pytest.mark.parametrize(
    ("text", "language", "topic"),
    [
        ("Баламның туу туралы куәлігін қалай аламын?", "kk", "birth_registration"),
        ("Как подать на статус беженца?", "ru", "asylum_apply"),
        ("How do I apply for asylum in Kazakhstan?", "en", "asylum_apply"),
    ],
)
async def test_question_is_answered_in_the_users_language(
    stack: TelegramStack, text: str, language: str, topic: str
) -> None:
    response = await stack.post(private_message(1, text, language=language))
    assert response.status == 200
    sent = await stack.api.wait_for("sendMessage")
    answer = stack.app.catalog.topics[topic].answer.get(language)
    assert sent[0]["text"].startswith(answer.split("\n")[0].replace("&", "&amp;").replace("<", "&lt;")[:60])
    assert sent[0]["chat_id"] == "777"
    assert sent[0]["parse_mode"] == "HTML"
    buttons = [b for row in sent[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert any(button_payload(b["callback_data"]) == "lawyer" for b in buttons)


async def test_bot_api_requests_without_a_file_are_posted_as_json(stack: TelegramStack) -> None:
    """A Cyrillic answer and its keyboard go as one JSON object, not a url-encoded form (session.py)."""
    assert (await stack.post(private_message(1, "Как подать на статус беженца?"))).status == 200
    await stack.api.wait_for("sendMessage")
    sent = [call for call in stack.api.calls if call.method == "sendMessage"]
    assert {call.content_type for call in sent} == {"application/json"}
    assert sent[-1].params["chat_id"] == "777"  # read as Telegram reads JSON: the field as its text
    assert sent[-1].params["reply_markup"]["inline_keyboard"]


async def test_button_press_is_answered_and_acknowledged(stack: TelegramStack) -> None:
    response = await stack.post(button_press(2, signed("topic:asylum_rejected"), language="en"))
    assert response.status == 200
    assert stack.api.sent("answerCallbackQuery")
    sent = await stack.api.wait_for("sendMessage")
    assert sent[0]["text"].startswith(stack.app.catalog.topics["asylum_rejected"].answer.en[:40].replace("&", "&amp;"))


async def test_duplicate_delivery_is_processed_once(stack: TelegramStack) -> None:
    update = private_message(3, "How do I apply for asylum?", language="en")
    assert (await stack.post(update)).status == 200
    assert (await stack.post(update)).status == 200
    sent = await stack.api.wait_for("sendMessage")
    first_batch = len(sent)
    assert first_batch >= 1

    async with record(stack.app)() as session:
        inbound = await session.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.direction == "in"))
    assert inbound == 1
    assert len(stack.api.sent("sendMessage")) == first_batch


async def test_a_reply_telegram_refused_is_sent_when_the_update_comes_again(stack: TelegramStack) -> None:
    update = private_message(13, "How do I apply for asylum?", language="en")
    stack.api.fail_next("sendMessage", status=400)  # not retried in-process: the update fails as a whole
    assert (await stack.post(update)).status == 500
    refused = len(stack.api.sent("sendMessage"))
    assert (await stack.post(update)).status == 200  # Telegram delivers a failed update again
    replayed = stack.api.sent("sendMessage")[refused:]
    assert replayed and replayed[0]["text"] == stack.api.sent("sendMessage")[0]["text"]
    assert (await stack.post(update)).status == 200  # and once more: it was answered, nothing is sent
    assert len(stack.api.sent("sendMessage")) == refused + len(replayed)
    async with record(stack.app)() as session:
        inbound = await session.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.direction == "in"))
    assert inbound == 1


async def test_a_button_press_delivered_again_after_a_failed_send_is_answered(stack: TelegramStack) -> None:
    press = button_press(14, signed("topic:asylum_rejected"), language="en")
    stack.api.fail_next("sendMessage", status=400)
    assert (await stack.post(press)).status == 500
    stack.api.fail_next("answerCallbackQuery", status=400)  # Telegram refuses to answer the same query twice
    assert (await stack.post(press)).status == 200
    sent = stack.api.sent("sendMessage")
    assert sent[-1]["text"] and sent[-1]["text"] == sent[0]["text"], "the kept replies went out"


async def test_a_long_flood_wait_fails_the_update_at_once_and_redelivery_answers(stack: TelegramStack) -> None:
    update = private_message(15, "How do I apply for asylum?", language="en")
    stack.api.fail_next("sendMessage", status=429, retry_after=600)  # not slept through inside a request
    assert (await stack.post(update)).status == 500
    assert (await stack.post(update)).status == 200
    assert len(stack.api.sent("sendMessage")) >= 2


async def test_an_edited_question_is_answered_as_a_new_one(stack: TelegramStack) -> None:
    first = private_message(16, "hello", language="en")
    assert (await stack.post(first)).status == 200
    before = len(await stack.api.wait_for("sendMessage"))
    edited = private_message(17, "How do I apply for asylum?", language="en")
    edited["edited_message"] = {**edited.pop("message"), "message_id": 160, "edit_date": 1_700_000_000}
    assert (await stack.post(edited)).status == 200
    answer = stack.app.catalog.topics["asylum_apply"].answer.en
    assert stack.api.sent("sendMessage")[before]["text"].startswith(answer[:40].replace("&", "&amp;"))


@pytest.mark.parametrize("secret", [None, "wrong", ""])
async def test_missing_or_wrong_secret_is_refused_and_nothing_stored(stack: TelegramStack, secret: str | None) -> None:
    response = await stack.post(private_message(4, "hello", language="en"), secret=secret)
    assert response.status == 401
    assert await _counts(stack) == (0, 0)
    assert stack.api.sent("sendMessage") == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"update_id": "x"}', b"\xff\xfe\x00"])
async def test_malformed_update_gets_400_and_nothing_stored(stack: TelegramStack, body: bytes) -> None:
    response = await stack.client.post(
        "/telegram/webhook",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": "test-secret_123", "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert await _counts(stack) == (0, 0)


@pytest.mark.parametrize("charset", ["x-no-such-charset", "utf-16"])
async def test_an_update_in_a_charset_it_is_not_in_gets_400(stack: TelegramStack, charset: str) -> None:
    body = json.dumps(private_message(5, "hello", language="en")).encode()  # UTF-8, whatever the header says
    response = await stack.client.post(
        "/telegram/webhook",
        data=body,
        headers={
            "X-Telegram-Bot-Api-Secret-Token": "test-secret_123",
            "Content-Type": f"application/json; charset={charset}",
        },
    )
    assert response.status == 400
    assert await _counts(stack) == (0, 0)


async def test_rate_limited_send_is_retried_after_retry_after(stack: TelegramStack) -> None:
    stack.api.fail_next("sendMessage", status=429, retry_after=1)
    response = await stack.post(private_message(5, "hello", language="en"))
    assert response.status == 200
    attempts = stack.api.sent("sendMessage")
    assert len(attempts) >= 2, "the first attempt got 429, the retry went through"
    assert attempts[0]["text"] == attempts[1]["text"]


async def test_voice_note_gets_a_polite_answer_in_the_users_language(stack: TelegramStack) -> None:
    voice = {"file_id": "v1", "file_unique_id": "u1", "duration": 3}
    response = await stack.post(private_message(6, "", language="kk", voice=voice))
    assert response.status == 200
    sent = await stack.api.wait_for("sendMessage")
    assert "дауыстық" in sent[0]["text"]


async def test_sticker_gets_a_polite_answer(stack: TelegramStack) -> None:
    sticker = {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    await stack.post(private_message(7, "", language="en", sticker=sticker))
    sent = await stack.api.wait_for("sendMessage")
    assert "only read text" in sent[0]["text"]


async def test_start_command_with_language_deep_link(stack: TelegramStack) -> None:
    await stack.post(private_message(8, "/start kk", language="ru"))
    sent = await stack.api.wait_for("sendMessage")
    assert "қазақ" in sent[0]["text"].lower()


async def test_commands_map_to_the_core(stack: TelegramStack) -> None:
    await stack.post(private_message(9, "/privacy", language="en"))
    sent = await stack.api.wait_for("sendMessage")
    assert "What Pana keeps" in sent[0]["text"]
    await stack.post(private_message(10, "/unknowncommand", language="en"))
    sent = await stack.api.wait_for("sendMessage", count=2)
    assert sent[1]["reply_markup"]["inline_keyboard"]


async def test_group_messages_are_ignored_unless_addressed(stack: TelegramStack) -> None:
    group = {"id": -100, "type": "supergroup", "title": "Helpers"}
    plain = private_message(11, "how do I apply for asylum", language="en")
    plain["message"]["chat"] = group
    await stack.post(plain)
    addressed = private_message(12, "@PanaTestBot how do I apply for asylum", language="en")
    addressed["message"]["chat"] = group
    await stack.post(addressed)
    sent = await stack.api.wait_for("sendMessage")
    assert len(sent) == 1 and sent[0]["chat_id"] == "-100"
    assert "private chat" in sent[0]["text"]
    assert await _counts(stack) == (0, 0), "group messages are not stored"


async def test_health_reports_each_dependency(stack: TelegramStack) -> None:
    response = await stack.client.get("/healthz")
    body = await response.json()
    assert response.status == 200
    assert body["database"] == "ok" and body["nlu"] == "ok" and body["status"] == "ok"


async def test_recovery_replays_go_through_the_same_dialogue_as_live_updates(stack: TelegramStack) -> None:
    # The sweep's replay once called the bare conversation: no outage reply while the database was away, no metrics.
    assert stack.telegram.conversation is stack.app.dialogue
