"""The confidence policy: answer, ask back with options, or say what Pana covers — safety first.

The thresholds come from settings (bot/settings.py `PolicySettings`), tuned on the held-out set.

Safety first: a frightened person's story often scores below the answer threshold, and a neutral menu
is then the worst reply. When an urgent topic (`is_urgent`: detention, violence, trafficking, emergency)
or asylum_apply (a deadline of days) is among the top guesses at or above `Thresholds.urgent`, the
decision leads with it instead (Action.URGENT), or answers asylum_apply at once when it is the top guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot.core.ports import Classification, IntentScore

OUT_OF_SCOPE = "out_of_scope"
MAX_SUGGESTIONS = 3
TOP_GUESSES = 3  # how deep in the ranking a pressing topic is looked for
ASYLUM_APPLY = "asylum_apply"
# Answering asylum_apply also offers this: someone who has to apply in days is the one at risk of removal.
ASYLUM_COMPANION = "detention_deportation"

IsIntent = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float  # at or above: answer the top intent
    suggest: float  # at or above (and below answer): offer the likeliest topics as options
    out_of_scope: float  # out_of_scope on top at or above this: say what Pana covers
    urgent: float = 1.0  # a pressing topic among the top guesses at or above this leads the reply (1.0: never)


class Action(Enum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    URGENT = "urgent"  # lead with the emergency header (or the asylum deadline), pressing topic offered first
    OUT_OF_SCOPE = "out_of_scope"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    intent: str | None
    confidence: float | None
    suggestions: tuple[str, ...] = ()  # topics offered as options, in this order
    also: tuple[str, ...] = ()  # with ANSWER: topics offered next to the answer


def decide(
    result: Classification, thresholds: Thresholds, is_topic: IsIntent, is_urgent: IsIntent = lambda _: False
) -> Decision:
    """What to do with one classified message; see the module docstring for the safety-first rule."""
    plain = _by_confidence(result, thresholds, is_topic)
    pressing = [s for s in result.ranking[:TOP_GUESSES] if _is_pressing(s, thresholds, is_urgent)]
    if not pressing:
        return _with_companion(plain)
    if plain.action is Action.ANSWER and not is_topic(plain.intent or ""):
        return plain  # greetings, a lawyer request and the like keep their own replies
    if plain.action is Action.ANSWER:  # a confident answer stands; a pressing guess is offered beside it
        also = tuple(s.name for s in pressing if s.name != plain.intent)
        return _with_companion(Decision(plain.action, plain.intent, plain.confidence, also=also))
    lead = pressing[0]
    others = _likely(result, thresholds, is_topic)
    offered = _unique((*(s.name for s in pressing), *others))
    top = result.ranking[0]
    if lead is top and lead.name == ASYLUM_APPLY:  # no side effects, and the answer states the deadline
        return _with_companion(Decision(Action.ANSWER, lead.name, lead.confidence, also=offered[1:MAX_SUGGESTIONS]))
    return Decision(Action.URGENT, lead.name, lead.confidence, offered[:MAX_SUGGESTIONS])


def _by_confidence(result: Classification, thresholds: Thresholds, is_topic: IsIntent) -> Decision:
    top = result.top
    if top is None:
        return Decision(Action.NOT_UNDERSTOOD, None, None)
    if top.name == OUT_OF_SCOPE:
        if top.confidence >= thresholds.out_of_scope:
            return Decision(Action.OUT_OF_SCOPE, top.name, top.confidence)
    elif top.confidence >= thresholds.answer:
        return Decision(Action.ANSWER, top.name, top.confidence)
    likely = _likely(result, thresholds, is_topic)
    if top.confidence >= thresholds.suggest and likely:
        return Decision(Action.SUGGEST, top.name, top.confidence, likely)
    return Decision(Action.NOT_UNDERSTOOD, top.name, top.confidence, likely)


def _likely(result: Classification, thresholds: Thresholds, is_topic: IsIntent) -> tuple[str, ...]:
    names = (s.name for s in result.ranking if is_topic(s.name) and s.confidence >= thresholds.suggest / 2)
    return tuple(names)[:MAX_SUGGESTIONS]


def _is_pressing(score: IntentScore, thresholds: Thresholds, is_urgent: IsIntent) -> bool:
    return score.confidence >= thresholds.urgent and (score.name == ASYLUM_APPLY or is_urgent(score.name))


def _with_companion(decision: Decision) -> Decision:
    """An asylum answer offers detention/deportation first: a newcomer's next fear is being sent back."""
    if decision.action is not Action.ANSWER or decision.intent != ASYLUM_APPLY:
        return decision
    also = (ASYLUM_COMPANION, *(name for name in decision.also if name != ASYLUM_COMPANION))[:MAX_SUGGESTIONS]
    return Decision(decision.action, decision.intent, decision.confidence, decision.suggestions, also)


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
