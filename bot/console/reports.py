"""Numbers for reports: aggregates only, no text, and every count under five people hidden.

Questions per week by language and channel, per topic, the unmet needs (out of scope or not
understood), handoffs, waiting and closing times, ratings. Charts are drawn here as SVG, on the server.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from aiohttp import web
from markupsafe import Markup

from bot.console.context import page_language
from bot.console.supervisor import _csv_response, overseer
from bot.console.suppression import Group, protect
from bot.i18n import N_, bound
from bot.storage.reports import CaseFact, QuestionFact

WEEKS = 12
SMALLEST_SHOWN = 5  # a cell counting fewer people could point at someone: hidden
OUT_OF_SCOPE = "out_of_scope"

Cell = int | None  # None: hidden (fewer than SMALLEST_SHOWN, or hidden with one such: bot/console/suppression.py)


def shown(count: int) -> Cell:
    return count if count >= SMALLEST_SHOWN else None


def week_of(moment: dt.datetime) -> dt.date:
    """The Monday of the moment's ISO week."""
    day = moment.date()
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]


@dataclass(frozen=True)
class Durations:
    count: Cell
    p50_hours: float | None
    p90_hours: float | None


def week_label(monday: dt.date) -> str:
    """The ISO week as reports name it: 2026-W49."""
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


Key = tuple[str, ...]  # a cell of the report: ("language", week, code), ("topic_week", topic, week), ...


def _suppressed(
    weeks: Sequence[dt.date],
    per_week: Counter[dt.date],
    languages: Counter[tuple[dt.date, str]],
    channels: Counter[tuple[dt.date, str]],
    topic_weeks: Counter[tuple[dt.date, str]],
    out_of_scope: Counter[dt.date],
) -> set[Key]:
    """The keys to hide: small cells, and the complements that stop them being worked out by subtraction."""
    values: dict[Key, int] = {}
    groups: list[Group[Key]] = []
    topics = sorted({topic for _week, topic in topic_weeks})
    topic_totals = Counter[str]()
    for (_week, topic), count in topic_weeks.items():
        topic_totals[topic] += count
    for week in weeks:
        day = week.isoformat()
        values[("questions", day)] = per_week[week]
        values[("out_of_scope", day)] = out_of_scope[week]
        # questions with no topic at all are never shown, but they are part of the week's total
        values[("no_topic", day)] = (
            per_week[week] - out_of_scope[week] - sum(topic_weeks[(week, topic)] for topic in topics)
        )
        for name, counts in (("language", languages), ("channel", channels)):
            parts = tuple((name, day, key) for key in sorted({key for _week, key in counts}))
            values.update({part: counts[(week, part[2])] for part in parts})
            groups.append(Group(parts, (("questions", day),)))
        topic_parts = tuple(("topic_week", topic, day) for topic in topics)
        values.update({part: topic_weeks[(week, part[1])] for part in topic_parts})
        groups.append(Group((*topic_parts, ("out_of_scope", day), ("no_topic", day)), (("questions", day),)))
    for topic in topics:
        values[("topic", topic)] = topic_totals[topic]
        groups.append(Group(tuple(("topic_week", topic, week.isoformat()) for week in weeks), (("topic", topic),)))
    # all topics, out of scope and no topic over the twelve weeks add up to the sum of the weekly totals
    groups.append(
        Group(
            (
                *(("topic", topic) for topic in topics),
                *(("out_of_scope", week.isoformat()) for week in weeks),
                *(("no_topic", week.isoformat()) for week in weeks),
            ),
            tuple(("questions", week.isoformat()) for week in weeks),
        )
    )
    small = {key for key, count in values.items() if count < SMALLEST_SHOWN or key[0] == "no_topic"}
    return protect(values, small, groups, SMALLEST_SHOWN)


def durations(values: Sequence[dt.timedelta]) -> Durations:
    if len(values) < SMALLEST_SHOWN:
        return Durations(None, None, None)
    hours = sorted(value.total_seconds() / 3600 for value in values)
    deciles = statistics.quantiles(hours, n=10, method="inclusive")
    return Durations(len(hours), round(statistics.median(hours), 1), round(deciles[8], 1))


@dataclass(frozen=True)
class Report:
    weeks: tuple[dt.date, ...]
    per_week: tuple[Cell, ...]
    by_language: Table
    by_channel: Table
    by_topic: tuple[tuple[str, Cell], ...]
    by_topic_week: Table  # rows: topics; columns: ISO weeks
    unmet: tuple[tuple[Cell, Cell, float | None], ...]  # per week: out of scope, not understood, share of all
    handoffs: tuple[Cell, ...]
    waiting: Durations
    to_close: Durations
    ratings: tuple[tuple[int, Cell], ...]
    rating_average: float | None


