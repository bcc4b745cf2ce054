"""`pana nlu train | serve | test | tune` and `pana classify`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from bot.app import create_core_config
from bot.content.intents import load_intents
from bot.core.arrival import lift_arrival
from bot.core.language import LanguageDetector
from bot.errors import NluProjectError
from bot.nlu import evaluate
from bot.nlu.auth import is_loopback, new_server_secret
from bot.nlu.client import RasaClient
from bot.nlu.normalize import normalize
from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer
from bot.nlu.testset import HELD_OUT, evaluation_folder, load_test_set, noisy
from bot.settings import Settings


def run_nlu(args: argparse.Namespace, settings: Settings) -> int:
    project = RasaProject(settings.rasa.project_dir)
    if args.nlu_command == "train":
        trained = project.train(force=args.force)
        if not trained:
            print("The model is up to date with nlu/data and nlu/config.yml; nothing to train.", file=sys.stderr)
        return 0
    if args.nlu_command == "serve":
        if args.replicas > 1:
            return asyncio.run(_serve_replicas(settings, project, args.replicas))
        return _serve(settings, project)
    if args.nlu_command == "compare":
        return asyncio.run(_compare(settings, project))
    if getattr(args, "check_floors", False) and getattr(args, "set", HELD_OUT) != HELD_OUT:
        raise NluProjectError("the floors in nlu/floors.yml are set on the held-out set: --check-floors needs it")
    project.train()
    report = asyncio.run(_evaluate(args, settings, project))
    if report is None:
        return 0
    print("\n".join(report.lines))
    if args.json:
        Path(args.json).write_text(json.dumps(report.figures, indent=2, sort_keys=True))
    if args.check_floors:
        return _check_floors(report.figures, project.root / "floors.yml")
    return 0


def _serve(settings: Settings, project: RasaProject) -> int:
    """Run Rasa in the foreground; reachable beyond this machine only with a RASA_TOKEN the bot also has."""
    if not is_loopback(settings.rasa.host) and not settings.rasa.token:
        raise NluProjectError(
            f"refusing to serve the Rasa API on {settings.rasa.host} without RASA_TOKEN: anyone who reaches it "
            "could replace the model; set RASA_TOKEN (the same value for `pana serve`) or use 127.0.0.1"
        )
    project.require_venv()
    command = project.serve_command(settings.rasa)
    secret = new_server_secret(settings.rasa)
    print(f"Rasa API on {settings.rasa.base_url}; requests need a JWT signed with the secret", file=sys.stderr)
    process = subprocess.Popen(command, cwd=project.root, env=project.environment(), stdin=subprocess.PIPE, text=True)

    def forward(signum: int, _frame: object) -> None:  # a stop for this process is a stop for Rasa: no orphan
        process.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    process.communicate(secret + "\n")  # the secret on its stdin, then wait (handlers run while it waits)
    return process.returncode


async def _serve_replicas(settings: Settings, project: RasaProject, count: int) -> int:
    """N Rasa servers on RASA_PORT, RASA_PORT+1, …: for RASA_URL=http://host:port,http://host:port+1,…"""
    if not is_loopback(settings.rasa.host) and not settings.rasa.token:
        raise NluProjectError(f"refusing to serve the Rasa API on {settings.rasa.host} without RASA_TOKEN")
    project.require_venv()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    replicas = [settings.rasa.model_copy(update={"port": settings.rasa.port + i, "url": ""}) for i in range(count)]
    servers = [NluServer(replica, project, log_name=f"server-{replica.port}.log") for replica in replicas]
    try:
        await asyncio.gather(*(server.start() for server in servers))
        urls = ",".join(replica.base_url for replica in replicas)
        print(f"{count} Rasa replicas ready; point the bot at RASA_URL={urls}", file=sys.stderr)
        await stop.wait()
    finally:
        await asyncio.gather(*(server.stop() for server in servers))
    return 0


