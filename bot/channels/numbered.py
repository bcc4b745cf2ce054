"""Options as a numbered list, for channels without buttons: the user answers with a number or the words."""

from __future__ import annotations

from bot.core.messages import Option, Reply, Turn
from bot.core.numbers import parse_number


def render_numbered(reply: Reply, number: str = "{}.") -> str:
    """The reply's text, then its options one per line; `number` formats each number (e.g. bold)."""
    if not reply.options:
        return reply.text
    lines = [f"{number.format(n)} {option.label}" for n, option in enumerate(reply.options, start=1)]
    return reply.text + "\n\n" + "\n".join(lines)


def resolve_choice(text: str, options: tuple[Option, ...]) -> str | None:
    """The payload a user meant by "2" or by typing an option's label; None if they meant neither."""
    answer = text.strip().rstrip(".)").strip().lower()
    number = parse_number(answer)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1].payload
    return next((o.payload for o in options if o.label.lower() == answer), None)


def numbered_options(turn: Turn) -> tuple[Option, ...] | None:
    """The options a number in the user's next message refers to; None when the turn shows none."""
    last = next((reply for reply in reversed(turn.replies) if reply.options), None)
    return last.options if last else None
