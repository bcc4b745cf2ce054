"""What a hostile or unlucky user can send: hypothesis strategies shared by the fuzz suites."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters that broke or could break parsing: Unicode digits, NUL and controls, lone surrogates,
# direction marks and overrides, zero-width joiners, emoji sequences, the separators Pana uses itself.
TRICKY = [
    "²",
    "³",
    "١",
    "٣",
    "੩",
    "۴",
    "Ⅻ",
    "𝟗",
    "0",
    "9",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\ud800",
    "\udcff",
    "\u200e",
    "\u200f",
    "\u202e",
    "\u2066",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u0301",
    "🙂",
    "👨‍👩‍👧",
    "🇰🇿",
    ":",
    "|",
    "/",
    "#",
    "<",
    "&",
    "\n",
    "\t",
    " ",
    "-",
    "take",
    "case",
    "rate",
    "consent",
]
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())  # surrogates included

texts = st.one_of(
    st.text(ANY_CHARACTER, max_size=200),
    st.lists(st.sampled_from(TRICKY), max_size=30).map("".join),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "й", "²", "🙂", "\u200f", " "]), st.integers(9_000, 10_500)),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.text(st.sampled_from("²٣09-+ #e_"), min_size=1, max_size=25),
    texts,
)
COMMANDS = ["take", "note", "close", "release", "queue", "mine", "start", "menu", "lawyer", "language", "forget"]
commands = st.builds(
    lambda name, number, rest: f"/{name} {number} {rest}".strip(),
    st.sampled_from(COMMANDS),
    numbers,
    st.text(ANY_CHARACTER, max_size=40),
)
PAYLOAD_KINDS = ["topic", "more", "menu", "lang", "case", "take", "delete", "start", "help", "lawyer", "forget"]
payloads = st.one_of(
    st.builds(
        lambda kind, parts: ":".join([kind, *parts]),
        st.sampled_from(PAYLOAD_KINDS),
        st.lists(numbers, max_size=4),
    ),
    texts,
)
