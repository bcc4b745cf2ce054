"""Long texts in message-sized parts, cut where a reader would pause."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, then line, then word boundaries so each part fits one message."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or max(window.rfind(" "), 0) or limit
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return [p for p in parts if p]
