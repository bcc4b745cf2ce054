"""Rendering and parsing without the network: numbered options, the 1600-character limit, Twilio's forms."""

from __future__ import annotations

import re

import pytest

from bot.channels.numbered import numbered_options
from bot.channels.whatsapp.convert import attachment_kind, parse_inbound, parse_status, to_incoming
from bot.channels.whatsapp.render import WHATSAPP_LIMIT, render_reply
from bot.core import payloads
from bot.core.messages import Option, Reply, Turn
from tests.whatsapp.conftest import inbound_form

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

OPTIONS = (Option("Topics", payloads.MENU), Option("Talk to a lawyer", payloads.LAWYER))


def test_options_become_a_numbered_list_with_bold_numbers() -> None:
    [body] = render_reply(Reply("Choose:", OPTIONS))
    assert body == "Choose:\n\n*1.* Topics\n*2.* Talk to a lawyer"
    assert "<" not in body


def test_long_text_is_split_at_paragraphs_under_1600_with_options_at_the_end() -> None:
    paragraphs = [f"Paragraph {i}. " + "слово " * 60 for i in range(12)]
    parts = render_reply(Reply("\n\n".join(paragraphs), OPTIONS))
    assert len(parts) > 1
    assert all(len(part) <= WHATSAPP_LIMIT for part in parts)
    assert all(part.startswith("Paragraph") for part in parts), "no paragraph is cut in the middle"
    assert parts[-1].endswith("*2.* Talk to a lawyer")
    assert re.sub(r"\s", "", "".join(parts)).startswith(re.sub(r"\s", "", "".join(paragraphs)))


def test_the_last_options_of_a_turn_are_the_ones_numbers_refer_to() -> None:
    turn = Turn("en", (Reply("a", (Option("x", "menu:x"),)), Reply("b", OPTIONS), Reply("c")))
    assert numbered_options(turn) == OPTIONS
    assert numbered_options(Turn("en", (Reply("only text"),))) is None


@pytest.mark.parametrize(
    ("text", "payload"),
    [("2", payloads.LAWYER), (" 1. ", payloads.MENU), ("talk to a LAWYER", payloads.LAWYER), ("/privacy", "privacy")],
)
def test_numbers_words_and_commands_pick_options(text: str, payload: str) -> None:
    message = to_incoming(parse_inbound(inbound_form(text)), OPTIONS)
    assert message.payload == payload
    assert message.channel == "whatsapp" and message.user_id == "+77011234567"
    assert message.language_hint is None, "WhatsApp says nothing about the language"


def test_number_out_of_range_is_just_text() -> None:
    message = to_incoming(parse_inbound(inbound_form("7")), OPTIONS)
    assert (message.payload, message.text) == (None, "7")


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"NumMedia": "1", "MediaContentType0": "audio/ogg; codecs=opus"}, "voice"),
        ({"NumMedia": "1", "MediaContentType0": "image/webp"}, "photo"),
        ({"NumMedia": "2", "MediaContentType0": "video/mp4"}, "video"),
        ({"NumMedia": "1", "MediaContentType0": "text/vcard"}, "document"),
        ({"Latitude": "43.2", "Longitude": "76.9"}, "location"),
        ({"NumMedia": "0"}, None),
    ],
)
def test_attachment_kinds(fields: dict[str, str], kind: str | None) -> None:
    assert attachment_kind(inbound_form("", **fields)) == kind


def test_status_report_reads_our_delivery_id_and_the_error_code() -> None:
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "Undelivered", "ErrorCode": "63016"}
    report = parse_status(form, {"delivery": "12"})
    assert (report.status, report.error_code, report.delivery_id) == ("undelivered", 63016, 12)
    assert parse_status({**form, "ErrorCode": ""}, {}).error_code is None
