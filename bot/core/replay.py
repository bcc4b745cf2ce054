"""A turn's replies as JSON, kept with the inbound message until a channel has sent them."""

from __future__ import annotations

import json
from typing import Any

from bot.core.messages import Option, Outcome, Reply, Turn
from bot.languages import known_or_fallback


def encode_turn(turn: Turn) -> str:
    return json.dumps(
        {
            "language": turn.language,
            "intent": turn.intent,
            "topic": turn.topic,
            "handoff": turn.handoff,
            "replies": [{"text": r.text, "options": [[o.label, o.payload] for o in r.options]} for r in turn.replies],
        },
        ensure_ascii=False,
    )


def decode_turn(stored: str, message_id: int, parts_sent: int = 0) -> Turn:
    data: dict[str, Any] = json.loads(stored)
    language = known_or_fallback(data["language"])
    replies = tuple(
        Reply(r["text"], tuple(Option(label, payload) for label, payload in r["options"])) for r in data["replies"]
    )
    return Turn(
        language,
        replies,
        data.get("intent"),
        topic=data.get("topic"),
        handoff=data.get("handoff"),
        outcome=Outcome.REPLAYED,
        message_id=message_id,
        parts_sent=parts_sent,
    )
