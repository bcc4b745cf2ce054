"""A WhatsApp reply left `submitting` by a process that died mid-send is sent while Pana serves, once its claim's
lease has run out: not only at a start two minutes later (the kill chain lost a reply so: tests/faults/).

The dead process is played by claiming the delivery and never sending it, as a kill between the claim's commit
and Twilio's answer leaves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from bot.clock import utc_now
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.records.whatsapp import READY, SUBMITTING, Delivery, Outgoing
from bot.settings import RasaSettings
from bot.storage.tables import WhatsAppDeliveryRow
from tests.conftest import make_settings, record
from tests.whatsapp.conftest import TEMPLATES, USER, WhatsAppStack, running_stack, whatsapp_settings
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

pytestmark = pytest.mark.asyncio

LEASE_SECONDS = 5.0  # longer than a claim and a query here, even on a busy machine
TEXT = "The answer to your question"


@pytest.fixture
async def stack(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[WhatsAppStack]:
    settings = whatsapp_settings(make_settings(database_url, rasa_settings), twilio_api, **TEMPLATES)
    settings = settings.model_copy(
        update={
            "twilio": settings.twilio.model_copy(update={"submission_lease_seconds": LEASE_SECONDS}),
            "pana": settings.pana.model_copy(update={"recovery_interval_seconds": 0.2}),
        }
    )
    async with running_stack(settings, twilio_api, detector) as started:
        yield started


async def _claimed_by_a_dead_process(stack: WhatsAppStack) -> Delivery:
    """A delivery stored and claimed after this process started (so its start did not see it), never sent."""
    await stack.app.store.get_or_create_contact("whatsapp", USER)
    await stack.runtime.ledger.note_inbound(USER, utc_now())
    [delivery_id] = await stack.runtime.ledger.add(USER, [Outgoing("en", body=TEXT)])
    claimed = await stack.runtime.ledger.claim_next(USER)
    assert claimed is not None and claimed.id == delivery_id
    return claimed


async def test_a_delivery_cut_off_mid_send_is_sent_once_its_claim_runs_out(
    stack: WhatsAppStack, twilio_api: FakeTwilioApi
) -> None:
    claimed = await _claimed_by_a_dead_process(stack)
    sent = await twilio_api.wait_for(1, recipient=f"whatsapp:{USER}", timeout=60)
    assert [m["Body"] for m in sent] == [TEXT], "sent once, by the process that serves"
    [row] = await stack.deliveries()
    assert (row.id, row.status, row.attempts) == (claimed.id, "queued", 2), "its record shows the claim cut off"


async def test_a_live_claim_is_not_taken_back(stack: WhatsAppStack, twilio_api: FakeTwilioApi) -> None:
    """Within its lease the claim is a sender's at work (another worker's): the sweep leaves it alone."""
    await _claimed_by_a_dead_process(stack)
    assert await stack.runtime.outbox.resume_stranded() == 0
    [row] = await stack.deliveries()
    assert row.status == SUBMITTING and twilio_api.messages == []


async def test_a_sender_renews_only_its_own_claim(stack: WhatsAppStack) -> None:
    """A sender about to retry renews its claim; once the claim was taken back and taken again, it is told so."""
    claimed = await _claimed_by_a_dead_process(stack)
    assert await stack.runtime.ledger.renew(claimed)
    async with record(stack.app)() as session:  # its lease ran out: taken back, and claimed by another sender
        await session.execute(update(WhatsAppDeliveryRow).values(status=READY))
        await session.commit()
    again = await stack.runtime.ledger.claim_next(USER)
    assert again is not None and again.attempts == claimed.attempts + 1
    assert not await stack.runtime.ledger.renew(claimed)
    assert await stack.runtime.ledger.renew(again)
