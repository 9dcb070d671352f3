"""How varied the demo's records are: explicit rates for the ways a record can differ from its person.

    from c360_devtools.demo.variety import Variety
    generate_silos(out, people=2000, seed=42, variety=Variety(initial=0.05))   # or Variety.none()

The sources' own carefulness (`silos.PROFILES`: nickname, umlaut and typo rates per source, how often a field is
filled) is the baseline. `Variety` adds the kinds of variation that unseen customer data showed and the baseline
lacked (issue 14): initials, a wrong first letter, first-name-only sign-ups, helpdesk requesters writing from a new
address, "Last First" in one name string, transliterations, double names written another way, more nicknames, and
e-mail addresses that do not carry the name. Every rate is a probability per record (or per person where it says
so) that can carry the variation; `Variety.none()` turns them all off and gives the generator's 1.0 output.

Every record's variations, baseline or not, are recorded by kind in `kinds.csv` beside `labels.csv` (see KINDS),
so an accuracy report can say which kinds of true pairs the resolver misses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Variety:
    """Rates of the variations the demo generator adds on top of each source's baseline noise (defaults below)."""

    initial: float = 0.03
    """per record with a first name: the first name is only its initial ("I. Patberg", "I Patberg")"""
    first_letter_typo: float = 0.01
    """per record: the first letter of the first or last name is wrong and lower case ("ntefanie", "iohl")"""
    first_name_only: float = 0.04
    """per newsletter contact: a web sign-up with a first name and an e-mail address only (nothing else)"""
    fresh_email: float = 0.05
    """per person in the helpdesk: writes from an address none of their other records has, with no phone (a new
    helpdesk user who shares only the name with the person's shop account)"""
    swapped_full_name: float = 0.03
    """per helpdesk requester: the one name string is "Last First" without a comma ("Kolanko Natasza")"""
    transliteration: float = 0.03
    """per record whose name has another spelling: it is written so (Dörthe → Doerthe/Dorthe, Natalja → Natalya,
    José → Jose)"""
    nickname: float = 0.02
    """per record whose first name has a nickname: the nickname (Alexander → Alex), on top of each source's
    baseline nickname rate"""
    double_first_name: float = 0.05
    """per person (German-origin): a double first name (Hans-Peter, Anna-Lena)"""
    double_last_name: float = 0.15
    """per person who took a partner's family name: both names (Schmidt-Weber)"""
    compound_variant: float = 0.35
    """per record of a person with a double name: written another way (Hans Peter, Hans, H.-P., Hanspeter;
    Schmidt, Weber)"""
    opaque_email: float = 0.08
    """per person and address: the local part does not carry the name (sonnenschein77@…), like a family address"""

    @classmethod
    def none(cls) -> Variety:
        """No variation beyond the sources' baseline: the output of generator version 1.0."""
        return cls(**dict.fromkeys(cls.knobs(), 0.0))

    @classmethod
    def knobs(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def describe(cls) -> dict[str, str]:
        """knob → its documentation (the attribute docstrings above), for `c360 generate --help` and the docs."""
        import ast
        import inspect

        tree = ast.parse(inspect.getsource(cls))
        body = tree.body[0].body  # type: ignore[attr-defined]
        docs: dict[str, str] = {}
        for node, following in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
            ):
                docs[node.target.id] = " ".join(str(following.value.value).split())
        return docs

    def with_rates(self, settings: list[str] | dict[str, float]) -> Variety:
        """A copy with some rates changed: ["initial=0.1", "nickname=0"] or {"initial": 0.1}."""
        if isinstance(settings, dict):
            changes = dict(settings)
        else:
            changes = {}
            for item in settings:
                key, sep, value = item.partition("=")
                if not sep:
                    raise ValueError(f"variety setting {item!r}: expected KNOB=RATE (knobs: {', '.join(self.knobs())})")
                changes[key.strip().replace("-", "_")] = float(value)
        unknown = set(changes) - set(self.knobs())
        if unknown:
            raise ValueError(f"unknown variety knob(s) {sorted(unknown)}; knobs are {', '.join(self.knobs())}")
        for key, rate in changes.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"variety knob {key} must be a rate between 0 and 1, got {rate}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------------------
