"""Simulated people: what each one says and presses, on Telegram or WhatsApp, one turn at a time.

A person waits for Pana's answer before the next step, as people do, so a person's messages never overtake
each other; concurrency comes from many people at once. Every request has a time limit.
"""

from __future__ import annotations

import gettext
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
from twilio.request_validator import RequestValidator

from bench.standins import BenchBotApi, BenchTwilioApi
from bot.core.payloads import LAWYER
from bot.nlu.testset import Example
from bot.settings import PanaSettings
from tests.telegram.fake_bot_api import button_press, private_message, signed
from tests.whatsapp.fake_twilio_api import AUTH_TOKEN, inbound_message_form

Channel = Literal["telegram", "whatsapp"]
Kind = Literal["question", "option", "lawyer", "consent"]
NUMBERED = re.compile(r"^\*(\d+)\.\* (.+)$", re.MULTILINE)
CONSENT_LABEL = "Yes, share it with a lawyer"
# Options a benchmark person never presses: they would delete the person or open a case outside the handoff share.
# Pana's buttons carry "o|<payload>|<signature>", so a prefix of the packed data names the payload.
SKIPPED_PAYLOADS = ("o|lawyer", "o|forget", "o|delete", "o|case:")
# A person comes back no sooner than Pana's flood window after their last visit ended. Without it a returning
# person could be drawn again and again while the level runs (one visit takes a fraction of a second at 8 people),
# send more than the flood limit within the window and be silenced by the flood guard: a "no reply" that measures
# the bench, not Pana. People who read the answers do not write 11 messages in 10 seconds.
REST_SECONDS: float = PanaSettings.model_fields["flood_window_seconds"].default


@dataclass(frozen=True)
class Plan:
    """What one person will do in one visit."""

    channel: Channel
    person: int
    language: str
    questions: tuple[str, ...]
    press_option: bool
    handoff: bool
    returning: bool


@dataclass
class Outcome:
    """One request: its kind, whether Pana answered it, and its latencies (seconds)."""

    channel: Channel
    kind: Kind
    ok: bool
    latency: float  # the request (Telegram: the whole turn; WhatsApp: until Twilio got its 200)
    first_reply: float | None = None  # WhatsApp: until the first reply reached the Twilio stand-in
    error: str | None = None
    text: str | None = None  # the free text sent, for the Rasa-alone phase


@dataclass
class Planner:
    """Draws visits from the held-out texts with a seeded generator: the same seed, the same run."""

    examples: list[Example]
    rng: random.Random
    whatsapp_share: float
    option_share: float
    handoff_share: float
    returning_share: float
    clock: Callable[[], float] = time.monotonic
    rest_seconds: float = REST_SECONDS
    _next_person: int = 1
    _seen: dict[Channel, list[int]] = field(default_factory=lambda: {"telegram": [], "whatsapp": []})
    _busy: set[int] = field(default_factory=set)  # a person talks in one visit at a time
    _left: dict[int, float] = field(default_factory=dict)  # when each person's last visit ended (clock)

    def next_plan(self) -> Plan:
        channel: Channel = "whatsapp" if self.rng.random() < self.whatsapp_share else "telegram"
        rested = self.clock() - self.rest_seconds
        idle = [p for p in self._seen[channel] if p not in self._busy and self._left.get(p, rested) <= rested]
        returning = bool(idle) and self.rng.random() < self.returning_share
        if returning:
            person = self.rng.choice(idle)
        else:
            person, self._next_person = self._next_person, self._next_person + 1
            self._seen[channel].append(person)
        example = self.rng.choice(self.examples)
        same_language = [e for e in self.examples if e.language == example.language]
        questions = (example.text,) if returning else (example.text, self.rng.choice(same_language).text)
        self._busy.add(person)
        return Plan(
            channel=channel,
            person=person,
            language=example.language,
            questions=questions,
            press_option=self.rng.random() < self.option_share,
            handoff=not returning and self.rng.random() < self.handoff_share,
            returning=returning,
        )

    def done(self, plan: Plan) -> None:
        self._busy.discard(plan.person)
        self._left[plan.person] = self.clock()


def consent_labels(locales_dir: Path) -> set[str]:
    """The consent option's label in every catalog language, to find it in WhatsApp's numbered list."""
    labels = {CONSENT_LABEL}
    for language in ("kk", "ru", "en"):
        catalog = gettext.translation("messages", localedir=str(locales_dir), languages=[language], fallback=True)
        labels.add(catalog.gettext(CONSENT_LABEL))
    return labels


def lawyer_press(update_id: int, chat_id: int, language: str) -> dict[str, Any]:
    """The "lawyer" button pressed, signed for this chat as Pana signs the buttons it sends (else refused)."""
    return button_press(update_id, signed(LAWYER, chat_id), chat_id=chat_id, language=language)


