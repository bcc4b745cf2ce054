"""Long stories: which sentence carries the question, and how the two rankings are combined."""

from __future__ import annotations

import pytest

from bot.core.ports import Classification, IntentScore
from bot.nlu.long_text import combine, question_sentence


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (
            "We came from Kabul last week with my wife and kids. We have no visa at all. Where do we go now?",
            "Where do we go now?",
        ),
        (
            "Біз Кабулдан бір апта бұрын келдік, визамыз жоқ. Қайда барамыз? Рахмет сізге алдын ала.",
            "Қайда барамыз?",
        ),
        ("Мы приехали неделю назад всей семьёй из Кабула\nвизы нет\nчто делать", "что делать"),
    ],
)
def test_the_last_question_of_a_story_is_found(text: str, question: str) -> None:
    assert question_sentence(text) == question


@pytest.mark.parametrize(
    "text",
    [
        "How do I apply for asylum in Kazakhstan?",  # one sentence
        "Hello. Where to apply?",  # too little before the question to be a story
        "We came from Kabul last week with my wife and kids and no visa. Help?",  # a one-word question
    ],
)
def test_short_texts_are_not_split(text: str) -> None:
    assert question_sentence(text) is None


def test_rankings_are_averaged_with_the_weight_on_the_question() -> None:
    whole = Classification((IntentScore("family_reunification", 0.6), IntentScore("asylum_apply", 0.3)))
    question = Classification((IntentScore("asylum_apply", 0.9), IntentScore("education", 0.1)))
    combined = combine(whole, question, 0.5)
    assert [s.name for s in combined.ranking] == ["asylum_apply", "family_reunification", "education"]
    assert combined.ranking[0].confidence == pytest.approx(0.6)
    assert combined.ranking[1].confidence == pytest.approx(0.3)
    assert combine(whole, question, 0.0).ranking[0] == IntentScore("family_reunification", 0.6)