# kinds: how a record differs from its person (recorded per record in kinds.csv)
# ----------------------------------------------------------------------------------------------------

KINDS: dict[str, str] = {
    "initial": 'the first name is only its initial ("I. Patberg")',
    "first_letter_typo": 'the first letter of a name is wrong ("ntefanie", "iohl")',
    "typo": "a one-letter slip inside a name (never the first letter)",
    "name_part_missing": "only a first name, or one name word only",
    "swapped": 'first and last name swapped, in two fields or in one string ("Kolanko Natasza")',
    "transliteration": "another spelling of the same name (Dörthe/Doerthe/Dorthe, Natalja/Natalya)",
    "compound_name": "a double name written another way (Hans-Peter / Hans Peter / H.-P. / Hans)",
    "nickname": "a nickname (Alexander/Alex)",
    "name_from_email": "the helpdesk filled the name from the e-mail address",
    "maiden_name": "an older record that still has the birth name",
    "moved": "an older record that still has the previous address",
    "other_email": "an address of the person that their main records do not have (changed, second)",
    "fresh_email": "a helpdesk requester writing from an address none of the person's other records has",
    "family_email": "the household's address (familie.hahn@…) instead of the person's own",
    "opaque_email": "a personal address whose local part does not carry the name",
    "junk_value": "a placeholder instead of a value (test@test.de, 0000000, 01.01.1900)",
}
KIND_NAMES = list(KINDS)
BIT = {name: 1 << i for i, name in enumerate(KIND_NAMES)}  # a record's kinds are one int64 bit mask


def bits(mask: Any, kind: str) -> Any:
    """The kind's bit where mask is true, else 0 (an int64 array)."""
    import numpy as np

    return np.where(np.asarray(mask, dtype=bool), np.int64(BIT[kind]), np.int64(0))


def kind_strings(values: Any) -> Any:
    """Bit masks → "initial;nickname" strings ('' for none)."""
    import numpy as np

    values = np.asarray(values, dtype=np.int64)
    out = np.full(len(values), "", dtype=object)
    for name in KIND_NAMES:
        has = (values & BIT[name]) != 0
        if has.any():
            out[has] = np.where(out[has] == "", name, out[has] + ";" + name)
    return out


# ----------------------------------------------------------------------------------------------------
# the tables behind the variations (every string encodable in Windows-1252, like names.py)
# ----------------------------------------------------------------------------------------------------

DOUBLE_FIRST_NAMES = {
    "M": [
        "Hans-Peter",
        "Karl-Heinz",
        "Hans-Jürgen",
        "Klaus-Dieter",
        "Hans-Joachim",
        "Jan-Philipp",
        "Jan-Niklas",
        "Hans-Georg",
        "Karl-Friedrich",
        "Marc-André",
    ],
    "F": [
        "Anna-Lena",
        "Marie-Luise",
        "Eva-Maria",
        "Ann-Kathrin",
        "Lisa-Marie",
        "Anna-Maria",
        "Rose-Marie",
        "Marie-Sophie",
        "Lea-Sophie",
        "Hanna-Lena",
    ],
}

