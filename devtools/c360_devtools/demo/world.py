"""The true world behind the demo silos: people, households, addresses, phones, e-mails and life events.

Everything is a column (numpy array) indexed by person index 0..n-1; `entity_id` is the public true person id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from . import names as N
from . import places as P
from . import variety as V
from .text import ascii_slug, digits

DAY = 86_400
YEAR = int(365.25 * DAY)
BASE_DATE = date(2026, 10, 1)  # delivery 1 by default; delivery k is k-1 months later
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Timeline:
    """Delivery k covers (cut[k-1], cut[k]]; delivery 1 also holds all earlier history."""

    deliveries: int
    dates: list[str]  # 'YYYY-MM-DD' per delivery
    cut: np.ndarray  # cut[0] = history start (3 years before delivery 1), cut[k] = delivery k (midnight Berlin)

    @classmethod
    def build(cls, deliveries: int, first: date = BASE_DATE) -> Timeline:
        """Monthly deliveries from `first` on (a later delivery must not lie in the future: the gate holds it)."""
        dates, cuts = [], []
        y, m, d = first.year, first.month, first.day
        for k in range(deliveries):
            mm = m - 1 + k
            dt = datetime(y + mm // 12, mm % 12 + 1, d, tzinfo=BERLIN)
            dates.append(dt.strftime("%Y-%m-%d"))
            cuts.append(int(dt.astimezone(UTC).timestamp()))
        h0 = int(datetime(y - 3, m, d, tzinfo=BERLIN).astimezone(UTC).timestamp())
        return cls(deliveries, dates, np.array([h0, *cuts], dtype=np.int64))

    @property
    def start(self) -> int:
        return int(self.cut[0])

    @property
    def t1(self) -> int:
        return int(self.cut[1])

    @property
    def end(self) -> int:
        return int(self.cut[-1])

    def delivery_of(self, t: np.ndarray) -> np.ndarray:
        """Delivery number holding time t (1 for everything up to delivery 1; D+1 = after the last one)."""
        return np.searchsorted(self.cut[1:], np.asarray(t, dtype=np.int64), side="left") + 1

    def window(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.asarray(k, dtype=np.int64)
        return self.cut[k - 1], self.cut[k]


def zipf_weights(n: int, s: float = 0.9, offset: float = 2.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset) ** s
    return w / w.sum()


def _choice(rng: np.random.Generator, items: list, weights, size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    idx = rng.choice(len(items), size=size, p=p)
    return np.asarray(items, dtype=object)[idx]


@dataclass
class World:
    n: int
    timeline: Timeline
    cols: dict[str, np.ndarray] = field(default_factory=dict)
    variety: V.Variety = field(default_factory=V.Variety)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self.cols[key] = value


def _last_name_pool() -> tuple[list[str], np.ndarray]:
    top = N.GERMAN_LAST_NAMES_TOP
    tail = [s + x for s in N.TAIL_STEMS for x in N.TAIL_SUFFIXES]
    tail = sorted({t.replace("lll", "ll").replace("nnn", "nn") for t in tail} - set(top))
    names = list(top) + tail
    w_top = np.array(list(top.values()), dtype=float)
    w_top = w_top / w_top.sum() * 0.40  # top names: 40 % of German-origin people (real: ~15 %)
    w_tail = np.full(len(tail), 0.60 / len(tail))
    return names, np.concatenate([w_top, w_tail])


def _sample_last_names(rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
    out = np.empty(len(origin), dtype=object)
    de_names, de_w = _last_name_pool()
    for org in N.ORIGINS:
        m = origin == org
        if not m.any():
            continue
        if org == "de":
            out[m] = _choice(rng, de_names, de_w, int(m.sum()))
        else:
            d = N.ORIGIN_LAST_NAMES[org]
            out[m] = _choice(rng, list(d), list(d.values()), int(m.sum()))
    return out


def _sample_first_names(rng: np.random.Generator, origin, sex, birth_year) -> np.ndarray:
    out = np.empty(len(origin), dtype=object)
    cohort = np.where(birth_year < 1960, "old", np.where(birth_year < 1985, "mid", "young"))
    for org in N.ORIGINS:
        for sx in ("M", "F"):
            if org == "de":
                for coh in ("old", "mid", "young"):
                    m = (origin == org) & (sex == sx) & (cohort == coh)
                    if m.any():
                        lst = N.GERMAN_FIRST_NAMES[coh][sx]
                        out[m] = _choice(rng, lst, zipf_weights(len(lst), 1.0, 1.5), int(m.sum()))
            else:
                m = (origin == org) & (sex == sx)
                if m.any():
                    lst = N.OTHER_FIRST_NAMES[org][sx]
                    out[m] = _choice(rng, lst, zipf_weights(len(lst), 0.8, 2.0), int(m.sum()))
    return out


def _cities(country: str):
    return {"DE": P.DE_CITIES, "AT": P.AT_CITIES, "CH": P.CH_CITIES}[country]


def _addresses(rng: np.random.Generator, country: np.ndarray) -> dict[str, np.ndarray]:
    """street (with house number), postcode, city, area code (without 0), landline subscriber number."""
    h = len(country)
    city = np.empty(h, dtype=object)
    postcode = np.empty(h, dtype=object)
    area = np.empty(h, dtype=object)
    for cc in ("DE", "AT", "CH"):
        m = country == cc
        k = int(m.sum())
        if not k:
            continue
        cities = _cities(cc)
        ci = rng.choice(len(cities), size=k, p=np.array([c[4] for c in cities]) / sum(c[4] for c in cities))
        lo = np.array([c[1] for c in cities])[ci]
        hi = np.array([c[2] for c in cities])[ci]
        pc = lo + (rng.random(k) * (hi - lo + 1)).astype(np.int64)
        names = np.array([c[0] for c in cities], dtype=object)[ci]
        pc = np.where(names == "Wien", pc // 10 * 10, pc)
        city[m] = names
        postcode[m] = pd.Series(pc).astype(str).str.zfill(5 if cc == "DE" else 4).to_numpy(dtype=object)
        area[m] = pd.Series(np.array([c[3] for c in cities], dtype=object)[ci]).str[1:].to_numpy(dtype=object)
    street_names = _choice(rng, P.STREETS, zipf_weights(len(P.STREETS), 0.7, 3.0), h)
    street_names = np.where(country == "CH", pd.Series(street_names).str.replace("ß", "ss").to_numpy(), street_names)
    house = 1 + np.minimum(rng.gamma(1.2, 16.0, h).astype(np.int64), 240)
    suffix = np.where(rng.random(h) < 0.07, _choice(rng, ["a", "b", "c"], [6, 3, 1], h), "")
    street = pd.Series(street_names) + " " + pd.Series(house).astype(str) + pd.Series(suffix)
    # landline subscriber: national number has 10-11 digits
    alen = pd.Series(area).str.len().to_numpy()
    sub_len = np.clip(10 - alen + (rng.random(h) < 0.4), 5, 8)
    sub = digits(h, sub_len, rng)
    return {
        "street": street.to_numpy(dtype=object),
        "postcode": postcode,
        "city": city,
        "area": area,
        "land_sub": sub,
    }


_EMAIL_PATTERNS = [
    ("{f}.{l}", 30),
    ("{f}{l}", 12),
    ("{i}.{l}", 10),
    ("{f}_{l}", 5),
    ("{l}.{f}", 5),
    ("{f}.{l}{yy}", 10),
    ("{f}{yy}", 6),
    ("{l}{num}", 6),
    ("{i}{l}", 8),
    ("{nick}{num}", 5),
    ("{f}.{l}.{num}", 3),
]


def _email_locals(rng, first_slug, last_slug, birth_year, nick_slug) -> np.ndarray:
    n = len(first_slug)
    yy = birth_year % 100
    num = rng.integers(1, 999, n)
    w = np.array([wt for _, wt in _EMAIL_PATTERNS], dtype=float)
    which = rng.choice(len(_EMAIL_PATTERNS), size=n, p=w / w.sum())
    out = np.empty(n, dtype=object)
    for k, (tmpl, _) in enumerate(_EMAIL_PATTERNS):
        idx = np.flatnonzero(which == k)
        out[idx] = [
            tmpl.format(f=f, l=la, i=f[:1], yy=f"{y:02d}", num=nu, nick=ni)
            for f, la, y, nu, ni in zip(first_slug[idx], last_slug[idx], yy[idx], num[idx], nick_slug[idx], strict=True)
        ]
    return out


def _providers(rng, country: np.ndarray) -> np.ndarray:
    out = np.empty(len(country), dtype=object)
    for cc, prov in (
        ("DE", P.EMAIL_PROVIDERS_DE),
        ("AT", P.EMAIL_PROVIDERS_AT),
        ("CH", P.EMAIL_PROVIDERS_CH),
    ):
        m = country == cc
        if m.any():
            out[m] = _choice(rng, list(prov), list(prov.values()), int(m.sum()))
    return out


def _make_unique(rng, emails: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
    """Append digits to the local part of colliding addresses (first come keeps it)."""
    out = emails.copy()
    taken_idx = pd.Index(pd.unique(np.asarray(taken if taken is not None else [], dtype=object)))
    for _ in range(8):
        s = pd.Series(out, dtype=object)
        dup = s.duplicated(keep="first").to_numpy() & s.notna().to_numpy()
        if len(taken_idx):
            dup |= taken_idx.get_indexer(out) >= 0
        if not dup.any():
            break
        idx = np.flatnonzero(dup)
        nums = rng.integers(2, 9999, len(idx))
        out[idx] = [e.replace("@", f"{k}@", 1) for e, k in zip(out[idx], nums, strict=True)]
    return out


def _double_first_names(rng_v, variety: V.Variety, first, sex, origin, hh) -> np.ndarray:
    """Some German-origin people get a double first name (Hans-Peter); never one a sibling already has."""
    if not variety.double_first_name:
        return first
    n = len(first)
    pick = rng_v.random(n)
    chosen = (rng_v.random(n) < variety.double_first_name) & (origin == "de")
    out = first.copy()
    for sx in ("M", "F"):
        names = V.DOUBLE_FIRST_NAMES[sx]
        m = chosen & (sex == sx)
        out[m] = np.asarray(names, dtype=object)[(pick[m] * len(names)).astype(np.int64)]
    clash = pd.DataFrame({"hh": hh, "f": out}).duplicated(keep="first").to_numpy() & chosen
    out[clash] = first[clash]
    return out


def _double_last_names(rng_v, variety: V.Variety, last, maiden, took_name) -> np.ndarray:
    """Some who took a partner's family name carry both (Schmidt-Weber or Weber-Schmidt)."""
    if not variety.double_last_name:
        return last
    n = len(last)
    both = took_name & pd.notna(maiden) & (rng_v.random(n) < variety.double_last_name)
    order = rng_v.random(n) < 0.5
    out = last.copy()
    m = both & order
    out[m] = pd.Series(maiden[m], dtype=object) + "-" + pd.Series(last[m], dtype=object)
    m = both & ~order
    out[m] = pd.Series(last[m], dtype=object) + "-" + pd.Series(maiden[m], dtype=object)
    return out


