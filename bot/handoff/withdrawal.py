"""When a person deletes their data: what Pana relayed to a lawyer goes from the lawyer's chat, and the lawyer
is told the person withdrew. Worked through at every handoff sweep by the process that runs the Telegram bot.
"""

from __future__ import annotations

import logging

from bot.core.messages import Reply
from bot.handoff.outbox import Outbox
from bot.handoff.ports import RemoteErasures
from bot.i18n import Translator
from bot.languages import FALLBACK_LANGUAGE, LANGUAGES

log = logging.getLogger(__name__)

RELAYED = "telegram"  # "chat id:message id"
WITHDRAWN = "telegram-notice"  # "chat id:case id:language"


class Withdrawals:
    def __init__(self, erasures: RemoteErasures, outbox: Outbox, translator: Translator) -> None:
        self._erasures = erasures
        self._outbox = outbox
        self._translator = translator

    async def run_once(self) -> int:
        """Delete what can be deleted, tell whom to tell; how many entries were done."""
        notifier = self._outbox.notifier
        if notifier is None:
            return 0  # left to the process that runs the Telegram bot
        done = 0
        for erasure_id, remote in await self._erasures.pending(RELAYED):
            chat_id, message_id = remote.split(":", 1)
            done += await self._settle(erasure_id, await notifier.delete(int(chat_id), message_id))
        for erasure_id, remote in await self._erasures.pending(WITHDRAWN):
            chat_id, case_id, language = remote.split(":", 2)
            text = self._translator.gettext(
                "The person in case #{case} withdrew and deleted their data. Pana removed the messages it "
                "relayed from them in the last 48 hours from this chat; please delete anything else you kept.",
                language if language in LANGUAGES else FALLBACK_LANGUAGE,
            ).format(case=case_id)
            done += await self._settle(erasure_id, bool(await notifier.send(int(chat_id), Reply(text))))
        return done

    async def _settle(self, erasure_id: int, succeeded: bool) -> int:
        if succeeded:
            await self._erasures.done(erasure_id)
            return 1
        if await self._erasures.failed(erasure_id):
            log.error("Gave up on a lawyer-chat clean-up after a person's deletion (entry %d)", erasure_id)
        return 0
