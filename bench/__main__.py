"""`python -m bench` (what `make bench` runs): see `--help` and docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import shutil
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bench.plot import plot
from bench.report import markdown_table, text_table
from bench.run import Options, run
from bench.stack import Backends, require_loopback
from bot.settings import REPO_ROOT

ALL_BACKENDS = ("sqlite+memory", "sqlite+redis", "postgresql+memory", "postgresql+redis")
DOCS = REPO_ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _levels(value: str) -> tuple[int, ...]:
    levels = tuple(int(v) for v in value.split(",") if v.strip())
    if not levels or any(level < 1 or level > 200 for level in levels):
        raise argparse.ArgumentTypeError("concurrency levels are 1..200, comma-separated")
    return levels


def _backends(value: str) -> tuple[Backends, ...]:
    chosen = []
    for label in (v.strip() for v in value.split(",") if v.strip()):
        if label not in ALL_BACKENDS:
            raise argparse.ArgumentTypeError(f"unknown backend set {label!r}; choose from {', '.join(ALL_BACKENDS)}")
        database, state = label.split("+")
        chosen.append(Backends(database, state))
    return tuple(chosen)


def _share(value: str) -> float:
    share = float(value)
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError("a share is between 0 and 1")
    return share


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: levels 1,4; 30 turns; sqlite+memory and postgresql+redis (explicit options below still win)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N > 1 runs `pana serve --workers N`: N processes on one port (needs Redis; default 1)",
    )
    p.add_argument("--concurrency", type=_levels, help="people at once, e.g. 1,5,20 (default)")
    p.add_argument("--turns", type=int, help="requests per level, at most (default 400)")
    p.add_argument("--duration", type=float, help="seconds per level, at most (default 60)")
    p.add_argument("--backends", type=_backends, help=f"comma-separated from {', '.join(ALL_BACKENDS)} (default all)")
    p.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a loopback PostgreSQL server; a throwaway database is created there and dropped",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="a loopback Redis db the harness may flush")
    p.add_argument("--rasa-port", type=int, default=5077, help="port of the Rasa server the harness starts")
    p.add_argument("--whatsapp-share", type=_share, default=0.5, help="people on WhatsApp (the rest on Telegram)")
    p.add_argument("--option-share", type=_share, default=0.5, help="visits that press an option of the answer")
    p.add_argument("--handoff-share", type=_share, default=0.1, help="new people who ask for a lawyer and consent")
    p.add_argument("--returning-share", type=_share, default=0.3, help="visits by someone who wrote before")
    p.add_argument("--request-timeout", type=float, default=30.0, help="seconds for one request, at most")
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--output", type=Path, default=REPO_ROOT / "var" / "bench")
    p.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the worker during each level and print where its CPU went per turn (one worker only)",
    )
    p.add_argument("--docs", action="store_true", help="also write the table and plot into docs/performance.md")
    return p


def options_from(args: argparse.Namespace) -> Options:
    quick = args.quick
    if args.workers < 1 or args.workers > 16:
        raise SystemExit("--workers is 1..16")
    redis_only = tuple(b for b in _backends(",".join(ALL_BACKENDS)) if b.state == "redis")
    if args.workers > 1 and any(b.state != "redis" for b in args.backends or ()):
        raise SystemExit("several workers share their dialogue state in Redis: choose +redis backends")
    if args.profile and args.workers > 1:
        raise SystemExit("--profile measures one worker: leave out --workers")
    return Options(
        workers=args.workers,
        levels=args.concurrency or ((1, 4) if quick else (1, 5, 20)),
        turns=args.turns or (30 if quick else 400),
        duration=args.duration or (20.0 if quick else 60.0),
        backends=args.backends
        or (redis_only if args.workers > 1 else None)
        or (_backends("sqlite+memory,postgresql+redis") if quick else _backends(",".join(ALL_BACKENDS))),
        postgres_url=require_loopback(args.postgres_url),
        redis_url=require_loopback(args.redis_url),
        rasa_port=args.rasa_port,
        whatsapp_share=args.whatsapp_share,
        option_share=args.option_share,
        handoff_share=args.handoff_share,
        returning_share=args.returning_share,
        warmup_visits=4 if quick else 10,
        request_timeout=args.request_timeout,
        worker_start_timeout=180.0,
        seed=args.seed,
        output=args.output,
        profile=args.profile,
    )


def write_docs(report: dict[str, object], table: str, png: Path) -> None:
    """Replace the generated block of docs/performance.md (between its markers) and copy the plot next to it."""
    shutil.copyfile(png, DOCS.with_suffix(".png"))
    machine = report["machine"]
    if not isinstance(machine, dict):
        raise TypeError("report['machine'] must be a mapping")
    load = ", ".join(f"{v:.2f}" for v in machine["load_average_start"])
    options = report["options"]
    if not isinstance(options, dict):
        raise TypeError("report['options'] must be a mapping")
    shown = {k: v for k, v in options.items() if k != "output"}  # a local path says nothing to a reader
    block = (
        f"{BEGIN}\nRun `{report['stamp']}` on {machine['cpus']} CPUs, load average (1, 5, 15 min) at start: "
        f"{load}; options: `{json.dumps(shown, ensure_ascii=False)}`.\n\n{table}\n\n"
        f"![latency against concurrency](performance.png)\n{END}"
    )
    current = DOCS.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(current):
        raise SystemExit(f"{DOCS} has no {BEGIN} … {END} block to replace")
    DOCS.write_text(pattern.sub(lambda _: block, current), encoding="utf-8")


async def _cancellable(work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """SIGTERM and SIGINT cancel the run, so its finally blocks stop Rasa and the workers it started."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise SystemExit(130) from None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = options_from(args)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = asyncio.run(_cancellable(run(options, stamp)))
    options.output.mkdir(parents=True, exist_ok=True)
    json_path = options.output / f"{stamp}.json"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print()
    print(text_table(report["runs"]))
    print(
        f"\nload average at start {report['machine']['load_average_start']}, "
        f"at end {report['machine']['load_average_end']}"
    )
    print(f"result: {json_path}")
    png = options.output / f"{stamp}.png"
    if plot(report, png):
        print(f"plot: {png}")
    else:
        print("no plot: matplotlib is not installed (pip install -e '.[bench]')", file=sys.stderr)
    if args.docs and png.exists():
        write_docs(report, markdown_table(report["runs"]), png)
        print(f"written: {DOCS}")
    failed = sum(level["turns"]["all_turns"]["failed"] for r in report["runs"] for level in r["levels"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
