"""CPU per turn at a turn's edges, in one process, without a profiler: where a worker's time goes.

Run by hand (not by `make test`): `python -m bench.turn_cpu [--turns 200] [--rasa-port 5144]`.

The real app wiring (`create_app`, `create_telegram`, `create_whatsapp`, `create_web_app`) serves on
127.0.0.1 in the main thread's event loop, on SQLite in a temporary directory and in-process state (or
`--database-url`), against the real Rasa server on `--rasa-port` (started here when nothing answers there).
The tests' Bot API and Twilio stand-ins and the simulated people run in a second thread with their own
loop, so their CPU can be told apart from the worker's:

- **whole turn**: the process's CPU (`time.process_time`) minus that second thread's (its CPU clock), i.e.
  the worker's event loop plus the threads it uses (aiosqlite runs SQLite in one);
- **stages**: CPU of the worker's loop thread (`time.thread_time`) inside a stage, summed over the measured
  turns and divided by them (inclusive: a stage's figure contains the stages it calls). Turns run one at a
  time, so nothing else the worker does runs inside a stage's awaits;
- **micro**: each edge step alone, repeated on inputs recorded from the turns above, `time.process_time`
  over many repetitions: no network, no scheduling, no profiler's per-call cost.

Wall-clock figures are deliberately absent: on a shared machine they measure the neighbours.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import inspect
import itertools
import json
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

import bot.channels.telegram  # noqa: F401  # first: aiogram as a worker imports it (lazy_models.py)
from bench.stack import RasaServer, free_port
from bench.standins import BenchBotApi, BenchTwilioApi
from bot.app import create_app
from bot.nlu.server import server_ready
from bot.nlu.testset import load_test_set
from bot.settings import DatabaseSettings, RasaSettings, TelegramSettings, TwilioSettings, load_settings
from tests.keys import TEST_KEY
from tests.telegram.fake_bot_api import TOKEN, button_press, private_message
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, inbound_message_form

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET = "turn-cpu-secret"  # noqa: S105 (the webhook secret of a throwaway stack)
MICRO_REPETITIONS = 2000


@dataclass
class Stages:
    """CPU of the worker's loop thread inside each stage (inclusive), and how often each ran."""

    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    on: bool = False
    recorded: dict[str, Any] = field(default_factory=dict)  # inputs for the micro measurements
    sizes: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.cpu.clear()
        self.calls.clear()

    def wrap_async(self, owner: Any, name: str, stage: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return await original(*args, **kwargs)
            finally:
                self._add(stage, time.thread_time() - started)

        setattr(owner, name, timed)

    def wrap_sync(
        self,
        owner: Any,
        name: str,
        stage: str,
        record: str | None = None,
        keep: Callable[[inspect.BoundArguments], bool] = lambda bound: True,
        size: Callable[[inspect.BoundArguments], int] = lambda bound: 0,
    ) -> None:
        """Time a function; with `record`, keep the arguments of the largest call by `size` that `keep` accepts.

        The largest, so that micro measurements before and after a change see the same input."""
        original = getattr(owner, name)
        signature = inspect.signature(original)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if record is not None:
                bound = signature.bind(*args, **kwargs)
                if keep(bound) and size(bound) >= self.sizes.get(record, -1):
                    self.recorded[record], self.sizes[record] = bound.arguments, size(bound)
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(stage, time.thread_time() - started)

        setattr(owner, name, timed)

    def _add(self, stage: str, seconds: float) -> None:
        if self.on:
            self.cpu[stage] += seconds
            self.calls[stage] += 1


def instrument(stages: Stages) -> None:
    """Time the edges' stages where the worker calls them (before the app is built, so bound methods see it)."""
    from aiogram import Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.fsm.middleware import FSMContextMiddleware
    from twilio.request_validator import RequestValidator

    import bot.channels.telegram.lawyers as lawyers
    import bot.channels.telegram.outgoing as outgoing
    import bot.channels.telegram.routers as routers
    import bot.channels.telegram.session as session_module
    import bot.core.actions as actions
    import bot.nlu.client as nlu_client
    from bot.channels.telegram.dedupe import UpdateDedupeMiddleware
    from bot.channels.telegram.runtime import TelegramRuntime
    from bot.channels.whatsapp.api import TwilioMessages
    from bot.channels.whatsapp.channel import WhatsAppChannel
    from bot.channels.whatsapp.sender import WhatsAppSender
    from bot.channels.whatsapp.webhook import WhatsAppWebhook
    from bot.core.conversation import Conversation
    from bot.core.outage import OutageAnswers

    stages.wrap_async(TelegramRuntime, "webhook", "telegram: webhook handler (all of it)")
    stages.wrap_async(Dispatcher, "feed_update", "telegram:   aiogram dispatch (with the handler)")
    stages.wrap_async(UpdateDedupeMiddleware, "__call__", "telegram:     dedupe middleware (and what it calls)")
    stages.wrap_async(FSMContextMiddleware, "__call__", "telegram:       FSM/isolation middleware (and inner)")
    stages.wrap_async(lawyers, "registered_lawyer", "telegram:       lawyer filter (a record lookup)")
    stages.wrap_async(routers, "handle", "telegram:       the conversation's handler")
    stages.wrap_async(routers, "send_turn", "telegram:     send_turn (render, Bot API, mark)")
    # The session class the bot uses (its make_request is the whole request, whichever encoding it chose).
    bot_session = getattr(session_module, "JsonSession", AiohttpSession)
    stages.wrap_async(bot_session, "make_request", "telegram:       Bot API request")

    def send_message(bound: inspect.BoundArguments) -> bool:
        return bool(bound.arguments["method"].__api_method__ == "sendMessage")

    def text_length(bound: inspect.BoundArguments) -> int:
        return len(str(bound.arguments["method"].text))

    def option_count(bound: inspect.BoundArguments) -> int:
        return len(bound.arguments["options"])

    stages.wrap_sync(AiohttpSession, "build_form_data", "telegram:         build the form (aiogram)")
    if hasattr(session_module, "JsonSession"):
        stages.wrap_sync(session_module.JsonSession, "json_body", "telegram:         build the JSON body")
    stages.wrap_sync(
        AiohttpSession, "check_response", "telegram:         parse the answer", "response", send_message, text_length
    )
    if hasattr(session_module.JsonSession, "answer"):  # a sent message's answer built lean; the rest by aiogram
        reader = session_module.JsonSession
        stages.wrap_sync(reader, "answer", "telegram:         read the answer", "answer", send_message, text_length)
    stages.wrap_sync(outgoing, "keyboard", "telegram:       keyboard + signed callbacks", "keyboard", size=option_count)
    stages.wrap_sync(outgoing, "as_html", "telegram:       as_html", "html")
    stages.wrap_async(OutageAnswers, "handle", "core: OutageAnswers.handle (Conversation inside)")
    stages.wrap_sync(actions, "find_city", "core:   find_city (a topic answered by text)")
    stages.wrap_async(Conversation, "handle", "core: Conversation.handle (storage, NLU, answer)")
    stages.wrap_async(Conversation, "delivered", "core: Conversation.delivered (storage)")
    stages.wrap_async(nlu_client.RasaClient, "classify", "core:   Rasa client classify")
    if hasattr(nlu_client, "RequestSigner"):
        stages.wrap_sync(nlu_client.RequestSigner, "headers", "core:     Rasa auth headers")
    else:
        stages.wrap_sync(nlu_client, "auth_headers", "core:     Rasa auth headers")
    stages.wrap_sync(nlu_client, "parse_response", "core:     parse_response", "rasa_body")
    stages.wrap_async(WhatsAppWebhook, "inbound", "whatsapp: webhook handler (all of it)")
    stages.wrap_async(WhatsAppWebhook, "_signed_form", "whatsapp:   form parse + signature")
    stages.wrap_sync(RequestValidator, "validate", "whatsapp:     RequestValidator.validate", "signature")
    stages.wrap_async(WhatsAppChannel, "receive", "whatsapp:   channel receive (core inside)")
    stages.wrap_async(WhatsAppSender, "drain", "whatsapp: outbox drain (after the 200)")
    stages.wrap_async(TwilioMessages, "create", "whatsapp:   Twilio create")


class Driver:
    """The stand-ins and the people, in their own thread and loop."""

    def __init__(self, texts: list[str], seed: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.bot_api = BenchBotApi()
        self.twilio = BenchTwilioApi()
        self.texts = texts
        self.rng = random.Random(seed)
        self.update_ids = itertools.count(1)
        self.sids = itertools.count(1)
        self.session: aiohttp.ClientSession | None = None
        self.url = ""

    def cpu(self) -> float:
        if self.thread.ident is None:
            raise RuntimeError("the driver thread has not started")
        return time.clock_gettime(time.pthread_getcpuclockid(self.thread.ident))

    def run(self, coroutine: Awaitable[Any]) -> asyncio.Future[Any]:
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))  # type: ignore[arg-type]

    async def start(self) -> None:
        await self.bot_api.start()
        await self.twilio.start()
        self.session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.bot_api.close()
        await self.twilio.close()

    async def telegram_turn(self, person: int) -> None:
        """A question, or (every third turn, when there is one) a press of the last reply's first button."""
        if self.session is None:
            raise RuntimeError("the driver has not started")
        chat_id = 10_000 + person
        buttons = [
            button["callback_data"]
            for sent in self.bot_api.by_chat.get(str(chat_id), [])[-1:]
            for row in (sent.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
            if "callback_data" in button and not button["callback_data"].startswith(("o|lawyer", "o|forget", "o|del"))
        ]
        update_id = next(self.update_ids)
        if buttons and self.rng.random() < 1 / 3:
            update = button_press(update_id, buttons[0], chat_id=chat_id)
        else:
            update = private_message(update_id, self.rng.choice(self.texts), chat_id=chat_id)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        async with self.session.post(f"{self.url}/telegram/webhook", data=json.dumps(update), headers=headers) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"Telegram webhook answered {r.status}")

    async def whatsapp_turn(self, person: int, public_url: str) -> None:
        """A question signed as Twilio signs it; done when its reply reached the stand-in and no more follow."""
        from twilio.request_validator import RequestValidator

        if self.session is None:
            raise RuntimeError("the driver has not started")
        number = f"+7701{person:07d}"
        recipient = f"whatsapp:{number}"
        seen = len(self.twilio.by_recipient.get(recipient, []))
        sid = f"SM{next(self.sids):032x}"
        form = inbound_message_form(sid, number, self.rng.choice(self.texts), profile="Bench")
        signature = RequestValidator(AUTH_TOKEN).compute_signature(public_url + "/whatsapp/webhook", form)
        headers = {"X-Twilio-Signature": signature}
        async with self.session.post(f"{self.url}/whatsapp/webhook", data=form, headers=headers) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"WhatsApp webhook answered {r.status}")
        if await self.twilio.wait_beyond(recipient, seen, 30) is None:
            raise RuntimeError("no WhatsApp reply within 30 s")
        await self.twilio.settle(recipient, quiet=0.05)


