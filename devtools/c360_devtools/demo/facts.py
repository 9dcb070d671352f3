"""Facts of the demo silos: orders and order lines, campaign events, helpdesk tickets and comments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalog as C
from . import variety as V
from .silos import NEVER, NOISE, Records, render_people, variety_noise
from .text import iso_berlin, iso_utc
from .world import DAY, YEAR, World

HOUR = 3600
MINUTE = 60


def _pick(rng, items, weights, size) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(items), size=size, p=p / p.sum())


def _group_starts(keys: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """For sorted keys: first index and count of every key 0..n_groups-1."""
    start = np.searchsorted(keys, np.arange(n_groups), side="left")
    end = np.searchsorted(keys, np.arange(n_groups), side="right")
    return start, end - start


# ----------------------------------------------------------------------------------------------------
# orders
# ----------------------------------------------------------------------------------------------------

STATUSES = ["completed", "cancelled", "returned", "partially_returned"]


@dataclass
class Orders:
    o: pd.DataFrame  # one row per order (all deliveries)
    lines: pd.DataFrame  # one row per order line

    def at(self, timeline, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Orders and lines that are new or changed in delivery k, as of delivery k."""
        cut = timeline.cut[k]
        lo = timeline.cut[k - 1]
        o = self.o
        sel = ((o["first"] == k) | ((o["t_change"] > lo) & (o["t_change"] <= cut) & (o["first"] < k))).to_numpy()
        oo = o[sel]
        changed = (oo["t_change"] <= cut).to_numpy()
        upd = np.where(changed, oo["t_change"], oo["t_v1"])
        orders = pd.DataFrame(
            {
                "order_id": oo["order_id"].to_numpy(),
                "order_number": oo["order_number"].to_numpy(),
                "customer_id": oo["customer_id"].to_numpy(),
                "ordered_at": iso_utc(oo["ordered_at"].to_numpy()),
                "channel": oo["channel"].to_numpy(),
                "status": np.where(changed, oo["status"], "completed"),
                "total_amount": oo["total_amount"].to_numpy(),
                "currency": "EUR",
                "payment_method": oo["payment_method"].to_numpy(),
                "updated_at": iso_utc(upd),
            }
        )
        ln = self.lines
        lsel = np.isin(ln["order_id"].to_numpy(), oo["order_id"].to_numpy())
        ll = ln[lsel]
        pos = np.searchsorted(oo["order_id"].to_numpy(), ll["order_id"].to_numpy())
        lchanged = changed[pos]
        lines = pd.DataFrame(
            {
                "order_line_id": ll["order_line_id"].to_numpy(),
                "order_id": ll["order_id"].to_numpy(),
                "line_number": ll["line_number"].to_numpy(),
                "sku": ll["sku"].to_numpy(),
                "product_name": ll["product_name"].to_numpy(),
                "category": ll["category"].to_numpy(),
                "quantity": ll["quantity"].to_numpy(),
                "unit_price": ll["unit_price"].to_numpy(),
                "discount_amount": ll["discount_amount"].to_numpy(),
                "returned_quantity": np.where(lchanged, ll["returned_quantity"], 0),
                "updated_at": iso_utc(upd[pos]),
            }
        )
        return orders, lines


def _catalog():
    cats, skus, names, prices, cat_of = [], [], [], [], []
    for ci, (cat, (prefix, _share, products)) in enumerate(C.CATEGORIES.items()):
        cats.append(cat)
        for pi, (name, price) in enumerate(products):
            skus.append(f"{prefix}-{1000 + pi * 37 % 900 + pi:04d}")
            names.append(name)
            prices.append(price)
            cat_of.append(ci)
    return (
        cats,
        np.array(skus, dtype=object),
        np.array(names, dtype=object),
        np.array(prices),
        np.array(cat_of),
    )


