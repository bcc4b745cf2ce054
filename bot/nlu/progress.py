"""Progress of `rasa train` read from its output: what it is doing, which epoch, how long is left.

Rasa prints tqdm bars ("Epochs:  45%|████ | 27/60 [01:10<01:25, ...]") redrawn with carriage returns, and
log lines naming each component it trains. Without this, `pana nlu train` was minutes of silence.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

_EPOCHS = re.compile(r"Epochs:\s*(\d+)%\|[^|]*\|\s*(\d+)/(\d+)\s*\[([\d:]+)<([\d:?]+)")
_COMPONENT = re.compile(r"Starting to train component '?(\w+)'?")


@dataclass(frozen=True, slots=True)
class Epochs:
    done: int
    total: int
    elapsed: str
    left: str


def parse_epochs(line: str) -> Epochs | None:
    """The epoch counter of a tqdm line, or None when the line is something else."""
    match = _EPOCHS.search(line)
    if match is None:
        return None
    return Epochs(int(match[2]), int(match[3]), match[4], match[5])


def parse_component(line: str) -> str | None:
    match = _COMPONENT.search(line)
    return match[1] if match else None


def lines(fd: int) -> Iterator[str]:
    """Decoded output lines of a pipe, split on carriage returns too (tqdm redraws its bar with them).

    Reads what is there (os.read), not whole lines, so a bar redrawn in place arrives as it is drawn.
    """
    pending = b""
    while chunk := os.read(fd, 4096):
        pending += chunk
        *complete, pending = re.split(rb"[\r\n]", pending)
        yield from (part.decode("utf-8", "replace") for part in complete if part.strip())
    if pending.strip():
        yield pending.decode("utf-8", "replace")


class ProgressReporter:
    """Turns Rasa's output into a few readable lines: each component, then every `step` percent of epochs."""

    def __init__(self, say: Callable[[str], None], *, step: int = 10, clock: Callable[[], float] = time.monotonic):
        self._say = say
        self._step = step
        self._clock = clock
        self._started = clock()
        self._next_percent = 0

    def feed(self, line: str) -> None:
        component = parse_component(line)
        if component is not None:
            self._say(f"[{self._clock() - self._started:5.0f} s] training {component}")
            self._next_percent = 0
            return
        epochs = parse_epochs(line)
        if epochs is None or epochs.total == 0:
            return
        percent = 100 * epochs.done // epochs.total
        if percent >= self._next_percent:
            left = f", about {epochs.left} left for this component" if "?" not in epochs.left else ""
            self._say(f"[{self._clock() - self._started:5.0f} s] epoch {epochs.done}/{epochs.total} ({percent}%){left}")
            self._next_percent = percent - percent % self._step + self._step

    def feed_all(self, output: Iterable[str]) -> None:
        for line in output:
            self.feed(line)
