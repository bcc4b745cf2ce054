"""`pana chat`: the terminal chat, with the NLU server started when none answers."""

from __future__ import annotations

import argparse
import sys

from bot.app import create_app
from bot.channels.console import ConsoleChannel
from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer, server_ready
from bot.settings import Settings


async def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    project = RasaProject(settings.rasa.project_dir)
    if not await server_ready(settings.rasa):
        project.train()
    async with NluServer(settings.rasa, project, quiet=args.jsonl):
        app = await create_app(settings)
        try:
            channel = ConsoleChannel(app.dialogue, user_id=args.user, jsonl=args.jsonl)
            # Lawyers' answers reach this terminal through the case queue's outbox and its worker.
            app.handoff.outbox.register_sender(channel.name, channel.sender)
            app.handoff.worker.start()
            app.retention.start()
            if args.jsonl:
                await channel.run_jsonl(sys.stdin, sys.stdout)
            else:
                await channel.run_interactive()
        finally:
            await app.close()
    return 0
