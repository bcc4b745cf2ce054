"""Slash-command syntax shared by users' and lawyers' commands on every channel."""

from __future__ import annotations


def parse_command(text: str) -> tuple[str, str] | None:
    """("take", "12") for "/take 12" or "/take@PanaBot 12"; None when the text is not a command."""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    name = words[0].split("@")[0].lower() if words else ""
    return (name, words[1].strip() if len(words) > 1 else "") if name else None
