"""`python -m bench.suppression`: what complementary suppression costs, in hidden cells and in time.

Builds the twelve-week report from made-up questions (31 topics asked unevenly, three languages, three
channels, some out of scope or unclassified) at several weekly volumes and prints, over the language,
channel, topic, topic-by-week and out-of-scope cells: how many are shown, how many are hidden because they
count fewer than 5 people (0 included), how many more are hidden so that none of those can be worked out by
subtraction, and the median and slowest time to build the report. Seeded: every run prints the same counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections import Counter

from bot.console.reports import OUT_OF_SCOPE, SMALLEST_SHOWN, Cell, Report, build, week_of
from bot.storage.reports import QuestionFact

TODAY = dt.date(2026, 11, 30)
TOPICS = [f"topic_{n:02d}" for n in range(31)]
LANGUAGES = ["ru"] * 6 + ["kk"] * 3 + ["en"]
CHANNELS = ["telegram"] * 6 + ["whatsapp"] * 3 + ["terminal"]
VOLUMES = (20, 100, 500, 2000)


def questions(per_week: int, rng: random.Random) -> list[QuestionFact]:
    weights = [1 / (rank + 1) for rank in range(len(TOPICS))]  # a few topics often, most rarely
    made = []
    for week in range(12):
        monday = dt.datetime.combine(TODAY - dt.timedelta(weeks=week), dt.time(9), tzinfo=dt.UTC)
        for _ in range(per_week):
            roll = rng.random()
            intent = OUT_OF_SCOPE if roll < 0.08 else None if roll < 0.1 else rng.choices(TOPICS, weights)[0]
            language, channel = rng.choice(LANGUAGES), rng.choice(CHANNELS)
            made.append(QuestionFact(monday, intent, language, channel, rng.choice([0.3, 0.9])))
    return made


def shown_and_true(report: Report, facts: list[QuestionFact]) -> list[tuple[Cell, int]]:
    """Every cell of the report beside the count it stands for."""
    language = Counter((week_of(f.at).isoformat(), f.language or "?") for f in facts)
    channel = Counter((week_of(f.at).isoformat(), f.channel) for f in facts)
    topic_week = Counter((f.intent, week_of(f.at)) for f in facts if f.intent and f.intent != OUT_OF_SCOPE)
    topic = Counter(f.intent for f in facts if f.intent and f.intent != OUT_OF_SCOPE)
    outside = Counter(week_of(f.at) for f in facts if f.intent == OUT_OF_SCOPE)
    pairs: list[tuple[Cell, int]] = []
    for table, counts in ((report.by_language, language), (report.by_channel, channel)):
        for week, row in table.rows:
            pairs += [(cell, counts[(week, key)]) for key, cell in zip(table.columns, row, strict=True)]
    for name, row in report.by_topic_week.rows:
        pairs += [(cell, topic_week[(name, week)]) for week, cell in zip(report.weeks, row, strict=True)]
    pairs += [(cell, topic[name]) for name, cell in report.by_topic]
    pairs += [(unmet[0], outside[week]) for week, unmet in zip(report.weeks, report.unmet, strict=True)]
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="builds timed per volume")
    args = parser.parse_args()
    rng = random.Random(14)
    print(f"{'per week':>8} {'cells':>6} {'shown':>6} {'small':>6} {'extra':>6} {'p50 ms':>7} {'max ms':>7}")
    for per_week in VOLUMES:
        facts = questions(per_week, rng)
        timings = []
        for _ in range(max(args.runs, 1)):
            started = time.perf_counter()
            report = build(facts, [], answer_threshold=0.65, today=TODAY)
            timings.append((time.perf_counter() - started) * 1000)
        pairs = shown_and_true(report, facts)
        shown = sum(cell is not None for cell, _true in pairs)
        small = sum(cell is None and true < SMALLEST_SHOWN for cell, true in pairs)
        extra = sum(cell is None and true >= SMALLEST_SHOWN for cell, true in pairs)
        print(
            f"{per_week:>8} {len(pairs):>6} {shown:>6} {small:>6} {extra:>6} "
            f"{statistics.median(timings):>7.1f} {max(timings):>7.1f}"
        )


if __name__ == "__main__":
    main()