async def _evaluate(args: argparse.Namespace, settings: Settings, project: RasaProject) -> evaluate.Report | None:
    intents = _intents(settings)
    chosen = getattr(args, "set", None) or HELD_OUT  # `tune` always works on the held-out set
    folder = evaluation_folder(project.root, chosen)
    examples = load_test_set(folder)
    if not examples:
        raise NluProjectError(f"{folder} holds no examples")
    if getattr(args, "noisy", False):
        examples = noisy(examples)
    # --no-normalize sends texts as typed, to measure what normalisation adds
    classifier = RasaClient.from_settings(
        settings.rasa, str.strip if getattr(args, "no_normalize", False) else normalize
    )
    async with NluServer(settings.rasa, project):
        try:
            await classifier.classify("warm up")
            # --no-arrival-rule measures what the arrival rule (bot/core/arrival.py) adds
            rerank = evaluate.unchanged if getattr(args, "no_arrival_rule", False) else lift_arrival
            outcomes = await evaluate.run(classifier, examples, LanguageDetector(), rerank)
        finally:
            await classifier.close()
    thresholds = create_core_config(settings).thresholds
    if args.nlu_command == "tune":
        print("answer suggest out_of_scope -> score, oos recall, in-scope rejected, wrong answers")
        for found, f in evaluate.tune(outcomes, intents, thresholds.urgent):
            print(
                f"{found.answer:.2f}   {found.suggest:.2f}    {found.out_of_scope:.2f}        -> "
                f"{f.score:.3f}  {f.oos_recall:.3f}  {f.inscope_rejected:.3f}  {f.wrong_answers:.3f}"
            )
        print("\nurgent (others as set) -> urgent/asylum led, needless headers, oos recall, wrong answers")
        for urgent, f in evaluate.tune_urgent(outcomes, thresholds, intents):
            print(
                f"{urgent:.2f}  -> {f.urgent_led:.3f}  {f.needless_header:.3f}  "
                f"{f.oos_recall:.3f}  {f.wrong_answers:.3f}"
            )
        return None
    title = "Held-out examples" if chosen == HELD_OUT else f"Examples in {folder}"
    return evaluate.build_report(outcomes, thresholds, intents, title)


async def _compare(settings: Settings, project: RasaProject) -> int:
    from bot.nlu.compare import compare

    thresholds = create_core_config(settings).thresholds
    rows = await compare(project, settings.rasa, thresholds, _intents(settings))
    print("\n".join(rows))
    return 0


def _intents(settings: Settings) -> evaluate.Intents:
    """Which intents are answered from content, and which are urgent (the contract in content/intents.yml)."""
    intents = load_intents(settings.pana.content_dir / "intents.yml")
    return evaluate.Intents(
        is_topic=lambda name: name in intents and intents[name].kind == "topic",
        is_urgent=lambda name: name in intents and intents[name].urgent,
    )


def _check_floors(figures: dict[str, float], path: Path) -> int:
    floors = yaml.safe_load(path.read_text(encoding="utf-8"))
    failed = []
    for name, floor in floors.get("at_least", {}).items():
        if figures.get(name, 0.0) < floor:
            failed.append(f"{name} {figures.get(name, 0.0):.3f} < floor {floor}")
    for name, ceiling in floors.get("at_most", {}).items():
        if figures.get(name, float("inf")) > ceiling:
            failed.append(f"{name} {figures.get(name, 0.0):.3f} > ceiling {ceiling}")
    for line in failed:
        print(f"BELOW FLOOR: {line}", file=sys.stderr)
    print(f"Floors ({path.name}): {'FAILED' if failed else 'all met'}")
    return 1 if failed else 0


async def classify_lines(settings: Settings) -> int:
    """One JSON object per input line; nothing is stored."""
    project = RasaProject(settings.rasa.project_dir)
    detector = LanguageDetector()
    classifier = RasaClient.from_settings(settings.rasa)
    async with NluServer(settings.rasa, project, quiet=True):
        try:
            for line in sys.stdin:
                text = line.rstrip("\n")
                result = await classifier.classify(text)
                top = result.top
                record = {
                    "text": text,
                    "language": detector.detect(text).language,
                    "intent": top.name if top else None,
                    "confidence": round(top.confidence, 4) if top else None,
                    "ranking": [{"name": s.name, "confidence": round(s.confidence, 4)} for s in result.ranking[:5]],
                }
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
                sys.stdout.flush()
        finally:
            await classifier.close()
    return 0
