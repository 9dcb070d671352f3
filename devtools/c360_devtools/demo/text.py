"""Vectorised string and time helpers for the demo generator.

Everything works on whole numpy/pandas columns; the few helpers that touch single strings (typos, nicknames)
only ever run on the small subset of records that gets that kind of noise.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

FOLD_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
FOLD_STRIP = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "ss"})

# QWERTZ neighbours for realistic one-character typos
_NEIGHBOURS = {
    "q": "wa",
    "w": "qes",
    "e": "wrd",
    "r": "etf",
    "t": "rzg",
    "z": "tuh",
    "u": "zij",
    "i": "uok",
    "o": "ipl",
    "p": "oü",
    "a": "qsy",
    "s": "adw",
    "d": "sfe",
    "f": "dgr",
    "g": "fht",
    "h": "gjz",
    "j": "hku",
    "k": "jli",
    "l": "kö",
    "y": "ax",
    "x": "yc",
    "c": "xv",
    "v": "cb",
    "b": "vn",
    "n": "bm",
    "m": "n",
    "ä": "ö",
    "ö": "lä",
    "ü": "p",
}


def as_object(values) -> np.ndarray:
    """A numpy object array (None stays None)."""
    return np.asarray(values, dtype=object)


def fold(values: np.ndarray, table: dict[int, str]) -> np.ndarray:
    """Apply a str.translate table to every non-null string."""
    s = pd.Series(values, dtype=object)
    return s.str.translate(table).to_numpy(dtype=object)


def ascii_slug(values: np.ndarray) -> np.ndarray:
    """Lower-case ASCII for e-mail local parts: Müller -> mueller, René -> rene, Karl-Heinz -> karl-heinz."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    s = pd.Series(uniques, dtype=object).str.translate(FOLD_GERMAN).str.lower()
    s = s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    u = s.str.replace(r"[^a-z0-9\-]", "", regex=True).to_numpy(dtype=object)
    out = np.empty(len(codes), dtype=object)
    ok = codes >= 0
    out[ok] = u[codes[ok]]
    return out


def typo(values: np.ndarray, mask: np.ndarray, u_pos: np.ndarray, u_kind: np.ndarray) -> np.ndarray:
    """One-character edits (QWERTZ neighbour, deletion, doubling, transposition) on the masked strings."""
    out = values.copy()
    idx = np.flatnonzero(mask)
    for i in idx:
        s = out[i]
        if not isinstance(s, str) or len(s) < 4:
            continue
        p = 1 + int(u_pos[i] * (len(s) - 2))  # never the first character
        k = u_kind[i]
        c = s[p]
        if k < 0.4:
            nb = _NEIGHBOURS.get(c.lower())
            if nb:
                r = nb[int(k / 0.4 * len(nb)) % len(nb)]
                s = s[:p] + (r.upper() if c.isupper() else r) + s[p + 1 :]
            else:
                s = s[:p] + s[p + 1 :]
        elif k < 0.65:
            s = s[:p] + s[p + 1 :]
        elif k < 0.8:
            s = s[:p] + c + s[p:]
        elif p + 1 < len(s):
            s = s[:p] + s[p + 1] + s[p] + s[p + 2 :]
        out[i] = s
    return out