def build_orders(w: World, srec: Records, seed: int) -> Orders:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    tl = w.timeline
    n = len(srec)
    mean = np.where(srec.slot == 0, 2.6, 1.2)
    r = 0.7
    cnt = rng.negative_binomial(r, r / (r + mean))
    start = np.maximum(srec.t_create, tl.start)
    cnt = np.where(start >= tl.end, 0, cnt)
    ri = np.repeat(np.arange(n), cnt)
    m = len(ri)
    ordered = start[ri] + (rng.random(m) * (tl.end - start[ri])).astype(np.int64)
    first = tl.delivery_of(ordered)
    # channel and payment
    store_pref = np.where(srec.slot[ri] == 1, 0.8, 0.3)
    u = rng.random(m)
    channel = np.where(u < store_pref, "store", np.where(u < store_pref + (1 - store_pref) * 0.85, "online", "phone"))
    pay = np.empty(m, dtype=object)
    for ch, opts in (
        ("online", {"paypal": 35, "invoice": 25, "credit_card": 15, "klarna": 15, "sepa_direct_debit": 10}),
        ("store", {"ec_card": 50, "cash": 30, "credit_card": 20}),
        ("phone", {"invoice": 70, "sepa_direct_debit": 30}),
    ):
        mm = channel == ch
        if mm.any():
            pay[mm] = np.array(list(opts), dtype=object)[_pick(rng, list(opts), list(opts.values()), int(mm.sum()))]
    # lines
    n_lines = 1 + _pick(rng, range(5), [45, 25, 15, 10, 5], m)
    oi = np.repeat(np.arange(m), n_lines)
    L = len(oi)
    line_no = np.arange(L) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    cats, skus, pnames, prices, cat_of = _catalog()
    shares = np.array([v[1] for v in C.CATEGORIES.values()])
    fav = w["fav_cat"][srec.e[ri[oi]]]
    u = rng.random(L)
    rand_cat = _pick(rng, cats, shares, L)
    cat = np.where(u < 0.5, fav[:, 0], np.where(u < 0.7, fav[:, 1], rand_cat))
    # product: uniform within the category
    cat_start = np.searchsorted(cat_of, np.arange(len(cats)), side="left")
    cat_cnt = np.bincount(cat_of, minlength=len(cats))
    prod = cat_start[cat] + (rng.random(L) * cat_cnt[cat]).astype(np.int64)
    qty = 1 + _pick(rng, range(6), [85, 11, 3, 0.5, 0.3, 0.2], L)
    price = prices[prod]
    disc_rate = np.where(rng.random(L) < 0.12, _pick(rng, range(4), [4, 3, 2, 1], L), -1)
    rate = np.select([disc_rate == 0, disc_rate == 1, disc_rate == 2, disc_rate == 3], [0.1, 0.15, 0.2, 0.3], 0.0)
    discount = np.round(qty * price * rate, 2)
    gross = np.round(qty * price - discount, 2)
    total = np.round(np.bincount(oi, weights=gross, minlength=m), 2)
    # status and when it changed
    u = rng.random(m)
    status = np.where(u < 0.06, 1, np.where(u < 0.13, 2, np.where(u < 0.19, 3, 0)))
    one_item = (n_lines == 1) & (np.bincount(oi, weights=qty, minlength=m) == 1)
    status = np.where((status == 3) & one_item, 2, status)
    t_v1 = ordered + (MINUTE + rng.random(m) * 3 * HOUR).astype(np.int64)
    t_cancel = ordered + (10 * MINUTE + rng.random(m) * 2 * DAY).astype(np.int64)
    t_return = ordered + ((4 + rng.random(m) * 26) * DAY).astype(np.int64)
    t_change = np.select([status == 1, status >= 2], [t_cancel, t_return], NEVER)
    t_change = np.where(t_change > tl.end, NEVER, t_change)
    status = np.where(t_change == NEVER, 0, status)
    t_v1 = np.minimum(t_v1, tl.cut[first])
    same = tl.delivery_of(t_change) == first
    t_v1 = np.where(same & (t_change != NEVER), t_change, t_v1)
    # returned quantity per line
    ret_q = np.where(status[oi] == 2, qty, 0)
    part = status[oi] == 3
    pick_line = (rng.random(m) * n_lines).astype(np.int64) + 1
    chosen = part & (line_no == pick_line[oi])
    ret_part = np.where(
        n_lines[oi] == 1,
        1 + (rng.random(L) * (qty - 1)).astype(np.int64),
        1 + (rng.random(L) * qty).astype(np.int64),
    )
    ret_q = np.where(chosen, np.minimum(ret_part, qty), ret_q)
    # ids in order of time
    order = np.lexsort((srec.record_id[ri], ordered))
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    order_id = rank + 1
    o = pd.DataFrame(
        {
            "order_id": order_id,
            "order_number": ("KN-" + pd.Series(10_000_000 + order_id * 7 + rng.integers(0, 7, m)).astype(str)).to_numpy(
                dtype=object
            ),
            "customer_id": srec.record_id[ri],
            "e": srec.e[ri],
            "ordered_at": ordered,
            "channel": channel.astype(object),
            "status": np.array(STATUSES, dtype=object)[status],
            "total_amount": total,
            "payment_method": pay,
            "t_v1": t_v1,
            "t_change": t_change,
            "first": first,
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": order_id[oi],
            "line_number": line_no,
            "sku": skus[prod],
            "product_name": pnames[prod],
            "category": np.array(cats, dtype=object)[cat_of[prod]],
            "quantity": qty,
            "unit_price": price,
            "discount_amount": discount,
            "returned_quantity": ret_q,
        }
    )
    o = o.sort_values("order_id", kind="stable").reset_index(drop=True)
    lines = lines.sort_values(["order_id", "line_number"], kind="stable").reset_index(drop=True)
    lines.insert(0, "order_line_id", np.arange(len(lines), dtype=np.int64) + 1)
    return Orders(o, lines)


