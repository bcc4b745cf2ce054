"""The Telegram session keeps the response models aiogram builds, so answers do not rebuild them."""

from __future__ import annotations

import gc
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteWebhook,
    SendDocument,
    SendMessage,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import BotCommand, BufferedInputFile
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
