"""Replies for the safety-first decisions of bot/core/policy.py (Action.URGENT and topics offered beside an answer)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.answers import Answers
from bot.core.messages import Reply, Turn
from bot.core.policy import ASYLUM_APPLY, Decision


def urgent_replies(answers: Answers, decision: Decision) -> tuple[Reply, ...]:
    """Lead with what cannot wait, then offer the pressing topic first and the other guesses after it."""
    _ = answers._
    if decision.intent == ASYLUM_APPLY:  # the 5-day limit: /work/shared/spec/legal_facts.md A5
        header = [
            Reply(
                _(
                    "If you have come to Kazakhstan to seek protection: an application for asylum must be made "
                    "within 5 calendar days of arrival. Do not wait."
                )
            )
        ]
    else:
        header = answers.emergency()
    options = (*answers.topic_options(decision.suggestions), answers.lawyer_option(), answers.menu_option())
    return (*header, Reply(_("Choose the topic closest to your situation:"), options))


def offer_also(turn: Turn, answers: Answers, topic_ids: tuple[str, ...]) -> Turn:
    """The answer's last reply also offers these topics, ahead of its own options."""
    extra = answers.topic_options(tuple(t for t in topic_ids if t != turn.topic))
    if not extra or not turn.replies:
        return turn
    last = turn.replies[-1]
    return replace(turn, replies=(*turn.replies[:-1], replace(last, options=(*extra, *last.options))))