# ----------------------------------------------------------------------------------------------------
# campaign events
# ----------------------------------------------------------------------------------------------------


def _campaigns(tl) -> pd.DataFrame:
    rows = []
    start = pd.Timestamp(tl.start, unit="s")
    end = pd.Timestamp(tl.end, unit="s")
    month = pd.Timestamp(year=start.year, month=start.month, day=1)
    while month <= end:
        y, mo = month.year, month.month
        themes = C.CAMPAIGN_THEMES[mo]
        plans = [(9, themes[y % 2])]
        if mo == 11:
            plans.append((24, "Black Week"))
        if mo == 12:
            plans.append((15, "Last-Minute-Geschenke"))
        for day, theme in plans:
            send = int(pd.Timestamp(year=y, month=mo, day=day, hour=8, minute=30).timestamp())
            if tl.start < send <= tl.end:
                cid = f"CMP-{y}-{mo:02d}-{day:02d}"
                rows.append((cid, f"{theme} {y}", send))
        month = month + pd.DateOffset(months=1)
    df = pd.DataFrame(rows, columns=["campaign_id", "campaign_name", "send"])
    df["cat"] = [list(C.CATEGORIES)[i % len(C.CATEGORIES)] for i in range(len(df))]
    return df.sort_values("send", kind="stable").reset_index(drop=True)


