"""Complementary suppression: a hidden count must not be recoverable by subtracting shown ones from a total.

A report shows a week's total beside its per-language cells; if exactly one of those cells is hidden, it
equals the total minus the others. So every sum the page reveals is a `Group` (parts that add up to a
published total), and subtraction from it yields the sum of the group's hidden parts. That sum must never
be a count of 1 to SMALLEST_SHOWN - 1 people: when it is, the group's smallest shown part is hidden too
(a hidden sum of 0 only says that nobody is there, which points at no one).

Why hiding a second cell rather than rounding the totals: the totals (questions per week) are the figures a
donor asks for first, and rounding to a base of 5 still narrows a hidden cell to a couple of values. The
cell hidden in addition is the group's smallest shown one, which costs the least information. Hidden cells
are all shown with one mark, so a reader cannot tell the small one from its companion.

This closes subtraction within each published sum; a reader solving all the tables as one system of
equations could still narrow some cells (a full linear-programming audit is beyond a weekly report).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Group(Generic[K]):
    """Cells whose sum a reader can compute: it is the sum of the `totals` cells whenever those are all shown.

    A total is usually one cell (a week's questions); a grand total is the sum of several shown ones.
    """

    parts: tuple[K, ...]
    totals: tuple[K, ...]


def _weak(group: Group[K], values: Mapping[K, int], hidden: set[K], smallest: int) -> bool:
    if any(total in hidden for total in group.totals):
        return False  # the sum is not published: nothing to subtract from
    return 0 < sum(values[part] for part in group.parts if part in hidden) < smallest


def protect(values: Mapping[K, int], hidden: Iterable[K], groups: Iterable[Group[K]], smallest: int) -> set[K]:
    """The cells to hide: the given ones (under `smallest`, or never published) and their complements.

    `values` holds every part's true count, including parts that are never published (put them in `hidden`).
    Each round hides one more cell or drops one group, so the loop ends within len(values) + len(groups) rounds.
    """
    concealed = set(hidden)
    groups = list(groups)
    # a total hidden while every part of it is shown hides nothing: the parts add up to it
    totalled = {group.totals[0]: group for group in groups if len(group.totals) == 1}

    def see_through(key: K) -> bool:
        group = totalled.get(key)
        return group is not None and not any(part in concealed for part in group.parts)

    for _round in range(len(values) + len(groups) + 1):
        weak = next((g for g in groups if _weak(g, values, concealed, smallest)), None)
        if weak is None:
            return concealed
        candidates = [part for part in weak.parts if part not in concealed]
        if not candidates:
            # every part is hidden already, so their sum is the shown total itself: nothing more to hide
            groups.remove(weak)
            continue
        opaque = [part for part in candidates if not see_through(part)] or candidates
        chosen = min(opaque, key=lambda part: (values[part], str(part)))
        concealed.add(chosen)
        if see_through(chosen):  # only such totals were left: hide the smallest of its parts with it
            parts = totalled[chosen].parts
            concealed.add(min(parts, key=lambda part: (values[part], str(part))))
    return concealed
