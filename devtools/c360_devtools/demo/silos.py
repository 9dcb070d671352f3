"""Silo records (marketing contacts, CRM customers, helpdesk requesters) and facts, drawn from the world.

Every record knows when it was created (its delivery) and when it was modified later (moved, married, new
e-mail, unsubscribed, phone added, deactivated). The state at delivery k is the record as of its last
modification up to delivery k, so any delivery can be rendered without storing versions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import names as N
from . import places as P
from . import variety as V
from .text import FOLD_GERMAN, FOLD_STRIP, fold, format_phone, german_date, iso_date, pick_from_lists, typo
from .world import DAY, YEAR, World

NEVER = np.int64(2**62)
HOUR = 3600
MINUTE = 60

# noise columns drawn once per record (so that all versions of a record carry the same typos)
NOISE = [
    "nick",
    "nick_pick",
    "fold",
    "typo_f",
    "typo_f_pos",
    "typo_f_kind",
    "typo_l",
    "typo_l_pos",
    "typo_l_kind",
    "swap",
    "case",
    "email_src",
    "email_case",
    "email_ws",
    "email_junk",
    "email_junk_pick",
    "email_present",
    "phone_present",
    "phone_kind",
    "phone_style",
    "phone_junk",
    "mobile_present",
    "mobile_style",
    "birth_present",
    "birth_fmt",
    "birth_junk",
    "birth_swap",
    "addr_present",
    "street_abbr",
    "street_typo",
    "street_typo_pos",
    "street_typo_kind",
    "city_variant",
    "city_junk",
    "salutation",
    "title",
    "name_form",
    "junk_pick",
]
_NOISE_IDX = {k: i for i, k in enumerate(NOISE)}
# the variety's noise (variety.Variety), drawn from its own random stream so that Variety.none() leaves every other
# draw as it was
VNOISE = [
    "compound",
    "compound_pick",
    "compound_side",
    "nick",
    "translit",
    "translit_pick",
    "flt",
    "flt_side",
    "flt_pick",
    "initial",
    "initial_dot",
    "first_only",
    "swap_string",
]
_VNOISE_IDX = {k: i for i, k in enumerate(VNOISE)}

# how carefully each source captures people
PROFILES = {
    "marketing": dict(
        nick=0.06,
        fold1=0.16,
        fold2=0.04,
        typo=0.025,
        swap=0.02,
        lower=0.03,
        upper=0.02,
        email_case=0.12,
        email_ws=0.05,
        email_junk=0.025,
        email_present=1.0,
        phone_present=0.45,
        mobile_present=0.0,
        phone_junk=0.02,
        birth_present=0.45,
        birth_iso=0.0,
        birth_junk=0.005,
        birth_swap=0.0,
        addr_full=0.42,
        addr_partial=0.08,
        street_abbr=0.2,
        street_typo=0.02,
        city_variant=0.06,
        city_junk=0.006,
        salutation=0.85,
        title=0.7,
        phone_styles=[20, 25, 15, 5, 8, 7, 5, 12, 3],
    ),
    "sales": dict(
        nick=0.04,
        fold1=0.08,
        fold2=0.02,
        typo=0.015,
        swap=0.007,
        lower=0.0,
        upper=0.01,
        email_case=0.03,
        email_ws=0.01,
        email_junk=0.01,
        email_present=0.9,
        phone_present=0.85,
        mobile_present=0.8,
        phone_junk=0.01,
        birth_present=0.78,
        birth_iso=0.9,
        birth_junk=0.004,
        birth_swap=0.006,
        addr_full=0.97,
        addr_partial=0.0,
        street_abbr=0.12,
        street_typo=0.015,
        city_variant=0.03,
        city_junk=0.003,
        salutation=0.95,
        title=0.85,
        phone_styles=[25, 20, 10, 3, 7, 10, 5, 15, 5],
    ),
    # the same person entered again at a store till: sloppier
    "sales_dup": dict(
        nick=0.25,
        fold1=0.3,
        fold2=0.1,
        typo=0.06,
        swap=0.02,
        lower=0.0,
        upper=0.03,
        email_case=0.05,
        email_ws=0.02,
        email_junk=0.05,
        email_present=0.55,
        phone_present=0.6,
        mobile_present=0.6,
        phone_junk=0.03,
        birth_present=0.6,
        birth_iso=0.4,
        birth_junk=0.01,
        birth_swap=0.02,
        addr_full=0.85,
        addr_partial=0.05,
        street_abbr=0.4,
        street_typo=0.05,
        city_variant=0.08,
        city_junk=0.01,
        salutation=0.8,
        title=0.4,
        phone_styles=[25, 20, 10, 3, 7, 10, 5, 15, 5],
    ),
    "service": dict(
        nick=0.07,
        fold1=0.15,
        fold2=0.04,
        typo=0.02,
        swap=0.0,
        lower=0.0,
        upper=0.0,
        email_case=0.0,
        email_ws=0.0,
        email_junk=0.004,
        email_present=1.0,
        phone_present=0.25,
        mobile_present=0.0,
        phone_junk=0.01,
        birth_present=0.0,
        birth_iso=0.0,
        birth_junk=0.0,
        birth_swap=0.0,
        addr_full=0.0,
        addr_partial=0.0,
        street_abbr=0.0,
        street_typo=0.0,
        city_variant=0.0,
        city_junk=0.0,
        salutation=0.0,
        title=0.3,
        phone_styles=[5, 10, 15, 5, 3, 3, 4, 5, 50],
    ),
}


@dataclass
class Records:
    """One silo's identity records (one row per record id, all deliveries)."""

    e: np.ndarray  # person index
    slot: np.ndarray  # 0 = main record, 1 = the person's second record in this silo
    t_create: np.ndarray
    first: np.ndarray  # delivery in which the record first appears
    t_v1: np.ndarray  # last modification within its first delivery
    mods: dict[str, np.ndarray]  # later modifications (NEVER = none)
    noise: np.ndarray  # (n, len(NOISE)) uniforms
    extra: dict[str, np.ndarray]
    record_id: np.ndarray | None = None
    vnoise: np.ndarray | None = None  # (n, len(VNOISE)) uniforms of the variety

    def __len__(self) -> int:
        return len(self.e)

    def u(self, name: str) -> np.ndarray:
        return self.noise[:, _NOISE_IDX[name]]

    def vu(self, name: str) -> np.ndarray:
        if self.vnoise is None:
            return np.ones(len(self.e))  # no variety noise: never below a rate
        return self.vnoise[:, _VNOISE_IDX[name]]

    def take(self, idx: np.ndarray) -> Records:
        return Records(
            self.e[idx],
            self.slot[idx],
            self.t_create[idx],
            self.first[idx],
            self.t_v1[idx],
            {k: v[idx] for k, v in self.mods.items()},
            self.noise[idx],
            {k: v[idx] for k, v in self.extra.items()},
            None if self.record_id is None else self.record_id[idx],
            None if self.vnoise is None else self.vnoise[idx],
        )

    def asof(self, cut: int) -> np.ndarray:
        """Time of the last modification up to `cut` (the record's updated_at as of that delivery)."""
        t = self.t_v1.copy()
        for m in self.mods.values():
            t = np.where(m <= cut, np.maximum(t, m), t)
        return t

    def in_delivery(self, timeline, k: int) -> np.ndarray:
        lo, hi = timeline.cut[k - 1], timeline.cut[k]
        sel = self.first == k
        for m in self.mods.values():
            sel |= (m > lo) & (m <= hi) & (self.first < k)
        return sel


