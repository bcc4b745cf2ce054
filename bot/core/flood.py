"""The flood guard: a person sending faster than the limit is asked once to slow down, not answered.

The guard limits a person's pace, it does not punish what they sent before: once over the limit, a message that
comes after a pause of at least the permitted pace (window / limit, 1 s by default) is answered. The note asks the
person to "wait a moment, then send your question again"; before this rule, the arrivals they had sent in the burst
kept them over the limit for up to a whole window, and the question they sent again got silence and no second note.
Answered messages stay at least one pace apart, so a script is answered no faster than the limit allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.core.state import DialogueState


@dataclass(frozen=True, slots=True)
class FloodGuard:
    limit: int  # messages one person may send per window before being asked to slow down
    window_seconds: float
    clock: Clock

    @property
    def pace_seconds(self) -> float:
        """The pause that counts as slowing down: the average gap the limit permits."""
        return self.window_seconds / self.limit

    def flooding(self, state: DialogueState) -> bool:
        """Count this message in the person's window; True while they send over the limit without pausing."""
        now = self.clock().timestamp()
        previous = state.recent[-1] if state.recent else None
        recent = [t for t in state.recent if now - t < self.window_seconds]
        recent.append(now)
        state.recent = recent[-(self.limit + 1) :]
        if len(recent) <= self.limit:
            state.slowed = False
            return False
        # Still over the limit, but the person paused as the note asked: answered, and the flood (and its one
        # note) goes on for whatever they send fast again.
        return previous is None or now - previous < self.pace_seconds

    @staticmethod
    def first_note(state: DialogueState) -> bool:
        """True for the first message over the limit in this flood: only that one gets the note."""
        if state.slowed:
            return False
        state.slowed = True
        return True
