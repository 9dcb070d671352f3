"""The console's queries, in one place: the web pages, the JSON API and `c360 lookup` all call these.

Everything reads one open `Snapshot` (the published, read-only DuckDB file and its search index). All SQL is
parameterised; table and column names come from this module, never from a request. Each function works on a
snapshot that lacks some marts tables (the section is then empty and listed in `missing_tables`).
"""

from __future__ import annotations

import math
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from customer360.console.models import (
    CampaignEvent,
    ChannelCount,
    DecisionOut,
    Evidence,
    Explanation,
    Link,
    Member,
    NextBestAction,
    Order,
    Profile,
    RiskFlag,
    SearchHit,
    SearchResponse,
    SnapshotInfo,
    SourcedValue,
    Ticket,
    TimelinePage,
    Touchpoint,
)
from customer360.console.snapshot import SCHEMA, Snapshot, snapshot_info

GOLDEN_FIELDS = (
    "first_name", "last_name", "email", "phone_e164", "date_of_birth", "street", "postcode", "city", "country_code",
)
SUMMARY_FIELDS = (
    "lifetime_value", "order_count", "last_order_date", "average_order_value", "open_ticket_count", "ticket_count",
    "last_contact_at", "last_contact_channel", "average_csat", "email_opens_90d", "email_clicks_90d",
    "source_record_count",
)
RISK_FLAGS = ("has_open_complaint", "is_value_dropping", "has_recent_bad_experience")
CONSENT_FIELDS = ("is_newsletter_subscribed", "newsletter_consent_status", "newsletter_consent_changed_at")
FACTS_SHOWN = 20
TIMELINE_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200

# fact table → (column it is ordered by, newest first)
_FACTS = {
    "fct_orders": "ordered_at",
    "fct_tickets": "created_at",
    "fct_marketing_events": "occurred_at",
}


def snapshot_model(snapshot: Snapshot) -> SnapshotInfo:
    return SnapshotInfo(**snapshot_info(snapshot))


# -- search -----------------------------------------------------------------------------------------------------


def search(snapshot: Snapshot, query: str, limit: int = 20) -> SearchResponse:
    result = snapshot.index.search(query, limit=limit)
    return SearchResponse(
        query=result.query,
        results=[SearchHit(**hit.__dict__) for hit in result.hits],
        candidates=result.candidates,
        truncated=result.truncated,
        took_ms=round(result.took_ms, 2),
        snapshot=snapshot_model(snapshot),
    )


def resolve_customer(snapshot: Snapshot, customer_id: str) -> str | None:
    """The active customer an ID stands for (itself, or the customer it was merged into), or None."""
    customer_id = customer_id.strip()
    if not customer_id or len(customer_id) > 64:
        return None
    found = snapshot.index.resolve_id(customer_id)
    if found is not None:
        return found
    if snapshot.has("customer_ids"):  # IDs the index does not know (it is built from the same snapshot)
        from entity_resolution.explain import _follow_merges

        return _follow_merges(snapshot.cursor(), SCHEMA, customer_id.upper())
    return None


# -- the customer -----------------------------------------------------------------------------------------------