def _draw_creation(rng, w: World, e: np.ndarray, history_years: float, p_late: float):
    tl = w.timeline
    D = tl.deliveries
    j = w["join"][e]
    n = len(e)
    late = (j == 1) & (rng.random(n) < (p_late if D >= 2 else 0.0))
    k = np.where(late, rng.integers(2, max(D, 2) + 1, n), j)
    k = np.minimum(k, D)
    lo = np.where(k == 1, tl.t1 - int(history_years * YEAR), tl.cut[k - 1])
    hi = tl.cut[k]
    t = lo + (rng.random(n) * (hi - lo)).astype(np.int64) + 1
    return t, k


def _v1_time(rng, tl, t_create: np.ndarray, first: np.ndarray) -> np.ndarray:
    hi = tl.cut[first]
    return np.minimum(t_create + ((hi - t_create) * rng.random(len(t_create)) ** 3).astype(np.int64), hi)


def _event_update(rng, w: World, e, first, t_v1, p_update: float) -> np.ndarray:
    """Time at which a record is updated for the person's life event (moved/married/new e-mail), or NEVER."""
    tl = w.timeline
    et = w["event_time"][e]
    has_event = w["moved"][e] | w["married"][e] | w["email_changed"][e]
    ek = tl.delivery_of(et)
    ok = has_event & (ek > first) & (ek <= tl.deliveries) & (t_v1 < et) & (rng.random(len(e)) < p_update)
    t = et + (rng.random(len(e)) * np.maximum(tl.cut[np.minimum(ek, tl.deliveries)] - et, 1)).astype(np.int64)
    return np.where(ok, t, NEVER)


