"""The benchmark harness's pure parts: percentiles, a level's figures and the report tables (the harness itself
runs only in `make bench`)."""

from __future__ import annotations

import cProfile
import json
import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import CallbackQuery

from bench.__main__ import options_from, parser
from bench.people import Planner, lawyer_press
from bench.profile_report import component, summarize_profile
from bench.profile_report import text as profile_text
from bench.report import level_figures, markdown_table, text_table, turn_latency
from bench.stack import child_pids, require_loopback
from bench.stats import percentile, summarize
from bot.channels.telegram.callbacks import own_private_chat, verified_payload
from bot.core.conversation import clean_text
from bot.core.payloads import LAWYER
from bot.nlu.testset import Example
from bot.settings import PanaSettings
from tests.telegram.fake_bot_api import TOKEN


def test_percentile_is_the_nearest_rank_of_measured_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0, "a value that was measured, not an interpolation"
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_summary_in_milliseconds_with_throughput_over_wall_time() -> None:
    summary = summarize([0.010, 0.020, 0.030, 0.040], failed=1, wall_s=2.0)
    assert (summary.count, summary.failed) == (4, 1)
    assert summary.p50_ms == pytest.approx(20.0)
    assert summary.max_ms == pytest.approx(40.0)
    assert summary.per_second == pytest.approx(2.0)
    empty = summarize([], failed=3, wall_s=1.0).as_dict()
    assert empty["p50_ms"] is None and empty["failed"] == 3, "no value becomes null in the JSON, not NaN"


def _outcome(
    channel: str,
    kind: str,
    latency: float,
    *,
    first_reply: float | None = None,
    ok: bool = True,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "kind": kind,
        "ok": ok,
        "latency": latency,
        "first_reply": first_reply,
        "error": error,
        "text": None,
    }


def test_a_whatsapp_turn_lasts_until_its_first_reply_reached_twilio() -> None:
    assert turn_latency(_outcome("telegram", "question", 0.2)) == 0.2
    assert turn_latency(_outcome("whatsapp", "question", 0.05, first_reply=0.3)) == 0.3


def test_level_figures_separate_channels_and_subtract_rasa_alone() -> None:
    outcomes = [
        _outcome("telegram", "question", 0.050),
        _outcome("telegram", "question", 0.070),
        _outcome("telegram", "option", 0.010),
        _outcome("whatsapp", "question", 0.020, first_reply=0.090),
        _outcome("whatsapp", "question", 5.0, ok=False, error="no reply"),
    ]
    figures = level_figures(outcomes, [0.030, 0.040], pana_wall=2.0, parse_wall=1.0, parse_failed=0)
    assert figures["turns"]["all_turns"]["count"] == 4
    assert figures["turns"]["all_turns"]["failed"] == 1
    assert figures["turns"]["telegram_question"]["p50_ms"] == pytest.approx(50.0)
    assert figures["turns"]["whatsapp_first_reply"]["p50_ms"] == pytest.approx(90.0)
    assert figures["rasa_parse"]["per_second"] == pytest.approx(2.0)
    assert figures["overhead_p50_ms"] == pytest.approx(20.0), "Telegram question p50 minus Rasa p50"
    assert figures["throughput_ratio"] == pytest.approx(1.0), "2 turns/s against 2 parses/s"
    assert figures["errors"] == {"whatsapp question: no reply": 1}


def test_tables_show_one_row_per_backend_and_level() -> None:
    level = level_figures(
        [_outcome("telegram", "question", 0.050)], [0.004], pana_wall=1.0, parse_wall=1.0, parse_failed=0
    )
    level |= {
        "concurrency": 20,
        "rss_kib": {"worker-1": {"VmRSS": 200_000, "VmHWM": 291_840}, "rasa": {}},
        "cpu": {"seconds": {}, "ms_per_turn": {"worker-1": 12.5, "worker-2": 10.0, "rasa": 4.0}},
    }
    runs = [{"backends": "postgresql+redis", "workers": 2, "levels": [level]}]
    table = markdown_table(runs)
    lines = table.splitlines()
    assert len(lines) == 3
    assert "| postgresql+redis | 2 | 20 | 4.0 ms / 4.0 ms |" in lines[2]
    assert "285 MiB" in lines[2] and "46.0 ms" in lines[2]
    assert lines[2].endswith("| 22.5 / 4.0 ms |"), "CPU per turn: the workers together, then Rasa"
    assert "postgresql+redis" in text_table(runs)