def build(
    questions: Sequence[QuestionFact],
    cases: Sequence[CaseFact],
    answer_threshold: float,
    today: dt.date,
    is_topic: Callable[[str], bool] = lambda intent: intent != OUT_OF_SCOPE,
) -> Report:
    """The report of the last WEEKS weeks; the topic tables count legal-aid topics only (`is_topic`), not greetings,
    menu requests or lawyer requests (those have their own rows)."""
    this_week = today - dt.timedelta(days=today.weekday())
    weeks = tuple(this_week - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1))
    asked = [q for q in questions if week_of(q.at) in weeks]
    per_week = Counter(week_of(q.at) for q in asked)
    languages = Counter((week_of(q.at), q.language or "?") for q in asked)
    channels = Counter((week_of(q.at), q.channel) for q in asked)
    topic_weeks = Counter((week_of(q.at), q.intent) for q in asked if q.intent and is_topic(q.intent))
    out_of_scope = Counter(week_of(q.at) for q in asked if q.intent == OUT_OF_SCOPE)
    not_understood = Counter(
        week_of(q.at)
        for q in asked
        if q.intent != OUT_OF_SCOPE and (q.confidence is None or q.confidence < answer_threshold)
    )
    hidden = _suppressed(weeks, per_week, languages, channels, topic_weeks, out_of_scope)

    def cell(key: Key, count: int) -> Cell:
        return None if key in hidden else count

    def table(name: str, counts: Counter[tuple[dt.date, str]]) -> Table:
        columns = tuple(sorted({key for _week, key in counts}))
        rows = tuple(
            (week.isoformat(), tuple(cell((name, week.isoformat(), c), counts[(week, c)]) for c in columns))
            for week in weeks
        )
        return Table("", columns, rows)

    topic_totals = Counter[str]()
    for (_week, topic), count in topic_weeks.items():
        topic_totals[topic] += count
    ranked = [topic for topic, _total in sorted(topic_totals.items(), key=lambda item: (-item[1], item[0]))]
    unmet = []
    for week in weeks:
        total = cell(("questions", week.isoformat()), per_week[week])
        outside = cell(("out_of_scope", week.isoformat()), out_of_scope[week])
        unclear = shown(not_understood[week])
        # the share is shown only beside both of its parts: with one part hidden, share × total minus the
        # other part would give it away
        share = (
            round(100 * (out_of_scope[week] + not_understood[week]) / per_week[week], 1)
            if None not in (total, outside, unclear)
            else None
        )
        unmet.append((outside, unclear, share))
    opened = Counter(week_of(case.created_at) for case in cases)
    waits = [case.assigned_at - case.created_at for case in cases if case.assigned_at is not None]
    closes = [case.closed_at - case.created_at for case in cases if case.closed_at is not None]
    rated = [case.rating for case in cases if case.rating is not None]
    ratings = tuple((score, shown(Counter(rated)[score])) for score in range(1, 6))
    return Report(
        weeks=weeks,
        per_week=tuple(cell(("questions", week.isoformat()), per_week[week]) for week in weeks),
        by_language=table("language", languages),
        by_channel=table("channel", channels),
        by_topic=tuple((topic, cell(("topic", topic), topic_totals[topic])) for topic in ranked),
        by_topic_week=Table(
            "",
            tuple(week_label(week) for week in weeks),
            tuple(
                (
                    topic,
                    tuple(cell(("topic_week", topic, week.isoformat()), topic_weeks[(week, topic)]) for week in weeks),
                )
                for topic in ranked
            ),
        ),
        unmet=tuple(unmet),
        handoffs=tuple(shown(opened[week]) for week in weeks),
        waiting=durations(waits),
        to_close=durations(closes),
        ratings=ratings,
        # With a score's count hidden, the average and the other counts would give it away: the average is
        # shown only when no score is rated by 1 to 4 people.
        rating_average=round(statistics.mean(rated), 2)
        if len(rated) >= SMALLEST_SHOWN and not any(0 < rated.count(score) < SMALLEST_SHOWN for score in range(1, 6))
        else None,
    )


HIDDEN_MARK = "*"  # a hidden cell, in the tables and the charts alike (the page's legend says what it means)


NOTHING_SHOWN = N_("Nothing to chart: every week's count is hidden.")