def _later_change(rng, tl, first, p: float) -> np.ndarray:
    """A random modification in a later delivery (or NEVER)."""
    D = tl.deliveries
    n = len(first)
    ok = (first < D) & (rng.random(n) < p)
    k = np.minimum(first + 1 + (rng.random(n) * np.maximum(D - first, 1)).astype(np.int64), D)
    lo, hi = tl.cut[k - 1], tl.cut[k]
    t = lo + 1 + (rng.random(n) * (hi - lo - 1)).astype(np.int64)
    return np.where(ok, t, NEVER)


def _sorted_ids(t: np.ndarray, e: np.ndarray, slot: np.ndarray, w: World) -> np.ndarray:
    """Rank records by creation time (ties by entity, slot) -> 0..n-1 (ids grow over time like a sequence)."""
    order = np.lexsort((slot, w["entity_id"][e], t))
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(len(t))
    return rank


# ----------------------------------------------------------------------------------------------------
# records
# ----------------------------------------------------------------------------------------------------


def marketing_records(w: World, seed: int) -> Records:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    tl = w.timeline
    e0 = np.flatnonzero(w["in_mkt"])
    t0, f0 = _draw_creation(rng, w, e0, 6, 0.055)
    n0 = len(e0)
    # second contacts: people who signed up again with a new address (the old contact is left as it was),
    # or who subscribed a second address
    et = w["event_time"][e0]
    chg = w["email_changed"][e0] & (et > t0) & (et < tl.end) & (rng.random(n0) < 0.5)
    rnd = ~chg & (rng.random(n0) < 0.02)
    t1c = np.where(
        chg,
        et + (rng.random(n0) * 30 * DAY).astype(np.int64),
        t0 + ((60 + rng.random(n0) * 1000) * DAY).astype(np.int64),
    )
    dup = (chg | rnd) & (t1c <= tl.end)
    e1 = e0[dup]
    t1c = t1c[dup]
    f1 = np.maximum(tl.delivery_of(t1c), w["join"][e1])
    e = np.concatenate([e0, e1])
    slot = np.concatenate([np.zeros(n0, np.int64), np.ones(len(e1), np.int64)])
    t_create = np.concatenate([t0, t1c])
    first = np.concatenate([f0, f1])
    n = len(e)
    # e-mail source: 0 personal (follows e-mail changes), 1 family, 2 other address, 3 current address
    fam_ok = pd.notna(w["fam_email"][e])
    pers_ok = pd.notna(w["email"][e])
    src = np.where(fam_ok & (~pers_ok | (w["uses_fam"][e] & (rng.random(n) < 0.7))), 1, 0)
    src = np.where(slot == 1, np.where(np.concatenate([np.zeros(n0, bool), chg[dup]]), 3, 2), src)
    frozen = np.concatenate([chg & dup, np.zeros(len(e1), bool)])  # old contact of a re-subscriber
    t_v1 = _v1_time(rng, tl, t_create, first)
    t_v1 = np.where(frozen, np.maximum(np.minimum(t_v1, w["event_time"][e] - 1), t_create), t_v1)
    # newsletter consent
    opted = rng.random(n) < 0.85
    t_sub = t_create + (rng.random(n) * 2 * DAY).astype(np.int64)
    unsub = opted & (rng.random(n) < 0.22)
    t_unsub = np.where(unsub, t_sub + (rng.exponential(500, n) * DAY).astype(np.int64), NEVER)
    t_unsub = np.where(frozen & opted, np.minimum(t_unsub, w["event_time"][e] + 40 * DAY), t_unsub)
    t_unsub = np.where(t_unsub > tl.end, NEVER, t_unsub)
    in_first = t_unsub <= tl.cut[first]
    t_v1 = np.where(in_first, np.maximum(t_v1, t_unsub), np.maximum(t_v1, np.where(opted, t_sub, t_create)))
    t_v1 = np.minimum(t_v1, tl.cut[first])
    mod_unsub = np.where(in_first, NEVER, t_unsub)
    mod_event = np.where(frozen, NEVER, _event_update(rng, w, e, first, t_v1, 0.5))
    mod_phone = _later_change(rng, tl, first, 0.03)
    noise = rng.random((n, len(NOISE)))
    rec = Records(
        e,
        slot,
        t_create,
        first,
        t_v1,
        {"event": mod_event, "unsub": mod_unsub, "phone": mod_phone},
        noise,
        {"email_src": src, "opted": opted, "t_sub": t_sub, "t_unsub": t_unsub, "force_stale": frozen},
    )
    rank = _sorted_ids(t_create, e, slot, w)
    rec.record_id = rank + 1001
    rec.vnoise = variety_noise(seed, 102, n)
    return rec