def build_campaign_events(w: World, mrec: Records, seed: int) -> pd.DataFrame:
    """All campaign events of all deliveries; column `delivery` says where each one goes."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    tl = w.timeline
    camps = _campaigns(tl)
    n = len(mrec)
    # e-mail before and after the contact's event update (the only modification that changes the address)
    first_state = render_people(w, mrec, mrec.t_v1, "marketing")["email"]
    final_state = render_people(w, mrec, np.full(n, NEVER - 1), "marketing")["email"]
    clean_v1 = pd.Series(first_state, dtype=object).str.strip().str.lower().to_numpy(dtype=object)
    clean_v2 = pd.Series(final_state, dtype=object).str.strip().str.lower().to_numpy(dtype=object)
    t_evt = mrec.mods["event"]
    opted = mrec.extra["opted"]
    t_sub = mrec.extra["t_sub"]
    t_unsub = mrec.extra["t_unsub"]
    engagement = rng.beta(2, 5, n)
    junk_domain = (
        pd.Series(clean_v2)
        .isin(
            [
                "test@test.de",
                "keine@angabe.de",
                "kein@email.de",
                "no@mail.de",
                "a@b.de",
                "xxx@xxx.de",
                "noreply@kaufhaus-nord.de",
            ]
        )
        .to_numpy()
    )
    parts = []
    for camp_i, c in enumerate(camps.itertuples(index=False)):
        s = c.send
        elig = opted & (t_sub <= s) & (s < t_unsub) & (mrec.t_create <= s)
        elig &= rng.random(n) < 0.2
        idx = np.flatnonzero(elig)
        email = np.where(t_evt[idx] <= s, clean_v2[idx], clean_v1[idx])
        ok = pd.Series(email, dtype=object).str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
        idx, email = idx[ok], email[ok]
        k = len(idx)
        if not k:
            continue
        t_sent = s + (rng.random(k) * 30 * MINUTE).astype(np.int64)
        bounce = junk_domain[idx] | (rng.random(k) < 0.012)
        opened = ~bounce & (rng.random(k) < engagement[idx] * 1.0)
        t_open = t_sent + (np.exp(rng.normal(np.log(3 * HOUR), 1.2, k))).astype(np.int64)
        clicked = opened & (rng.random(k) < 0.18)
        t_click = t_open + (10 + rng.random(k) * 20 * MINUTE).astype(np.int64)
        t_bounce = t_sent + (rng.random(k) * 5 * MINUTE).astype(np.int64)
        for typ, mask, t in (
            ("sent", np.ones(k, bool), t_sent),
            ("bounce", bounce, t_bounce),
            ("open", opened, t_open),
            ("click", clicked, t_click),
        ):
            if mask.any():
                c_n = int(mask.sum())
                parts.append((idx[mask], email[mask], np.full(c_n, camp_i), np.full(c_n, TYPE_RANK[typ]), t[mask]))
    # unsubscribes: attributed to the last campaign before the click on "abmelden"
    has = t_unsub < NEVER
    idx = np.flatnonzero(has)
    ci = np.searchsorted(camps["send"].to_numpy(), t_unsub[idx], side="right") - 1
    ok = ci >= 0
    idx, ci = idx[ok], ci[ok]
    if len(idx):
        email = np.where(t_evt[idx] <= t_unsub[idx], clean_v2[idx], clean_v1[idx])
        parts.append((idx, email, ci, np.full(len(idx), TYPE_RANK["unsubscribe"]), t_unsub[idx]))
    if parts:
        rec, email, camp, trank, t = (np.concatenate([p[i] for p in parts]) for i in range(5))
    else:
        rec, email, camp, trank, t = (
            np.empty(0, np.int64),
            np.empty(0, object),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
        )
    keep = t <= tl.end
    rec, email, camp, trank, t = rec[keep], email[keep], camp[keep], trank[keep], t[keep]
    kid = mrec.record_id[rec]
    order = np.lexsort((camp, trank, kid, t))
    rec, email, camp, trank, t, kid = (
        rec[order],
        email[order],
        camp[order],
        trank[order],
        t[order],
        kid[order],
    )
    types = np.array(list(TYPE_RANK), dtype=object)
    camp_ids = camps["campaign_id"].to_numpy(dtype=object)
    urls = np.array(
        [
            f"https://www.kaufhaus-nord.de/{C.CATEGORY_SLUGS[c]}?utm_source=newsletter&utm_medium=email"
            f"&utm_campaign={cid}"
            for c, cid in zip(camps["cat"], camp_ids, strict=True)
        ],
        dtype=object,
    )
    is_click = trank == TYPE_RANK["click"]
    return pd.DataFrame(
        {
            "event_id": np.array([f"evt_{i:09d}" for i in range(1, len(t) + 1)], dtype=object),
            "contact_id": np.array([f"NL-{k:06d}" for k in kid], dtype=object),
            "email": email.astype(object),
            "campaign_id": camp_ids[camp] if len(camp_ids) else np.empty(0, object),
            "campaign_name": camps["campaign_name"].to_numpy(dtype=object)[camp]
            if len(camp_ids)
            else np.empty(0, object),
            "channel": np.full(len(t), "email", dtype=object),
            "event_type": types[trank],
            "occurred_at": iso_berlin(t),
            "url": np.where(is_click, urls[camp] if len(urls) else None, None),
            "delivery": tl.delivery_of(t),
        }
    )


# ----------------------------------------------------------------------------------------------------
# helpdesk
# ----------------------------------------------------------------------------------------------------

TYPE_RANK = {"sent": 0, "bounce": 1, "open": 2, "click": 3, "unsubscribe": 4}

TYPES = ["question", "complaint", "return", "delivery", "payment"]
DO_NOT_CALL_RATE = 0.2  # per complaint ticket


@dataclass
class Helpdesk:
    tickets: pd.DataFrame  # one row per ticket, all deliveries (times as int seconds)
    comments: pd.DataFrame  # one row per comment
    requesters: pd.DataFrame  # requester id, e, name, email, phone, t0, first (delivery)

    def at(self, cut: int) -> tuple[list[dict], list[dict]]:
        """Tickets and comments as the helpdesk holds them at time `cut`, ordered by (updated_at, id)."""
        t = self.tickets[self.tickets["created"] <= cut].reset_index(drop=True)
        c = self.comments[(self.comments["created"] <= cut)]
        c = c[c["ticket_id"].isin(t["id"])]
        g = c.groupby("ticket_id", sort=True)
        last_time = g["created"].max()
        c_last = c.sort_values(["ticket_id", "created", "id"]).groupby("ticket_id").tail(1).set_index("ticket_id")
        agent_seen = c.assign(a=c["author_role"] == "agent").groupby("ticket_id")["a"].any()
        tid = t["id"]
        lt = last_time.reindex(tid).to_numpy()
        last_agent = ((c_last["author_role"] == "agent") & c_last["public"]).reindex(tid).fillna(False).to_numpy(bool)
        seen = agent_seen.reindex(tid).fillna(False).to_numpy(bool)
        solved_t = t["solved"].to_numpy()
        solved = solved_t <= cut
        closed = solved & (solved_t + 4 * DAY <= cut)
        status = np.where(
            closed,
            "closed",
            np.where(solved, "solved", np.where(~seen, "new", np.where(last_agent, "pending", "open"))),
        )
        rated = solved & t["rated"].to_numpy(bool) & (t["rating_at"].to_numpy() <= cut)
        upd = lt.astype(np.int64)
        upd = np.where(solved, np.maximum(upd, solved_t), upd)
        upd = np.where(closed, np.maximum(upd, solved_t + 4 * DAY), upd)
        upd = np.where(rated, np.maximum(upd, t["rating_at"].to_numpy()), upd)
        t = t.assign(status=status, upd=upd, rated_now=rated)
        t = t.sort_values(["upd", "id"], kind="stable")
        created_s = iso_utc(t["created"].to_numpy())
        upd_s = iso_utc(t["upd"].to_numpy())
        solved_s = np.where(
            t["status"].isin(["solved", "closed"]), iso_utc(np.minimum(t["solved"].to_numpy(), cut)), None
        )
        req = self.requesters.set_index("id")
        req_obj = {
            rid: {"id": int(rid), "name": r.name_, "email": r.email, "phone": r.phone}
            for rid, r in zip(req.index, req.itertuples(index=False), strict=True)
        }
        tickets = [
            {
                "id": int(i),
                "subject": subj,
                "description": desc,
                "status": st,
                "priority": prio,
                "type": typ,
                "channel": ch,
                "requester": req_obj[rid],
                "order_number": on,
                "created_at": cr,
                "updated_at": up,
                "solved_at": so,
                "satisfaction_rating": {"score": int(sc), "comment": sco} if rn else None,
                "tags": tags,
            }
            for i, subj, desc, st, prio, typ, ch, rid, on, cr, up, so, rn, sc, sco, tags in zip(
                t["id"],
                t["subject"],
                t["description"],
                t["status"],
                t["priority"],
                t["type"],
                t["channel"],
                t["requester_id"],
                t["order_number"],
                created_s,
                upd_s,
                solved_s,
                t["rated_now"],
                t["score"],
                t["score_comment"],
                t["tags"],
                strict=True,
            )
        ]
        c = c.sort_values(["created", "id"], kind="stable")
        cs = iso_utc(c["created"].to_numpy())
        comments = [
            {
                "id": int(i),
                "ticket_id": int(ti),
                "author_role": ar,
                "body": b,
                "public": bool(pu),
                "created_at": s,
                "updated_at": s,
            }
            for i, ti, ar, b, pu, s in zip(
                c["id"], c["ticket_id"], c["author_role"], c["body"], c["public"], cs, strict=True
            )
        ]
        return tickets, comments


def _name_strings(p: dict, email, u_form: np.ndarray, swapped_string: np.ndarray | None = None):
    """The requester's one name string as the helpdesk holds it, and the kinds of variation it shows."""
    f = pd.Series(p["first"], dtype=object)
    la = pd.Series(p["last"], dtype=object)
    title = pd.Series(p["title"], dtype=object)
    full = f + " " + la
    with_title = (title.fillna("") + " " + full).str.strip()
    local = pd.Series(email, dtype=object).str.split("@").str[0]
    names = p["k_first"] | p["k_last"]
    forms = [
        (with_title, 45, names),
        (la + ", " + f, 12, names),
        (f.str[0] + ". " + la, 8, p["k_last"] | V.BIT["initial"]),
        (with_title, 6, names),
        (full.str.lower(), 8, names),
        (la + " " + f, 5, names | V.BIT["swapped"]),
        (full.str.upper(), 3, names),
        (local.fillna(full), 5, np.where(local.notna().to_numpy(), V.BIT["name_from_email"], names)),
        (f, 3, p["k_first"] | V.BIT["name_part_missing"]),
    ]
    c = np.cumsum([wt for _, wt, _ in forms])
    which = np.searchsorted(c / c[-1], u_form, side="right")
    if swapped_string is not None:
        which = np.where(swapped_string, 5, which)  # "Kolanko Natasza": last name first, no comma
    out = np.empty(len(f), dtype=object)
    kinds = np.zeros(len(f), dtype=np.int64)
    for k, (vals, _, form_kinds) in enumerate(forms):
        m = which == k
        out[m] = vals.to_numpy(dtype=object)[m]
        kinds[m] = np.broadcast_to(form_kinds, len(f))[m]
    return out, kinds