def bar_chart(
    labels: Sequence[str],
    values: Sequence[Cell],
    title: str,
    hidden: str = "hidden",
    nothing_shown: str = NOTHING_SHOWN,
) -> Markup:
    """A bar chart as inline SVG (attributes only: the CSP allows no inline style).

    A hidden cell draws no bar, only the tables' mark: not "<5", because a cell hidden as a complement (so a
    small one cannot be worked out by subtraction) may count more. `hidden` is that word in the reader's language.
    With no count shown at all, the chart is `nothing_shown` in words: bars of nothing under an axis whose top
    would be made up (it said "1") read as data.
    """
    if not any(values):  # every week hidden (a zero is hidden too: under five)
        return Markup('<p class="chart-empty">{}</p>').format(nothing_shown)
    width, height, left, bottom = 640, 220, 40, 40
    top = max(v for v in values if v)
    step = (width - left) / max(len(values), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#444"/>',
        f'<text x="{left - 6}" y="14" text-anchor="end" font-size="11" fill="#222">{top}</text>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + index * step + step * 0.15
        bar_width = step * 0.7
        if value is not None:
            bar_height = (height - bottom - 20) * value / top
            y = height - bottom - bar_height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{bar_height:.1f}" fill="#1f5f8b">'
                f"<title>{escape(label)}: {value}</title></rect>"
            )
        else:
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{height - bottom - 4}" text-anchor="middle" font-size="12" '
                f'fill="#555">{HIDDEN_MARK}<title>{escape(label)}: {escape(hidden)}</title></text>'
            )
        parts.append(
            f'<text x="{x + bar_width / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
            f'fill="#222">{escape(label[5:])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped or a number)


async def _report(request: web.Request) -> Report:
    console, _session = overseer(request)
    now = console.clock()
    since = dt.datetime.combine(now.date() - dt.timedelta(weeks=WEEKS), dt.time(), tzinfo=dt.UTC)
    return build(
        await console.reports.questions(since),
        await console.reports.cases(since),
        console.answer_threshold,
        now.date(),
        console.catalog.is_topic,
    )


async def reports(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    await console.staff.audit(session.staff, "viewed_reports", console.clock())
    report = await _report(request)
    labels = [week.isoformat() for week in report.weeks]
    _ = bound(console.translations, page_language(request))
    return console.render(
        request,
        "reports.html",
        report=report,
        smallest=SMALLEST_SHOWN,
        questions_chart=bar_chart(labels, report.per_week, _("Questions per week"), _("hidden"), _(NOTHING_SHOWN)),
        handoffs_chart=bar_chart(labels, report.handoffs, _("Lawyer requests per week"), _("hidden"), _(NOTHING_SHOWN)),
    )


HIDDEN = "hidden"  # one mark for every hidden cell: a small one and its complement look alike


def _csv_cell(value: Cell | float) -> str:
    return HIDDEN if value is None else str(value)


async def reports_csv(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    await console.staff.audit(session.staff, "exported_reports", console.clock())
    report = await _report(request)
    out = io.StringIO()
    writer = csv.writer(out)
    language = page_language(request)
    writer.writerow(["measure", "week", "key", "value", "title"])
    for monday, count, handoffs, (outside, unclear, share) in zip(
        report.weeks, report.per_week, report.handoffs, report.unmet, strict=True
    ):
        week = monday.isoformat()
        writer.writerow(["questions", week, "", _csv_cell(count), ""])
        writer.writerow(["handoffs_opened", week, "", _csv_cell(handoffs), ""])
        writer.writerow(["out_of_scope", week, "", _csv_cell(outside), ""])
        writer.writerow(["not_understood", week, "", _csv_cell(unclear), ""])
        writer.writerow(["unmet_share_percent", week, "", _csv_cell(share), ""])
    for table, measure in ((report.by_language, "questions_by_language"), (report.by_channel, "questions_by_channel")):
        for label, cells in table.rows:
            for key, cell in zip(table.columns, cells, strict=True):
                writer.writerow([measure, label, key, _csv_cell(cell), ""])
    # topics keep their id as the key (stable for spreadsheets) and get their title in the reader's language
    for topic, cell in report.by_topic:
        writer.writerow(["questions_by_topic", "", topic, _csv_cell(cell), console.topic_title(topic, language)])
    for topic, cells in report.by_topic_week.rows:
        title = console.topic_title(topic, language)
        for monday, cell in zip(report.weeks, cells, strict=True):
            writer.writerow(["questions_by_topic_week", monday.isoformat(), topic, _csv_cell(cell), title])
    for name, figures in (("waiting_hours", report.waiting), ("time_to_close_hours", report.to_close)):
        writer.writerow([f"{name}_count", "", "", _csv_cell(figures.count), ""])
        writer.writerow([f"{name}_p50", "", "", _csv_cell(figures.p50_hours), ""])
        writer.writerow([f"{name}_p90", "", "", _csv_cell(figures.p90_hours), ""])
    for score, cell in report.ratings:
        writer.writerow(["ratings", "", str(score), _csv_cell(cell), ""])
    writer.writerow(["rating_average", "", "", _csv_cell(report.rating_average), ""])
    return _csv_response(out.getvalue(), "pana-numbers.csv")