def variety_noise(seed: int, stream: int, n: int) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence([seed, stream])).random((n, len(VNOISE)))


def sales_records(w: World, seed: int) -> Records:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    tl = w.timeline
    e0 = np.flatnonzero(w["in_sales"])
    t0, f0 = _draw_creation(rng, w, e0, 8, 0.055)
    n0 = len(e0)
    dup = rng.random(n0) < 0.045
    t1c = t0 + ((20 + rng.random(n0) * 900) * DAY).astype(np.int64)
    dup &= t1c <= tl.end
    e1, t1c = e0[dup], t1c[dup]
    f1 = np.maximum(tl.delivery_of(t1c), w["join"][e1])
    e = np.concatenate([e0, e1])
    slot = np.concatenate([np.zeros(n0, np.int64), np.ones(len(e1), np.int64)])
    t_create = np.concatenate([t0, t1c])
    first = np.concatenate([f0, f1])
    n = len(e)
    t_v1 = _v1_time(rng, tl, t_create, first)
    mod_event = _event_update(rng, w, e, first, t_v1, np.where(slot == 0, 0.8, 0.3))
    mod_mobile = _later_change(rng, tl, first, 0.04)
    # duplicates found by staff get deactivated (sometimes only in a later delivery)
    deact = (slot == 1) & (rng.random(n) < 0.3)
    t_deact = t_create + ((30 + rng.random(n) * 400) * DAY).astype(np.int64)
    closed = (slot == 0) & (rng.random(n) < 0.03)
    t_deact = np.where(closed, t_create + ((rng.random(n) * 3 * 365) * DAY).astype(np.int64), t_deact)
    has_deact = (deact | closed) & (t_deact <= tl.end)
    in_first = has_deact & (t_deact <= tl.cut[first])
    t_v1 = np.where(in_first, np.maximum(t_v1, np.minimum(t_deact, tl.cut[first])), t_v1)
    mod_deact = np.where(has_deact & ~in_first, t_deact, NEVER)
    t_deact = np.where(has_deact, t_deact, NEVER)
    src = np.where(
        pd.notna(w["fam_email"][e]) & (~pd.notna(w["email"][e]) | (w["uses_fam"][e] & (rng.random(n) < 0.5))),
        1,
        0,
    )
    noise = rng.random((n, len(NOISE)))
    rec = Records(
        e,
        slot,
        t_create,
        first,
        t_v1,
        {"event": mod_event, "mobile": mod_mobile, "deact": mod_deact},
        noise,
        {"email_src": src, "t_deact": t_deact, "t_mobile": mod_mobile},
    )
    rec.record_id = _sorted_ids(t_create, e, slot, w) + 10001
    rec.vnoise = variety_noise(seed, 103, n)
    return rec


# ----------------------------------------------------------------------------------------------------
# rendering: the true state of a record as of a time, then the source's way of capturing it
# ----------------------------------------------------------------------------------------------------


def _stale(w: World, rec: Records, asof: np.ndarray) -> np.ndarray:
    stale = (rec.t_v1 < w["event_time"][rec.e]) & ~(rec.mods.get("event", np.full(len(rec), NEVER)) <= asof)
    if "force_stale" in rec.extra:
        stale |= rec.extra["force_stale"]
    return stale


def _weighted_pick(u: np.ndarray, weights: list[float]) -> np.ndarray:
    c = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(c / c[-1], u, side="right")


def _subrand(u: np.ndarray, p: float) -> np.ndarray:
    """Re-use a uniform below p as a fresh uniform on [0, 1)."""
    return np.clip(u / max(p, 1e-12), 0, 0.999999)


