"""The flood guard: a person sending faster than the limit is asked once to slow down, not answered."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.core.state import DialogueState


@dataclass(frozen=True, slots=True)
class FloodGuard:
    limit: int  # messages one person may send per window before being asked to slow down
    window_seconds: float
    clock: Clock

    def flooding(self, state: DialogueState) -> bool:
        """Count this message in the person's window; True once they send more than the limit."""
        now = self.clock().timestamp()
        recent = [t for t in state.recent if now - t < self.window_seconds]
        recent.append(now)
        state.recent = recent[-(self.limit + 1) :]
        if len(recent) <= self.limit:
            state.slowed = False
            return False
        return True

    @staticmethod
    def first_note(state: DialogueState) -> bool:
        """True for the first message over the limit in this flood: only that one gets the note."""
        if state.slowed:
            return False
        state.slowed = True
        return True