class TelegramPerson:
    """A Telegram user whose updates are posted to a worker's webhook, as Telegram posts them."""

    def __init__(self, session: aiohttp.ClientSession, api: BenchBotApi, url: str, secret: str, update_ids: Any):
        self._session, self._api, self._url, self._secret, self._update_ids = session, api, url, secret, update_ids

    async def visit(self, plan: Plan, rng: random.Random, limit: float) -> list[Outcome]:
        chat_id = 10_000_000 + plan.person
        outcomes = [
            await self._post(
                private_message(next(self._update_ids), plan.questions[0], chat_id=chat_id, language=plan.language),
                "question",
                limit,
                plan.questions[0],
            )
        ]
        if plan.press_option and outcomes[-1].ok:
            data = self._pick(self._last_buttons(chat_id), rng)
            if data:
                outcomes.append(await self._press(data, chat_id, plan.language, "option", limit))
        for text in plan.questions[1:]:
            outcomes.append(
                await self._post(
                    private_message(next(self._update_ids), text, chat_id=chat_id, language=plan.language),
                    "question",
                    limit,
                    text,
                )
            )
        if plan.handoff:
            outcomes.append(
                await self._post(lawyer_press(next(self._update_ids), chat_id, plan.language), "lawyer", limit, None)
            )
            consent = [d for d in self._last_buttons(chat_id) if d.startswith("o|case:consent")]
            if consent:
                outcomes.append(await self._press(consent[0], chat_id, plan.language, "consent", limit))
        return outcomes

    async def _press(self, data: str, chat_id: int, language: str, kind: Kind, limit: float) -> Outcome:
        return await self._post(
            button_press(next(self._update_ids), data, chat_id=chat_id, language=language), kind, limit, None
        )

    def _last_buttons(self, chat_id: int) -> list[str]:
        for sent in reversed(self._api.by_chat.get(str(chat_id), [])):
            markup = sent.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if rows:
                return [str(b["callback_data"]) for row in rows for b in row if "callback_data" in b]
        return []

    @staticmethod
    def _pick(buttons: list[str], rng: random.Random) -> str | None:
        usable = [b for b in buttons if not b.startswith(SKIPPED_PAYLOADS)]
        return rng.choice(usable) if usable else None

    async def _post(self, update: dict[str, Any], kind: Kind, limit: float, text: str | None) -> Outcome:
        message = update.get("message")
        chat = str(message["chat"]["id"] if message else update["callback_query"]["from"]["id"])
        before = len(self._api.by_chat.get(chat, []))
        headers = {"X-Telegram-Bot-Api-Secret-Token": self._secret, "Content-Type": "application/json"}
        started = time.monotonic()
        try:
            async with self._session.post(
                self._url, data=json.dumps(update), headers=headers, timeout=aiohttp.ClientTimeout(total=limit)
            ) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as error:
            return Outcome("telegram", kind, False, time.monotonic() - started, error=type(error).__name__, text=text)
        latency = time.monotonic() - started
        if status != 200:
            return Outcome("telegram", kind, False, latency, error=f"HTTP {status}", text=text)
        answered = len(self._api.by_chat.get(chat, [])) > before
        return Outcome("telegram", kind, answered, latency, error=None if answered else "no reply", text=text)


class WhatsAppPerson:
    """A WhatsApp user whose messages are posted to a worker's webhook signed as Twilio signs them."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api: BenchTwilioApi,
        url: str,
        public_url: str,
        labels: set[str],
        message_ids: Any,
    ):
        self._session, self._api, self._url, self._public_url = session, api, url, public_url
        self._validator = RequestValidator(AUTH_TOKEN)
        self._labels, self._message_ids = labels, message_ids

    async def visit(self, plan: Plan, rng: random.Random, limit: float) -> list[Outcome]:
        number = f"+7700{plan.person:07d}"
        outcomes = [await self._send(number, plan.questions[0], "question", limit, settle=plan.press_option)]
        if plan.press_option and outcomes[-1].ok:
            options = self._last_options(number)
            usable = [n for n, label in options.items() if label not in self._labels and not label.startswith("/")]
            if usable:
                outcomes.append(await self._send(number, rng.choice(usable), "option", limit))
        for text in plan.questions[1:]:
            outcomes.append(await self._send(number, text, "question", limit))
        if plan.handoff:
            outcomes.append(await self._send(number, "/lawyer", "lawyer", limit, settle=True))
            yes = [n for n, label in self._last_options(number).items() if label in self._labels]
            if yes:
                outcomes.append(await self._send(number, yes[0], "consent", limit))
        return outcomes

    def _last_options(self, number: str) -> dict[str, str]:
        for arrival in reversed(self._api.by_recipient.get(f"whatsapp:{number}", [])):
            found = NUMBERED.findall(arrival.body)
            if found:
                return {n: label.strip() for n, label in found}
        return {}

    async def _send(self, number: str, text: str, kind: Kind, limit: float, *, settle: bool = False) -> Outcome:
        recipient = f"whatsapp:{number}"
        seen = len(self._api.by_recipient.get(recipient, []))
        sid = f"SM{next(self._message_ids):032x}"
        form = inbound_message_form(sid, number, text, profile="Bench")
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(self._public_url + "/whatsapp/webhook", form)
        }
        free_text = text if kind == "question" else None
        started = time.monotonic()
        try:
            async with self._session.post(
                self._url, data=form, headers=headers, timeout=aiohttp.ClientTimeout(total=limit)
            ) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as error:
            return Outcome(
                "whatsapp", kind, False, time.monotonic() - started, error=type(error).__name__, text=free_text
            )
        latency = time.monotonic() - started
        if status != 200:
            return Outcome("whatsapp", kind, False, latency, error=f"HTTP {status}", text=free_text)
        arrival = await self._api.wait_beyond(recipient, seen, max(0.0, limit - latency))
        if arrival is None:
            return Outcome("whatsapp", kind, False, latency, error="no reply", text=free_text)
        if settle:  # the numbered options come with the last reply of the turn
            await self._api.settle(recipient)
        return Outcome("whatsapp", kind, True, latency, first_reply=arrival.at - started, text=free_text)