@contextlib.contextmanager
def driver_thread(driver: Driver) -> Iterator[Driver]:
    driver.thread.start()
    try:
        yield driver
    finally:
        driver.loop.call_soon_threadsafe(driver.loop.stop)
        driver.thread.join(5)


async def whole_turns(args: argparse.Namespace, driver: Driver, stages: Stages, rasa: RasaSettings) -> dict[str, Any]:
    from bot.registry import create_telegram, create_whatsapp
    from bot.web import create_web_app

    await driver.run(driver.start())
    public_url = "http://127.0.0.1"
    base = load_settings()
    with tempfile.TemporaryDirectory(prefix="pana-turn-cpu-") as tmp:
        database = args.database_url or f"sqlite+aiosqlite:///{tmp}/pana.db"
        settings = base.model_copy(
            update={
                "database": DatabaseSettings(url=database),
                "pana": base.pana.model_copy(update={"encryption_keys": SecretStr(TEST_KEY), "public_url": public_url}),
                "rasa": rasa,
                "redis": base.redis.model_copy(update={"url": None}),
                "telegram": TelegramSettings(
                    bot_token=SecretStr(TOKEN),
                    api_base=driver.bot_api.base_url,
                    webhook_url="http://127.0.0.1/telegram/webhook",
                    webhook_secret=SecretStr(SECRET),
                ),
                "twilio": TwilioSettings(
                    account_sid=ACCOUNT_SID,
                    auth_token=SecretStr(AUTH_TOKEN),
                    whatsapp_from=SENDER,
                    api_base=driver.twilio.base_url,
                ),
            }
        )
        app = await create_app(settings)
        telegram = create_telegram(settings, app)
        whatsapp = create_whatsapp(settings, app)
        runner = web.AppRunner(create_web_app(app, telegram, whatsapp))
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        driver.url = f"http://127.0.0.1:{port}"
        results: dict[str, Any] = {}
        try:
            for channel in ("telegram", "whatsapp"):
                people = itertools.cycle(range(args.people))

                async def turn(channel: str = channel, people: Iterator[int] = people) -> None:
                    person = next(people)
                    if channel == "telegram":
                        await driver.run(driver.telegram_turn(person))
                    else:
                        await driver.run(driver.whatsapp_turn(person, public_url))

                for _ in range(args.warmup):
                    await turn()
                stages.reset()
                stages.on = True
                process, thread, others = time.process_time(), time.thread_time(), driver.cpu()
                for _ in range(args.turns):
                    await turn()
                stages.on = False
                loop_cpu = time.thread_time() - thread
                worker_cpu = time.process_time() - process - (driver.cpu() - others)
                counted = 0
                if args.count_turns:  # a separate pass: the profile hook slows every call down
                    counter = CallCounter()
                    sys.setprofile(counter)
                    try:
                        for _ in range(args.count_turns):
                            await turn()
                    finally:
                        sys.setprofile(None)
                    counted = counter.count
                results[channel] = {
                    "worker": worker_cpu / args.turns,
                    "loop thread": loop_cpu / args.turns,
                    "calls": counted / max(args.count_turns, 1),
                    "stages": {k: (v / args.turns, stages.calls[k] / args.turns) for k, v in stages.cpu.items()},
                }
        finally:
            await runner.cleanup()
            await app.close()
            await driver.run(driver.stop())
    return results


