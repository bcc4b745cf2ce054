"""Slash commands every channel understands, mapped to core payloads."""

from __future__ import annotations

from bot.core import payloads
from bot.core.commands import parse_command

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
    """`/menu` (or `/menu@PanaBot`) to its payload, an unknown command to help; None for anything else."""
    command = parse_command(text)
    return COMMANDS.get(command[0], payloads.HELP) if command else None


def is_user_command(text: str | None) -> bool:
    """/start, /menu, /lawyer ...: what every user can write, lawyers included."""
    command = parse_command(text or "")
    return command is not None and command[0] in COMMANDS
