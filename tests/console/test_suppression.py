"""Complementary suppression: what the report shows never lets a hidden count of 1-4 be worked out by subtraction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from bot.console.reports import SMALLEST_SHOWN, Report, build
from bot.console.suppression import Group, protect
from bot.storage.reports import CaseFact, QuestionFact

pytestmark = pytest.mark.fast

MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
SMALL = range(1, SMALLEST_SHOWN)  # a count that could point at someone


def test_one_hidden_cell_takes_the_smallest_shown_one_with_it() -> None:
    values = {"total": 40, "kk": 3, "ru": 25, "en": 12}
    hidden = protect(values, {"kk"}, [Group(("kk", "ru", "en"), ("total",))], SMALLEST_SHOWN)
    assert hidden == {"kk", "en"}, "40 - 25 = 15: only the sum of two hidden cells"


def test_hidden_zeros_and_unpublished_totals_need_no_complement() -> None:
    values = {"total": 30, "kk": 0, "ru": 30, "hidden_total": 3, "a": 3, "b": 0}
    groups = [Group(("kk", "ru"), ("total",)), Group(("a", "b"), ("hidden_total",))]
    assert protect(values, {"kk", "hidden_total", "a", "b"}, groups, SMALLEST_SHOWN) == {
        "kk",
        "hidden_total",
        "a",
        "b",
    }, "30 - 30 = 0 says nobody is there; and a hidden total gives nothing to subtract from"


def test_complements_cascade_through_crossing_groups_and_stop() -> None:
    # a 2 x 2 table with row and column totals: hiding a forces b (its row) and c (its column); c alone in
    # its row then gives away only 9, not a small count, so d stays
    values = {"a": 2, "b": 10, "c": 9, "d": 20, "r1": 12, "r2": 29, "c1": 11, "c2": 30}
    groups = [
        Group(("a", "b"), ("r1",)),
        Group(("c", "d"), ("r2",)),
        Group(("a", "c"), ("c1",)),
        Group(("b", "d"), ("c2",)),
    ]
    assert protect(values, {"a"}, groups, SMALLEST_SHOWN) == {"a", "b", "c"}


def _random_questions(rng: random.Random, every_week: bool = False) -> list[QuestionFact]:
    questions = []
    if every_week:  # every weekly total shown, so the sum over all weeks is published too
        for week in range(12):
            at = MONDAY - dt.timedelta(weeks=week)
            questions += [QuestionFact(at, "asylum_apply", "ru", "telegram", 0.9)] * rng.choice([5, 8, 20])
    for _kind in range(rng.randint(1, 12)):
        intent = rng.choice(["asylum_apply", "birth_registration", "work_permit", "education", "out_of_scope", None])
        language = rng.choice(["kk", "ru", "en", None])
        channel = rng.choice(["telegram", "whatsapp", "terminal"])
        week = rng.randint(0, 3)
        at = MONDAY - dt.timedelta(weeks=week)
        count = rng.choice([1, 2, 3, 4, 5, 6, 9, 14, 30])
        confidence = rng.choice([0.2, 0.9])
        questions += [QuestionFact(at, intent, language, channel, confidence)] * count
    return questions


def _leaks(report: Report) -> list[str]:
    """Every subtraction a reader can do on the page: a shown total minus the shown cells beside it."""
    found = []
    for week_index, total in enumerate(report.per_week):
        if total is None:
            continue
        for name, table in (("language", report.by_language), ("channel", report.by_channel)):
            cells = table.rows[week_index][1]
            left = total - sum(c for c in cells if c is not None)
            if left in SMALL:
                found.append(f"{name} week {week_index}: {left}")
        topics = [cells[week_index] for _topic, cells in report.by_topic_week.rows]
        outside = report.unmet[week_index][0]
        left = total - sum(c for c in topics if c is not None) - (outside or 0)
        if left in SMALL and None in (*topics, outside):
            found.append(f"topics week {week_index}: {left}")
    for (topic, total_cell), (_same, cells) in zip(report.by_topic, report.by_topic_week.rows, strict=True):
        if total_cell is not None and total_cell - sum(c for c in cells if c is not None) in SMALL:
            found.append(f"topic {topic}")
    # all weeks shown: their sum less the shown topic totals (or a hidden one whose weeks are all shown) and
    # the shown out-of-scope counts leaves the hidden rest
    if None not in report.per_week:
        rows = dict(report.by_topic_week.rows)
        known = [
            total if total is not None else (sum(rows[t]) if None not in rows[t] else None)  # type: ignore[arg-type]
            for t, total in report.by_topic
        ]
        outside = [unmet[0] for unmet in report.unmet]
        rest = sum(report.per_week) - sum(k for k in known if k is not None) - sum(o for o in outside if o is not None)  # type: ignore[arg-type]
        if rest in SMALL and None in (*known, *outside):
            found.append(f"all topics: {rest}")
    for outside, unclear, share in report.unmet:
        if share is not None and None in (outside, unclear):
            found.append("share beside a hidden part")
    return found


def test_no_hidden_count_can_be_worked_out_from_what_is_shown() -> None:
    rng = random.Random(14)
    hidden_somewhere = 0
    for case in range(300):
        questions = _random_questions(rng, every_week=case % 2 == 1)
        report = build(questions, [], answer_threshold=0.65, today=MONDAY.date())
        assert _leaks(report) == []
        hidden_somewhere += sum(c is None for _w, cells in report.by_language.rows[-3:] for c in cells)
    assert hidden_somewhere > 0, "the random reports did hide cells"


def test_a_total_whose_parts_are_all_shown_is_not_a_complement() -> None:
    # the small cell x (3) is hidden; the group's smallest other part is t (6), the total of a and b, both
    # shown: hiding t alone would hide nothing, so one of its parts goes with it
    values = {"all": 40, "x": 3, "t": 6, "y": 31, "a": 5, "b": 1}
    groups = [Group(("x", "t", "y"), ("all",)), Group(("a", "b"), ("t",))]
    assert protect(values, {"x", "b"}, groups, SMALLEST_SHOWN) == {"x", "b", "t"}, "b hidden: t is not seen through"
    values.update(t=12, b=7)
    hidden = protect(values, {"x"}, [Group(("x", "t", "y"), ("all",)), Group(("a", "b"), ("t",))], SMALLEST_SHOWN)
    assert hidden == {"x", "y"}, "t = 5 + 7 is seen through; y is hidden instead"


def test_without_complements_the_same_check_finds_the_leak() -> None:
    """The check above can fail: on the numbers as they were hidden before (small cells only), it does."""
    questions = [QuestionFact(MONDAY, "asylum_apply", "ru", "telegram", 0.9)] * 20
    questions += [QuestionFact(MONDAY, "asylum_apply", "kk", "telegram", 0.9)] * 3
    report = build(questions, [], answer_threshold=0.65, today=MONDAY.date())
    languages = dict(zip(report.by_language.columns, report.by_language.rows[-1][1], strict=True))
    assert languages == {"kk": None, "ru": None}
    # the same week with small cells hidden and nothing else: kk's 3 is 23 - 20
    leaky_rows = tuple(
        (week, (None, 20) if week == MONDAY.date().isoformat() else (None, None))
        for week, _c in report.by_language.rows
    )
    leaky = dataclasses.replace(report, by_language=dataclasses.replace(report.by_language, rows=leaky_rows))
    assert _leaks(leaky) == ["language week 11: 3"]


def test_the_rating_average_is_hidden_while_a_score_has_one_to_four_people() -> None:
    def rated(*scores: int) -> list[CaseFact]:
        return [CaseFact(MONDAY, None, None, score) for score in scores]

    few = build([], rated(*[5] * 10, 1), 0.65, MONDAY.date())
    assert few.rating_average is None, "10 fives and one more: the average would give the 1 away"
    many = build([], rated(*[5] * 10, *[4] * 6), 0.65, MONDAY.date())
    assert many.rating_average == round((50 + 24) / 16, 2)