def build_helpdesk(w: World, orders: Orders, seed: int) -> Helpdesk:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 6]))
    tl = w.timeline
    sp = np.flatnonzero(w["in_service"])
    nt = np.minimum(rng.geometric(0.55, len(sp)), 8)
    te = np.repeat(sp, nt)
    m = len(te)
    # orders of each person, sorted by person
    o = orders.o
    oe = o["e"].to_numpy()
    oorder = np.argsort(oe, kind="stable")
    oe_sorted = oe[oorder]
    o_start, o_cnt = _group_starts(oe_sorted, w.n)
    cnt = o_cnt[te]
    linked = (cnt > 0) & (rng.random(m) < 0.6)
    pick = (
        oorder[np.minimum(o_start[te] + (rng.random(m) * np.maximum(cnt, 1)).astype(np.int64), len(oorder) - 1)]
        if len(oorder)
        else np.zeros(m, np.int64)
    )
    o_status = o["status"].to_numpy()[pick] if len(o) else np.full(m, "completed", dtype=object)
    o_time = o["ordered_at"].to_numpy()[pick] if len(o) else np.zeros(m, np.int64)
    o_change = o["t_change"].to_numpy()[pick] if len(o) else np.full(m, NEVER)
    # type
    u = rng.random(m)
    typ_linked = np.select(
        [o_status == "returned", o_status == "partially_returned", o_status == "cancelled"],
        [np.where(u < 0.6, 2, np.where(u < 0.8, 1, 4)), np.where(u < 0.5, 2, 1), np.where(u < 0.6, 4, 0)],
        default=np.where(u < 0.35, 1, np.where(u < 0.7, 3, np.where(u < 0.85, 2, 4))),
    )
    typ_free = np.where(u < 0.75, 0, np.where(u < 0.85, 1, 4))
    typ = np.where(linked, typ_linked, typ_free)
    delay = np.select([typ == 3, typ == 4], [2 + rng.random(m) * 8, 5 + rng.random(m) * 35], 2 + rng.random(m) * 23)
    base = np.where((typ == 2) & (o_change < NEVER), np.maximum(o_time, o_change - 3 * DAY), o_time)
    created_linked = base + (delay * DAY).astype(np.int64)
    j = w["join"][te]
    lo = np.where(j == 1, tl.t1 - 2 * YEAR, tl.cut[np.maximum(j - 1, 0)])
    created_free = lo + (rng.random(m) * (tl.end - lo)).astype(np.int64)
    created = np.where(linked, created_linked, created_free)
    order_number = np.where(linked, o["order_number"].to_numpy()[pick] if len(o) else None, None)
    keep = created <= tl.end
    te, created, typ, order_number, linked = (
        te[keep],
        created[keep],
        typ[keep],
        order_number[keep],
        linked[keep],
    )
    m = len(te)
    # channel; people without any e-mail address call
    has_mail = pd.notna(w["email"][te]) | pd.notna(w["fam_email"][te])
    ch = _pick(rng, ["email", "phone", "chat"], [55, 25, 20], m)
    channel = np.where(has_mail, np.array(["email", "phone", "chat"], dtype=object)[ch], "phone")
    # requester records: a new address or calling in creates a second user in the helpdesk
    split_person = rng.random(w.n) < 0.8
    second_phone = rng.random(w.n) < 0.12
    email_bit = w["email_changed"][te] & split_person[te] & (created >= w["event_time"][te])
    phone_bit = second_phone[te] & (channel == "phone")
    slot = email_bit.astype(np.int64) + 2 * phone_bit.astype(np.int64)
    variety = w.variety
    if variety.fresh_email:  # written from an address the person's other records do not have: a fourth user
        fresh = (np.random.default_rng(np.random.SeedSequence([seed, 106])).random(w.n) < variety.fresh_email)[te]
        slot = np.where(fresh, 4, slot)
        channel = np.where(fresh & (channel == "phone"), "email", channel)
    key = te.astype(np.int64) * 8 + slot
    kdf = pd.DataFrame({"key": key, "t": created})
    t0 = kdf.groupby("key")["t"].min()
    keys = t0.index.to_numpy()
    re_ = keys // 8
    rslot = keys % 8
    rt0 = t0.to_numpy()
    nr = len(keys)
    rorder = np.lexsort((rslot, w["entity_id"][re_], rt0))
    rrank = np.empty(nr, dtype=np.int64)
    rrank[rorder] = np.arange(nr)
    rid = 35_000_001 + rrank
    # render requesters as of their first ticket
    rrec = Records(
        re_,
        rslot,
        rt0,
        tl.delivery_of(rt0),
        rt0,
        {},
        rng.random((nr, len(NOISE))),
        {
            "email_src": np.where(
                pd.notna(w["fam_email"][re_])
                & (~pd.notna(w["email"][re_]) | (w["uses_fam"][re_] & (rng.random(nr) < 0.5))),
                1,
                0,
            )
        },
        rid,
        variety_noise(seed, 107, nr),
    )
    p = render_people(w, rrec, rt0, "service")
    email = pd.Series(p["email"], dtype=object).str.strip().str.lower().to_numpy(dtype=object)
    by_phone = (rslot == 2) | (rslot == 3)
    fresh_user = rslot == 4
    email = np.where(fresh_user, w["fresh_email"][re_], email)
    phone_only = by_phone | pd.isna(email)
    email = np.where(by_phone, None, email)
    k_email = np.where(fresh_user, V.BIT["fresh_email"], np.where(by_phone, 0, p["k_email"]))
    phone = np.where(
        pd.notna(p["mobile_phone"]) & ((rrec.u("phone_kind") < 0.75) | pd.isna(p["land_phone"])),
        p["mobile_phone"],
        p["land_phone"],
    )
    phone = np.where((phone_only | (rrec.u("phone_present") < 0.2)) & ~fresh_user, phone, None)
    junk_phone = p["phone_junk"] & pd.notna(phone)
    phone = np.where(junk_phone, p["junk_phone"], phone)
    swapped_string = rrec.vu("swap_string") < variety.swapped_full_name
    name, name_kinds = _name_strings(p, email, rrec.u("name_form"), swapped_string)
    requesters = (
        pd.DataFrame(
            {
                "id": rid,
                "e": re_,
                "name_": name,
                "email": email,
                "phone": phone,
                "t0": rt0,
                "first": tl.delivery_of(rt0),
                "kinds": name_kinds | k_email | V.bits(junk_phone, "junk_value"),
            }
        )
        .sort_values("id")
        .reset_index(drop=True)
    )
    key_to_rid = pd.Series(rid, index=keys)
    t_req = key_to_rid.reindex(key).to_numpy()
    # texts
    subj = np.empty(m, dtype=object)
    desc = np.empty(m, dtype=object)
    for ti, tname in enumerate(TYPES):
        for want_order in (True, False):
            mm = (typ == ti) & (linked == want_order)
            if not mm.any():
                continue
            tmpl = [x for x in C.TICKET_TEXTS[tname] if ("{order}" in x[1]) == want_order] or C.TICKET_TEXTS[tname]
            k = (rng.random(int(mm.sum())) * len(tmpl)).astype(np.int64)
            subj[mm] = np.array([x[0] for x in tmpl], dtype=object)[k]
            d = pd.Series(np.array([x[1] for x in tmpl], dtype=object)[k])
            if want_order:
                on = pd.Series(order_number[mm], dtype=object)
                d = pd.Series([a.replace("{order}", b) for a, b in zip(d, on, strict=True)], dtype=object)
            desc[mm] = d.to_numpy(dtype=object)
    with_order_in_subject = linked & (rng.random(m) < 0.4)
    subj = np.where(with_order_in_subject, subj + " (" + np.where(linked, order_number, "").astype(object) + ")", subj)
    prio_w = np.where(typ == 1, 1, 0)
    u = rng.random(m)
    priority = np.where(
        prio_w == 1,
        np.where(u < 0.05, "low", np.where(u < 0.45, "normal", np.where(u < 0.88, "high", "urgent"))),
        np.where(u < 0.15, "low", np.where(u < 0.77, "normal", np.where(u < 0.96, "high", "urgent"))),
    )
    # resolution
    mean_h = np.select([typ == 0, typ == 1], [18.0, 70.0], 40.0)
    dur = np.exp(rng.normal(np.log(mean_h), 0.9, m)) * HOUR
    dur = np.maximum(dur, 20 * MINUTE).astype(np.int64)
    never = rng.random(m) < 0.02
    solved = np.where(never, NEVER, created + dur)
    span = np.where(never, 10 * DAY, dur)
    rated = rng.random(m) < np.where(typ == 1, 0.55, 0.45)
    rating_at = solved + ((1 + rng.random(m) * 47) * HOUR).astype(np.int64)
    rating_at = np.where(never, NEVER, rating_at)
    score_p = {0: [3, 4, 10, 33, 50], 1: [25, 20, 20, 20, 15]}
    score = np.empty(m, dtype=np.int64)
    for ti in range(5):
        mm = typ == ti
        if mm.any():
            score[mm] = 1 + _pick(rng, range(5), score_p.get(ti, [8, 8, 14, 35, 35]), int(mm.sum()))
    sc_comment = np.empty(m, dtype=object)
    for s in range(1, 6):
        mm = score == s
        if mm.any():
            opts = C.CSAT_COMMENTS[s]
            sc_comment[mm] = np.array(opts, dtype=object)[(rng.random(int(mm.sum())) * len(opts)).astype(np.int64)]
    # ids
    torder = np.lexsort((w["entity_id"][te], created))
    trank = np.empty(m, dtype=np.int64)
    trank[torder] = np.arange(m)
    tid = 10_001 + trank
    # an agent notes "do not call" (nicht anrufen) on some complaints: a consent statement in the helpdesk; a random
    # stream of its own leaves the rest of the world as it was
    no_calls = (typ == TYPES.index("complaint")) & (
        np.random.default_rng(np.random.SeedSequence([seed, 108])).random(m) < DO_NOT_CALL_RATE
    )
    tags = [
        [C.TICKET_TAGS[TYPES[a]][0], b] + (["bestellung"] if c else []) + (["nicht_anrufen"] if d else [])
        for a, b, c, d in zip(typ, channel, linked, no_calls, strict=True)
    ]
    tickets = (
        pd.DataFrame(
            {
                "id": tid,
                "subject": subj,
                "description": desc,
                "priority": priority,
                "type": np.array(TYPES, dtype=object)[typ],
                "channel": channel,
                "requester_id": t_req,
                "order_number": order_number,
                "created": created,
                "solved": solved,
                "rated": rated,
                "rating_at": rating_at,
                "score": score,
                "score_comment": sc_comment,
                "tags": tags,
                "e": te,
            }
        )
        .sort_values("id")
        .reset_index(drop=True)
    )
    # comments
    typ_s = tickets["type"].to_numpy()
    p_more = np.where(typ_s == "complaint", 0.5, np.where(typ_s == "question", 0.2, 0.35))
    tm = len(tickets)
    nc = 1 + rng.binomial(5, p_more, tm)
    ci = np.repeat(np.arange(tm), nc)
    L = len(ci)
    cpos = np.arange(L) - np.repeat(np.cumsum(nc) - nc, nc)
    ncs = nc[ci]
    span_s = pd.Series(span, index=np.arange(m))  # per original (pre-sort) ticket
    # map sorted tickets back to spans
    sorted_idx = np.argsort(tid)
    span_sorted = span_s.to_numpy()[sorted_idx]
    frac = np.where(cpos == 0, 0.0, (cpos - 1 + rng.random(L)) / np.maximum(ncs - 1, 1))
    never_sorted = never[sorted_idx]
    last = (cpos == ncs - 1) & (cpos > 0) & ~never_sorted[ci]
    t_c = tickets["created"].to_numpy()[ci] + (frac * span_sorted[ci]).astype(np.int64)
    t_c = np.where(last, tickets["created"].to_numpy()[ci] + span_sorted[ci] - MINUTE, t_c)
    t_c = np.maximum(t_c, tickets["created"].to_numpy()[ci])
    phone_ch = tickets["channel"].to_numpy()[ci] == "phone"
    role = np.where(
        cpos == 0,
        np.where(phone_ch, "agent", "end_user"),
        np.where((cpos % 2 == 1) | last, "agent", "end_user"),
    ).astype(object)
    internal = (role == "agent") & (cpos > 0) & ~last & (rng.random(L) < 0.12)
    body = np.empty(L, dtype=object)
    body[cpos == 0] = tickets["description"].to_numpy()[ci[cpos == 0]]
    ag = (role == "agent") & (cpos > 0) & ~internal
    c_type = typ_s[ci]
    u_body = rng.random(L)
    for tname in TYPES:
        mm = ag & (c_type == tname)
        opts = np.array(C.AGENT_REPLIES_GENERAL + C.AGENT_REPLIES[tname], dtype=object)
        body[mm] = opts[(u_body[mm] * len(opts)).astype(np.int64)]
    body[last & ~internal] = C.AGENT_CLOSING
    body[internal] = np.array(C.INTERNAL_NOTES, dtype=object)[
        (rng.random(int(internal.sum())) * len(C.INTERNAL_NOTES)).astype(np.int64)
    ]
    cu = (role == "end_user") & (cpos > 0)
    body[cu] = np.array(C.CUSTOMER_REPLIES, dtype=object)[
        (rng.random(int(cu.sum())) * len(C.CUSTOMER_REPLIES)).astype(np.int64)
    ]
    comments = pd.DataFrame(
        {
            "ticket_id": tickets["id"].to_numpy()[ci],
            "author_role": role,
            "body": body,
            "public": ~internal,
            "created": t_c,
            "pos": cpos,
        }
    )
    corder = np.lexsort((comments["pos"].to_numpy(), comments["ticket_id"].to_numpy(), t_c))
    crank = np.empty(L, dtype=np.int64)
    crank[corder] = np.arange(L)
    comments.insert(0, "id", 500_001 + crank)
    comments = comments[comments["created"] <= tl.end].sort_values("id").reset_index(drop=True)
    return Helpdesk(tickets, comments, requesters)
