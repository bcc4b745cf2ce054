"""Buttons are acted on only when Pana issued them, into the chat they were pressed in."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import CallbackQuery

from bot.channels.telegram.callbacks import own_private_chat, pack, verified_payload
from tests.telegram.fake_bot_api import TOKEN, button_press

pytestmark = pytest.mark.fast

PERSON = 777
GROUP = -1001234567890


def query(data: str, *, presser: int = PERSON, chat: dict[str, Any] | None = None) -> CallbackQuery:
    update = button_press(1, data, chat_id=presser)
    if chat is not None:
        update["callback_query"]["message"]["chat"] = chat
    return CallbackQuery.model_validate(update["callback_query"])


def test_a_button_pana_issued_in_this_chat_is_accepted() -> None:
    pressed = query(pack(TOKEN, PERSON, "topic:asylum_apply"))
    assert verified_payload(TOKEN, pressed) == "topic:asylum_apply"
    assert own_private_chat(pressed)


@pytest.mark.parametrize(
    "data",
    [
        "o|topic:asylum_apply",  # the unsigned format of older versions, or a forgery
        "o|case:consent:-:a|AAAAAAAA",  # made up
        pack(TOKEN, PERSON, "topic:asylum_apply").replace("asylum_apply", "detention"),  # payload changed
        pack("another:token", PERSON, "topic:asylum_apply"),  # another server's key
        pack(TOKEN, 778, "topic:asylum_apply"),  # issued into another chat
        "o|a|b|c",
        "",
        "\udcff",
        "x" * 64,
    ],
)
def test_anything_else_is_refused(data: str) -> None:
    assert verified_payload(TOKEN, query(data)) is None


def test_a_consent_button_in_the_lawyers_group_is_not_the_persons_conversation() -> None:
    group = {"id": GROUP, "type": "supergroup", "title": "Lawyers"}
    consent = query(pack(TOKEN, GROUP, "case:consent:-:a"), chat=group)
    assert not own_private_chat(consent), "a group's button never opens a case for the group"
    private = {"id": PERSON, "type": "private", "first_name": "Test"}
    someone_elses = query(pack(TOKEN, PERSON, "case:consent:-:a"), presser=999, chat=private)
    assert not own_private_chat(someone_elses)
