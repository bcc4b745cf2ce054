"""The kill chain's allowances (tests/faults/chain.py): a relay to the lawyer once more per attempt cut off, a case's
announcement to the lawyer once more per announcement attempt cut off, a WhatsApp reply to its person once more per
claim of its delivery cut off."""

from __future__ import annotations

import pytest

from tests.faults.chain import announced_case, unexplained_duplicates

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


ANNOUNCEMENT = "New case waiting for a lawyer:\n#2 · ru · telegram · no topic · asked for a lawyer · since 01.12 14:05"
URGENT_ANNOUNCEMENT = "Новое обращение:\nСРОЧНО · #2 · ru · whatsapp · Задержание · срочная тема · с 01.12 14:05"


def test_the_case_an_announcement_names_is_read_from_its_line_and_a_relay_names_none() -> None:
    assert announced_case(ANNOUNCEMENT) == 2
    assert announced_case(URGENT_ANNOUNCEMENT) == 2
    assert announced_case(RELAY) is None


def test_an_announcement_sent_again_after_an_attempt_cut_off_is_explained() -> None:
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 2}, {}, {}, {2: 1}) == {}


def test_an_announcement_sent_twice_with_no_attempt_cut_off_is_a_duplicate() -> None:
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 2}, {}, {}, {}) == {("lawyer", ANNOUNCEMENT): 2}
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 2}, {}) == {("lawyer", ANNOUNCEMENT): 2}


def test_one_announcement_cut_off_explains_one_copy_more_of_its_own_case_only() -> None:
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 3}, {}, {}, {2: 1}) == {("lawyer", ANNOUNCEMENT): 3}
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 3}, {}, {}, {2: 2}) == {}
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 2}, {}, {}, {3: 1}) == {("lawyer", ANNOUNCEMENT): 2}


def test_an_announcement_and_a_relay_do_not_explain_each_other() -> None:
    assert unexplained_duplicates({("lawyer", ANNOUNCEMENT): 2}, {ANNOUNCEMENT: 1}) == {("lawyer", ANNOUNCEMENT): 2}
    assert unexplained_duplicates({("lawyer", RELAY): 2}, {}, {}, {1: 1}) == {("lawyer", RELAY): 2}
    assert unexplained_duplicates({("9100", ANNOUNCEMENT): 2}, {}, {}, {2: 1}) == {("9100", ANNOUNCEMENT): 2}