def per_call(function: Callable[[], Any], repetitions: int = MICRO_REPETITIONS) -> float:
    """CPU seconds per call of `function`, over `repetitions` back to back (after one warm-up call)."""
    function()
    started = time.process_time()
    for _ in range(repetitions):
        function()
    return (time.process_time() - started) / repetitions


class CallCounter:
    """A profile hook that counts Python and C function calls in its thread: a figure load does not move."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            self.count += 1


def calls_in(function: Callable[[], Any]) -> int:
    """Function calls made by one call of `function` (after a first call: first-use caches are not a turn's)."""
    function()
    counter = CallCounter()
    sys.setprofile(counter)
    try:
        function()
    finally:
        sys.setprofile(None)
    return counter.count


def micro(stages: Stages, rasa: RasaSettings, texts: list[str]) -> dict[str, tuple[float, float]]:
    """Each edge step alone, on inputs the turns recorded: CPU seconds and function calls per call."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.types import Update
    from twilio.request_validator import RequestValidator

    import bot.nlu.auth as nlu_auth
    from bot.channels.telegram.render import as_html, keyboard
    from bot.content.loader import load_catalog
    from bot.content.render import find_city
    from bot.core.language import LanguageDetector
    from bot.nlu.auth import auth_headers
    from bot.nlu.client import parse_response
    from bot.nlu.normalize import normalize
    from bot.nlu.transliterate import cyrillic_reading

    out: dict[str, tuple[float, float]] = {}

    def note(label: str, function: Callable[[], Any], repetitions: int = MICRO_REPETITIONS, items: int = 1) -> None:
        out[label] = (per_call(function, repetitions) / items, calls_in(function) / items)

    rec = stages.recorded
    bot = Bot(TOKEN)
    update_body = json.dumps(private_message(1, texts[0], chat_id=10_001)).encode()
    note(
        "telegram: json.loads + Update.model_validate (a text message)",
        lambda: Update.model_validate(json.loads(update_body), context={"bot": bot}),
    )
    sent = rec.get("response") or rec.get("answer")  # the longest sendMessage, by whichever way it was read
    if sent is not None:
        session, method = sent["self"], sent["method"]
        note(
            "telegram: encode sendMessage, aiogram's form (the longest answer)",
            lambda: session.build_form_data(bot, method)(),  # calling the FormData url-encodes the payload
        )
        if hasattr(session, "json_body"):
            note("telegram: encode sendMessage, JSON (the longest answer)", lambda: session.json_body(bot, method))
    if sent is not None:
        content = sent["content"]
        text = content if isinstance(content, str) else content.decode()
        note(
            "telegram: check_response (Response[Message])",
            lambda: AiohttpSession.check_response(sent["self"], bot, sent["method"], sent["status_code"], text),
        )
        if hasattr(sent["self"], "answer"):
            raw = text.encode()
            note(
                "telegram: JsonSession.answer (a sent message, lean)",
                lambda: sent["self"].answer(bot, sent["method"], sent["status_code"], raw),
            )
    if "keyboard" in rec:
        shown = rec["keyboard"]
        note(
            "telegram: keyboard (signed callbacks)",
            lambda: keyboard(shown["options"], token=shown["token"], chat_id=shown["chat_id"]),
        )
    if "html" in rec:
        text = rec["html"]["text"]
        note("telegram: as_html", lambda: as_html(text))
    note("core: auth_headers (read the secret, sign a JWT)", lambda: auth_headers(rasa))
    if hasattr(nlu_auth, "RequestSigner"):
        signer = nlu_auth.RequestSigner(rasa)
        note("core: RequestSigner.headers (the client's, reused)", signer.headers)
    if "rasa_body" in rec:
        body = rec["rasa_body"]["body"]
        note("core: parse_response (Rasa answer)", lambda: parse_response(body))
    sample = texts[:50]
    directory = load_catalog(REPO_ROOT / "content").directory
    note("core: find_city (per text)", lambda: [find_city(t, directory) for t in sample], 40, len(sample))
    note("core: normalize (per text)", lambda: [normalize(t) for t in sample], 40, len(sample))
    detector = LanguageDetector()
    note("core: language detect (per text)", lambda: [detector.detect(t) for t in sample], 40, len(sample))
    note("core: cyrillic_reading (per text)", lambda: [cyrillic_reading(t, detector) for t in sample], 40, len(sample))
    if "signature" in rec:
        checked = rec["signature"]
        note(
            "whatsapp: RequestValidator.validate",
            lambda: RequestValidator.validate(checked["self"], checked["uri"], checked["params"], checked["signature"]),
        )
    return out


async def measure(args: argparse.Namespace) -> None:
    examples = load_test_set(REPO_ROOT / "nlu" / "tests")
    texts = [e.text for e in examples]
    rasa = RasaSettings(host="127.0.0.1", port=args.rasa_port, url=f"http://127.0.0.1:{args.rasa_port}")
    stages = Stages()
    instrument(stages)
    driver = Driver(texts, args.seed)
    started: RasaServer | None = None
    try:
        if not await server_ready(rasa):
            started = RasaServer(rasa, Path(tempfile.gettempdir()) / f"pana-turn-cpu-rasa-{args.rasa_port}.log")
            await started.start()
        with driver_thread(driver):
            results = await whole_turns(args, driver, stages, rasa)
        small = micro(stages, rasa, texts)
    finally:
        if started is not None:
            await started.stop()
    for channel, figures in results.items():
        print(
            f"\n{channel}: {args.turns} turns, worker CPU {figures['worker'] * 1e3:.2f} ms per turn "
            f"(its event loop's thread {figures['loop thread'] * 1e3:.2f} ms); "
            f"{figures['calls']:.0f} function calls per turn in that thread (over {args.count_turns} more turns)"
        )
        for stage, (cpu, calls) in figures["stages"].items():
            print(f"  {stage:<58} {cpu * 1e3:7.3f} ms  ({calls:.2f} calls per turn)")
    print(f"\nmicro (process CPU per call, {MICRO_REPETITIONS} repetitions unless per text; function calls per call):")
    for stage, (cpu, calls) in small.items():
        print(f"  {stage:<62} {cpu * 1e6:9.1f} µs {calls:9.0f} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200, help="measured turns per channel")
    parser.add_argument("--warmup", type=int, default=30, help="turns per channel before measuring")
    parser.add_argument("--people", type=int, default=20, help="people per channel, taking turns")
    parser.add_argument(
        "--count-turns",
        type=int,
        default=30,
        help="turns per channel after the timed ones, with every function call of the loop's thread counted "
        "(the stage timers' own few calls per stage included)",
    )
    parser.add_argument("--rasa-port", type=int, default=5144)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
