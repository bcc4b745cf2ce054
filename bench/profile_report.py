"""Where a worker's CPU went in a profiled level: self time by component, per turn (bench/profiled.py's output)."""

from __future__ import annotations

import json
import pstats
from collections import Counter
from pathlib import Path

# (component, marks in a function's file path or, for builtins, its name); the first that matches wins
COMPONENTS = (
    ("SQLAlchemy", ("site-packages/sqlalchemy/", "greenlet")),
    ("asyncpg", ("site-packages/asyncpg/",)),
    ("aiosqlite", ("site-packages/aiosqlite/",)),
    ("Redis client", ("site-packages/redis/",)),
    ("aiohttp and URLs", ("site-packages/aiohttp/", "site-packages/yarl/", "site-packages/multidict/", "urllib/")),
    ("aiogram", ("site-packages/aiogram/",)),
    ("pydantic", ("site-packages/pydantic", "SchemaValidator", "SchemaSerializer")),
    ("twilio", ("site-packages/twilio/",)),
    ("lingua", ("lingua", "compute_language_confidence_values")),
    ("Pana's own code (bot/)", ("/bot/",)),
    ("asyncio and uvloop", ("asyncio", "uvloop")),
)
OTHER = "builtins and the rest of the stdlib"


def component(path: str, function: str) -> str:
    where = function if path == "~" else path
    for name, marks in COMPONENTS:
        if any(mark in where for mark in marks):
            return name
    return OTHER


def summarize_profile(base: Path) -> dict[str, object]:
    """Turns are the calls of `clean_text`: once for every message the conversation handles."""
    stats = pstats.Stats(f"{base}.prof").stats  # type: ignore[attr-defined]
    turns = sum(
        v[1] for (path, _, name), v in stats.items() if name == "clean_text" and path.endswith("conversation.py")
    )
    if not turns:
        return {"turns": 0}
    by_component: Counter[str] = Counter()
    calls = 0
    for (path, _, name), (_, ncalls, self_seconds, _, _) in stats.items():
        by_component[component(path, name)] += self_seconds
        calls += ncalls
    collections = json.loads(Path(f"{base}.gc.json").read_text())["gc"]
    return {
        "turns": turns,
        "ms_per_turn": round(1000 * sum(by_component.values()) / turns, 2),
        "calls_per_turn": round(calls / turns),
        "components_ms_per_turn": {k: round(1000 * v / turns, 2) for k, v in by_component.most_common()},
        "gc_ms_per_turn": round(1000 * sum(t for _, t in collections.values()) / turns, 2),
    }


def text(summary: dict[str, object]) -> str:
    if not summary.get("turns"):
        return "  profile: no turn was handled while profiling"
    lines = [
        f"  profile: {summary['turns']} turns, {summary['ms_per_turn']} ms CPU per turn under cProfile, "
        f"{summary['calls_per_turn']} function calls per turn, garbage collection {summary['gc_ms_per_turn']} ms"
    ]
    components = summary["components_ms_per_turn"]
    if isinstance(components, dict):
        lines += [f"    {ms:7.2f} ms  {name}" for name, ms in components.items()]
    return "\n".join(lines)
