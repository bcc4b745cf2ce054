"""Replies as WhatsApp messages: options as a numbered list, parts under Twilio's 1600 characters.

The core's texts are plain; WhatsApp's own formatting marks only the option numbers (`*1.*` is bold).
"""

from __future__ import annotations

from bot.channels.numbered import render_numbered
from bot.channels.split import split_text
from bot.core.messages import Reply, Turn

WHATSAPP_LIMIT = 1600  # Twilio refuses longer bodies (error 21617)
BOLD_NUMBER = "*{}.*"


def render_reply(reply: Reply) -> list[str]:
    """One reply as message bodies; the numbered options stay with the end of the text."""
    return split_text(render_numbered(reply, BOLD_NUMBER), WHATSAPP_LIMIT)


def render_turn(turn: Turn) -> list[str]:
    return [body for reply in turn.replies for body in render_reply(reply)]