def render_people(w: World, rec: Records, asof: np.ndarray, profile: str, email_override=None) -> dict:
    """Name, e-mail, phones, birth date and address of each record as the source would hold them."""
    pr = PROFILES[profile]
    e = rec.e
    n = len(e)
    stale = _stale(w, rec, asof) if n else np.zeros(0, bool)
    u = rec.u
    first = w["first"][e].copy()
    last = np.where(stale & w["married"][e], w["maiden"][e], w["last"][e]).astype(object)
    moved = stale & w["moved"][e]
    street = np.where(moved, w["old_street"][e], w["street"][e]).astype(object)
    postcode = np.where(moved, w["old_postcode"][e], w["postcode"][e]).astype(object)
    city = np.where(moved, w["old_city"][e], w["city"][e]).astype(object)
    area = np.where(moved, w["old_area"][e], w["area"][e]).astype(object)
    land = np.where(moved, w["old_land_sub"][e], w["land_sub"][e]).astype(object)

    # --- names (k_first / k_last: the kinds of variation each name field shows, see variety.KINDS)
    v = w.variety
    vu = rec.vu
    has = pd.notna
    k_first = np.zeros(n, np.int64)
    k_last = V.bits(stale & w["married"][e], "maiden_name")
    k_addr = V.bits(moved, "moved")
    if v.compound_variant:
        dbl_f = pd.Series(first, dtype=object).str.contains("-", regex=False, na=False).to_numpy()
        dbl_l = pd.Series(last, dtype=object).str.contains("-", regex=False, na=False).to_numpy()
        on = vu("compound") < v.compound_variant
        on_first = dbl_f & (~dbl_l | (vu("compound_side") < 0.5))
        for mask, names, is_last, kinds in (
            (on & on_first, first, False, k_first),
            (on & dbl_l & ~on_first, last, True, k_last),
        ):
            idx = np.flatnonzero(mask)
            names[idx] = [
                V.compound_variant(x, q, last=is_last)
                for x, q in zip(names[idx], vu("compound_pick")[idx], strict=True)
            ]
            kinds[idx] |= V.BIT["compound_name"]
    before = first.copy()
    nick = (u("nick") < pr["nick"]) | (vu("nick") < v.nickname)
    first = pick_from_lists(first, N.NICKNAMES, u("nick_pick"), nick)
    k_first |= V.bits(first != before, "nickname")
    f0, l0 = first.copy(), last.copy()
    fold_mode = np.where(u("fold") < pr["fold1"], 1, np.where(u("fold") < pr["fold1"] + pr["fold2"], 2, 0))
    for mode, table in ((1, FOLD_GERMAN), (2, FOLD_STRIP)):
        m = fold_mode == mode
        if m.any():
            first[m] = fold(first[m], table)
            last[m] = fold(last[m], table)
            street[m] = fold(street[m], table)
            city[m] = fold(city[m], table)
    if v.transliteration:
        m = vu("translit") < v.transliteration
        pick = vu("translit_pick")
        first = pick_from_lists(first, V.TRANSLITERATIONS, pick, m)
        last = pick_from_lists(last, V.TRANSLITERATIONS, pick, m & (first == f0))
        rest = m & (first == f0) & (last == l0)  # no other spelling known: write the umlauts out (or drop them)
        for mask, table in ((rest & (pick < 0.7), FOLD_GERMAN), (rest & (pick >= 0.7), FOLD_STRIP)):
            if mask.any():
                first[mask] = fold(first[mask], table)
                last[mask] = fold(last[mask], table)
    k_first |= V.bits(first != f0, "transliteration")
    k_last |= V.bits(last != l0, "transliteration")
    f0, l0 = first.copy(), last.copy()
    first = typo(first, u("typo_f") < pr["typo"], u("typo_f_pos"), u("typo_f_kind"))
    last = typo(last, u("typo_l") < pr["typo"], u("typo_l_pos"), u("typo_l_kind"))
    k_first |= V.bits(first != f0, "typo")
    k_last |= V.bits(last != l0, "typo")
    if v.first_letter_typo:
        m = vu("flt") < v.first_letter_typo
        on_first = vu("flt_side") < 0.5
        for mask, names, kinds in (
            (m & on_first & has(first), first, k_first),
            (m & ~on_first & has(last), last, k_last),
        ):
            idx = np.flatnonzero(mask)
            names[idx] = [V.first_letter_typo(x, q) for x, q in zip(names[idx], vu("flt_pick")[idx], strict=True)]
            kinds[idx] |= V.BIT["first_letter_typo"]
    if v.initial:
        lengths = pd.Series(first, dtype=object).str.len().fillna(0).to_numpy()
        m = (vu("initial") < v.initial) & (lengths > 1)
        if m.any():
            letter = pd.Series(first[m], dtype=object).str[0].str.upper()
            first[m] = (letter + np.where(vu("initial_dot")[m] < 0.6, ".", "")).to_numpy(dtype=object)
            k_first[m] = V.BIT["initial"]  # the first name's other variations are gone with it
    swap = u("swap") < pr["swap"]
    first, last = np.where(swap, last, first), np.where(swap, first, last)
    k_first, k_last = np.where(swap, k_last, k_first), np.where(swap, k_first, k_last)
    k_first |= V.bits(swap, "swapped")
    lower = u("case") < pr["lower"]
    upper = (u("case") >= pr["lower"]) & (u("case") < pr["lower"] + pr["upper"])
    if lower.any():
        first[lower] = pd.Series(first[lower], dtype=object).str.lower().to_numpy()
        last[lower] = pd.Series(last[lower], dtype=object).str.lower().to_numpy()
    if upper.any():
        last[upper] = pd.Series(last[upper], dtype=object).str.upper().to_numpy()

    # --- e-mail
    personal_is_alt = stale & w["email_changed"][e]
    personal = np.where(personal_is_alt, w["alt_email"][e], w["email"][e])
    src = rec.extra.get("email_src", np.zeros(n, np.int64))
    email = np.select(
        [src == 1, src == 2, src == 3],
        [w["fam_email"][e], w["alt_email"][e], w["email"][e]],
        default=personal,
    ).astype(object)
    used_fam = (src == 1) | pd.isna(email)
    used_alt = ~used_fam & ((src == 2) | ((src == 0) & personal_is_alt))
    opaque = (used_alt & w["alt_opaque"][e]) | (~used_fam & ~used_alt & w["email_opaque"][e])
    email = np.where(pd.isna(email), w["fam_email"][e], email).astype(object)
    if email_override is not None:
        email = email_override
    email = np.where(u("email_present") < pr["email_present"], email, None).astype(object)
    junk = (u("email_junk") < pr["email_junk"]) & pd.notna(email)
    given = pd.notna(email) & ~junk
    k_email = (
        V.bits(given & used_fam, "family_email")
        | V.bits(given & used_alt, "other_email")
        | V.bits(given & opaque, "opaque_email")
        | V.bits(junk, "junk_value")
    )
    junk_pool = N.JUNK_EMAILS + (N.JUNK_EMAIL_TEXT if profile.startswith("sales") else [])
    email[junk] = np.asarray(junk_pool, dtype=object)[(u("email_junk_pick")[junk] * len(junk_pool)).astype(int)]
    es = pd.Series(email, dtype=object)
    cased = (u("email_case") < pr["email_case"]) & ~junk & pd.notna(email)
    if cased.any():
        titled = es[cased].str.title()
        upper_mail = u("email_case")[cased] < pr["email_case"] * 0.1
        es[cased] = np.where(upper_mail, es[cased].str.upper(), titled)
    ws = (u("email_ws") < pr["email_ws"]) & pd.notna(email)
    if ws.any():
        es[ws] = np.where(u("email_ws")[ws] < pr["email_ws"] / 2, " " + es[ws], es[ws] + " ")
    email = es.to_numpy(dtype=object)

    # --- phones
    cc = w["cc_dial"][e]
    land_phone = format_phone(cc, area, land, _weighted_pick(u("phone_style"), pr["phone_styles"]))
    mob_phone = format_phone(
        cc, w["mobile_prefix"][e], w["mobile_sub"][e], _weighted_pick(u("mobile_style"), pr["phone_styles"])
    )
    land_phone = np.where(w["has_land"][e], land_phone, None)
    mob_phone = np.where(w["has_mobile"][e], mob_phone, None)
    phone_junk = u("phone_junk") < pr["phone_junk"]
    junk_phone = np.asarray(N.JUNK_PHONES, dtype=object)[(u("junk_pick") * len(N.JUNK_PHONES)).astype(int)]

    # --- birth date
    birth = w["birth"][e]
    bday = np.where(u("birth_present") < pr["birth_present"], 1, 0).astype(bool)
    b_iso = iso_date(birth)
    b_de = german_date(birth)
    swap_dm = u("birth_swap") < pr["birth_swap"]
    if swap_dm.any():
        d = pd.Series(b_iso[swap_dm], dtype=object)
        day = d.str[8:10]
        ok = day.astype(int).to_numpy() <= 12
        swapped_iso = (d.str[:5] + day + "-" + d.str[5:7]).to_numpy(dtype=object)
        swapped_de = (d.str[5:7] + "." + day + "." + d.str[:4]).to_numpy(dtype=object)
        b_iso[swap_dm] = np.where(ok, swapped_iso, b_iso[swap_dm])
        b_de[swap_dm] = np.where(ok, swapped_de, b_de[swap_dm])
    birth_junk = u("birth_junk") < pr["birth_junk"]

    # --- address
    abbr = u("street_abbr") < pr["street_abbr"]
    if abbr.any():
        s = pd.Series(street[abbr], dtype=object)
        s = s.str.replace("straße", "str.", regex=False).str.replace("Straße", "Str.", regex=False)
        s = s.str.replace("strasse", "str.", regex=False).str.replace("Strasse", "Str.", regex=False)
        street[abbr] = s.to_numpy(dtype=object)
    street = typo(street, u("street_typo") < pr["street_typo"], u("street_typo_pos"), u("street_typo_kind"))
    var = u("city_variant") < pr["city_variant"]
    if var.any():
        city = pick_from_lists(city, P.CITY_VARIANTS, _subrand(u("city_variant"), pr["city_variant"]), var)
    addr_full = u("addr_present") < pr["addr_full"]
    addr_part = (~addr_full) & (u("addr_present") < pr["addr_full"] + pr["addr_partial"])
    city_junk = u("city_junk") < pr["city_junk"]
    city = np.where(
        city_junk,
        np.asarray(N.JUNK_TEXT, dtype=object)[(u("junk_pick") * len(N.JUNK_TEXT)).astype(int)],
        city,
    )

    sal = np.where(w["sex"][e] == "F", "Frau", "Herr").astype(object)
    return dict(
        k_first=k_first,
        k_last=k_last,
        k_email=k_email,
        k_addr=k_addr,
        stale=stale,
        first=first,
        last=last,
        email=email,
        land_phone=land_phone,
        mobile_phone=mob_phone,
        phone_junk=phone_junk,
        junk_phone=junk_phone,
        b_iso=b_iso,
        b_de=b_de,
        b_present=bday,
        birth_junk=birth_junk,
        street=street,
        postcode=postcode,
        city=city,
        addr_full=addr_full,
        addr_part=addr_part,
        country=w["country"][e],
        salutation=np.where(u("salutation") < pr["salutation"], sal, None),
        title=np.where((u("title") < pr["title"]) & (w["title"][e] != ""), w["title"][e], None),
    )


