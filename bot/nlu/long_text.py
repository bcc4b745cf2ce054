"""Long stories: the question usually comes last, after sentences of context that pull the model elsewhere.

A message of several sentences is classified twice, whole and as its last question, and the two rankings are
averaged with `weight` on the question (`RASA_QUESTION_WEIGHT`; 0 turns this off). The weight was chosen on
the held-out long stories with `pana nlu test` (nlu/README.md).
"""

from __future__ import annotations

import re

from bot.core.ports import Classification, IntentScore

# A sentence ends at . ! ? … or a line break; the question is the last sentence with "?", else the last one.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
MIN_WORDS_BEFORE = 6  # context shorter than this is not a story: one parse is enough
MIN_QUESTION_WORDS = 2  # "Help?" alone says too little to outweigh the story


def question_sentence(text: str) -> str | None:
    """The sentence carrying the question of a story, or None when the text is not a story."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) < 2:
        return None
    asked = [i for i, s in enumerate(sentences) if "?" in s]
    index = asked[-1] if asked else len(sentences) - 1
    before = " ".join(sentences[:index])
    question = sentences[index]
    if len(before.split()) < MIN_WORDS_BEFORE or len(question.split()) < MIN_QUESTION_WORDS:
        return None
    return question


def combine(whole: Classification, question: Classification, weight: float) -> Classification:
    """The weighted average of two rankings (an intent missing from one counts 0 there), best first."""
    scores: dict[str, float] = {}
    for result, share in ((whole, 1 - weight), (question, weight)):
        for s in result.ranking:
            scores[s.name] = scores.get(s.name, 0.0) + share * s.confidence
    ranking = sorted(scores.items(), key=lambda item: -item[1])
    return Classification(ranking=tuple(IntentScore(name, confidence) for name, confidence in ranking))
