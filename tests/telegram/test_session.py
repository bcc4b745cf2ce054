"""The Telegram session keeps the response models aiogram builds, so answers do not rebuild them."""

from __future__ import annotations

import gc
import json

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage
from pydantic._internal import _generics

from bot.channels.telegram.session import KeptResponseTypesSession

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
