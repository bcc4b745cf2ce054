"""Buttons are acted on only when Pana issued them, into the chat they were pressed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from aiogram.types import CallbackQuery

from bot.channels.telegram.callbacks import SIGNATURE_BYTES, OptionCallback, own_private_chat, pack, verified_payload
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


PAYLOADS = ["topic:asylum_apply", "lang:kk", "case:consent:-:a", "x" * 53, ""]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_buttons_sent_before_the_cheaper_signing_keep_working(payload: str) -> None:
    """The wire format and the signature are the ones aiogram's CallbackData and a fresh HMAC per button made."""
    key = hashlib.sha256(b"pana callback data\0" + TOKEN.encode()).digest()
    sig = hmac.new(key, f"{PERSON}|{payload}".encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    sent_before = OptionCallback(payload=payload, sig=base64.urlsafe_b64encode(sig).decode()).pack()
    assert pack(TOKEN, PERSON, payload) == sent_before
    assert verified_payload(TOKEN, query(sent_before)) == payload


@pytest.mark.parametrize("payload", ["topic|asylum", "x" * 54])
def test_a_payload_aiogram_could_not_pack_is_refused_as_it_was(payload: str) -> None:
    with pytest.raises(ValueError):
        OptionCallback(payload=payload, sig="AAAAAAAA").pack()
    with pytest.raises(ValueError):
        pack(TOKEN, PERSON, payload)
