"""An IntentClassifier that knows only the texts a test scripted, and fails loudly on any other."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.ports import Classification, IntentScore
from bot.errors import NluUnavailable


class UnscriptedText(AssertionError):
    """A test sent a text its classifier was not told about: script it, do not guess."""


class ScriptedClassifier:
    """`{text: intent}` answers with that intent at full confidence; `{text: ((intent, confidence), ...)}` ranks."""

    def __init__(self, script: Mapping[str, str | tuple[tuple[str, float], ...]]) -> None:
        self._script = dict(script)
        self.down = False  # True makes every call raise NluUnavailable, like a stopped Rasa server
        self.seen: list[str] = []

    async def classify(self, text: str) -> Classification:
        if self.down:
            raise NluUnavailable("the scripted NLU is down")
        if text not in self._script:
            raise UnscriptedText(f"no scripted classification for {text!r}")
        self.seen.append(text)
        answer = self._script[text]
        ranking = ((answer, 1.0),) if isinstance(answer, str) else answer
        return Classification(tuple(IntentScore(name, confidence) for name, confidence in ranking))
