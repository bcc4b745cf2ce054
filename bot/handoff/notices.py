"""What the person is told about their case, in their language: one function per moment of the case."""

from __future__ import annotations

import datetime as dt

from bot.core import payloads
from bot.core.messages import Option
from bot.hours import WorkingHours
from bot.i18n import N_, Gettext
from bot.records.cases import CITIES, Reason

CONSENT = "consent"
DECLINE = "decline"
RATE = "rate"
CITY = "city"
SKIP_CITY = "skip"
RATINGS = range(1, 6)
CITY_NAMES = {"almaty": N_("Almaty"), "astana": N_("Astana"), "shymkent": N_("Shymkent"), "other": N_("Another city")}


def consent_payload(topic: str | None, reason: Reason) -> str:
    """ASCII, under Telegram's 64 bytes; the topic is re-checked against the content when it comes back."""
    return payloads.case(CONSENT, topic or "-", reason.value)


def decline_payload() -> str:
    return payloads.case(DECLINE)


def rating_payload(case_id: int, rating: int) -> str:
    return payloads.case(RATE, str(case_id), str(rating))


def city_payload(case_id: int, city: str) -> str:
    return payloads.case(CITY, str(case_id), city)


def city_question(_: Gettext) -> str:
    """Asked once the case is open, so nothing waits for it; one tap, and skipping is as easy."""
    return _("Optional: in which city are you? It helps us find a lawyer near you. You can skip this.")


def city_options(_: Gettext, case_id: int) -> tuple[Option, ...]:
    cities = tuple(Option(_(CITY_NAMES[city]), city_payload(case_id, city)) for city in CITIES)
    return (*cities, Option(_("Skip"), city_payload(case_id, SKIP_CITY)))


def city_noted(_: Gettext) -> str:
    return _("Thank you. While you wait, you can keep asking me questions.")


def city_too_late(_: Gettext) -> str:
    """The city question's buttons outlive the case: pressed after it closed, say so and how to ask again."""
    return _(
        "This case is already closed, so I did not save your city. "
        "If you need help again, ask for a lawyer at any time."
    )


def consent_question(_: Gettext) -> str:
    return _(
        "A lawyer from a free legal-aid organisation can answer you here, in this chat. To help you, the lawyer "
        "will see this conversation: the topic and your recent messages. Nobody else will. "
        "Do you agree to share this conversation with a lawyer?"
    )


def consent_options(_: Gettext, topic: str | None, reason: Reason) -> tuple[Option, ...]:
    return (
        Option(_("Yes, share it with a lawyer"), consent_payload(topic, reason)),
        Option(_("No, thank you"), decline_payload()),
    )


def declined(_: Gettext) -> str:
    return _("All right, I have not shared anything. You can ask for a lawyer at any time.")


def hours_line(_: Gettext, hours: WorkingHours, now: dt.datetime) -> str:
    """When lawyers work; outside those hours, when to expect an answer."""
    if hours.is_open(now):
        return _("Lawyers work {hours} ({timezone}). A lawyer will write to you here as soon as possible.").format(
            hours=hours.describe(_), timezone=hours.zone.key
        )
    return _("Lawyers are not at work now (working hours: {hours}, {timezone}). Expect an answer after {when}.").format(
        hours=hours.describe(_), timezone=hours.zone.key, when=hours.when(now, _)
    )


def opened(_: Gettext, case_id: int, position: int) -> str:
    return _("Your case number is #{case}. You are number {position} in the queue.").format(
        case=case_id, position=position
    )


def while_waiting(_: Gettext) -> str:
    return _("While you wait, you can keep asking me questions.")


def waiting_status(_: Gettext, case_id: int, position: int) -> str:
    return _("Your case #{case} is in the queue for a lawyer: you are number {position}.").format(
        case=case_id, position=position
    )


def assigned_status(_: Gettext, case_id: int) -> str:
    text = _("A lawyer is working on your case #{case}. Write your message here and the lawyer will receive it.")
    return text.format(case=case_id)


def taken(_: Gettext, case_id: int, lawyer_name: str | None) -> str:
    if lawyer_name:
        text = _("Lawyer {name} has taken your case #{case}.").format(name=lawyer_name, case=case_id)
    else:
        text = _("A lawyer has taken your case #{case}.").format(case=case_id)
    more = _(
        "Write your messages here: they go to the lawyer, and the lawyer's answers come here. "
        "To see the topics again, write /menu."
    )
    return f"{text} {more}"


def back_in_queue(_: Gettext, case_id: int) -> str:
    return _(
        "Your lawyer could not continue with your case #{case}, so it is back in the queue. "
        "Another lawyer will write to you here."
    ).format(case=case_id)


def closed(_: Gettext, case_id: int) -> tuple[str, tuple[Option, ...]]:
    text = _(
        "The lawyer has closed your case #{case}. If you need help again, ask for a lawyer at any time.\n\n"
        "How helpful was the lawyer? Choose from 1 (not at all) to 5 (very). This is optional."
    ).format(case=case_id)
    return text, tuple(Option(str(rating), rating_payload(case_id, rating)) for rating in RATINGS)


def thanks_for_rating(_: Gettext) -> str:
    return _("Thank you for your rating. It helps us improve.")


def text_only(_: Gettext) -> str:
    return _("I can only pass written messages to the lawyer. Please write your message in words.")


def lawyer_label(_: Gettext, case_id: int, lawyer_name: str | None) -> str:
    """The mark on every relayed answer, so nobody mistakes a lawyer's words for Pana's."""
    if lawyer_name:
        return _("Lawyer {name} (case #{case}):").format(name=lawyer_name, case=case_id)
    return _("Lawyer (case #{case}):").format(case=case_id)