def render_marketing(w: World, rec: Records, cut: int) -> pd.DataFrame:
    from .text import german_datetime

    asof = rec.asof(cut)
    p = render_people(w, rec, asof, "marketing")
    u = rec.u
    n = len(rec)
    use_mobile = pd.notna(p["mobile_phone"]) & ((u("phone_kind") < 0.7) | pd.isna(p["land_phone"]))
    phone = np.where(use_mobile, p["mobile_phone"], p["land_phone"])
    phone = np.where(u("phone_present") < PROFILES["marketing"]["phone_present"], phone, None)
    phone = np.where((rec.mods["phone"] < NEVER) & (rec.mods["phone"] > asof), None, phone)  # phone only added later
    phone = np.where(p["phone_junk"], p["junk_phone"], phone)
    birth = np.where(p["b_present"], p["b_de"], None)
    birth = np.where(p["birth_junk"], "01.01.1900", birth)
    street = np.where(p["addr_full"], p["street"], None)
    plz = np.where(p["addr_full"] | p["addr_part"], p["postcode"], None)
    ort = np.where(p["addr_full"] | p["addr_part"], p["city"], None)
    kinds = (
        p["k_first"]
        | p["k_last"]
        | p["k_email"]
        | np.where(p["addr_full"] | p["addr_part"], p["k_addr"], 0)
        | V.bits(p["phone_junk"] | p["birth_junk"], "junk_value")
    )
    last, title = p["last"], p["title"]
    if w.variety.first_name_only:  # a web sign-up: a first name and an e-mail address, nothing else
        only = (rec.vu("first_only") < w.variety.first_name_only) & pd.notna(p["first"])
        last, title, phone, birth, street, plz, ort = (
            np.where(only, None, column) for column in (last, title, phone, birth, street, plz, ort)
        )
        kinds = np.where(only, p["k_first"] | p["k_email"] | V.BIT["name_part_missing"], kinds)
    opted = rec.extra["opted"]
    t_unsub = rec.extra["t_unsub"]
    unsubscribed = t_unsub <= asof
    newsletter = np.where(opted & ~unsubscribed, "ja", "nein")
    angemeldet = np.where(opted, german_datetime(np.where(opted, rec.extra["t_sub"], 0)), None)
    abgemeldet = np.where(unsubscribed, german_datetime(np.where(unsubscribed, t_unsub, 0)), None)
    kid = pd.Series(rec.record_id).astype(str).str.zfill(6)
    return pd.DataFrame(
        {
            "Kontakt-ID": ("NL-" + kid).to_numpy(dtype=object),
            "Anrede": p["salutation"],
            "Titel": title,
            "Vorname": p["first"],
            "Nachname": last,
            "E-Mail": p["email"],
            "Telefon": phone,
            "Geburtsdatum": birth,
            "Straße": street,
            "PLZ": plz,
            "Ort": ort,
            "Newsletter": newsletter,
            "Angemeldet am": angemeldet,
            "Abgemeldet am": abgemeldet,
            "Letzte Änderung": german_datetime(asof) if n else np.empty(0, dtype=object),
            "_kinds": kinds,  # not written: the record's kinds of variation (kinds.csv)
        }
    )


