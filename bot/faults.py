"""Crash points for the kill -9 tests (tests/faults/): inert unless PANA_FAULT_POINT names one.

`PANA_FAULT_POINT=after_store pana serve` kills the process with SIGKILL the first time a turn reaches
`crash_point("after_store")`: no cleanup, no flush, exactly like a power cut. Never set it in production.
"""

from __future__ import annotations

import os
import signal

__all__ = ["POINTS", "crash_point"]

POINTS = (
    "after_store",  # the inbound message is committed, nothing decided
    "relay_stored",  # the relay to the lawyer is committed, not sent
    "relay_sent",  # a relay is sent, not marked: sent again after its lease (tests/faults/test_kill.py)
    "after_record_turn",  # the decision is committed, nothing sent
    "after_part_sent",  # a reply part is sent and marked, the next not (Telegram marks its last part by answering)
    "before_answered",  # every part is sent; WhatsApp: queued, not yet marked answered (Telegram: answered)
    # a WhatsApp delivery is claimed, not handed to Twilio (this kill may come from any task of the process: an
    # announcement it cuts off mid-send shows in its case's record, as a relay's in the relay's)
    "whatsapp_claimed",
    "claim_taken",  # a delivery's claim is taken (busy), nothing handled yet
    "before_claim_done",  # the delivery was handled, its claim still busy
    "announcing",  # a waiting case's announcement lease is taken, nothing sent
    # the announcement is sent, not marked: announced again after its lease, the case's record shows the attempt
    # cut off (its own test, tests/faults/test_kill.py, and the chains: the case "announcing" left waiting)
    "announcement_sent",
    "whatsapp_accepted",  # Twilio's signed message is parsed, nothing stored yet (WhatsApp takes no claim)
)
_POINT = os.environ.get("PANA_FAULT_POINT") or None


def crash_point(name: str) -> None:
    if name == _POINT:
        os.kill(os.getpid(), signal.SIGKILL)