# the same name in another spelling: transliterations from Cyrillic, Arabic and Turkish, accents dropped, C/K
TRANSLITERATIONS: dict[str, list[str]] = {
    "Natalia": ["Natalja", "Natalya"],
    "Tatjana": ["Tatiana", "Tatyana"],
    "Sergej": ["Sergei", "Sergey"],
    "Dmitri": ["Dmitrij", "Dmitry"],
    "Andrej": ["Andrei", "Andrey"],
    "Nikolai": ["Nikolaj", "Nikolay"],
    "Eugen": ["Evgenij", "Jewgeni"],
    "Ludmila": ["Ljudmila", "Lyudmila"],
    "Svetlana": ["Swetlana"],
    "Elena": ["Jelena", "Yelena"],
    "Iwanow": ["Ivanov", "Iwanov"],
    "Petrow": ["Petrov"],
    "Smirnow": ["Smirnov"],
    "Wolkow": ["Volkov"],
    "Kusnezow": ["Kuznetsov", "Kusnezov"],
    "Mohammed": ["Mohamed", "Muhammad", "Mohammad"],
    "Ahmad": ["Ahmed"],
    "Yousef": ["Yusuf", "Youssef"],
    "Khaled": ["Khalid"],
    "Mahmoud": ["Mahmud"],
    "Hassan": ["Hasan"],
    "Mustafa": ["Mustapha"],
    "Hüseyin": ["Huseyin", "Hüssein"],
    "Çelik": ["Celik"],
    "Çetin": ["Cetin"],
    "Koç": ["Koc"],
    "Wójcik": ["Wojcik"],
    "José": ["Jose"],
    "François": ["Francois"],
    "João": ["Joao"],
    "Hélène": ["Helene"],
    "Inês": ["Ines"],
    "Lucía": ["Lucia"],
    "Chloé": ["Chloe"],
    "Zoé": ["Zoe"],
    "René": ["Rene"],
    "André": ["Andre"],
    "Michèle": ["Michele"],
    "Fernández": ["Fernandez"],
    "García": ["Garcia"],
    "Martínez": ["Martinez"],
    "Lefèvre": ["Lefevre"],
    "Carsten": ["Karsten"],
    "Katrin": ["Catrin"],
    "Christina": ["Kristina"],
    "Claudia": ["Klaudia"],
    "Nicole": ["Nikole"],
}

# local parts of personal addresses that do not carry the person's name
OPAQUE_WORDS = [
    "sonnenschein",
    "blauwal",
    "tigerente",
    "kontakt",
    "post",
    "mail",
    "info",
    "hasi",
    "schnecke",
    "fussballfan",
    "bergziege",
    "wolke",
    "nordlicht",
    "seestern",
    "kiel-fan",
    "moewe",
    "gartenzwerg",
    "kaffeetante",
    "radler",
    "sternchen",
]

# where a helpdesk requester's new address lives: an employer's or a new provider's
FRESH_DOMAINS = {
    "posteo.de": 5,
    "mailbox.org": 4,
    "proton.me": 4,
    "outlook.de": 6,
    "icloud.com": 6,
    "nordwerft-hamburg.de": 2,
    "stadtwerke-kiel.de": 2,
    "uni-hamburg.de": 2,
    "klinikum-nord.de": 2,
    "hansebank.de": 1,
}

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def compound_variant(name: str, u: float, last: bool) -> str:
    """Hans-Peter → Hans Peter / Hans / H.-P. / Hanspeter; Schmidt-Weber → Schmidt Weber / Schmidt / Weber."""
    parts = name.split("-")
    if len(parts) != 2 or not all(parts):
        return name
    a, b = parts
    if last:
        return f"{a} {b}" if u < 0.4 else a if u < 0.8 else b
    if u < 0.4:
        return f"{a} {b}"
    if u < 0.7:
        return a
    if u < 0.85:
        return f"{a[0]}.-{b[0]}."
    return a + b.lower()


def first_letter_typo(name: str, u: float) -> str:
    """The first letter replaced by another, in lower case (how a slipped finger or OCR gets it wrong)."""
    if not isinstance(name, str) or len(name) < 2:
        return name
    letter = _LETTERS[int(u * len(_LETTERS)) % len(_LETTERS)]
    if letter == name[0].lower():
        letter = _LETTERS[(int(u * len(_LETTERS)) + 7) % len(_LETTERS)]
    return letter + name[1:]
