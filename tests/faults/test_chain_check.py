"""The kill chain's one allowance (tests/faults/chain.py): a relay to the lawyer once more per attempt cut off."""

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


def test_a_reply_to_a_person_twice_is_never_explained() -> None:
    assert unexplained_duplicates({("9100", RELAY): 2}, {RELAY: 1}) == {("9100", RELAY): 2}
