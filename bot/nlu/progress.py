"""Progress of `rasa train` read from its output: what it is doing, which epoch, how long is left.

Rasa prints tqdm bars ("Epochs:  45%|████ | 27/60 [01:10<01:25, ...]") redrawn with carriage returns, and
log lines naming each component it trains. Without this, `pana nlu train` was minutes of silence.
"""

from __future__ import annotations

import os
import re
import select
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


def lines(fd: int, *, quiet_after: float = 15.0) -> Iterator[str]:
    """Decoded output lines of a pipe, split on carriage returns too (tqdm redraws its bar with them).

    Reads what is there (os.read), not whole lines, so a bar redrawn in place arrives as it is drawn; after
    `quiet_after` seconds of silence it yields "" so the reader can say training is still going.
    """
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], quiet_after)
        if not ready:
            yield ""
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        pending += chunk
        *complete, pending = re.split(rb"[\r\n]", pending)
        yield from (part.decode("utf-8", "replace") for part in complete if part.strip())
    if pending.strip():
        yield pending.decode("utf-8", "replace")


class ProgressReporter:
    """Turns Rasa's output into a few readable lines.

    Each component as it starts, every `step` percent of a component's epochs with tqdm's time left, and
    during silent stretches (a classifier without epochs) the time so far against `expected` seconds, the
    duration of the last training.
    """

    def __init__(
        self,
        say: Callable[[str], None],
        *,
        step: int = 10,
        expected: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._say = say
        self._step = step
        self._expected = expected
        self._clock = clock
        self._started = clock()
        self._next_percent = 0
        self._component = "Rasa"

    def feed(self, line: str) -> None:
        if not line:
            self._say(f"{self._stamp()} still training {self._component}{self._overall()}")
            return
        component = parse_component(line)
        if component is not None:
            self._component = component
            self._say(f"{self._stamp()} training {component}{self._overall()}")
            self._next_percent = 0
            return
        epochs = parse_epochs(line)
        if epochs is None or epochs.total == 0:
            return
        percent = 100 * epochs.done // epochs.total
        if percent >= self._next_percent:
            left = f", about {epochs.left} left for this component" if "?" not in epochs.left else ""
            self._say(f"{self._stamp()} epoch {epochs.done}/{epochs.total} ({percent}%){left}")
            self._next_percent = percent - percent % self._step + self._step

    def _stamp(self) -> str:
        return f"[{self._clock() - self._started:5.0f} s]"

    def _overall(self) -> str:
        """Share of the last training's duration used so far, when there was one."""
        if not self._expected:
            return ""
        elapsed = self._clock() - self._started
        percent = min(99, int(100 * elapsed / self._expected))
        left = max(0.0, self._expected - elapsed)
        return f" (~{percent}% by the last training's {self._expected:.0f} s, about {left:.0f} s left)"

    def feed_all(self, output: Iterable[str]) -> None:
        for line in output:
            self.feed(line)