def test_planner_is_reproducible_and_never_sends_one_person_twice_at_once() -> None:
    examples = [Example(f"q{i}", "greet", language, "standard") for i, language in enumerate(["kk", "ru", "en"] * 3)]

    def plans(seed: int) -> list[tuple[str, int, tuple[str, ...]]]:
        planner = Planner(examples, random.Random(seed), 0.5, 0.5, 0.1, 0.9)
        drawn = [planner.next_plan() for _ in range(30)]
        assert len({p.person for p in drawn}) == 30, "people in a visit are not drawn again until done"
        return [(p.channel, p.person, p.questions) for p in drawn]

    assert plans(15) == plans(15)
    now = [0.0]
    planner = Planner(examples, random.Random(1), 0.0, 0.0, 0.0, 1.0, clock=lambda: now[0])
    first = planner.next_plan()
    planner.done(first)
    now[0] += planner.rest_seconds
    again = planner.next_plan()
    assert again.returning and again.person == first.person and len(again.questions) == 1


def test_a_returning_person_rests_a_flood_window_so_the_flood_guard_never_silences_the_bench() -> None:
    """Regression: drawn again at once, a bench person wrote more than 10 messages in 10 s and got no reply."""
    examples = [Example("q", "greet", "en", "standard")]
    now = [0.0]
    planner = Planner(examples, random.Random(1), 1.0, 1.0, 1.0, 1.0, clock=lambda: now[0])
    assert planner.rest_seconds == PanaSettings().flood_window_seconds
    first = planner.next_plan()
    now[0] += 1.0
    planner.done(first)
    now[0] += planner.rest_seconds - 0.5
    soon = planner.next_plan()
    assert not soon.returning and soon.person != first.person, "a person who just left does not write again yet"
    planner.done(soon)
    now[0] += 0.5
    later = planner.next_plan()
    assert later.returning and later.person == first.person


@pytest.mark.parametrize("url", ["http://10.0.0.5:5432/x", "redis://redis.example.org/7", "postgresql://db/x"])
def test_the_harness_refuses_anything_but_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        require_loopback(url)
    assert require_loopback("redis://127.0.0.1:6379/7") == "redis://127.0.0.1:6379/7"


def test_the_bench_presses_the_lawyer_button_as_pana_signed_it() -> None:
    """An unsigned button is refused like a forged one: the bench's handoffs must carry Pana's signature."""
    query = CallbackQuery.model_validate(lawyer_press(7, chat_id=10_000_042, language="kk")["callback_query"])
    assert verified_payload(TOKEN, query) == LAWYER
    assert own_private_chat(query)
    other_chat = CallbackQuery.model_validate(lawyer_press(8, chat_id=10_000_043, language="kk")["callback_query"])
    assert verified_payload(TOKEN, other_chat.model_copy(update={"data": query.data})) is None


def test_several_workers_run_on_redis_backends_only() -> None:
    """`--workers N` runs `pana serve --workers N`, which shares the dialogue state in Redis."""
    assert {b.state for b in options_from(parser().parse_args(["--workers", "2"])).backends} == {"redis"}
    with pytest.raises(SystemExit, match="Redis"):
        options_from(parser().parse_args(["--workers", "2", "--backends", "sqlite+memory"]))
    assert len(options_from(parser().parse_args(["--quick"])).backends) == 2, "one worker: every backend"


def test_a_supervised_server_reports_its_workers_by_their_process_ids() -> None:
    """The figures of `pana serve --workers N` are per worker: the supervisor's children, read from /proc."""
    assert os.getpid() in child_pids(os.getppid())
    assert child_pids(2**22 + 1) == [], "a process that is gone has no children"


def test_a_profile_is_summarised_per_turn_by_component(tmp_path: Path) -> None:
    """Turns are counted by `clean_text` (once per handled message); self time is grouped by where it ran."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(4):
        clean_text("  where do I apply for asylum?  ", 4000)
    profile.disable()
    base = tmp_path / "profile-c1"
    profile.dump_stats(f"{base}.prof")
    (tmp_path / "profile-c1.gc.json").write_text(json.dumps({"gc": {"0": [2, 0.004], "1": [0, 0.0], "2": [0, 0.0]}}))
    summary = summarize_profile(base)
    assert summary["turns"] == 4
    assert summary["gc_ms_per_turn"] == pytest.approx(1.0)
    assert "Pana's own code (bot/)" in summary["components_ms_per_turn"]  # type: ignore[operator]
    assert "4 turns" in profile_text(summary)
    assert component("/x/site-packages/sqlalchemy/orm/session.py", "execute") == "SQLAlchemy"
    assert component("~", "<method 'compute_language_confidence_values' of 'lingua'>") == "lingua"


def test_profiling_measures_one_worker() -> None:
    with pytest.raises(SystemExit, match="one worker"):
        options_from(parser().parse_args(["--profile", "--workers", "2"]))
