"""The console's pure parts: small cells hidden in the report numbers, the SVG chart, the login limiter."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.console.passwords import DUMMY_HASH, needs_rehash, verify_password
from bot.console.reports import SMALLEST_SHOWN, bar_chart, build, durations
from bot.console.security import AddressLimiter, same_token, token_hash
from bot.storage.reports import CaseFact, QuestionFact

pytestmark = pytest.mark.fast

MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def _questions(count: int, intent: str | None, *, language: str = "ru", confidence: float = 0.9) -> list[QuestionFact]:
    return [QuestionFact(MONDAY, intent, language, "telegram", confidence) for _ in range(count)]


def test_cells_under_five_people_are_hidden_and_the_rest_counted() -> None:
    questions = (
        _questions(7, "asylum_apply")
        + _questions(4, "birth_registration", language="kk")
        + _questions(5, "out_of_scope", confidence=0.95)
        + _questions(3, "asylum_apply", confidence=0.1)
    )
    report = build(questions, [], answer_threshold=0.65, today=MONDAY.date())
    assert report.weeks[-1] == MONDAY.date() and len(report.weeks) == 12
    assert report.per_week[-1] == 19 and report.per_week[0] is None
    assert dict(report.by_topic) == {"asylum_apply": 10, "birth_registration": None}
    languages = dict(zip(report.by_language.columns, report.by_language.rows[-1][1], strict=True))
    assert languages == {"kk": None, "ru": None}, "ru hidden too, or 19 - 15 would give kk's 4 away"
    outside, unclear, share = report.unmet[-1]
    assert outside is None, "out of scope hidden beside the 4 of birth_registration: 19 - 10 - 5 = 4"
    assert unclear is None and share is None, "three not understood are hidden, and so is the share"


def test_topic_tables_count_legal_aid_topics_only() -> None:
    """A greeting or "I want a lawyer" is not a topic people asked about: it has its own row, not a topic line."""
    questions = _questions(6, "asylum_apply") + _questions(6, "request_lawyer") + _questions(6, "greet")
    report = build(questions, [], 0.65, MONDAY.date(), is_topic=lambda intent: intent == "asylum_apply")
    assert dict(report.by_topic) == {"asylum_apply": 6}
    assert [row[0] for row in report.by_topic_week.rows] == ["asylum_apply"]
    assert report.per_week[-1] == 18


def test_durations_and_ratings_need_five_cases() -> None:
    few = [CaseFact(MONDAY, MONDAY + dt.timedelta(hours=1), None, 5) for _ in range(SMALLEST_SHOWN - 1)]
    report = build([], few, answer_threshold=0.65, today=MONDAY.date())
    assert report.waiting.count is None and report.rating_average is None
    assert all(cell is None for _, cell in report.ratings)
    hours = [dt.timedelta(hours=h) for h in (1, 2, 3, 4, 10)]
    figures = durations(hours)
    assert figures.count == 5 and figures.p50_hours == 3.0 and figures.p90_hours == pytest.approx(7.6)


def test_the_chart_escapes_labels_and_draws_no_bar_for_hidden_cells() -> None:
    svg = str(bar_chart(["2026-11-23", "2026-11-30"], [None, 12], 'weeks <script>"', "скрыто"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 1
    # The tables' mark, titled in the reader's language; never "<5": a complement may count more.
    assert '">*<title>2026-11-23: скрыто</title></text>' in svg and "&lt;5" not in svg
    assert "style=" not in svg, "the CSP allows no inline style"
    assert '<text x="34" y="14" text-anchor="end" font-size="11" fill="#222">12</text>' in svg, "the axis: the top"


def test_a_chart_with_every_week_hidden_says_so_in_words_without_an_axis() -> None:
    """Regression: with every week hidden the chart drew no bar under a y-axis marked "1", a number made up."""
    chart = str(bar_chart(["2026-11-23", "2026-11-30"], [None, None], "weeks", "скрыто", "Показать нечего <всё>"))
    assert chart == '<p class="chart-empty">Показать нечего &lt;всё&gt;</p>'


def test_the_address_limiter_slides_and_stays_bounded() -> None:
    limiter = AddressLimiter(2, dt.timedelta(minutes=1), max_addresses=3)
    assert limiter.allow("a", MONDAY) and limiter.allow("a", MONDAY)
    assert not limiter.allow("a", MONDAY + dt.timedelta(seconds=30))
    assert limiter.allow("a", MONDAY + dt.timedelta(minutes=1, seconds=1))
    for address in ("b", "c", "d", "e"):
        limiter.allow(address, MONDAY)
    assert len(limiter._attempts) == 3


def test_tokens_are_stored_hashed_and_compared_in_constant_time() -> None:
    assert token_hash("abc") != "abc" and len(token_hash("abc")) == 64
    assert same_token("x" * 10, "x" * 10) and not same_token("x", None) and not same_token("x", "y")


def test_topics_per_iso_week_hide_small_cells() -> None:
    earlier = MONDAY - dt.timedelta(weeks=1)
    questions = (
        _questions(6, "asylum_apply")
        + [QuestionFact(earlier, "asylum_apply", "ru", "whatsapp", 0.9) for _ in range(2)]
        + _questions(9, "birth_registration")
        + _questions(5, "out_of_scope", confidence=0.95)
    )
    report = build(questions, [], answer_threshold=0.65, today=MONDAY.date())
    table = report.by_topic_week
    assert table.columns[-2:] == ("2026-W48", "2026-W49"), "ISO weeks (30 November 2026 is in week 49)"
    assert [topic for topic, _cells in table.rows] == ["birth_registration", "asylum_apply"], "most asked first"
    rows = {topic: cells for topic, cells in table.rows}
    assert rows["asylum_apply"][-2:] == (None, None), "two in the earlier week: hidden, and 6 too (8 - 6 = 2)"
    assert dict(report.by_topic)["asylum_apply"] == 8
    assert rows["birth_registration"][-1] == 9 and rows["birth_registration"][0] is None
    assert "out_of_scope" not in rows, "out of scope is an unmet need, not a topic"


def test_the_unknown_names_dummy_hash_costs_what_a_real_one_does() -> None:
    """Made with today's hasher parameters: were they raised, an unknown name would answer faster than a known one."""
    assert not needs_rehash(DUMMY_HASH)


async def test_an_unknown_name_never_signs_in_even_with_the_dummys_password() -> None:
    assert not await verify_password(None, "not a password anyone has")
