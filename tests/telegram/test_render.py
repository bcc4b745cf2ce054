"""Router-level and rendering checks: splitting, escaping, callback data within Telegram's limits."""

from __future__ import annotations

import re

import pytest

from bot.channels.telegram.callbacks import OptionCallback
from bot.channels.telegram.convert import start_payload
from bot.channels.telegram.render import as_html, keyboard, split_text
from bot.content.loader import load_catalog
from bot.core import payloads
from bot.core.messages import Option
from bot.handoff.cards import take_payload
from bot.handoff.notices import consent_payload
from bot.records.cases import Reason
from tests.conftest import REPO
from tests.telegram.fake_bot_api import TOKEN

pytestmark = pytest.mark.fast  # no Rasa, no database, no network


def test_long_text_is_split_at_paragraphs_under_the_limit() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    parts = split_text("\n\n".join(paragraphs))
    assert len(parts) > 1
    assert all(len(as_html(p)) <= 4096 for p in parts)
    assert all(p.startswith("Paragraph") for p in parts), "no paragraph is cut in the middle"
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", "".join(paragraphs)), "nothing lost"


def test_text_without_breaks_is_still_split() -> None:
    parts = split_text("x" * 9000)
    assert [len(p) for p in parts] == [4000, 4000, 1000]


def test_user_and_content_text_is_escaped() -> None:
    assert as_html("<b>Tom & Jerry</b>") == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"


def test_every_option_the_content_can_produce_fits_callback_data() -> None:
    catalog = load_catalog(REPO / "content")
    options = [Option("x", payloads.more(t.id, f.id)) for t in catalog.topics.values() for f in t.followups]
    options += [Option("x", payloads.topic(t)) for t in catalog.topics]
    options += [Option("x", payloads.category(c.id)) for c in catalog.menu.categories]
    options += [Option("x", consent_payload(t, reason)) for t in catalog.topics for reason in Reason]
    options.append(Option("x", take_payload(999_999_999)))
    markup = keyboard(tuple(options), token=TOKEN, chat_id=-1001234567890)
    assert markup is not None
    for row in markup.inline_keyboard:
        data = row[0].callback_data or ""
        assert len(data.encode()) <= 64
        assert OptionCallback.unpack(data).payload


def test_deep_links_preselect_language_or_topic() -> None:
    topics = frozenset({"asylum_apply"})
    assert start_payload("/start kk", topics) == payloads.language("kk")
    assert start_payload("/start asylum_apply", topics) == payloads.topic("asylum_apply")
    assert start_payload("/start", topics) is None
    assert start_payload("/start <script>", topics) is None
