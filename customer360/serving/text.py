"""Text normalisation for search: the same functions build the search index and read the agent's query.

- `fold`       lower case, German umlauts transliterated (ä→ae, ß→ss), other accents stripped, letters only
               (the Python twin of dbt's `c360_fold_name` macro)
- `loosen`     folded, then ae/oe/ue→a/o/u and ss→s, so Müller, Mueller and Muller meet (dbt's `c360_loosen`)
- `cologne`    Kölner Phonetik: a phonetic code for German names, so Mueler, Möller-typos and Maier/Meyer meet
- `phone_keys` digits of a phone number in the forms people type it (0151/2345678 = +49 151 2345678)
- `jaro_winkler` similarity in [0, 1] for ranking candidates
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TRANSLITERATIONS = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ß": "ss",
        "æ": "ae",
        "ø": "oe",
        "ł": "l",
        "ı": "i",
        "đ": "d",
        "œ": "oe",
        "ð": "d",
    }
)
_NON_LETTERS = re.compile(r"[^a-z]+")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Titles and salutations that are not part of a name (dbt's c360_strip_titles, as tokens).
TITLE_TOKENS = frozenset({"dr", "prof", "dipl", "ing", "herr", "frau", "hr", "fr", "mr", "mrs", "ms", "med"})


def transliterate(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().translate(_TRANSLITERATIONS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Letters only, words separated by one space: 'Dr. Jürgen Müller-Lüdenscheidt' → 'dr juergen mueller luedenscheidt'."""
    return " ".join(_NON_LETTERS.sub(" ", transliterate(text)).split())


def loosen(folded: str) -> str:
    return folded.replace("ae", "a").replace("oe", "o").replace("ue", "u").replace("ss", "s")


@lru_cache(maxsize=200_000)
def name_tokens(text: str) -> tuple[str, ...]:
    """Loose name tokens without titles: 'Dr. Jürgen Müller' → ('jurgen', 'muller')."""
    return tuple(loosen(token) for token in fold(text).split() if token not in TITLE_TOKENS)


def word_tokens(text: str) -> list[str]:
    """Letters and digits (for IDs, postcodes and cities in a query)."""
    return [token for token in _NON_WORD.split(transliterate(text)) if token]


# -- Kölner Phonetik --------------------------------------------------------------------------------------------

_VOWELS = set("aeijouy")


@lru_cache(maxsize=200_000)
def cologne(word: str) -> str:
    """Kölner Phonetik (Postel 1969) of a folded word: 'mueller' → '657', 'meyer' → '67', 'schmidt' → '862'."""
    letters = [char for char in word.lower() if "a" <= char <= "z"]
    codes: list[str] = []
    for index, char in enumerate(letters):
        before = letters[index - 1] if index > 0 else ""
        after = letters[index + 1] if index + 1 < len(letters) else ""
        if char in _VOWELS:
            code = "0"
        elif char == "h":
            code = ""
        elif char == "b":
            code = "1"
        elif char == "p":
            code = "3" if after == "h" else "1"
        elif char in "dt":
            code = "8" if after in ("c", "s", "z") else "2"
        elif char in "fvw":
            code = "3"
        elif char in "gkq":
            code = "4"
        elif char == "c":
            if index == 0:
                code = "4" if after in ("a", "h", "k", "l", "o", "q", "r", "u", "x") else "8"
            else:
                code = "4" if after in ("a", "h", "k", "o", "q", "u", "x") and before not in ("s", "z") else "8"
        elif char == "x":
            code = "8" if before in ("c", "k", "q") else "48"
        elif char == "l":
            code = "5"
        elif char in "mn":
            code = "6"
        elif char == "r":
            code = "7"
        elif char in "sz":
            code = "8"
        else:
            code = ""
        codes.append(code)
    raw = "".join(codes)
    collapsed = [digit for index, digit in enumerate(raw) if index == 0 or digit != raw[index - 1]]
    if not collapsed:
        return ""
    return collapsed[0] + "".join(digit for digit in collapsed[1:] if digit != "0")


# -- phone numbers ----------------------------------------------------------------------------------------------

COUNTRY_CODES = ("49", "43", "41")  # DE, AT, CH: the national significant number drops these
_PHONE_CHARS = re.compile(r"^[\d\s+/()\-.]+$")


def phone_digits(text: str) -> str:
    """Digits with a leading '+' kept: '+49 (0)151/234-5678' → '+491512345678'."""
    text = text.replace("(0)", "")
    plus = text.strip().startswith("+")
    digits = re.sub(r"\D", "", text)
    return f"+{digits}" if plus else digits


def national_number(text: str) -> str | None:
    """The national significant number for DE/AT/CH numbers in any format: 0151 2345678, +49 151 2345678,
    0049-151-2345678 → '1512345678'. Numbers of other countries keep their country code ('+33…' → '33…')."""
    digits = phone_digits(text)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        return digits[1:] or None
    else:
        return digits or None  # no prefix at all: taken as typed (a national number without its 0)
    for code in COUNTRY_CODES:
        if digits.startswith(code):
            return digits[len(code) :] or None
    return digits or None


def looks_like_phone(text: str) -> bool:
    return bool(_PHONE_CHARS.match(text)) and sum(char.isdigit() for char in text) >= 6


# -- similarity -------------------------------------------------------------------------------------------------

try:  # optional accelerator (ships with recordlinkage); the pure-Python version below gives the same numbers
    from jellyfish import jaro_winkler_similarity as _jw_fast
except ImportError:  # pragma: no cover - depends on the environment
    _jw_fast = None  # type: ignore[assignment]


def _jaro_winkler_py(left: str, right: str) -> float:
    if left == right:
        return 1.0
    len_l, len_r = len(left), len(right)
    if not len_l or not len_r:
        return 0.0
    window = max(max(len_l, len_r) // 2 - 1, 0)
    matched_l = [False] * len_l
    matched_r = [False] * len_r
    matches = 0
    for i, char in enumerate(left):
        for j in range(max(0, i - window), min(i + window + 1, len_r)):
            if not matched_r[j] and right[j] == char:
                matched_l[i] = matched_r[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions = 0
    j = 0
    for i in range(len_l):
        if matched_l[i]:
            while not matched_r[j]:
                j += 1
            if left[i] != right[j]:
                transpositions += 1
            j += 1
    jaro = (matches / len_l + matches / len_r + (matches - transpositions // 2) / matches) / 3
    prefix = 0
    for char_l, char_r in zip(left[:4], right[:4], strict=False):
        if char_l != char_r:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def jaro_winkler(left: str, right: str) -> float:
    if _jw_fast is not None:
        return float(_jw_fast(left, right))
    return _jaro_winkler_py(left, right)
