"""The lawyers' router: registered, active lawyers' commands, replies and "Take" buttons.

Registered before the users' router. Its handlers match only active lawyers (a sender among the active
lawyers of the last seconds is checked against the record on every update, so a deactivated lawyer is a user
again at once; one registered a moment ago is a lawyer within seconds, bot/storage/lawyer_roster.py); everyone
else, and the user commands (/start, /menu, /lawyer, ...) of lawyers themselves, fall through to the normal
conversation.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.channels.telegram.callbacks import issued_option
from bot.channels.telegram.filters import in_private_chat, not_user_command, pressed_outside_private_chat
from bot.channels.telegram.outgoing import acknowledge
from bot.core.numbers import parse_number
from bot.handoff.cards import TAKE
from bot.handoff.desk import LawyerDesk, LawyerInput, TakeResult
from bot.records.cases import LawyerRecord


async def registered_lawyer(
    event: Message | CallbackQuery, desk: LawyerDesk, is_outage: Callable[[BaseException], bool]
) -> dict[str, LawyerRecord] | bool:
    """Filter: pass only active lawyers, and hand the handler their record as `lawyer`.

    While the record is unreachable nobody is a lawyer: everyone gets the conversation's static reply.
    """
    user = event.from_user
    if user is None or user.is_bot:
        return False
    try:
        lawyer = await desk.lawyer(user.id)
    except Exception as error:
        if is_outage(error):
            return False
        raise
    return {"lawyer": lawyer} if lawyer is not None else False


def create_lawyer_router() -> Router:
    router = Router(name="lawyers")

    async def take_pressed(query: CallbackQuery, payload: str) -> bool:  # after `issued_option` gave the payload
        return payload.startswith(f"{TAKE}:")

    @router.message(in_private_chat, not_user_command, registered_lawyer)
    async def on_lawyer_message(message: Message, desk: LawyerDesk, lawyer: LawyerRecord) -> None:
        replied = message.reply_to_message
        text = message.text or ""  # photos and files are not passed on, even with a caption: the desk says so
        await desk.handle(
            lawyer,
            LawyerInput(text, str(replied.message_id) if replied else None),
        )

    @router.edited_message(in_private_chat, registered_lawyer)
    async def on_lawyer_edit(message: Message, desk: LawyerDesk, lawyer: LawyerRecord) -> None:
        await desk.edited(lawyer)

    @router.callback_query(issued_option, take_pressed, registered_lawyer)
    async def on_take(query: CallbackQuery, payload: str, desk: LawyerDesk, lawyer: LawyerRecord) -> None:
        number = parse_number(payload.split(":", 1)[1])
        if number is None:  # not a case number Pana issued
            await acknowledge(query)
            return
        result = await desk.take(lawyer, number)
        await acknowledge(query, desk.take_answer(lawyer, number, result), alert=result is not TakeResult.TAKEN)

    @router.callback_query(issued_option, take_pressed, pressed_outside_private_chat)
    async def on_take_by_someone_else(query: CallbackQuery) -> None:
        await acknowledge(query)  # in the lawyers' group, a member who is not a lawyer: nothing happens

    return router
