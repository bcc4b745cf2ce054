"""The `pana` command line: parse, load settings once, hand over to one command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.cli.keys import add_parser as add_keys_parser
from bot.cli.lawyers import add_parser as add_lawyers_parser
from bot.cli.staff import add_parser as add_staff_parser
from bot.errors import PanaError
from bot.languages import LANGUAGES
from bot.logs import install_redaction, log_formatter
from bot.settings import Settings, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pana", description="Pana legal-aid assistant")
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="chat in the terminal on the real pipeline")
    chat.add_argument("--jsonl", action="store_true", help="one message per input line, one JSON object per reply")
    chat.add_argument("--user", default="local", help="the user id the chat runs as")

    commands.add_parser("classify", help="classify input lines; prints JSON, stores nothing")
    add_lawyers_parser(commands)
    add_keys_parser(commands)
    add_staff_parser(commands)
    serve = commands.add_parser("serve", help="the HTTP server: health, webhooks, Telegram (webhook or polling)")
    serve.add_argument("--workers", type=int, metavar="N", help="processes sharing the port (default PANA_WORKERS)")
    serve.add_argument("--as-worker", action="store_true", help=argparse.SUPPRESS)  # started by --workers
    serve.add_argument("--migrate-only", action="store_true", help=argparse.SUPPRESS)  # started by `pana serve`

    nlu = commands.add_parser("nlu", help="the Rasa NLU project").add_subparsers(dest="nlu_command", required=True)
    train = nlu.add_parser("train", help="train when the data or config changed")
    train.add_argument("--force", action="store_true", help="train even if the fingerprint matches")
    nlu_serve = nlu.add_parser("serve", help="run the Rasa HTTP server")
    nlu_serve.add_argument("--replicas", type=int, default=1, metavar="N", help="servers on RASA_PORT, +1, … +N-1")
    test = nlu.add_parser("test", help="evaluate on the held-out set in nlu/tests/ (or another, --set)")
    test.add_argument(
        "--set",
        default="held-out",
        metavar="NAME|PATH",
        help="the evaluation set: held-out (nlu/tests/, the default), a name in nlu/eval/, or a folder of *.yml",
    )
    test.add_argument("--check-floors", action="store_true", help="exit 1 below the floors in nlu/floors.yml")
    test.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    test.add_argument("--no-normalize", action="store_true", help="send texts to Rasa as typed (to measure it)")
    test.add_argument("--no-arrival-rule", action="store_true", help="leave out the arrival rule (to measure it)")
    test.add_argument("--noisy", action="store_true", help="roughen the held-out texts (look-alikes, floods, emoji)")
    nlu.add_parser("tune", help="search confidence thresholds on the held-out set")
    nlu.add_parser("compare", help="benchmark every pipeline in nlu/pipelines/ on the held-out set")

    content = commands.add_parser("content", help="curated content").add_subparsers(
        dest="content_command", required=True
    )
    content.add_parser("check", help="list every problem; exit 1 if there is an error")
    show = content.add_parser("show", help="print an entry as a user would see it")
    show.add_argument("topic")
    show.add_argument("--lang", choices=LANGUAGES, default="en")
    review = content.add_parser("review", help="record a lawyer's sign-off of a topic as it is now")
    review.add_argument("topic")
    review.add_argument("--by", required=True, metavar="NAME", help="the lawyer who checked it")
    review.add_argument("--note", metavar="TEXT", help="what was checked or left open")
    export = content.add_parser("export", help="print all entries")
    export.add_argument("--json", action="store_true", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    install_redaction()  # before anything logs: no phone number, token or message text reaches a log
    settings = load_settings()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(settings.pana.log_format))
    logging.basicConfig(level=settings.pana.log_level.upper(), handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up chatter is not news
    try:
        if args.command == "content":
            from bot.cli.content import run_content

            return run_content(args, settings)
        if args.command == "nlu":
            from bot.cli.nlu import run_nlu

            return run_nlu(args, settings)
        if args.command == "classify":
            from bot.cli.nlu import classify_lines

            return asyncio.run(classify_lines(settings))
        if args.command == "lawyers":
            from bot.cli.lawyers import run_lawyers

            return asyncio.run(run_lawyers(args, settings))
        if args.command == "staff":
            from bot.cli.staff import run_staff

            return asyncio.run(run_staff(args, settings))
        if args.command == "keys":
            from bot.cli.keys import run_keys

            return asyncio.run(run_keys(args, settings))
        if args.command == "serve":
            return _serve(args, settings)
        from bot.cli.chat import run_chat

        return asyncio.run(run_chat(args, settings))
    except PanaError as error:
        print(f"pana: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """One process, or a supervisor of several; on uvloop, the faster event loop (see docs/performance.md)."""
    import uvloop

    from bot.cli.serve import migrate_only, run_serve
    from bot.cli.workers import run_workers

    if args.migrate_only:
        return asyncio.run(migrate_only(settings))
    count = args.workers or settings.pana.workers
    if args.as_worker or count == 1:
        return uvloop.run(run_serve(settings, as_worker=args.as_worker))
    if count < 1:
        raise PanaError("--workers must be at least 1")
    return uvloop.run(run_workers(settings, count))
