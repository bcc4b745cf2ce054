"""From measured outcomes to figures: one level's summary, the whole report, its text and Markdown tables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.stats import summarize

# Which requests a figure is made of: (name, channel or None for both, kinds or None for all, latency field).
GROUPS: tuple[tuple[str, str | None, tuple[str, ...] | None, str], ...] = (
    ("all_turns", None, None, "turn"),
    ("telegram_question", "telegram", ("question",), "latency"),
    ("telegram_option", "telegram", ("option", "lawyer", "consent"), "latency"),
    ("whatsapp_ack", "whatsapp", None, "latency"),
    ("whatsapp_first_reply", "whatsapp", None, "first_reply"),
)


def turn_latency(outcome: Mapping[str, Any]) -> float:
    """A whole turn: Telegram's webhook answers after the replies were sent; WhatsApp's acknowledges first."""
    first_reply = outcome.get("first_reply")
    return float(first_reply if first_reply is not None else outcome["latency"])


def level_figures(
    outcomes: Sequence[Mapping[str, Any]],
    parse_latencies: Sequence[float],
    *,
    pana_wall: float,
    parse_wall: float,
    parse_failed: int,
) -> dict[str, Any]:
    """The figures of one concurrency level: Pana's turns by group, Rasa alone, and Pana's own share."""
    groups: dict[str, Any] = {}
    for name, channel, kinds, field in GROUPS:
        chosen = [
            o
            for o in outcomes
            if (channel is None or o["channel"] == channel) and (kinds is None or o["kind"] in kinds)
        ]
        ok = [o for o in chosen if o["ok"]]
        values = [
            turn_latency(o) if field == "turn" else float(o[field])
            for o in ok
            if field == "turn" or o.get(field) is not None
        ]
        groups[name] = summarize(values, failed=len(chosen) - len(ok), wall_s=pana_wall).as_dict()
    rasa = summarize(parse_latencies, failed=parse_failed, wall_s=parse_wall).as_dict()
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if not outcome["ok"]:
            key = f"{outcome['channel']} {outcome['kind']}: {outcome.get('error')}"
            errors[key] = errors.get(key, 0) + 1
    question, parse = groups["telegram_question"], rasa
    return {
        "turns": groups,
        "rasa_parse": rasa,
        "overhead_p50_ms": _difference(question["p50_ms"], parse["p50_ms"]),
        "overhead_p99_ms": _difference(question["p99_ms"], parse["p99_ms"]),
        "throughput_ratio": _ratio(groups["all_turns"]["per_second"], parse["per_second"]),
        "errors": errors,
    }


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 2)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def _ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}/s"


def _rss(rss: Mapping[str, Mapping[str, int]], prefix: str) -> str:
    peaks = [v.get("VmHWM", 0) / 1024 for k, v in rss.items() if k.startswith(prefix) and v]
    return "–" if not peaks else " / ".join(f"{p:.0f}" for p in peaks) + " MiB"  # /proc counts KiB


def _cpu(cpu: Mapping[str, Any] | None) -> str:
    per_turn = (cpu or {}).get("ms_per_turn") or {}
    workers = sum(v for k, v in per_turn.items() if k.startswith("worker"))
    return "–" if not per_turn else f"{workers:.1f} / {per_turn.get('rasa', 0):.1f} ms"


def table_rows(runs: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per backend set and concurrency level, for the console and for docs/performance.md."""
    rows = []
    for run in runs:
        for level in run["levels"]:
            turns, parse = level["turns"]["all_turns"], level["rasa_parse"]
            question = level["turns"]["telegram_question"]
            rows.append(
                [
                    run["backends"],
                    str(run["workers"]),
                    str(level["concurrency"]),
                    f"{_ms(parse['p50_ms'])} / {_ms(parse['p99_ms'])}",
                    _rate(parse["per_second"]),
                    f"{_ms(turns['p50_ms'])} / {_ms(turns['p95_ms'])} / {_ms(turns['p99_ms'])}",
                    _rate(turns["per_second"]),
                    f"{_ms(question['p50_ms'])}",
                    _ms(level["overhead_p50_ms"]),
                    str(turns["count"]),
                    str(turns["failed"]),
                    _rss(level["rss_kib"], "worker"),
                    _rss(level["rss_kib"], "rasa"),
                    _cpu(level.get("cpu")),
                ]
            )
    return rows


HEADERS = [
    "backends",
    "workers",
    "people at once",
    "Rasa alone p50 / p99",
    "Rasa alone",
    "Pana turn p50 / p95 / p99",
    "Pana turns",
    "Telegram question p50",
    "Pana's own p50",
    "turns",
    "failed",
    "worker peak RSS",
    "Rasa peak RSS",
    "CPU per turn: workers / Rasa",
]


def markdown_table(runs: Iterable[Mapping[str, Any]]) -> str:
    rows = table_rows(runs)
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(runs: Iterable[Mapping[str, Any]]) -> str:
    rows = [HEADERS, *table_rows(runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)
