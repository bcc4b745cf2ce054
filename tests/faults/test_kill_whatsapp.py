"""kill -9 at every step of a turn on WhatsApp, against real `pana serve` processes: nothing lost, nothing twice.

The chain is tests/faults/chain.py; here the people write on WhatsApp, through the Twilio webhook, and their
replies go to the Twilio stand-in. Twilio's redelivery is reproduced as the connection overrides Pana asks for
(README: `#rc=3&rp=ct,rt,5xx`): a message whose request failed to connect, got no answer (the process died
under it) or got a 5xx is sent again, at most `rc` more times; then Twilio gives up on it. Twilio does not
document how far apart its retries are: here one retry per delivery round (~0.3 s apart plus the requests),
none while no process is started (a deployment's other workers would take them then; a refused connection is
that gap, not counted). So a retry comes right after the restart, while what the killed process held (its
message's lease, a claim) still lasts: it must get through, not a 503 until Twilio gives up. The lawyer is on
Telegram (the local Bot API): relays and the announcement go there.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.nlu.server import NluServer
from bot.settings import RasaSettings
from tests.conftest import _backends
from tests.faults.chain import WHATSAPP_CHAIN, Serve, check_chain, free_port, run_chain, serve_env
from tests.telegram.fake_bot_api import FakeBotApi
from tests.whatsapp.conftest import PUBLIC_URL, TEMPLATES, inbound_form, signature
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilioApi

pytestmark = pytest.mark.asyncio

RETRIES = 3  # `rc` in the connection overrides Pana's README gives
WEBHOOK_PATH = "/whatsapp/webhook"


@dataclass
class Delivery:
    form: dict[str, str]
    attempts: int = 0


@dataclass
class Twilio:
    """Twilio's side of the webhook: each message posted, retried on ct/rt/5xx at most RETRIES times."""

    api: FakeTwilioApi
    port: int
    channel: str = "whatsapp"
    pending: list[Delivery] = field(default_factory=list)
    given_up: list[Delivery] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    prefix: str = field(default_factory=lambda: f"+7702{time.time_ns() % 10**3:03d}")  # fresh numbers per run

    def address(self, person: int) -> str:
        return f"{self.prefix}{person:04d}"

    def add(self, person: int, text: str) -> None:
        self.pending.append(Delivery(inbound_form(text, user=self.address(person))))

    def received(self, person: int) -> list[str]:
        return [m.get("Body", "") for m in self.api.to(f"whatsapp:{self.address(person)}")]

    async def push(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:  # Twilio's 15 s
            for delivery in list(self.pending):
                delivery.attempts += 1
                headers = {"X-Twilio-Signature": signature(PUBLIC_URL + WEBHOOK_PATH, delivery.form)}
                try:
                    async with session.post(
                        f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}", data=delivery.form, headers=headers
                    ) as response:
                        status = response.status
                except aiohttp.ClientConnectorError:  # nobody listens: the killed process, not restarted yet
                    delivery.attempts -= 1  # not a retry: none while no process is started (see above)
                    return
                except (aiohttp.ClientError, TimeoutError):  # rt: the process died under the request
                    status = 0
                self.statuses[status] += 1
                if status < 500 and status != 0:
                    assert status == 200, f"Twilio does not retry a {status}: the message would be lost"
                    self.pending.remove(delivery)
                elif delivery.attempts > RETRIES:
                    self.pending.remove(delivery)
                    self.given_up.append(delivery)
                if status == 0:
                    return  # the process is gone: the next round, after the restart, goes on


@pytest.fixture
async def whatsapp_env(
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    tmp_path: Path,
) -> AsyncIterator[tuple[Serve, Twilio]]:
    port = free_port()
    env = serve_env(bot_api, database_url, rasa_settings, tmp_path, port)
    env.update(
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",  # the lawyers' side
        TELEGRAM_WEBHOOK_SECRET="kill-secret_1",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=SENDER.removeprefix("whatsapp:"),
        TWILIO_API_BASE=twilio_api.base_url,
        TWILIO_TEMPLATE_RU=TEMPLATES["ru"],
        PANA_PUBLIC_URL=PUBLIC_URL + "/",
        # Longer than a restart here: Twilio's quick retries of a message a killed process stored meet its hold.
        PANA_TURN_LEASE_SECONDS="10",
        # A reply whose process died while handing it to Twilio goes again after this (longer than a send here).
        TWILIO_SUBMISSION_LEASE_SECONDS="10",
    )
    serve = Serve(env, port, tmp_path)
    yield serve, Twilio(twilio_api, port)
    await serve.stop()


async def test_kill_9_at_every_step_on_whatsapp_loses_nothing_and_answers_once(
    whatsapp_env: tuple[Serve, Twilio], bot_api: FakeBotApi, database_url: str
) -> None:
    if database_url.startswith("sqlite") and len(_backends()) > 1:
        pytest.skip("WhatsApp's chain runs once, on PostgreSQL: the Telegram webhook chain covers both backends")
    serve, twilio = whatsapp_env
    report = await run_chain(serve, twilio, bot_api, database_url, "whatsapp", first_id=9100, points=WHATSAPP_CHAIN)
    print(f"Twilio gave up on {len(twilio.given_up)} message(s) after {RETRIES} retries")
    await check_chain(report, twilio, database_url, one_reply_per_row=False)
    # Stored first, so a retry is acknowledged once the message is kept (the sweep answers it if its handler
    # died): none of Twilio's retries, however quick, is refused with a 5xx. (A retry that finds no process
    # fails to connect; Twilio may give up then, on a message stored before or never accepted.)
    # Twilio may still give up on a message whose requests died with several processes in a row (rt): it was
    # stored, and the sweep answered it (lost=0 above). A refusal is what lost an unstored one: there must be none.
    refused = {status: n for status, n in twilio.statuses.items() if status >= 500}
    assert not refused, f"retries refused: {refused}"