def _opaque(rng_v, variety: V.Variety, emails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace the local part of a share of addresses by one that does not carry the name (sonnenschein77@…)."""
    n = len(emails)
    if not variety.opaque_email:
        return emails, np.zeros(n, dtype=bool)
    opaque = (rng_v.random(n) < variety.opaque_email) & pd.notna(emails)
    words = np.asarray(V.OPAQUE_WORDS, dtype=object)[(rng_v.random(n) * len(V.OPAQUE_WORDS)).astype(np.int64)]
    numbers = pd.Series(rng_v.integers(1, 999, n)).astype(str).to_numpy(dtype=object)
    domains = pd.Series(emails, dtype=object).str.split("@").str[1].to_numpy(dtype=object)
    out = emails.copy()
    out[opaque] = words[opaque] + numbers[opaque] + "@" + domains[opaque]
    return out, opaque


def build_world(n: int, seed: int, timeline: Timeline, variety: V.Variety | None = None) -> World:
    """Draw n people in households with all their true attributes and life events."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    # the variety's draws come from their own stream: with Variety.none() the world is the one of version 1.0
    rng_v = np.random.default_rng(np.random.SeedSequence([seed, 101]))
    variety = variety if variety is not None else V.Variety()
    w = World(n, timeline, variety=variety)
    t1 = timeline.t1
    t1_day = t1 // DAY

    # ---- households ----------------------------------------------------------------------------------------
    multi_target = int(n * 0.32)
    sizes = rng.choice([2, 3, 4, 5], size=max(1, multi_target), p=[0.55, 0.25, 0.15, 0.05])
    keep = np.cumsum(sizes) <= multi_target
    sizes = sizes[keep]
    sizes = np.concatenate([sizes, np.ones(n - int(sizes.sum()), dtype=np.int64)]).astype(np.int64)
    n_hh = len(sizes)
    hh = np.repeat(np.arange(n_hh), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(n) - start[hh]
    size = sizes[hh]
    # household type: 0 single, 1 couple, 2 parent+child, 3 siblings, 4 family (2 parents), 5 single parent
    u = rng.random(n_hh)
    hh_type = np.where(
        sizes == 1,
        0,
        np.where(sizes == 2, np.where(u < 0.72, 1, np.where(u < 0.88, 2, 3)), np.where(u < 0.8, 4, 5)),
    )
    ht = hh_type[hh]
    n_adults = np.select([ht == 0, ht == 1, ht == 2, ht == 3, ht == 4, ht == 5], [1, 2, 1, 0, 2, 1])
    is_child = pos >= n_adults
    # ages
    age_single = np.clip(rng.normal(47, 17, n), 18, 92)
    age_couple = rng.uniform(22, 86, n_hh)[hh]
    age_parent = rng.uniform(44, 68, n_hh)[hh]
    age_sib = rng.uniform(19, 33, n_hh)[hh]
    age = np.select(
        [ht == 0, ht == 1, ht == 3, ~is_child],
        [age_single, age_couple, age_sib, age_parent],
        default=0.0,
    )
    age = np.where(~is_child & (pos == 1) & (ht != 3), np.clip(age + rng.normal(0, 3.5, n), 18, 92), age)
    span = np.maximum(age_parent - 38, 1.0)
    age_child = 18 + rng.random(n) * np.minimum(span, 14)
    age = np.where(is_child & (ht != 3), age_child, age)
    age = np.where(ht == 3, np.clip(age_sib + rng.normal(0, 3, n) * (pos > 0), 18, 40), age)
    birth = t1_day - (age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    # twins: the first two children of some households share their birthday
    first_child = np.where(ht == 3, 0, n_adults)  # position of the first child in the household
    n_children = size - np.where(ht == 3, 0, n_adults)
    twin_hh = (rng.random(n_hh) < 0.33)[hh] & (n_children >= 2)
    second_child = twin_hh & (pos == first_child + 1)
    birth = np.where(second_child, birth[np.maximum(np.arange(n) - 1, 0)], birth)
    is_twin = twin_hh & ((pos == first_child) | (pos == first_child + 1))
    birth_year = birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970

    sex = np.where(rng.random(n) < 0.5, "M", "F").astype(object)
    couple = np.isin(ht, [1, 4]) & (pos < 2)
    same_sex = (rng.random(n_hh) < 0.03)[hh]
    sex = np.where(
        couple & (pos == 1) & ~same_sex, np.where(sex[np.maximum(np.arange(n) - 1, 0)] == "M", "F", "M"), sex
    )

    # ---- names ---------------------------------------------------------------------------------------------
    origin_hh = _choice(rng, list(N.ORIGINS), list(N.ORIGINS.values()), n_hh)
    origin = origin_hh[hh]
    hh_last = _sample_last_names(rng, origin_hh)[hh]
    own_last = _sample_last_names(rng, origin)
    share = (rng.random(n_hh) < 0.82)[hh]
    # partner (position 1 of a couple): shares the family name or keeps their own
    last = np.where(couple & (pos == 1) & ~share, own_last, hh_last)
    # whoever took the partner's name has a maiden (birth) name
    took_name = (
        couple
        & share
        & (((pos == 1) & (sex == "F")) | ((pos == 1) & same_sex) | ((pos == 0) & (sex == "F") & ~same_sex))
    )
    maiden = np.where(took_name, own_last, None)
    # children keep the family name (rarely the other parent's)
    last = np.where(is_child & (ht != 3) & ~is_twin & (rng.random(n) < 0.08), own_last, last)
    # some single women married (someone outside the data): maiden name in older records
    single_married = (ht == 0) & (sex == "F") & (age < 60) & (rng.random(n) < 0.06)
    maiden = np.where(single_married, last, maiden)
    last = np.where(single_married, own_last, last)
    first = _sample_first_names(rng, origin, sex, birth_year)
    # siblings should not share a first name (re-draw a few times)
    for _ in range(5):
        dup = pd.DataFrame({"hh": hh, "f": first}).duplicated(keep="first").to_numpy()
        if not dup.any():
            break
        first[dup] = _sample_first_names(rng, origin[dup], sex[dup], birth_year[dup])
    first = _double_first_names(rng_v, variety, first, sex, origin, hh)
    title = np.where(
        age >= 28,
        _choice(
            rng,
            ["", *N.ACADEMIC_TITLES],
            [1 - sum(N.ACADEMIC_TITLES.values()), *N.ACADEMIC_TITLES.values()],
            n,
        ),
        "",
    ).astype(object)

    # ---- namesakes: very common names shared by unrelated people -------------------------------------------
    k = max(2 if n >= 50 else 0, int(n * 0.006))
    singles = np.flatnonzero((ht == 0) & (origin == "de"))
    top = set(list(N.GERMAN_LAST_NAMES_TOP)[:12])
    templates = np.flatnonzero(np.isin(last, list(top)) & (origin == "de"))
    if k and len(singles) > 2 * k and len(templates) >= 2:
        tgt = rng.choice(singles, size=k, replace=False)
        src = rng.choice(templates, size=k, replace=True)
        ok = tgt != src
        tgt, src = tgt[ok], src[ok]
        first[tgt], last[tgt], sex[tgt], maiden[tgt] = first[src], last[src], sex[src], None
        same_year = rng.random(len(tgt)) < 0.35
        doy = birth[tgt] - (
            birth[tgt].astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        )
        src_year_start = (
            birth[src].astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        )
        birth[tgt] = np.where(same_year, src_year_start + doy, birth[tgt])
        birth_year = birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        namesake = np.zeros(n, dtype=bool)
        namesake[tgt] = True
    else:
        namesake = np.zeros(n, dtype=bool)

    # Polish family names have a female form: Kowalski -> Kowalska
    for arr in (last, maiden):
        fem = (origin == "pl") & (sex == "F") & pd.Series(arr, dtype=object).str.endswith("ski", na=False).to_numpy()
        arr[fem] = pd.Series(arr[fem], dtype=object).str[:-1].to_numpy(dtype=object) + "a"
    last = _double_last_names(rng_v, variety, last, maiden, took_name & ~namesake)

    # ---- addresses, phones ---------------------------------------------------------------------------------
    country_hh = _choice(rng, list(P.COUNTRY_SHARE), list(P.COUNTRY_SHARE.values()), n_hh)
    addr = _addresses(rng, country_hh)
    old_addr = _addresses(rng, country_hh)
    moved_hh = rng.random(n_hh) < 0.09
    # a move inside the same city is more common than to another city
    same_city = rng.random(n_hh) < 0.55
    for key in ("postcode", "city", "area"):
        old_addr[key] = np.where(same_city, addr[key], old_addr[key])
    has_land_hh = rng.random(n_hh) < 0.5
    oldest = pd.Series(age).groupby(hh).max().to_numpy()
    has_land_hh |= (oldest > 60) & (rng.random(n_hh) < 0.6)
    cc_dial = pd.Series(country_hh).map(P.COUNTRY_DIAL).to_numpy(dtype=object)

    mobile_prefix = np.empty(n, dtype=object)
    country = country_hh[hh]
    for cc, pref in (
        ("DE", P.MOBILE_PREFIXES_DE),
        ("AT", P.MOBILE_PREFIXES_AT),
        ("CH", P.MOBILE_PREFIXES_CH),
    ):
        m = country == cc
        if m.any():
            mobile_prefix[m] = _choice(rng, list(pref), list(pref.values()), int(m.sum()))
    mlen = np.where(pd.Series(mobile_prefix).str.startswith("15").to_numpy(), 8, 7)
    mobile_sub = digits(n, mlen, rng)
    has_mobile = rng.random(n) < np.clip(0.96 - 0.008 * np.maximum(age - 55, 0), 0.45, 0.96)

    # ---- e-mail --------------------------------------------------------------------------------------------
    f_slug = ascii_slug(first)
    l_slug = ascii_slug(last)
    nick = np.array([N.NICKNAMES.get(x, [x])[0] for x in first], dtype=object)
    n_slug = ascii_slug(nick)
    email = _email_locals(rng, f_slug, l_slug, birth_year, n_slug) + "@" + _providers(rng, country)
    email = _make_unique(rng, email)
    alt = _email_locals(rng, f_slug, l_slug, birth_year, n_slug) + "@" + _providers(rng, country)
    alt = _make_unique(rng, alt, taken=email[pd.notna(email)])
    if variety.opaque_email:
        email, email_opaque = _opaque(rng_v, variety, email)
        email = _make_unique(rng_v, email)
        alt, alt_opaque = _opaque(rng_v, variety, alt)
        alt = _make_unique(rng_v, alt, taken=email[pd.notna(email)])
    else:
        email_opaque = alt_opaque = np.zeros(n, dtype=bool)
    has_email = rng.random(n) < np.clip(0.98 - 0.01 * np.maximum(age - 62, 0), 0.55, 0.98)
    # family addresses: familie.mueller@web.de
    fam_pat = rng.integers(0, 5, n_hh)
    hl = pd.Series(ascii_slug(hh_last[start]), dtype=object)
    fam_local = np.select(
        [fam_pat == 0, fam_pat == 1, fam_pat == 2, fam_pat == 3],
        [
            ("familie." + hl).to_numpy(),
            ("fam." + hl).to_numpy(),
            (hl + "s").to_numpy(),
            (hl + ".familie").to_numpy(),
        ],
        default=("familie-" + hl).to_numpy(),
    )
    fam_email = pd.Series(fam_local, dtype=object) + "@" + pd.Series(_providers(rng, country_hh), dtype=object)
    fam_email = _make_unique(rng, fam_email.to_numpy(dtype=object), taken=np.concatenate([email, alt]))
    # a new address someone writes to the helpdesk from (an employer's, a new provider's): carries the name
    if variety.fresh_email:
        fs, ls = pd.Series(f_slug, dtype=object), pd.Series(l_slug, dtype=object)
        form = rng_v.random(n)
        fresh_local = np.select(
            [form < 0.5, form < 0.75],
            [(fs + "." + ls).to_numpy(), (fs + ls).to_numpy()],
            (fs.str[:1] + "." + ls).to_numpy(),
        )
        domains = np.asarray(list(V.FRESH_DOMAINS), dtype=object)
        weights = np.array(list(V.FRESH_DOMAINS.values()), dtype=float)
        fresh = fresh_local + "@" + domains[rng_v.choice(len(domains), n, p=weights / weights.sum())]
        fresh = _make_unique(rng_v, fresh, taken=np.concatenate([email[pd.notna(email)], alt, fam_email]))
    else:
        fresh = np.full(n, None, dtype=object)
    has_fam = (sizes > 1) & (rng.random(n_hh) < 0.35)
    uses_fam = has_fam[hh] & (rng.random(n) < np.where(is_child, 0.25, 0.65))
    # some people only ever give the family address
    has_email &= ~(uses_fam & (rng.random(n) < 0.4))
    no_mail = ~has_email & ~uses_fam
    email = np.where(has_email, email, None)

    # ---- life events ---------------------------------------------------------------------------------------
    D = timeline.deliveries
    late_hh = rng.random(n_hh) < (0.35 if D >= 2 else 0.0)
    late_k = rng.integers(2, max(D, 2) + 1, n_hh)
    lo, hi = timeline.cut[np.minimum(late_k, D) - 1], timeline.cut[np.minimum(late_k, D)]
    t_late = lo + (rng.random(n_hh) * (hi - lo)).astype(np.int64)
    t_early = t1 - (20 * DAY + rng.random(n_hh) * 4 * YEAR).astype(np.int64)
    event_time_hh = np.where(late_hh, t_late, t_early)
    event_time = event_time_hh[hh]
    moved = moved_hh[hh]
    married = pd.notna(maiden) & (rng.random(n) < np.where(single_married, 1.0, 0.3))
    email_changed = has_email & (rng.random(n) < 0.07)

    # ---- silo membership -----------------------------------------------------------------------------------
    in_sales = rng.random(n) < 0.65
    in_mkt = (rng.random(n) < 0.57) & ~no_mail
    in_service = rng.random(n) < np.where(in_sales, 0.30, 0.12)
    none = ~(in_sales | in_mkt | in_service)
    to_mkt = none & ~no_mail & (rng.random(n) < 0.5)
    in_mkt |= to_mkt
    in_sales |= none & ~to_mkt
    join = np.where(rng.random(n) < (0.9 if D >= 2 else 1.0), 1, rng.integers(2, max(D, 2) + 1, n))
    join = np.minimum(join, D)
    # favourite departments (for orders)
    cat_idx = rng.integers(0, 7, (n, 2))

    # entity ids: a random permutation so that ids do not reveal households
    entity_id = rng.permutation(n) + 1

    w.cols.update(
        entity_id=entity_id,
        hh=hh,
        hh_pos=pos,
        hh_type=ht,
        hh_size=size,
        is_child=is_child,
        is_twin=is_twin,
        namesake=namesake,
        sex=sex,
        origin=origin,
        first=first,
        last=last,
        maiden=maiden,
        title=title,
        birth=birth,
        birth_year=birth_year,
        age=age,
        country=country,
        street=addr["street"][hh],
        postcode=addr["postcode"][hh],
        city=addr["city"][hh],
        area=addr["area"][hh],
        land_sub=addr["land_sub"][hh],
        has_land=has_land_hh[hh],
        cc_dial=cc_dial[hh],
        old_street=old_addr["street"][hh],
        old_postcode=old_addr["postcode"][hh],
        old_city=old_addr["city"][hh],
        old_area=old_addr["area"][hh],
        old_land_sub=old_addr["land_sub"][hh],
        mobile_prefix=mobile_prefix,
        mobile_sub=mobile_sub,
        has_mobile=has_mobile,
        email=email,
        alt_email=alt,
        email_opaque=email_opaque,
        alt_opaque=alt_opaque,
        fresh_email=fresh,
        fam_email=np.where(has_fam, fam_email, None)[hh],
        uses_fam=uses_fam,
        moved=moved,
        married=married,
        email_changed=email_changed,
        event_time=event_time,
        in_sales=in_sales,
        in_mkt=in_mkt,
        in_service=in_service,
        join=join,
        fav_cat=cat_idx,
    )
    return w
