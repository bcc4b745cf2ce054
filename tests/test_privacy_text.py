"""What /privacy and README tell people is what the settings make the retention sweep do."""

from __future__ import annotations

import re

import pytest

from bot.app import create_app
from bot.core import payloads
from bot.core.language import LanguageDetector
from bot.core.messages import IncomingMessage
from bot.settings import PanaSettings, RasaSettings
from bot.storage.burial import TOMBSTONE_LIFETIME
from tests.conftest import REPO, make_settings

# The words for "days" next to the number, per language; the number must be the setting's.
DAY_WORDS = {"en": r"days?", "ru": r"дн(?:ей|я|ь)", "kk": r"күн"}


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_privacy_reply_states_both_periods_from_the_settings(
    language: str, database_url: str, detector: LanguageDetector
) -> None:
    unreachable_rasa = RasaSettings(url="http://127.0.0.1:9", timeout=0.5)  # /privacy never asks the NLU
    settings = make_settings(database_url, unreachable_rasa)
    settings = settings.model_copy(update={"pana": PanaSettings(message_retention_days=47, audit_retention_days=389)})
    app = await create_app(settings, detector=detector)
    try:
        turn = await app.conversation.handle(
            IncomingMessage(channel="test", user_id=f"p-{language}", payload=payloads.PRIVACY, language_hint=language)
        )
    finally:
        await app.close()
    assert turn.language == language
    text = " ".join(reply.text for reply in turn.replies)
    numbers = re.findall(rf"(\d+)\s*{DAY_WORDS[language]}", text)
    assert numbers.count("47") == 3, text  # messages, the contact, closed cases
    assert numbers.count("389") == 1, text  # the audit log
    assert set(numbers) == {"47", "389"}, "no other period is promised"


def test_readme_states_the_default_periods() -> None:
    defaults = PanaSettings()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    privacy = readme[readme.index("## Privacy") : readme.index("## Content and languages")]
    assert f"`PANA_MESSAGE_RETENTION_DAYS` ({defaults.message_retention_days} days)" in privacy
    assert f"`PANA_AUDIT_RETENTION_DAYS` ({defaults.audit_retention_days} days)" in privacy
    stated = {int(n) for n in re.findall(r"(\d+) days", privacy)}
    tombstone_days = TOMBSTONE_LIFETIME.days  # the keyed hashes a deletion leaves against replays
    assert f"for {tombstone_days} days, keyed hashes" in privacy
    assert stated == {defaults.message_retention_days, defaults.audit_retention_days, tombstone_days}
    security = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    assert f"`PANA_MESSAGE_RETENTION_DAYS` ({defaults.message_retention_days})" in security
    assert f"`PANA_AUDIT_RETENTION_DAYS` ({defaults.audit_retention_days})" in security
