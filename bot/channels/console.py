"""The terminal chat: interactive, or one JSON object per reply for scripts (`--jsonl`)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TextIO

from aiohttp import web

from bot.channels.commands import command_payload
from bot.channels.numbered import numbered_options, render_numbered, resolve_choice
from bot.core.messages import IncomingMessage, Option, Reply, Turn
from bot.core.ports import ContactRecord, Dialogue
from bot.languages import Language

CHANNEL = "console"


class ConsoleChannel:
    """One person at a terminal (a `Channel`, bot/channels/base.py): no webhooks, nothing to start or stop."""

    name = CHANNEL
    replay = None  # a terminal keeps no platform message ids: there is nothing to recover

    def __init__(
        self, conversation: Dialogue, *, user_id: str = "local", jsonl: bool = False, sink: TextIO = sys.stdout
    ) -> None:
        self._conversation = conversation
        self._user_id = user_id
        self._options: tuple[Option, ...] = ()
        self.sender = ConsoleSender(self, jsonl=jsonl, sink=sink)

    def install(self, web_app: web.Application) -> None:
        """A terminal has no webhook."""

    async def start(self) -> None:
        """`run_interactive` or `run_jsonl` reads the terminal; nothing runs in the background."""

    async def stop(self) -> None:
        """Nothing runs in the background."""

    @property
    def user_id(self) -> str:
        return self._user_id

    def offer(self, options: tuple[Option, ...]) -> None:
        """A message that came on its own (a lawyer's, a case notice) offered these: numbers now pick them."""
        if options:
            self._options = options

    def to_message(self, line: str) -> IncomingMessage:
        payload = command_payload(line.strip()) or resolve_choice(line, self._options)
        return IncomingMessage(channel=CHANNEL, user_id=self._user_id, text=line, payload=payload)

    async def send(self, line: str) -> Turn:
        turn = await self._conversation.handle(self.to_message(line))
        await self._conversation.delivered(turn)  # the caller prints it; a terminal has no redelivery
        self._options = numbered_options(turn) or ()
        return turn

    async def run_jsonl(self, source: TextIO, sink: TextIO) -> None:
        for raw in source:
            turn = await self.send(raw.rstrip("\n"))
            for reply in turn.replies:
                sink.write(json.dumps(turn_json(turn, reply.text, reply.options), ensure_ascii=False) + "\n")
            sink.flush()

    async def run_interactive(self) -> None:
        print("Pana — write a question in Kazakh, Russian or English. Numbers pick options. /quit to leave.")
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except EOFError:
                return
            if line.strip() in {"/quit", "/exit"}:
                return
            turn = await self.send(line)
            for reply in turn.replies:
                print("\n" + render_numbered(reply) + "\n", file=sys.stdout)


def turn_json(turn: Turn, text: str, options: tuple[Option, ...]) -> dict[str, object]:
    return {
        "language": turn.language,
        "intent": turn.intent,
        "confidence": None if turn.confidence is None else round(turn.confidence, 4),
        "topic": turn.topic,
        "text": text,
        "options": [{"label": o.label, "payload": o.payload} for o in options],
        "handoff": turn.handoff,
    }


class ConsoleSender:
    """The `UserSender` of `pana chat`: a lawyer's answer shows up in the terminal of the person it is for."""

    def __init__(self, channel: ConsoleChannel, *, jsonl: bool, sink: TextIO = sys.stdout) -> None:
        self._channel = channel
        self._jsonl = jsonl
        self._sink = sink

    async def send(
        self,
        contact: ContactRecord,
        text: str,
        language: Language,
        options: tuple[Option, ...] = (),
        *,
        relay_id: int | None = None,
    ) -> bool:
        if contact.channel != CHANNEL or contact.platform_id != self._channel.user_id:
            return False  # another terminal's user: their own `pana chat` delivers it
        self._channel.offer(options)
        if self._jsonl:
            line = {**turn_json(Turn(language, ()), text, options), "intent": "handoff"}
            self._sink.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            self._sink.write("\n" + render_numbered(Reply(text, options)) + "\n")
        self._sink.flush()
        return True
