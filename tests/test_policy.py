"""The confidence policy's decision on its own: thresholds, options and the safety-first rule."""

from __future__ import annotations

import pytest

from bot.core.policy import Action, Decision, Thresholds, decide
from bot.core.ports import Classification, IntentScore

THRESHOLDS = Thresholds(answer=0.40, suggest=0.15, out_of_scope=0.05, urgent=0.15)
TOPICS = {
    "asylum_apply",
    "asylum_procedure",
    "family_reunification",
    "education",
    "detention_deportation",
    "violence_support",
    "statelessness_info",
}
URGENT = {"detention_deportation", "violence_support"}


def ranked(*scores: tuple[str, float]) -> Classification:
    return Classification(ranking=tuple(IntentScore(name, confidence) for name, confidence in scores))


def decided(*scores: tuple[str, float], thresholds: Thresholds = THRESHOLDS) -> Decision:
    return decide(ranked(*scores), thresholds, TOPICS.__contains__, URGENT.__contains__)


def test_confident_answer_of_a_calm_topic_is_plain() -> None:
    d = decided(("education", 0.8), ("asylum_procedure", 0.1))
    assert (d.action, d.intent, d.suggestions, d.also) == (Action.ANSWER, "education", (), ())


def test_unsure_calm_guesses_are_offered_as_options() -> None:
    d = decided(("family_reunification", 0.3), ("education", 0.2), ("statelessness_info", 0.12))
    assert d.action is Action.SUGGEST
    assert d.suggestions == ("family_reunification", "education", "statelessness_info")


def test_unsure_story_with_an_urgent_guess_leads_with_it_instead_of_a_neutral_menu() -> None:
    d = decided(("family_reunification", 0.3), ("detention_deportation", 0.2), ("education", 0.1))
    assert d.action is Action.URGENT
    assert d.intent == "detention_deportation"
    assert d.suggestions[0] == "detention_deportation"
    assert "family_reunification" in d.suggestions


def test_asylum_on_top_but_unsure_is_answered_at_once_with_detention_offered() -> None:
    d = decided(("asylum_apply", 0.3), ("family_reunification", 0.25), ("education", 0.2))
    assert (d.action, d.intent) == (Action.ANSWER, "asylum_apply")
    assert d.also[0] == "detention_deportation"
    assert "family_reunification" in d.also


def test_asylum_answer_offers_detention_first_even_when_it_is_a_lower_guess() -> None:
    guesses = (
        ("asylum_apply", 0.3),
        ("family_reunification", 0.1),
        ("detention_deportation", 0.09),
        ("education", 0.08),
    )
    d = decided(*guesses)
    assert (d.action, d.intent) == (Action.ANSWER, "asylum_apply")
    assert d.also[0] == "detention_deportation"
    assert d.also.count("detention_deportation") == 1


def test_asylum_below_the_top_leads_with_the_deadline_options() -> None:
    d = decided(("family_reunification", 0.3), ("asylum_apply", 0.25), ("education", 0.2))
    assert (d.action, d.intent) == (Action.URGENT, "asylum_apply")
    assert d.suggestions[:2] == ("asylum_apply", "family_reunification")


def test_a_confident_answer_stands_and_offers_the_urgent_guess_beside_it() -> None:
    d = decided(("family_reunification", 0.6), ("violence_support", 0.2))
    assert (d.action, d.intent, d.also) == (Action.ANSWER, "family_reunification", ("violence_support",))


def test_out_of_scope_on_top_yields_to_an_urgent_guess() -> None:
    assert decided(("out_of_scope", 0.5), ("violence_support", 0.3)).action is Action.URGENT
    assert decided(("out_of_scope", 0.5), ("violence_support", 0.1)).action is Action.OUT_OF_SCOPE


@pytest.mark.parametrize("confidence", [0.05, 0.14])
def test_a_trivial_urgent_guess_changes_nothing(confidence: float) -> None:
    d = decided(("family_reunification", 0.3), ("detention_deportation", confidence), ("education", 0.2))
    assert d.action is Action.SUGGEST


def test_an_urgent_guess_below_the_top_three_is_not_looked_at() -> None:
    scores = (("family_reunification", 0.3), ("education", 0.25), ("statelessness_info", 0.2))
    assert decided(*scores, ("violence_support", 0.16)).action is Action.SUGGEST


def test_greetings_keep_their_reply() -> None:
    d = decided(("greet", 0.7), ("violence_support", 0.2))
    assert (d.action, d.intent, d.also) == (Action.ANSWER, "greet", ())


def test_safety_first_is_off_at_threshold_one() -> None:
    off = Thresholds(answer=0.40, suggest=0.15, out_of_scope=0.05, urgent=1.0)
    scores = (("family_reunification", 0.3), ("detention_deportation", 0.29))
    assert decided(*scores, thresholds=off).action is Action.SUGGEST


def test_nothing_classified_is_not_understood() -> None:
    assert decided().action is Action.NOT_UNDERSTOOD