def load_profile(
    snapshot: Snapshot,
    customer_id: str,
    *,
    state_dir: Path | None = None,
    channel: str | None = None,
    page: int = 1,
    page_size: int = TIMELINE_PAGE_SIZE,
) -> Profile | None:
    """Everything about one customer: golden record, KPIs, risks, next best action, facts, timeline, evidence."""
    current = resolve_customer(snapshot, customer_id)
    if current is None:
        return None
    cursor = snapshot.cursor()
    s = SCHEMA
    row: dict[str, Any] = {}
    # Separate small queries beat one combined query: each is a point lookup on a table sorted by customer_id.
    for table in ("dim_customer", "customer_360", "next_best_action"):
        if snapshot.has(table):
            found = cursor.execute(f"select * from {s}.{table} where customer_id = ? limit 1", [current]).fetchone()
            if found is not None:
                row[table] = dict(zip([d[0] for d in cursor.description], found, strict=True))
    for table, order_column in _FACTS.items():
        if snapshot.has(table):
            order = f"order by {order_column} desc nulls last" if snapshot.has(table, order_column) else ""
            rows = cursor.execute(
                f"select *, count(*) over () as __total from {s}.{table} where customer_id = ? {order} limit ?",
                [current, FACTS_SHOWN],
            ).fetchall()
            columns = [d[0] for d in cursor.description]
            records = [dict(zip(columns, r, strict=True)) for r in rows]
            row[f"{table}__count"] = records[0].pop("__total") if records else 0
            for record in records:
                record.pop("__total", None)
            row[table] = records
    dim = _clean(row.get("dim_customer") or {})
    c360 = _clean(row.get("customer_360") or {})
    nba = row.get("next_best_action")
    record = {**c360, **dim}

    golden = [
        SourcedValue(field=field, value=record.get(field), source=record.get(f"{field}_source"))
        for field in GOLDEN_FIELDS
        if field in record
    ]
    consent = {field: record[field] for field in record if field in CONSENT_FIELDS or "consent" in field}
    explanation = load_explanation(snapshot, current, state_dir=state_dir)
    full_name = record.get("full_name") or " ".join(
        str(record[part]) for part in ("first_name", "last_name") if record.get(part)
    )
    if not full_name and explanation and explanation.members:
        full_name = explanation.members[0].full_name
    missing = [
        table
        for table in ("dim_customer", "customer_360", "next_best_action", "fct_touchpoints", *_FACTS)
        if not snapshot.has(table)
    ]
    return Profile(
        customer_id=current,
        requested_id=customer_id,
        redirected=current.upper() != customer_id.strip().upper(),
        full_name=full_name or None,
        golden=golden,
        source_systems=list(record.get("source_systems") or
                            sorted({m.source_system for m in (explanation.members if explanation else []) if m.source_system})),
        summary={field: record.get(field) for field in SUMMARY_FIELDS if field in record},
        risk_flags=[RiskFlag(code=flag, active=bool(record.get(flag))) for flag in RISK_FLAGS if flag in record],
        consent=consent,
        next_best_action=NextBestAction(**_clean(nba)) if nba else None,
        orders=[Order(**_clean(r)) for r in row.get("fct_orders") or []],
        order_count=int(row.get("fct_orders__count") or 0),
        tickets=[Ticket(**_clean(r)) for r in row.get("fct_tickets") or []],
        ticket_count=int(row.get("fct_tickets__count") or 0),
        campaigns=[CampaignEvent(**_clean(r)) for r in row.get("fct_marketing_events") or []],
        campaign_event_count=int(row.get("fct_marketing_events__count") or 0),
        timeline=load_timeline(snapshot, current, channel=channel, page=page, page_size=page_size, resolved=True),
        explanation=explanation,
        missing_tables=missing,
        snapshot=snapshot_model(snapshot),
    )


def load_timeline(
    snapshot: Snapshot,
    customer_id: str,
    *,
    channel: str | None = None,
    page: int = 1,
    page_size: int = TIMELINE_PAGE_SIZE,
    resolved: bool = False,
) -> TimelinePage | None:
    """One page of the cross-channel timeline (newest first), optionally of one channel, with channel counts."""
    current = customer_id if resolved else resolve_customer(snapshot, customer_id)
    if current is None:
        return None
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    if not snapshot.has("fct_touchpoints"):
        return TimelinePage(customer_id=current, channel=channel, page=page, page_size=page_size, total=0,
                            has_more=False, items=[], channels=[])
    s = SCHEMA
    order = "order by occurred_at desc nulls last, touchpoint_id" if snapshot.has("fct_touchpoints", "occurred_at") else ""
    channel_filter = "and channel = $channel" if channel else ""
    params: dict[str, Any] = {"id": current, "limit": page_size, "offset": (page - 1) * page_size}
    if channel:
        params["channel"] = channel
    cursor = snapshot.cursor()
    channels = cursor.execute(
        f"select coalesce(channel, '?') as channel, count(*) as n from {s}.fct_touchpoints where customer_id = $id"
        " group by all order by n desc, channel",
        {"id": current},
    ).fetchall()
    rows = cursor.execute(
        f"select * from {s}.fct_touchpoints where customer_id = $id {channel_filter} {order} limit $limit offset $offset",
        params,
    ).fetchall()
    columns = [d[0] for d in cursor.description]
    items = [dict(zip(columns, r, strict=True)) for r in rows]
    channels = [{"channel": c, "touchpoints": n} for c, n in channels]
    counts = [ChannelCount(**c) for c in channels or []]
    total = sum(c.touchpoints for c in counts if not channel or c.channel == channel)
    return TimelinePage(
        customer_id=current,
        channel=channel,
        page=page,
        page_size=page_size,
        total=total,
        has_more=page * page_size < total,
        items=[Touchpoint(**_clean(item)) for item in items or []],
        channels=counts,
    )


