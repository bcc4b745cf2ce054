"""Wording rules every text Pana shows must follow, whatever file it comes from.

Two mistakes hurt people in a crisis: the Kazakh word for housing («баспана») used for asylum
(the law says «пана»: «пана іздеген адам», «пана сұрау»), and a promise of a lawyer "at once"
when lawyers work set hours and may not be registered at all (bot/handoff/availability.py says
what is true now).
"""

from __future__ import annotations

import re

# «баспана» in an asylum sense. «уақытша баспана» (a shelter) and housing («баспана жалдау»,
# «баспанамен қамтамасыз ету») stay allowed: only the asylum collocations are matched.
_ASYLUM_AS_HOUSING = re.compile(
    r"""
    (?<!уақытша\s)\bбаспана\w*\s+(?:
        іздеуші\w*                  # asylum-seeker
      | іздеген\s+адам\w*           # the law's «пана іздеген адам», with the wrong word
      | сұра\w*                     # to ask for asylum
      | (?:туралы\s+)?өтініш\w*     # an asylum application
      | мәртебе\w*                  # asylum status
      | іс(?:і|ін|тер)\w*           # an asylum case
      | рәсім\w*                    # the asylum procedure
      | бас\s+тарт\w*               # an asylum refusal («баспанадан бас тарту»)
      | (?:және|мен|не|немесе)\s+босқын\w*   # asylum and refugees
    )
    | (?<!уақытша\s)\bбаспана\w*\s*,\s*босқын\w*          # asylum, refugee status
    | \bбосқын\w*\s*(?:,|және|мен|не|немесе)\s+баспана\w*   # refugees and asylum(-seekers)
    | \b(?:саяси|халықаралық)\s+баспана\w*                  # political / international asylum
    """,
    re.IGNORECASE | re.VERBOSE,
)

_LAWYER = re.compile(r"\b(?:lawyers?|attorneys?|юрист\w*|адвокат\w*|заңгер\w*)", re.IGNORECASE)
_AT_ONCE = re.compile(
    r"\b(?:at\s+once|immediately|right\s+away|straight\s+away|right\s+now|any\s*time|24/7"
    r"|сразу|немедленно|тотчас|в\s+любое\s+время|круглосуточно"
    r"|бірден|дереу|дәл\s+қазір|кез\s+келген\s+уақытта|тәулік\s+бойы)",
    re.IGNORECASE,
)
# A promise names Pana or says "you can"; "talk to a lawyer at once" urges and is allowed.
_PROMISE = re.compile(r"\bPana\b|\b(?:can|could|will|можно|можете|сможете|аласыз|болады)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def asylum_as_housing(text: str) -> str | None:
    """The first phrase that uses «баспана» (housing) for asylum, or None."""
    found = _ASYLUM_AS_HOUSING.search(text)
    return " ".join(found.group().split()) if found else None


def lawyer_promise(text: str) -> str | None:
    """The first sentence that promises a lawyer at once or at any time, or None."""
    for sentence in _SENTENCE_END.split(text):
        if _LAWYER.search(sentence) and _AT_ONCE.search(sentence) and _PROMISE.search(sentence):
            return sentence.strip()
    return None