def render_sales(w: World, rec: Records, cut: int) -> pd.DataFrame:
    from .text import iso_utc

    asof = rec.asof(cut)
    dup = rec.slot == 1
    base = render_people(w, rec, asof, "sales")
    if dup.any():
        sub = rec.take(np.flatnonzero(dup))
        d = render_people(w, sub, asof[dup], "sales_dup")
        for k, v in d.items():
            base[k] = base[k].copy()
            base[k][dup] = v
    p = base
    u = rec.u
    prof_phone = np.where(dup, PROFILES["sales_dup"]["phone_present"], PROFILES["sales"]["phone_present"])
    prof_mob = np.where(dup, PROFILES["sales_dup"]["mobile_present"], PROFILES["sales"]["mobile_present"])
    phone = np.where(u("phone_present") < prof_phone, p["land_phone"], None)
    phone = np.where(p["phone_junk"], p["junk_phone"], phone)
    mobile = np.where(u("mobile_present") < prof_mob, p["mobile_phone"], None)
    mobile = np.where((rec.mods["mobile"] < NEVER) & (rec.mods["mobile"] > asof), None, mobile)
    birth_iso_share = np.where(dup, PROFILES["sales_dup"]["birth_iso"], PROFILES["sales"]["birth_iso"])
    birth = np.where(u("birth_fmt") < birth_iso_share, p["b_iso"], p["b_de"])
    birth = np.where(p["b_present"], birth, None)
    birth = np.where(p["birth_junk"], "1900-01-01", birth)
    full = p["addr_full"] | p["addr_part"]
    active = ~(rec.extra["t_deact"] <= asof)
    kinds = (
        p["k_first"]
        | p["k_last"]
        | p["k_email"]
        | np.where(full, p["k_addr"], 0)
        | V.bits(p["phone_junk"] | p["birth_junk"], "junk_value")
    )
    return pd.DataFrame(
        {
            "customer_id": rec.record_id,
            "customer_number": ("K-" + pd.Series(rec.record_id + 100000).astype(str)).to_numpy(dtype=object),
            "salutation": p["salutation"],
            "title": p["title"],
            "first_name": p["first"],
            "last_name": p["last"],
            "email": p["email"],
            "phone": phone,
            "mobile": mobile,
            "birth_date": birth,
            "street": np.where(p["addr_full"], p["street"], None),
            "postcode": np.where(full, p["postcode"], None),
            "city": np.where(full, p["city"], None),
            "country_code": p["country"],
            "created_at": iso_utc(rec.t_create),
            "updated_at": iso_utc(asof),
            "is_active": active.astype(np.int64),
            "_kinds": kinds,  # not written: the record's kinds of variation (kinds.csv)
        }
    )
