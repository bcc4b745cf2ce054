"""Dispatch tables: which step answers an understood intent, and which answers a picked option (payload)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core import payloads
from bot.core.actions import Actions, Asked, handoff_turn, reply_turn
from bot.core.answers import Answers
from bot.core.messages import Reply, Turn
from bot.core.state import Pending
from bot.languages import normalise_language_code

IntentStep = Callable[[Actions, Asked], Awaitable[Turn]]
# A payload step may decline (None): the option is then treated as unknown and the menu is shown.
PayloadStep = Callable[[Actions, Asked, payloads.Parsed], Awaitable[Turn | None]]

# Intents answered by one fixed reply.
REPLIES: dict[str, Callable[[Answers], Reply]] = {
    "greet": Answers.greeting,
    "goodbye": Answers.goodbye,
    "thanks": Answers.thanks,
    "help": Answers.help,
    "bot_challenge": Answers.bot_challenge,
}


async def _change_language(actions: Actions, asked: Asked) -> Turn:
    return await actions.change_language(asked)


async def _delete_my_data(actions: Actions, asked: Asked) -> Turn:
    return actions.ask_delete(asked)


async def _request_lawyer(actions: Actions, asked: Asked) -> Turn:
    return await actions.request_lawyer(asked)


INTENTS: dict[str, IntentStep] = {
    "change_language": _change_language,
    "delete_my_data": _delete_my_data,
    "request_lawyer": _request_lawyer,
}


async def answer_intent(actions: Actions, asked: Asked, intent: str) -> Turn:
    """An intent the policy decided to answer: a topic from content, a service intent, or the menu."""
    if actions.catalog.is_topic(intent):
        return await actions.topic(asked, intent, by_text=True)
    if intent in REPLIES:
        return reply_turn(asked, REPLIES[intent](asked.answers), intent)
    if intent in INTENTS:
        return await INTENTS[intent](actions, asked)
    return reply_turn(asked, asked.answers.menu(), intent)


# --- options picked, by the kind of payload ("topic:asylum_apply" is of kind "topic") -----------------------
async def _topic(actions: Actions, asked: Asked, parsed: payloads.Parsed) -> Turn | None:
    if parsed.args and actions.catalog.is_topic(parsed.args[0]):
        return await actions.topic(asked, parsed.args[0])
    return None


async def _more(actions: Actions, asked: Asked, parsed: payloads.Parsed) -> Turn | None:
    if len(parsed.args) != 2 or parsed.args[0] not in actions.catalog.topics:
        return None
    reply = asked.answers.followup(actions.catalog.topics[parsed.args[0]], parsed.args[1])
    return None if reply is None else Turn(asked.language, (reply,), parsed.args[0], topic=parsed.args[0])


async def _menu(actions: Actions, asked: Asked, parsed: payloads.Parsed) -> Turn:
    answers = asked.answers
    reply = answers.category(parsed.args[0]) if parsed.args else answers.menu()
    return reply_turn(asked, reply or answers.menu(), "help")


async def _language(actions: Actions, asked: Asked, parsed: payloads.Parsed) -> Turn | None:
    chosen = normalise_language_code(parsed.args[0]) if parsed.args else None
    return None if chosen is None else await actions.set_language(asked.contact, chosen)


PAYLOAD_KINDS: dict[str, PayloadStep] = {
    "topic": _topic,
    "more": _more,
    "menu": _menu,
    "lang": _language,
}


async def _ask_language(actions: Actions, asked: Asked) -> Turn:
    return reply_turn(asked, asked.answers.which_language(), "change_language")


async def _help(actions: Actions, asked: Asked) -> Turn:
    return reply_turn(asked, asked.answers.help(), "help")


async def _privacy(actions: Actions, asked: Asked) -> Turn:
    return reply_turn(asked, asked.answers.privacy(actions.retention_days, actions.audit_retention_days), "privacy")


async def _start(actions: Actions, asked: Asked) -> Turn:
    return reply_turn(asked, asked.answers.greeting(), "greet")


# Payloads that are whole words (the menu's fixed options and the /commands).
PAYLOADS: dict[str, IntentStep] = {
    payloads.LANGUAGE: _ask_language,
    payloads.LAWYER: _request_lawyer,
    payloads.FORGET: _delete_my_data,
    payloads.HELP: _help,
    payloads.PRIVACY: _privacy,
    payloads.START: _start,
}


async def answer_payload(actions: Actions, asked: Asked, payload: str, pending: Pending | None) -> Turn:
    """An option picked (a button, a number, a /command); `pending` is the question the last reply asked."""
    parsed = payloads.parse(payload)
    if parsed.kind == payloads.CASE:  # the handoff's own options: consent, a rating
        return handoff_turn(asked, await actions.handoff.choose(asked.contact, asked.language, payload))
    if parsed.kind in PAYLOAD_KINDS:
        turn = await PAYLOAD_KINDS[parsed.kind](actions, asked, parsed)
        if turn is not None:
            return turn
    elif payload in PAYLOADS:
        return await PAYLOADS[payload](actions, asked)
    elif payload == payloads.DELETE_YES and pending == "delete":
        return await actions.delete(asked)
    elif payload in (payloads.DELETE_YES, payloads.DELETE_NO):
        return reply_turn(asked, asked.answers.nothing_deleted(), "delete_my_data")
    return reply_turn(asked, asked.answers.menu(), "unknown_option")
