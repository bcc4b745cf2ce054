"""The Telegram session keeps the response models aiogram builds, so answers do not rebuild them."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import AiogramError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteWebhook,
    GetMe,
    SendDocument,
    SendMessage,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import BotCommand, BufferedInputFile, Message
from pydantic._internal import _generics

from bot.channels.telegram.render import keyboard
from bot.channels.telegram.session import JsonSession, KeptResponseTypesSession
from bot.core.messages import Option

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

ANSWER = json.dumps(
    {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "hello"}}
)


def test_a_collection_between_answers_does_not_rebuild_the_response_model(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    create = _generics.create_generic_submodel

    def counted(model_name: str, *args: object) -> object:
        built.append(model_name)
        return create(model_name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_generics, "create_generic_submodel", counted)
    session = KeptResponseTypesSession()
    bot = Bot("42:TEST", session=session)
    method = SendMessage(chat_id=7, text="hello")
    for _ in range(3):
        result = session.check_response(bot, method, 200, ANSWER).result
        assert result is not None and result.text == "hello"
        gc.collect()  # what freed aiogram's Response[Message] between two requests
    assert len(built) <= 1, f"the response model was built {len(built)} times"


def _as_telegram_reads(fields: dict[str, Any]) -> dict[str, Any]:
    """A request's fields as the Bot API reads them: text as it is, a JSON value as its JSON text, parsed."""
    texts = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return {k: json.loads(v) if v[:1] in "[{" else v for k, v in texts.items()}


def _form_fields(session: JsonSession, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The fields of the url-encoded form aiogram's own session sends for `method`."""
    payload = session.build_form_data(bot, method)()
    return dict(parse_qsl(payload._value.decode(), keep_blank_values=True))


def _bot(session: JsonSession) -> Bot:
    defaults = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)
    return Bot("42:TEST", session=session, default=defaults)


@pytest.mark.parametrize(
    "method",
    [
        SendMessage(
            chat_id=777,
            text="Вы можете подать заявление <b>в течение</b> 5 дней & «кавычки» " * 20,
            reply_markup=keyboard(
                (Option("Обжалование", "topic:appeal"), Option("Юрист", "lawyer")), token="42:TEST", chat_id=777
            ),
        ),
        SendMessage(chat_id="@channel", text="plain", disable_notification=False),
        AnswerCallbackQuery(callback_query_id="cb1", text="Готово", show_alert=True),
        DeleteMessage(chat_id=777, message_id=1001),
        SetMyCommands(commands=[BotCommand(command="start", description="Бастау")], language_code="kk"),
        SetWebhook(url="https://pana.example.org/telegram/webhook", allowed_updates=["message"], secret_token="s"),
        DeleteWebhook(drop_pending_updates=False),
    ],
    ids=lambda method: type(method).__name__,
)
def test_a_json_request_carries_what_aiogram_s_form_carries(method: TelegramMethod[Any]) -> None:
    """Same fields, same values once read as Telegram reads each encoding (defaults resolved, empties left out)."""
    session = JsonSession()
    bot = _bot(session)
    body = session.json_body(bot, method)
    assert body is not None
    assert _as_telegram_reads(json.loads(body)) == _as_telegram_reads(_form_fields(session, bot, method))


def test_a_request_with_a_file_keeps_aiogram_s_multipart_form() -> None:
    session = JsonSession()
    document = SendDocument(chat_id=777, document=BufferedInputFile(b"%PDF-", filename="answer.pdf"))
    assert session.json_body(_bot(session), document) is None


def _error_answer(status: int, description: str, **parameters: int) -> bytes:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body).encode()


SENT = SendMessage(chat_id=7, text="hello")
PRESSED = AnswerCallbackQuery(callback_query_id="cb1")
ANSWERS = [
    (SENT, 429, _error_answer(429, "Too Many Requests: retry after 3", retry_after=3)),
    (SENT, 400, _error_answer(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-100123)),
    (SENT, 400, _error_answer(400, "Bad Request: chat not found")),
    (SENT, 403, _error_answer(403, "Forbidden: bot was blocked by the user")),
    (SENT, 401, _error_answer(401, "Unauthorized")),
    (SENT, 404, _error_answer(404, "Not Found")),
    (SENT, 409, _error_answer(409, "Conflict")),
    (SENT, 413, _error_answer(413, "Request Entity Too Large")),
    (SENT, 500, _error_answer(500, "Internal Server Error: restart")),
    (SENT, 502, _error_answer(502, "Bad Gateway")),
    (SENT, 418, _error_answer(418, "I'm a teapot")),
    (SENT, 200, b"<html>not JSON</html>"),
    (SENT, 200, b'{"ok": true, "result": {"message_id": "1", "date": 0}}'),  # not a message: aiogram's error
    (SENT, 200, b'{"ok": false, "error_code": 200, "description": "odd"}'),
    (PRESSED, 400, _error_answer(400, "Bad Request: query is too old")),
    (PRESSED, 200, b'{"ok": true, "result": "yes"}'),
]


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call returned, or the type and attributes of what it raised (the method aside)."""
    try:
        return "returned", call()
    except AiogramError as error:
        found = {k: str(v) if isinstance(v, Exception) else v for k, v in vars(error).items() if k != "method"}
        return type(error).__name__, found


@pytest.mark.parametrize(
    ("method", "status", "content"), ANSWERS, ids=[f"{type(m).__name__}-{s}-{i}" for i, (m, s, _) in enumerate(ANSWERS)]
)
def test_an_error_or_odd_answer_ends_as_in_aiogram(method: TelegramMethod[Any], status: int, content: bytes) -> None:
    session = JsonSession()
    bot = _bot(session)
    by_aiogram = _outcome(lambda: session.check_response(bot, method, status, content.decode()).result)
    assert by_aiogram[0] != "returned" or method is PRESSED, "an error, or an answer aiogram reads leniently"
    assert _outcome(lambda: session.answer(bot, method, status, content)) == by_aiogram


def test_a_sent_message_is_built_with_its_id_and_chat_bound_to_the_bot() -> None:
    session = JsonSession()
    bot = _bot(session)
    content = json.dumps(
        {
            "ok": True,
            "result": {
                "message_id": 4242,
                "from": {"id": 42, "is_bot": True, "first_name": "Pana"},
                "date": 1764600000,
                "chat": {"id": 7, "type": "private", "first_name": "Test"},
                "text": "Ответ " * 300,
                "reply_markup": {"inline_keyboard": [[{"text": "Юрист", "callback_data": "o|lawyer|AAAAAAAA"}]]},
            },
        }
    ).encode()
    full = session.check_response(bot, SENT, 200, content.decode()).result
    lean = session.answer(bot, SENT, 200, content)
    assert isinstance(lean, Message) and full is not None
    assert (lean.message_id, lean.chat.id, lean.chat.type, lean.date) == (
        full.message_id,
        full.chat.id,
        full.chat.type,
        full.date,
    )
    assert lean.bot is bot


@pytest.mark.parametrize("result", [True, False])
def test_a_pressed_button_s_answer_is_the_boolean_sent(result: bool) -> None:
    session = JsonSession()
    content = json.dumps({"ok": True, "result": result}).encode()
    assert session.answer(_bot(session), PRESSED, 200, content) is result


def test_a_method_pana_reads_whole_is_built_by_aiogram() -> None:
    session = JsonSession()
    bot = _bot(session)
    content = json.dumps({"ok": True, "result": {"id": 42, "is_bot": True, "first_name": "Pana", "username": "p"}})
    me = session.answer(bot, GetMe(), 200, content.encode())
    assert me == session.check_response(bot, GetMe(), 200, content).result
