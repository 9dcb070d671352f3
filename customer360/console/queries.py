"""The console's queries, in one place: the web pages, the JSON API and `c360 lookup` all call these.

Everything reads one open `Snapshot` (the published, read-only DuckDB file and its search index). All SQL is
parameterised; table and column names come from this module, never from a request. Each function works on a
snapshot that lacks some marts tables (the section is then empty and listed in `missing_tables`).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.console.snapshot import SCHEMA, Snapshot, snapshot_info
from customer360.serving.models import (
    CampaignEvent,
    ChannelCount,
    ConsentStatement,
    DecisionOut,
    Evidence,
    Explanation,
    Link,
    Member,
    NextBestAction,
    Order,
    Profile,
    ReviewAnswerOut,
    ReviewNext,
    RiskFlag,
    SearchHit,
    SearchResponse,
    SnapshotInfo,
    SourcedValue,
    Ticket,
    TimelinePage,
    Touchpoint,
)
from customer360.serving.profile_store import CONSENT_FIELDS, GOLDEN_FIELDS, RISK_FLAGS, SUMMARY_FIELDS

if TYPE_CHECKING:
    from customer360.core.decisions import Decision

TIMELINE_PAGE_SIZE = 15
MAX_PAGE_SIZE = 200
PROFILE_TABLES = (
    "dim_customer",
    "customer_360",
    "next_best_action",
    "customer_consent",
    "fct_touchpoints",
    "fct_orders",
    "fct_tickets",
    "fct_marketing_events",
)


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
        from customer360.serving.explain import follow_merges

        return follow_merges(snapshot.cursor(), SCHEMA, customer_id.upper())
    return None


# -- the customer -----------------------------------------------------------------------------------------------


def _document(snapshot: Snapshot, customer_id: str) -> dict[str, Any] | None:
    """The customer's serving document (one point read in the snapshot's sidecar; see profile_store)."""
    return snapshot.index.profile(customer_id)


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
    doc = _document(snapshot, current) or {}
    dim = doc.get("dim") or {}
    c360 = doc.get("c360") or {}
    nba = doc.get("nba")
    record = {**c360, **dim}
    golden = [
        SourcedValue(field=field, value=record.get(field), source=record.get(f"{field}_source"))
        for field in GOLDEN_FIELDS
        if field in record
    ]
    consent = {field: record[field] for field in CONSENT_FIELDS if field in record}
    explanation = _explanation(snapshot, current, doc, state_dir)
    full_name = record.get("full_name") or " ".join(
        str(record[part]) for part in ("first_name", "last_name") if record.get(part)
    )
    if not full_name and explanation and explanation.members:
        full_name = explanation.members[0].full_name
    members = explanation.members if explanation else []
    return Profile(
        customer_id=current,
        requested_id=customer_id,
        redirected=current.upper() != customer_id.strip().upper(),
        full_name=full_name or None,
        golden=golden,
        source_systems=list(
            record.get("source_systems") or sorted({m.source_system for m in members if m.source_system})
        ),
        summary={field: record.get(field) for field in SUMMARY_FIELDS if field in record},
        risk_flags=[RiskFlag(code=flag, active=bool(record.get(flag))) for flag in RISK_FLAGS if flag in record],
        consent=consent,
        consent_statements=[ConsentStatement(**r) for r in doc.get("consent") or []],
        next_best_action=NextBestAction(**nba) if nba else None,
        orders=[Order(**r) for r in doc.get("fct_orders") or []],
        order_count=int(doc.get("fct_orders__count") or 0),
        tickets=[Ticket(**r) for r in doc.get("fct_tickets") or []],
        ticket_count=int(doc.get("fct_tickets__count") or 0),
        campaigns=[CampaignEvent(**r) for r in doc.get("fct_marketing_events") or []],
        campaign_event_count=int(doc.get("fct_marketing_events__count") or 0),
        timeline=_timeline(snapshot, current, doc, channel, page, page_size),
        explanation=explanation,
        missing_tables=[table for table in PROFILE_TABLES if not snapshot.has(table)],
        snapshot=snapshot_model(snapshot),
    )


def load_timeline(
    snapshot: Snapshot,
    customer_id: str,
    *,
    channel: str | None = None,
    page: int = 1,
    page_size: int = TIMELINE_PAGE_SIZE,
) -> TimelinePage | None:
    """One page of the cross-channel timeline (newest first), optionally of one channel, with channel counts."""
    current = resolve_customer(snapshot, customer_id)
    if current is None:
        return None
    return _timeline(snapshot, current, _document(snapshot, current) or {}, channel, page, page_size)


def _timeline(
    snapshot: Snapshot, customer_id: str, doc: dict[str, Any], channel: str | None, page: int, page_size: int
) -> TimelinePage:
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    items = doc.get("fct_touchpoints") or []  # newest first
    counts: dict[str, int] = {}
    for item in items:
        key = item.get("channel") or "?"
        counts[key] = counts.get(key, 0) + 1
    if channel:
        items = [item for item in items if (item.get("channel") or "?") == channel]
    start = (page - 1) * page_size
    return TimelinePage(
        customer_id=customer_id,
        channel=channel,
        page=page,
        page_size=page_size,
        total=len(items),
        has_more=start + page_size < len(items),
        items=[Touchpoint(**item) for item in items[start : start + page_size]],
        channels=[
            ChannelCount(channel=c, touchpoints=n) for c, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
        ],
    )


def load_next_best_action(snapshot: Snapshot, customer_id: str) -> NextBestAction | None:
    current = resolve_customer(snapshot, customer_id)
    if current is None:
        return None
    nba = (_document(snapshot, current) or {}).get("nba")
    return NextBestAction(**nba) if nba else None


def load_explanation(snapshot: Snapshot, customer_id: str, state_dir: Path | None = None) -> Explanation | None:
    """Why these records are one customer: members and link evidence, plus the human decisions recorded for them.

    The same tables and order as customer360.serving.explain.explain_customer (a test checks they agree), read from
    the serving document."""
    current = resolve_customer(snapshot, customer_id)
    if current is None:
        return None
    return _explanation(snapshot, current, _document(snapshot, current) or {}, state_dir)


def _explanation(
    snapshot: Snapshot, customer_id: str, doc: dict[str, Any], state_dir: Path | None
) -> Explanation | None:
    members = [Member(**member) for member in doc.get("members") or []]
    if not members:
        return None
    links: dict[tuple[str, str], Link] = {}
    for row in doc.get("evidence") or []:
        left, right = row.get("record_key_l"), row.get("record_key_r")
        link = links.get((left, right))
        if link is None:
            link = links[(left, right)] = Link(
                record_key_l=left,
                record_key_r=right,
                match_probability=_number(row.get("match_probability")),
                match_weight=_number(row.get("pair_match_weight")),
                evidence=[],
            )
        link.evidence.append(
            Evidence(
                comparison=row.get("comparison"),
                level=row.get("level_label"),
                match_weight=_number(row.get("match_weight")) or 0.0,
            )
        )
    decisions = (
        recorded_decisions(state_dir, [m.record_key for m in members], snapshot.published_at) if state_dir else []
    )
    return Explanation(customer_id=customer_id, members=members, links=list(links.values()), decisions=decisions)


def recorded_decisions(state_dir: Path, record_keys: list[str], published_at: datetime | None) -> list[DecisionOut]:
    """The human decisions in force that involve any of these records; `pending` until a snapshot published
    after the decision shows it."""
    from customer360.core.decisions import decisions_about

    cutoff = published_at.isoformat(timespec="seconds") if published_at else ""
    return [
        _decision_out(d, pending=bool(cutoff) and d.decided_at > cutoff)
        for d in decisions_about(state_dir, record_keys)
    ]


def _decision_out(decision: Decision, pending: bool) -> DecisionOut:
    return DecisionOut(
        decision_id=decision.decision_id,
        record_key_l=decision.record_key_l,
        record_key_r=decision.record_key_r,
        decision=decision.decision,
        reason=decision.reason,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
        pending=pending,
    )


def record_not_same_person(
    snapshot: Snapshot,
    state_dir: Path,
    customer_id: str,
    record_key: str,
    decided_by: str,
    reason: str | None,
) -> tuple[str, list[DecisionOut]]:
    """ "Not the same person": a cannot-link between this member record and every other member of the customer,
    recorded in the state store (customer360/core/decisions.py); the next pipeline run obeys it. Raises LookupError / ValueError."""
    from customer360.core.decisions import add_decisions

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
    pairs = [(record_key, other) for other in others]
    decided = [
        _decision_out(d, pending=True) for d in add_decisions(state_dir, pairs, "different", decided_by, reason or None)
    ]
    return current, decided


def record_same_person(
    snapshot: Snapshot,
    state_dir: Path,
    customer_id: str,
    other_customer_id: str,
    decided_by: str,
    reason: str | None,
) -> tuple[str, str, list[DecisionOut]]:
    """ "Same person": a must-link between every record of this customer and every record of the other one (one
    action), so it also overrides earlier "not the same person" decisions between them; the clustering joins the
    two whatever the guard rails say. Returns (customer, other customer, decisions). Raises LookupError /
    ValueError."""
    from customer360.core.decisions import add_decisions

    customers = []
    for requested in (customer_id, other_customer_id):
        current = resolve_customer(snapshot, requested.strip().upper())
        explanation = load_explanation(snapshot, current) if current else None
        if current is None or explanation is None or not explanation.members:
            raise LookupError(f"no customer {requested}")
        customers.append((current, [member.record_key for member in explanation.members]))
    (current, records), (other, other_records) = customers
    if current == other:
        raise ValueError(f"{customer_id} and {other_customer_id} are already the same customer, {current}")
    pairs = [(record, other_record) for record in records for other_record in other_records]
    decided = add_decisions(state_dir, pairs, "same", decided_by, reason or None)
    return current, other, [_decision_out(d, pending=True) for d in decided]


def undo_decision(state_dir: Path, decision_id: int, withdrawn_by: str) -> list[DecisionOut]:
    """Withdraw a decision and those made with it (core/decisions.py::withdraw). Raises LookupError."""
    from customer360.core.decisions import withdraw

    return [_decision_out(d, pending=True) for d in withdraw(state_dir, decision_id, withdrawn_by)]


# -- the review loop (data stewards) ----------------------------------------------------------------------------


def review_next(snapshot: Snapshot, state_dir: Path) -> ReviewNext | None:
    """The next candidate pair for a steward, with both records and the evidence, and the progress per stratum;
    None if the snapshot has no review candidates (customer360/serving/review.py)."""
    from customer360.core.decisions import list_review_answers
    from customer360.serving.review import load_candidates, load_pair, next_candidate, strata

    if not snapshot.has("review_candidates"):
        return None
    cursor = snapshot.cursor()
    candidates = load_candidates(cursor, SCHEMA)
    answered = {(a.record_key_l, a.record_key_r) for a in list_review_answers(state_dir)}
    chosen = next_candidate(candidates, answered)
    progress = strata(candidates, answered)
    done = sum(stratum.answered for stratum in progress)
    return ReviewNext(
        pair=load_pair(cursor, *chosen.pair, schema=SCHEMA) if chosen else None,
        answered=done,
        remaining=len(candidates) - done,
        progress=progress,
    )


def record_review_answer(
    snapshot: Snapshot,
    state_dir: Path,
    record_a: str,
    record_b: str,
    answer: str,
    answered_by: str,
    reason: str | None,
) -> ReviewAnswerOut:
    """A steward's answer for a candidate pair of this snapshot, in the state store: same / different also become a
    decision the next run obeys. Raises LookupError (not a candidate) / ValueError (not an answer)."""
    from customer360.core.decisions import add_review_answer
    from customer360.serving.review import load_pair

    pair = (
        load_pair(snapshot.cursor(), record_a, record_b, schema=SCHEMA) if snapshot.has("review_candidates") else None
    )
    if pair is None:
        raise LookupError(f"{record_a} and {record_b} are not a review candidate of the current snapshot")
    recorded = add_review_answer(
        state_dir,
        pair.record_key_l,
        pair.record_key_r,
        answer,
        answered_by,
        reason or None,
        match_probability=pair.match_probability,
    )
    applies = (
        "a decision every run from the next one obeys"
        if recorded.decision_id is not None
        else "no decision; the pair leaves the queue"
    )
    return ReviewAnswerOut(
        answer_id=recorded.answer_id,
        record_key_l=recorded.record_key_l,
        record_key_r=recorded.record_key_r,
        answer=recorded.answer,
        decision_id=recorded.decision_id,
        message=f"{recorded.record_key_l} and {recorded.record_key_r}: {recorded.answer} ({applies})",
    )


# -- helpers ----------------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
