"""Slash commands every channel understands, mapped to core payloads."""

from __future__ import annotations

from bot.core import payloads

COMMANDS: dict[str, str] = {
    "start": payloads.START,
    "help": payloads.HELP,
    "menu": payloads.MENU,
    "language": payloads.LANGUAGE,
    "lawyer": payloads.LAWYER,
    "privacy": payloads.PRIVACY,
    "forget": payloads.FORGET,
}


def command_payload(text: str) -> str | None:
    """`/menu` (or `/menu@PanaBot`) to its payload; None for anything else."""
    if not text.startswith("/"):
        return None
    name = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(text) > 1 else ""
    return COMMANDS.get(name, payloads.HELP if name else None)
