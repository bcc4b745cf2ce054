"""Numbers read strictly: superscripts, other scripts' digits and overflowing runs are not numbers (issue 13)."""

from __future__ import annotations

import pytest

from bot.channels.numbered import resolve_choice
from bot.core.messages import Option
from bot.core.numbers import parse_number
from bot.handoff.desk import case_number

pytestmark = pytest.mark.fast

OPTIONS = (Option("Asylum", "topic:asylum_apply"), Option("Menu", "menu"))


@pytest.mark.parametrize("text", ["²", "٣", "１", "3000000000", "1234567890", "", " 1", "1\n", "-1", "1.0", "+2"])
def test_only_one_to_nine_ascii_digits_are_a_number(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(("text", "number"), [("0", 0), ("2", 2), ("007", 7), ("999999999", 999_999_999)])
def test_ascii_digits_are_read(text: str, number: int) -> None:
    assert parse_number(text) == number


def test_a_superscript_two_picks_no_option_and_raises_nothing() -> None:
    assert resolve_choice("²", OPTIONS) is None  # "²".isdigit() is true: this used to raise on int("²")
    assert resolve_choice("2", OPTIONS) == "menu"


@pytest.mark.parametrize("command", ["² please look", "3000000000 note", "#٣ hello"])
def test_a_lawyer_command_without_a_real_case_number_names_no_case(command: str) -> None:
    assert case_number(command) == (None, command)
    assert case_number("#12 thanks") == (12, "thanks")
