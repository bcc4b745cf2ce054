"""Reply builders: the texts and options Pana sends, in one language."""

from __future__ import annotations

from collections.abc import Callable

from bot.content.render import organisation_blocks
from bot.content.schema import TopicEntry
from bot.core import payloads
from bot.core.messages import Option, Reply
from bot.core.ports import ContentCatalog
from bot.i18n import Translator, bound
from bot.languages import REGISTRY, Language

LANGUAGE_OPTIONS = tuple(Option(info.name, payloads.language(info.code)) for info in REGISTRY.values())
EMERGENCY_KINDS = ("unhcr", "legal_aid")


def _(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


# The English names double as msgids, so the review date is shown in the person's language.
MONTH_NAMES = (
    _("January"),
    _("February"),
    _("March"),
    _("April"),
    _("May"),
    _("June"),
    _("July"),
    _("August"),
    _("September"),
    _("October"),
    _("November"),
    _("December"),
)


class Answers:
    """Builds replies for one language from the content catalog and the UI catalogs."""

    def __init__(self, catalog: ContentCatalog, language: Language, gettext: Callable[[str], str]) -> None:
        self.catalog = catalog
        self.language = language
        self._ = gettext

    @classmethod
    def translated(cls, catalog: ContentCatalog, translator: Translator, language: Language) -> Answers:
        """The usual way in: UI strings from the gettext catalogs in `language`."""
        return cls(catalog, language, bound(translator, language))

    # --- options -------------------------------------------------------------------------------
    def lawyer_option(self) -> Option:
        return Option(self._("Talk to a lawyer"), payloads.LAWYER)

    def menu_option(self) -> Option:
        return Option(self._("Topics"), payloads.MENU)

    def category_options(self) -> tuple[Option, ...]:
        categories = tuple(
            Option(c.label.get(self.language), payloads.category(c.id)) for c in self.catalog.menu.categories
        )
        return (*categories, self.lawyer_option())

    def topic_options(self, topic_ids: tuple[str, ...]) -> tuple[Option, ...]:
        return tuple(Option(self.title(t), payloads.topic(t)) for t in topic_ids if t in self.catalog.topics)

    def title(self, topic_id: str) -> str:
        title = self.catalog.menu.titles.get(topic_id)
        return title.get(self.language) if title else topic_id

    # --- whole replies ---------------------------------------------------------------------------
    def menu(self, text: str | None = None) -> Reply:
        return Reply(text or self._("Choose a topic:"), self.category_options())

    def category(self, category_id: str) -> Reply | None:
        found = next((c for c in self.catalog.menu.categories if c.id == category_id), None)
        if found is None:
            return None
        options = (*self.topic_options(found.topics), self.menu_option())
        return Reply(f"{found.label.get(self.language)}:", options)

    def checked(self, entry: TopicEntry) -> str:
        """ "Checked: November 2026", from the entry's review date, so people can judge how fresh it is."""
        month = self._(MONTH_NAMES[entry.reviewed_on.month - 1])
        return self._("Checked: {month} {year}").format(month=month, year=entry.reviewed_on.year)

    def topic(self, entry: TopicEntry, city: str | None = None, lawyer_note: str | None = None) -> list[Reply]:
        """The main answer with its review date, disclaimer, follow-up options and any organisations it lists.

        `lawyer_note` says what is true now about reaching a lawyer (see bot/handoff/availability.py);
        without it the answer only names the option.
        """
        options = (
            *(Option(f.label.get(self.language), payloads.more(entry.id, f.id)) for f in entry.followups),
            self.lawyer_option(),
            self.menu_option(),
        )
        lawyer = lawyer_note or self._("To talk to a lawyer, choose «Talk to a lawyer».")
        general = self._("This is general information, not legal advice.")
        disclaimer = f"{general} {lawyer}"
        answer = f"{entry.answer.get(self.language)}\n\n{self.checked(entry)}"
        if entry.contacts is None:
            return [Reply(f"{answer}\n\n{disclaimer}", options)]
        orgs = self.catalog.organisations(entry.contacts.kinds, city)
        blocks = organisation_blocks(orgs, self.language, self.catalog.directory)
        return [
            Reply(answer),
            *(Reply(b) for b in blocks[:-1]),
            Reply(f"{blocks[-1]}\n\n{disclaimer}" if blocks else disclaimer, options),
        ]

    def followup(self, entry: TopicEntry, followup_id: str) -> Reply | None:
        found = entry.followup(followup_id)
        if found is None:
            return None
        others = tuple(
            Option(f.label.get(self.language), payloads.more(entry.id, f.id))
            for f in entry.followups
            if f.id != followup_id
        )
        return Reply(found.text.get(self.language), (*others, self.lawyer_option(), self.menu_option()))

    def emergency(self) -> list[Reply]:
        """What to do in danger now, then who gives legal help: urgent topics and urgent cases lead with it."""
        return self.legal_aid(
            self._(
                "In danger now? Call 112, free from any phone, day and night (also 102 police, 103 ambulance, "
                "101 fire). Pana cannot send help. Where to get legal help:"
            )
        )

    def legal_aid(self, intro: str, kinds: tuple[str, ...] = EMERGENCY_KINDS, city: str | None = None) -> list[Reply]:
        """An introduction followed by the organisations that help, packed into channel-sized messages."""
        blocks = organisation_blocks(self.catalog.organisations(kinds, city), self.language, self.catalog.directory)
        if not blocks:
            return [Reply(intro)]
        first = f"{intro}\n\n{blocks[0]}"
        return [Reply(first), *(Reply(b) for b in blocks[1:])]

    # --- the dialogue's own texts ------------------------------------------------------------------
    def greeting(self) -> Reply:
        return self.menu(
            self._(
                "Hello! I am Pana, a free assistant for refugees, asylum-seekers and stateless people in "
                "Kazakhstan. I give general legal information and help you reach free legal aid. "
                "Write your question in your own words, or choose a topic."
            )
        )

    def goodbye(self) -> Reply:
        return Reply(self._("Take care. Write again whenever you need help."))

    def thanks(self) -> Reply:
        return Reply(self._("You are welcome. Is there anything else I can help with?"), self.category_options())

    def help(self) -> Reply:
        return self.menu(
            self._(
                "I can explain asylum and refugee status, statelessness, citizenship, documents, birth registration "
                "of children, stay and work, and what to do if someone is detained. Write your question in your own "
                "words, or choose a topic. I can also help you reach a lawyer."
            )
        )

    def bot_challenge(self) -> Reply:
        return Reply(
            self._("I am an automated assistant, not a person. I can help you reach a lawyer if you need one."),
            (self.lawyer_option(), self.menu_option()),
        )

    def out_of_scope(self) -> Reply:
        return self.menu(
            self._(
                "Sorry, I can't help with that. I answer questions about asylum, refugee status, "
                "statelessness, documents, children, stay and work in Kazakhstan."
            )
        )

    def suggestions(self, topic_ids: tuple[str, ...]) -> Reply:
        options = (*self.topic_options(topic_ids), self.lawyer_option(), self.menu_option())
        return Reply(self._("I am not sure I understood. Did you mean one of these?"), options)

    def not_understood(self) -> Reply:
        return self.menu(
            self._("Sorry, I did not understand. Please write your question in other words, or choose a topic.")
        )

    def still_not_understood(self) -> Reply:
        return Reply(self._("I still did not understand. You can choose a topic, or talk to a lawyer."))

    def empty_message(self) -> Reply:
        return self.menu(self._("I received an empty message. Please write your question in words."))

    def attachment(self, kind: str) -> Reply:
        if kind == "voice":
            return self.menu(self._("I cannot listen to voice messages. Please write your question in words."))
        return self.menu(self._("I can only read text messages. Please write your question in words."))

    def nlu_down(self) -> list[Reply]:
        intro = self._(
            "I cannot read free text right now. Please choose a topic below. "
            "For legal help, you can also contact these organisations:"
        )
        return [*self.legal_aid(intro), self.menu()]

    def which_language(self) -> Reply:
        return Reply(self._("Which language should I use?"), LANGUAGE_OPTIONS)

    def language_set(self) -> Reply:
        return self.menu(self._("I will answer in English from now on."))

    def confirm_delete(self) -> Reply:
        options = (Option(self._("Yes, delete"), payloads.DELETE_YES), Option(self._("No, keep"), payloads.DELETE_NO))
        text = self._(
            "Do you want me to delete everything I have stored about you (your messages and language choice)? "
            "This cannot be undone."
        )
        return Reply(text, options)

    def deleted(self) -> Reply:
        return Reply(self._("Done. I have deleted everything I stored about you."))

    def nothing_deleted(self) -> Reply:
        return Reply(self._("Nothing was deleted."), self.category_options())

    def privacy(self, retention_days: int, audit_retention_days: int) -> Reply:
        # What the retention sweep does (bot/app.py create_retention); a test holds the two together.
        return Reply(
            self._(
                "What Pana keeps: an id of your chat, your language, and your messages with what I understood of "
                "them. Each message is deleted {days} days after it was written; your chat id and language {days} "
                "days after your last message, unless a lawyer is still working on your request. A request to a "
                "lawyer is detached from you {days} days after it closed: only an anonymous count stays. The log of "
                "what lawyers did with requests, which never holds any text, is kept {audit_days} days. Nothing is "
                "shared with anyone unless you agree to talk to a lawyer. Write «delete my data» at any time to "
                "erase everything."
            ).format(days=retention_days, audit_days=audit_retention_days)
        )

    def busy(self) -> Reply:
        return self.menu(
            self._("Many people are writing to me right now. Please try again in a minute, or choose a topic below.")
        )

    def slow_down(self) -> Reply:
        return Reply(self._("You are sending messages very fast. Please wait a moment, then send your question again."))
