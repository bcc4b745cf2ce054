"""Fakes for the ports (bot/core/ports.py, bot/handoff/ports.py): in memory, no network, loud on surprises.

The fast layer (`make test-fast`, marker `fast`) builds the core from these; the end-to-end suites use the
real Rasa server, databases and the local Bot API / Twilio stand-ins instead.
"""

from tests.fakes.classifier import ScriptedClassifier, UnscriptedText
from tests.fakes.clock import FakeClock
from tests.fakes.handoff import RecordingHandoff
from tests.fakes.handoff_stores import MemoryCaseStore, MemoryLawyerStore, MemoryRelayStore
from tests.fakes.senders import RecordingNotifier, RecordingSender
from tests.fakes.stores import MemoryConversationStore

__all__ = [
    "FakeClock",
    "MemoryCaseStore",
    "MemoryConversationStore",
    "MemoryLawyerStore",
    "MemoryRelayStore",
    "RecordingHandoff",
    "RecordingNotifier",
    "RecordingSender",
    "ScriptedClassifier",
    "UnscriptedText",
]
