"""The confidence policy: answer, ask back with options, or say what Pana covers.

The thresholds come from settings (bot/settings.py `PolicySettings`), tuned on the held-out set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot.core.ports import Classification

OUT_OF_SCOPE = "out_of_scope"
MAX_SUGGESTIONS = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float  # at or above: answer the top intent
    suggest: float  # at or above (and below answer): offer the likeliest topics as options
    out_of_scope: float  # out_of_scope on top at or above this: say what Pana covers


class Action(Enum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    OUT_OF_SCOPE = "out_of_scope"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    intent: str | None
    confidence: float | None
    suggestions: tuple[str, ...] = ()


def decide(result: Classification, thresholds: Thresholds, is_topic: Callable[[str], bool]) -> Decision:
    top = result.top
    if top is None:
        return Decision(Action.NOT_UNDERSTOOD, None, None)
    if top.name == OUT_OF_SCOPE:
        if top.confidence >= thresholds.out_of_scope:
            return Decision(Action.OUT_OF_SCOPE, top.name, top.confidence)
    elif top.confidence >= thresholds.answer:
        return Decision(Action.ANSWER, top.name, top.confidence)
    likely = tuple(s.name for s in result.ranking if is_topic(s.name) and s.confidence >= thresholds.suggest / 2)[
        :MAX_SUGGESTIONS
    ]
    if top.confidence >= thresholds.suggest and likely:
        return Decision(Action.SUGGEST, top.name, top.confidence, likely)
    return Decision(Action.NOT_UNDERSTOOD, top.name, top.confidence, likely)