def load_next_best_action(snapshot: Snapshot, customer_id: str) -> NextBestAction | None:
    current = resolve_customer(snapshot, customer_id)
    if current is None or not snapshot.has("next_best_action"):
        return None
    cursor = snapshot.cursor()
    row = cursor.execute(f"select * from {SCHEMA}.next_best_action where customer_id = ? limit 1", [current]).fetchone()
    if row is None:
        return None
    columns = [d[0] for d in cursor.description]
    return NextBestAction(**_clean(dict(zip(columns, row, strict=True))))


def load_explanation(snapshot: Snapshot, customer_id: str, state_dir: Path | None = None) -> Explanation | None:
    """Why these records are one customer: members and link evidence (entity_resolution.explain), plus the
    human decisions recorded for these records."""
    from entity_resolution.explain import explain_customer

    if not (snapshot.has("customer_identity_map") and snapshot.has("customer_ids")):
        return None
    if not snapshot.has("customer_match_evidence"):
        return None
    explanation = explain_customer(snapshot.cursor(), customer_id, schema=SCHEMA)
    if explanation is None:
        return None
    members = []
    for member in explanation.members:
        values = _clean(member)
        members.append(Member(**values))
    links = [
        Link(
            record_key_l=link.record_key_l,
            record_key_r=link.record_key_r,
            match_probability=_number(link.match_probability),
            match_weight=_number(link.match_weight),
            evidence=[Evidence(comparison=c, level=level, match_weight=_number(w) or 0.0) for c, level, w in link.evidence],
        )
        for link in explanation.links
    ]
    decisions = (
        recorded_decisions(state_dir, [m.record_key for m in members], snapshot.published_at) if state_dir else []
    )
    return Explanation(customer_id=explanation.customer_id, members=members, links=links, decisions=decisions)


def recorded_decisions(state_dir: Path, record_keys: list[str], published_at: datetime | None) -> list[DecisionOut]:
    """The latest human decision per pair that involves any of these records (read-only on decisions.sqlite)."""
    from entity_resolution.decisions import decisions_path

    path = decisions_path(state_dir)
    if not record_keys or not path.exists():
        return []
    marks = ",".join("?" * len(record_keys))
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        rows = db.execute(
            "select decision_id, record_key_l, record_key_r, decision, reason, decided_by, decided_at from decisions"
            " where decision_id in (select max(decision_id) from decisions group by record_key_l, record_key_r)"
            f" and (record_key_l in ({marks}) or record_key_r in ({marks})) order by decision_id",
            [*record_keys, *record_keys],
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    cutoff = published_at.isoformat(timespec="seconds") if published_at else ""
    return [
        DecisionOut(
            decision_id=r[0], record_key_l=r[1], record_key_r=r[2], decision=r[3], reason=r[4], decided_by=r[5],
            decided_at=r[6], pending=bool(cutoff) and r[6] > cutoff,
        )
        for r in rows
    ]


def record_not_same_person(
    snapshot: Snapshot, state_dir: Path, customer_id: str, record_key: str, decided_by: str, reason: str | None
) -> tuple[str, list[DecisionOut]]:
    """"Not the same person": a cannot-link between this member record and every other member of the customer,
    recorded in entity_resolution.decisions; the next pipeline run obeys it. Raises LookupError / ValueError."""
    from entity_resolution.decisions import add_decision

    current = resolve_customer(snapshot, customer_id)
    if current is None:
        raise LookupError(f"no customer {customer_id}")
    explanation = load_explanation(snapshot, current)
    keys = [m.record_key for m in explanation.members] if explanation else []
    if record_key not in keys:
        raise ValueError(f"{record_key} is not a record of customer {current}")
    others = [key for key in keys if key != record_key]
    if not others:
        raise ValueError(f"{record_key} is the only record of customer {current}: there is nothing to separate")
    decided = []
    for other in others:
        decision = add_decision(state_dir, record_key, other, "different", decided_by, reason or None)
        decided.append(
            DecisionOut(
                decision_id=decision.decision_id, record_key_l=decision.record_key_l,
                record_key_r=decision.record_key_r, decision=decision.decision, reason=decision.reason,
                decided_by=decision.decided_by, decided_at=decision.decided_at, pending=True,
            )
        )
    return current, decided


# -- helpers ----------------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values: Decimal → float, pandas NaN/NaT → None, Timestamps → datetime."""
    cleaned: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, float) and math.isnan(value):
            value = None
        elif hasattr(value, "to_pydatetime"):
            value = None if str(value) == "NaT" else value.to_pydatetime()
        elif value is not None and type(value).__name__ == "NaTType":
            value = None
        elif isinstance(value, datetime | date | str | int | bool | list | dict) or value is None:
            pass
        elif hasattr(value, "item"):  # numpy scalars
            value = value.item()
        cleaned[str(key)] = value
    return cleaned
