"""What the console shows, as pydantic models: the web pages, the JSON API and `c360 lookup` use the same ones.

Fact rows allow extra fields: the marts may grow columns (docs/marts.md: "add columns freely"), and the API passes
them through rather than dropping them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorResponse(BaseModel):
    detail: str = Field(description="what went wrong, in a sentence")
    code: str = Field(description="machine-readable error code, e.g. not_authenticated, forbidden, not_found")


class SnapshotInfo(BaseModel):
    file: str = Field(description="file name of the published snapshot answering the request")
    published_at: datetime | None = None
    opened_at: datetime | None = None
    customers: int = 0
    search_index_built_at: str | None = None


class SearchHit(BaseModel):
    customer_id: str
    score: float = Field(description="1.0 = exact (ID, e-mail, phone or name); lower = similar (typos, variants)")
    matched_on: list[str] = Field(description="customer_id, record_id, reference, email, phone, name")
    matched_ids: list[str] = Field(
        default=[], description="the systems' numbers that matched, with what they are: 'service ticket 10794'"
    )
    full_name: str | None = None
    email: str | None = None
    phone_e164: str | None = None
    date_of_birth: str | None = None
    postcode: str | None = None
    city: str | None = None
    source_systems: list[str] = []
    record_count: int = 0


class SearchResponse(BaseModel):
    query: str
    results: list[SearchHit]
    candidates: int = Field(description="customers looked at before ranking")
    truncated: bool = Field(description="more customers match than shown: refine the query")
    took_ms: float
    snapshot: SnapshotInfo


class SourcedValue(BaseModel):
    field: str
    value: Any = None
    source: str | None = Field(default=None, description="the source system the golden value came from")


class RiskFlag(BaseModel):
    code: str
    active: bool


class NextBestAction(_Open):
    customer_id: str
    action_code: str | None = None
    action: str | None = None
    reason: str | None = None
    priority: int | None = None
    rule_id: str | None = None


class ConsentStatement(BaseModel):
    """What the customer allows for one purpose and channel (marts.customer_consent)."""

    purpose: str = Field(description="newsletter, marketing, profiling … ; any: every purpose")
    consent_channel: str = Field(description="email, phone, post, sms … ; any: every channel")
    consent_status: str = Field(description="opted_in or opted_out: the latest act over all the customer's records")
    changed_at: datetime | None = None
    legal_basis: str | None = None
    evidence_source: str | None = Field(default=None, description="the source table that records the act")
    source_system: str | None = None
    source_record_id: str | None = None
    conflicting_statements: list[str] = Field(default=[], description="records that still say otherwise")


class Order(_Open):
    order_id: str | None = None
    order_number: str | None = None
    ordered_at: datetime | None = None
    channel: str | None = None
    status: str | None = None
    total_amount: float | None = None
    currency: str | None = None
    is_returned: bool | None = None


class Ticket(_Open):
    ticket_id: str | None = None
    subject: str | None = None
    status: str | None = None
    is_open: bool | None = None
    priority: str | None = None
    ticket_type: str | None = None
    channel: str | None = None
    is_complaint: bool | None = None
    created_at: datetime | None = None
    solved_at: datetime | None = None
    csat_score: float | None = None


class CampaignEvent(_Open):
    event_id: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    event_type: str | None = None
    occurred_at: datetime | None = None


class Touchpoint(_Open):
    touchpoint_id: str | None = None
    occurred_at: datetime | None = None
    channel: str | None = None
    touchpoint_type: str | None = None
    department: str | None = None
    direction: str | None = None
    source_system: str | None = None
    source_id: str | None = None
    summary: str | None = None
    sentiment: str | None = None
    outcome: str | None = None


class ChannelCount(BaseModel):
    channel: str
    touchpoints: int


class TimelinePage(BaseModel):
    customer_id: str
    channel: str | None = Field(default=None, description="the channel filter, if any")
    page: int
    page_size: int
    total: int = Field(description="touchpoints matching the filter")
    has_more: bool
    items: list[Touchpoint]
    channels: list[ChannelCount] = Field(default=[], description="every channel of this customer with its count")


class Member(_Open):
    record_key: str
    source_system: str | None = None
    source_record_id: str | None = None
    full_name: str | None = None
    email: str | None = None
    phone_e164: str | None = None
    date_of_birth: date | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    best_match_probability: float | None = None


class Evidence(BaseModel):
    comparison: str
    level: str | None = None
    match_weight: float


class Link(BaseModel):
    record_key_l: str
    record_key_r: str
    match_probability: float | None = None
    match_weight: float | None = None
    evidence: list[Evidence]


class DecisionOut(BaseModel):
    decision_id: int
    record_key_l: str
    record_key_r: str
    decision: str
    reason: str | None = None
    decided_by: str
    decided_at: str
    pending: bool = Field(description="recorded after this snapshot was published: not visible in it yet")


class Explanation(BaseModel):
    customer_id: str
    members: list[Member]
    links: list[Link]
    decisions: list[DecisionOut] = []


class Profile(BaseModel):
    customer_id: str
    requested_id: str
    redirected: bool = Field(description="the requested ID was merged into customer_id")
    full_name: str | None = None
    golden: list[SourcedValue] = Field(description="the golden record, with the source of every value")
    source_systems: list[str] = []
    summary: dict[str, Any] = Field(default={}, description="customer_360 at a glance: value, orders, tickets, contact")
    risk_flags: list[RiskFlag] = []
    consent: dict[str, Any] = {}
    consent_statements: list[ConsentStatement] = Field(default=[], description="consent per purpose and channel")
    next_best_action: NextBestAction | None = None
    orders: list[Order] = []
    order_count: int = 0
    tickets: list[Ticket] = []
    ticket_count: int = 0
    campaigns: list[CampaignEvent] = []
    campaign_event_count: int = 0
    timeline: TimelinePage | None = None
    explanation: Explanation | None = None
    missing_tables: list[str] = Field(default=[], description="marts tables this snapshot does not have (yet)")
    snapshot: SnapshotInfo


class DecisionRequest(BaseModel):
    record_key: str = Field(
        min_length=3,
        max_length=300,
        pattern=r"^[a-z][a-z0-9_]*:.+$",
        description="the member record that is not the same person as the others: <source_system>:<source_record_id>",
    )
    reason: str | None = Field(default=None, max_length=500)


class SamePersonRequest(BaseModel):
    other_customer_id: str = Field(min_length=1, max_length=64, description="the customer that is the same person")
    reason: str | None = Field(default=None, max_length=500)


class DecisionResponse(BaseModel):
    customer_id: str | None = Field(description="the customer the decision was made on (none for an undo)")
    record_key: str | None = None
    decisions: list[DecisionOut]
    applying: bool = Field(description="the change is being published now (else: at the next pipeline run)")
    message: str


class AuditEntry(BaseModel):
    audit_id: int
    at: str
    username: str | None
    role: str | None
    action: str
    customer_id: str | None = None
    detail: str | None = None
    channel: str | None = None
    ip: str | None = None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


class Me(BaseModel):
    username: str
    role: str
    display_name: str | None = None
    lang: str | None = None
    permissions: list[str]


# -- the review loop (clerical review of candidate pairs, docs/entity-resolution.md "Review loop") ----------------


class ReviewRecord(_Open):
    record_key: str
    source_system: str | None = None
    source_record_id: str | None = None
    full_name: str | None = None
    email: str | None = None
    phone_e164: str | None = None
    date_of_birth: date | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None


class ReviewPair(BaseModel):
    record_key_l: str
    record_key_r: str
    match_probability: float = Field(description="the model's probability that the two records are one person")
    match_weight: float | None = Field(default=None, description="log2 of the odds: prior plus the evidence below")
    band_id: int
    band: str = Field(description="the match-probability band the pair was sampled from, e.g. 0.9–0.95")
    guard_rail: str | None = Field(
        default=None, description="the guard rail that keeps the pair apart whatever its score (null: none)"
    )
    left: ReviewRecord
    right: ReviewRecord
    evidence: list[Evidence] = Field(description="per comparison: the level that applied and its match weight")


class ReviewBandProgress(BaseModel):
    band_id: int
    band: str
    vetoed: bool = Field(description="pairs a guard rail keeps apart (reviewed as a stratum of their own)")
    candidates: int
    answered: int


class ReviewNext(BaseModel):
    pair: ReviewPair | None = Field(description="the next pair to review; null when every candidate is answered")
    answered: int
    remaining: int
    progress: list[ReviewBandProgress]


class ReviewAnswerRequest(BaseModel):
    record_key_l: str = Field(min_length=3, max_length=300, pattern=r"^[A-Za-z0-9_]+:.+$")
    record_key_r: str = Field(min_length=3, max_length=300, pattern=r"^[A-Za-z0-9_]+:.+$")
    answer: Literal["same", "different", "unsure"]
    reason: str | None = Field(default=None, max_length=500)


class ReviewAnswerOut(BaseModel):
    answer_id: int
    record_key_l: str
    record_key_r: str
    answer: str
    decision_id: int | None = Field(description="the decision a same/different answer recorded (the next run obeys it)")
    applying: bool = Field(
        False,
        description="the decision is being published now (`c360 decisions apply` in the background); false: the next"
        " run publishes it (or the answer is `unsure`)",
    )
    message: str
