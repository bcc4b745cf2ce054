"""The kill chain's allowances (tests/faults/chain.py): a relay to the lawyer once more per attempt cut off, a WhatsApp
reply to its person once more per claim of its delivery cut off."""

from __future__ import annotations

import pytest

from tests.faults.chain import unexplained_duplicates

pytestmark = pytest.mark.fast

RELAY = "#1: Message 0 for my lawyer: the hearing was moved"


def test_a_relay_sent_again_after_an_attempt_cut_off_is_explained() -> None:
    assert unexplained_duplicates({("lawyer", RELAY): 2}, {RELAY: 1}) == {}


def test_a_relay_sent_twice_with_no_attempt_cut_off_is_a_duplicate() -> None:
    assert unexplained_duplicates({("lawyer", RELAY): 2}, {}) == {("lawyer", RELAY): 2}


def test_one_attempt_cut_off_explains_one_copy_more_not_two() -> None:
    assert unexplained_duplicates({("lawyer", RELAY): 3}, {RELAY: 1}) == {("lawyer", RELAY): 3}
    assert unexplained_duplicates({("lawyer", RELAY): 3}, {RELAY: 2}) == {}


def test_an_attempt_cut_off_explains_only_its_own_relay() -> None:
    other = "#1: Message 1 for my lawyer: the hearing was moved"
    assert unexplained_duplicates({("lawyer", other): 2}, {RELAY: 1}) == {("lawyer", other): 2}


def test_a_reply_to_a_person_twice_is_not_explained_by_a_relay() -> None:
    assert unexplained_duplicates({("9100", RELAY): 2}, {RELAY: 1}) == {("9100", RELAY): 2}


def test_a_whatsapp_reply_sent_again_after_a_claim_cut_off_is_explained_once_for_its_person() -> None:
    reply = "Казахстан: гражданство"
    assert unexplained_duplicates({("+77020009100", reply): 2}, {}, {("+77020009100", reply): 1}) == {}
    assert unexplained_duplicates({("+77020009100", reply): 3}, {}, {("+77020009100", reply): 1}) == {
        ("+77020009100", reply): 3
    }
    assert unexplained_duplicates({("+77020009101", reply): 2}, {}, {("+77020009100", reply): 1}) == {
        ("+77020009101", reply): 2
    }
    assert unexplained_duplicates({("lawyer", RELAY): 2}, {}, {("+77020009100", RELAY): 1}) == {("lawyer", RELAY): 2}