def pick_from_lists(keys: np.ndarray, mapping: dict[str, list[str]], u: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replace masked keys that have alternatives in `mapping` by one of them (chosen by u)."""
    out = keys.copy()
    for i in np.flatnonzero(mask):
        alts = mapping.get(out[i])
        if alts:
            out[i] = alts[int(u[i] * len(alts)) % len(alts)]
    return out


def digits(n: int, length: np.ndarray, rng: np.random.Generator, first_nonzero: bool = True) -> np.ndarray:
    """Random digit strings of the given lengths (vectorised via integers)."""
    length = np.asarray(length, dtype=np.int64)
    lo = np.where(first_nonzero, 2 * 10 ** (length - 1), 0)
    hi = 10**length
    vals = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    return pd.Series(vals).astype(str).to_numpy(dtype=object)


def format_phone(cc: np.ndarray, area: np.ndarray, sub: np.ndarray, style: np.ndarray) -> np.ndarray:
    """German phone formats. `area` is the prefix without trunk 0 ('40', '151'), `sub` the subscriber number.

    styles: 0 ``0151/2345678``  1 ``0151 2345678``  2 ``+49 151 2345678``  3 ``0049 40 1234567``
    4 ``(040) 123 45 67``  5 ``040-1234567``  6 ``+49 (0)40 1234567``  7 ``01512345678``  8 ``+491512345678``
    """
    cc = np.asarray(cc, dtype=object)
    area = np.asarray(area, dtype=object)
    sub = np.asarray(sub, dtype=object)
    style = np.asarray(style)
    out = np.empty(len(sub), dtype=object)
    ok = pd.notna(area) & pd.notna(sub)
    templates = [
        "0{a}/{s}",
        "0{a} {s}",
        "+{c} {a} {s}",
        "00{c} {a} {s}",
        None,
        "0{a}-{s}",
        "+{c} (0){a} {s}",
        "0{a}{s}",
        "+{c}{a}{s}",
    ]
    for k, tmpl in enumerate(templates):
        idx = np.flatnonzero(ok & (style == k))
        if not len(idx):
            continue
        if tmpl is None:  # (040) 123 45 67
            out[idx] = [f"(0{a}) {s[:-4]} {s[-4:-2]} {s[-2:]}" for a, s in zip(area[idx], sub[idx], strict=True)]
        else:
            out[idx] = [tmpl.format(c=c, a=a, s=s) for c, a, s in zip(cc[idx], area[idx], sub[idx], strict=True)]
    return out


# ----------------------------------------------------------------------------------------------------
# time: all times are int64 seconds since the epoch (UTC)
# ----------------------------------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> datetime:
    d = datetime(year, month, 31 if month in (3, 10) else 30, 1, 0, tzinfo=UTC)
    return d.replace(day=d.day - (d.weekday() + 1) % 7)


_TRANSITIONS = np.array(
    [int(_last_sunday(y, m).timestamp()) for y in range(1900, 2101) for m in (3, 10)], dtype=np.int64
)


def berlin_offset(t: np.ndarray) -> np.ndarray:
    """UTC offset of Europe/Berlin in seconds (3600 or 7200; EU DST rules, which hold since 1996)."""
    idx = np.searchsorted(_TRANSITIONS, np.asarray(t, dtype=np.int64), side="right")
    return np.where(idx % 2 == 1, 7200, 3600)


def _chars(a: np.ndarray, width: int) -> np.ndarray:
    return np.ascontiguousarray(a.astype(f"<U{width}")).view("<U1").reshape(-1, width)


def _join(cols: list) -> np.ndarray:
    n = max(len(c) for c in cols if not isinstance(c, str))
    parts = [np.full(n, c, dtype="<U1") if isinstance(c, str) else c for c in cols]
    m = np.ascontiguousarray(np.stack(parts, axis=1))
    return m.view(f"<U{m.shape[1]}").ravel()


def iso_utc(t: np.ndarray) -> np.ndarray:
    """``2026-09-14T08:12:33Z``"""
    t = np.asarray(t, dtype=np.int64)
    if t.size == 0:
        return np.empty(0, dtype=object)
    s = np.datetime_as_string(t.astype("datetime64[s]"), unit="s")
    return np.char.add(s, "Z").astype(object)


def iso_berlin(t: np.ndarray) -> np.ndarray:
    """``2026-09-14T10:12:33+02:00`` (Europe/Berlin local time with offset)."""
    t = np.asarray(t, dtype=np.int64)
    if t.size == 0:
        return np.empty(0, dtype=object)
    off = berlin_offset(t)
    s = np.datetime_as_string((t + off).astype("datetime64[s]"), unit="s")
    return np.char.add(s, np.where(off == 7200, "+02:00", "+01:00")).astype(object)


def german_datetime(t: np.ndarray) -> np.ndarray:
    """``01.03.2024 14:22`` in Europe/Berlin local time."""
    t = np.asarray(t, dtype=np.int64)
    if t.size == 0:
        return np.empty(0, dtype=object)
    s = np.datetime_as_string((t + berlin_offset(t)).astype("datetime64[s]"), unit="s")
    c = _chars(s, 19)  # YYYY-MM-DDTHH:MM:SS
    out = _join(
        [
            c[:, 8],
            c[:, 9],
            ".",
            c[:, 5],
            c[:, 6],
            ".",
            c[:, 0],
            c[:, 1],
            c[:, 2],
            c[:, 3],
            " ",
            c[:, 11],
            c[:, 12],
            ":",
            c[:, 14],
            c[:, 15],
        ]
    )
    return out.astype(object)


def iso_date(days: np.ndarray) -> np.ndarray:
    """days since epoch -> ``1985-12-24``"""
    days = np.asarray(days, dtype=np.int64)
    if days.size == 0:
        return np.empty(0, dtype=object)
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def german_date(days: np.ndarray) -> np.ndarray:
    """days since epoch -> ``24.12.1985``"""
    days = np.asarray(days, dtype=np.int64)
    if days.size == 0:
        return np.empty(0, dtype=object)
    c = _chars(np.datetime_as_string(days.astype("datetime64[D]"), unit="D"), 10)
    return _join([c[:, 8], c[:, 9], ".", c[:, 5], c[:, 6], ".", c[:, 0], c[:, 1], c[:, 2], c[:, 3]]).astype(object)


def year_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
