"""The JSON API (/api/v1): what a CRM or helpdesk widget calls. OpenAPI at /api/v1/openapi.json, docs at /docs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from customer360.console import auth, queries
from customer360.console.auth import ApiError
from customer360.serving.models import (
    AuditEntry,
    AuditPage,
    DecisionRequest,
    DecisionResponse,
    ErrorResponse,
    Explanation,
    Me,
    NextBestAction,
    Profile,
    ReviewAnswerOut,
    ReviewAnswerRequest,
    ReviewNext,
    SamePersonRequest,
    SearchResponse,
    SnapshotInfo,
    TimelinePage,
)

_bearer = HTTPBearer(auto_error=False, description="API token from `c360 users token USER` (or log in: session cookie)")


def _credentials(_: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Declares Bearer auth in OpenAPI; the check itself is auth.api_session (token or session cookie)."""


ERRORS = {
    401: {
        "model": ErrorResponse,
        "description": "not logged in, or the API token is missing, wrong, expired or revoked",
    },
    403: {
        "model": ErrorResponse,
        "description": "the user's role lacks the permission (or the CSRF check failed)",
    },
    429: {"model": ErrorResponse, "description": "too many requests; wait Retry-After seconds"},
    503: {"model": ErrorResponse, "description": "no snapshot has been published yet"},
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "no customer with this ID in the current snapshot"}}
INVALID = {422: {"description": "invalid input (see detail)"}}

router = APIRouter(tags=["console"], responses={**ERRORS, **INVALID}, dependencies=[Depends(_credentials)])
CustomerId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="a customer ID (a merged ID answers with the customer it was merged into)",
        examples=["C000000042"],
    ),
]


def _not_found(customer_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no customer {customer_id} in the current snapshot")


@router.get("/me", response_model=Me, summary="Who am I (user, role, permissions)")
def me(request: Request) -> Me:
    session = auth.api_session(request)
    user = session.user
    return Me(
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        lang=user.lang,
        permissions=sorted(user.permissions),
    )


@router.get("/snapshot", response_model=SnapshotInfo, summary="The published snapshot answering requests")
def snapshot(request: Request) -> SnapshotInfo:
    auth.api_session(request, "view")
    return queries.snapshot_model(auth.state(request).snapshots.current())


@router.get("/search", response_model=SearchResponse, summary="Find customers by name, e-mail, phone or ID")
def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="name (typos and spellings tolerated), e-mail, phone in any format, customer "
            "ID, source record ID or order number",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResponse:
    session = auth.api_session(request, "search")
    console = auth.state(request)
    result = queries.search(console.snapshots.current(), q, limit=limit)
    if console.settings.audit_searches:
        console.store.audit(session.user, "search", detail=q, channel="api", ip=auth.client_ip(request))
    return result


@router.get(
    "/customers/{customer_id}",
    response_model=Profile,
    responses=NOT_FOUND,
    summary="The 360° profile of one customer",
)
def customer(
    request: Request,
    response: Response,
    customer_id: CustomerId,
    channel: Annotated[str | None, Query(max_length=50, description="timeline: only this channel")] = None,
    page_size: Annotated[int, Query(ge=1, le=200, description="timeline page size")] = 25,
) -> Profile:
    """Golden record (with sources), KPIs, risk flags, consent, next best action, latest orders, tickets and
    campaign events, the first timeline page, and the match evidence. A merged customer ID answers with the
    surviving customer (`redirected: true`, `Content-Location` names the current URL). Written to the audit log."""
    session = auth.api_session(request, "view")
    console = auth.state(request)
    profile = queries.load_profile(
        console.snapshots.current(),
        customer_id,
        state_dir=console.state_dir,
        channel=channel,
        page_size=page_size,
    )
    if profile is None:
        raise _not_found(customer_id)
    if profile.redirected:
        response.headers["Content-Location"] = (
            f"{request.scope.get('root_path', '')}/api/v1/customers/{profile.customer_id}"
        )
    console.store.audit(
        session.user,
        "view_customer",
        customer_id=profile.customer_id,
        channel="api",
        ip=auth.client_ip(request),
    )
    return profile


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=TimelinePage,
    responses=NOT_FOUND,
    summary="The cross-channel timeline, newest first, paged",
)
def timeline(
    request: Request,
    customer_id: CustomerId,
    channel: Annotated[
        str | None, Query(max_length=50, description="only this channel (e.g. email, phone, web)")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> TimelinePage:
    session = auth.api_session(request, "view")
    console = auth.state(request)
    page_ = queries.load_timeline(
        console.snapshots.current(), customer_id, channel=channel, page=page, page_size=page_size
    )
    if page_ is None:
        raise _not_found(customer_id)
    console.store.audit(
        session.user,
        "view_timeline",
        customer_id=page_.customer_id,
        channel="api",
        ip=auth.client_ip(request),
        detail=f"page {page}" + (f", channel {channel}" if channel else ""),
    )
    return page_


@router.get(
    "/customers/{customer_id}/next-best-action",
    response_model=NextBestAction,
    responses=NOT_FOUND,
    summary="What to do now with this customer, and why",
)
def next_best_action(request: Request, customer_id: CustomerId) -> NextBestAction:
    session = auth.api_session(request, "view")
    console = auth.state(request)
    snapshot_ = console.snapshots.current()
    action = queries.load_next_best_action(snapshot_, customer_id)
    if action is None:
        raise _not_found(customer_id)
    console.store.audit(
        session.user,
        "view_next_best_action",
        customer_id=action.customer_id,
        channel="api",
        ip=auth.client_ip(request),
    )
    return action


@router.get(
    "/customers/{customer_id}/explanation",
    response_model=Explanation,
    responses=NOT_FOUND,
    summary="Why these source records are one customer (members and match evidence)",
)
def explanation(request: Request, customer_id: CustomerId) -> Explanation:
    session = auth.api_session(request, "view")
    console = auth.state(request)
    snapshot_ = console.snapshots.current()
    current = queries.resolve_customer(snapshot_, customer_id)
    result = queries.load_explanation(snapshot_, current, state_dir=console.state_dir) if current else None
    if result is None:
        raise _not_found(customer_id)
    console.store.audit(
        session.user,
        "view_explanation",
        customer_id=result.customer_id,
        channel="api",
        ip=auth.client_ip(request),
    )
    return result


@router.post(
    "/customers/{customer_id}/not-same-person",
    response_model=DecisionResponse,
    status_code=201,
    responses=NOT_FOUND,
    summary="Record that a member record is not the same person as the others",
)
def not_same_person(request: Request, customer_id: CustomerId, body: DecisionRequest) -> DecisionResponse:
    """Adds a "different" decision (cannot-link) between `record_key` and every other record of the customer.
    The record is separated and the change published at once (see `applying`; else by the next pipeline run).
    Needs the `decide` permission (agent, admin); with a session cookie, send the CSRF token in `X-CSRF-Token`."""
    session = auth.api_session(request, "decide")
    auth.check_api_csrf(request, session)
    console = auth.state(request)
    try:
        current, decisions = queries.record_not_same_person(
            console.snapshots.current(),
            console.state_dir,
            customer_id,
            body.record_key,
            session.user.username,
            body.reason,
        )
    except LookupError:
        raise _not_found(customer_id) from None
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    console.store.audit(
        session.user,
        "not_same_person",
        customer_id=current,
        channel="api",
        ip=auth.client_ip(request),
        detail=body.record_key + (f": {body.reason}" if body.reason else ""),
    )
    applying = console.publish_decisions()
    return DecisionResponse(
        customer_id=current,
        record_key=body.record_key,
        decisions=decisions,
        applying=applying,
        message=f"{body.record_key} is recorded as not the same person as {len(decisions)} other record(s); "
        + _when(applying),
    )


@router.post(
    "/customers/{customer_id}/same-person",
    response_model=DecisionResponse,
    status_code=201,
    responses=NOT_FOUND,
    summary="Record that two customers are the same person",
)
def same_person(request: Request, customer_id: CustomerId, body: SamePersonRequest) -> DecisionResponse:
    """Adds "same" decisions (must-links) between every record of the one customer and every record of the other,
    overriding earlier "not the same person" decisions between them: they are joined whatever the guard rails
    say, and the change is published at once (see `applying`). Needs the `review` permission (steward, admin);
    with a session cookie, send the CSRF token in `X-CSRF-Token`."""
    session = auth.api_session(request, "review")
    auth.check_api_csrf(request, session)
    console = auth.state(request)
    try:
        current, other, decisions = queries.record_same_person(
            console.snapshots.current(),
            console.state_dir,
            customer_id,
            body.other_customer_id,
            session.user.username,
            body.reason,
        )
    except LookupError as error:
        raise ApiError(404, "not_found", str(error)) from None
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    console.store.audit(
        session.user,
        "same_person",
        customer_id=current,
        channel="api",
        ip=auth.client_ip(request),
        detail=f"same person as {other}" + (f": {body.reason}" if body.reason else ""),
    )
    applying = console.publish_decisions()
    return DecisionResponse(
        customer_id=current,
        decisions=decisions,
        applying=applying,
        message=f"{current} and {other} are recorded as the same person; " + _when(applying),
    )


@router.post(
    "/decisions/{decision_id}/undo",
    response_model=DecisionResponse,
    responses=NOT_FOUND,
    summary="Withdraw a decision and those made with it",
)
def undo_decision(request: Request, decision_id: int) -> DecisionResponse:
    """Each pair falls back to its previous decision, if any, or to the model. Needs the `review` permission."""
    session = auth.api_session(request, "review")
    auth.check_api_csrf(request, session)
    console = auth.state(request)
    try:
        withdrawn = queries.undo_decision(console.state_dir, decision_id, session.user.username)
    except LookupError as error:
        raise ApiError(404, "not_found", str(error)) from None
    console.store.audit(
        session.user,
        "undo_decision",
        channel="api",
        ip=auth.client_ip(request),
        detail=", ".join(f"{d.record_key_l}/{d.record_key_r}" for d in withdrawn),
    )
    applying = console.publish_decisions()
    return DecisionResponse(
        customer_id=None,
        decisions=withdrawn,
        applying=applying,
        message=f"withdrew {len(withdrawn)} decision(s); " + _when(applying),
    )


def _when(applying: bool) -> str:
    return "the change is being published now" if applying else "the next pipeline run applies it"


@router.get(
    "/review/next",
    response_model=ReviewNext,
    responses={404: {"model": ErrorResponse, "description": "this snapshot has no review candidates"}},
    summary="The next candidate pair for a data steward (both records and the evidence)",
)
def review_next(request: Request) -> ReviewNext:
    """From the stratum (band of match probability, split by guard-rail veto) with the fewest answers, the unanswered
    pair with the smallest seeded rank; `pair` is null when every candidate is answered. Needs the `review`
    permission (steward, admin)."""
    session = auth.api_session(request, "review")
    console = auth.state(request)
    queue = queries.review_next(console.snapshots.current(), console.state_dir)
    if queue is None:
        raise ApiError(404, "not_found", "the current snapshot has no review candidates: run the pipeline first")
    if queue.pair is not None:
        console.store.audit(
            session.user,
            "view_review_pair",
            channel="api",
            ip=auth.client_ip(request),
            detail=f"{queue.pair.record_key_l} {queue.pair.record_key_r}",
        )
    return queue


@router.post(
    "/review/answers",
    response_model=ReviewAnswerOut,
    status_code=201,
    responses={404: {"model": ErrorResponse, "description": "the pair is not a review candidate of this snapshot"}},
    summary="Answer a candidate pair: same, different or unsure",
)
def review_answer(request: Request, body: ReviewAnswerRequest) -> ReviewAnswerOut:
    """Stored in the state store next to the decisions: `same` records a must-link and `different` a cannot-link
    decision, published at once like any decision (see `applying`) and obeyed by every run; `unsure` records
    nothing but takes the pair out of the queue. Every answer is a label for `c360 review report` and
    `c360 review train`. Needs the `review` permission; with a session cookie, send the CSRF token in
    `X-CSRF-Token`."""
    session = auth.api_session(request, "review")
    auth.check_api_csrf(request, session)
    console = auth.state(request)
    try:
        recorded = queries.record_review_answer(
            console.snapshots.current(),
            console.state_dir,
            body.record_key_l,
            body.record_key_r,
            body.answer,
            session.user.username,
            body.reason,
        )
    except LookupError as error:
        raise ApiError(404, "not_found", str(error)) from None
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    console.store.audit(
        session.user,
        "review_answer",
        channel="api",
        ip=auth.client_ip(request),
        detail=f"{recorded.record_key_l} {recorded.record_key_r}: {recorded.answer}"
        + (f": {body.reason}" if body.reason else ""),
    )
    recorded.applying = recorded.decision_id is not None and console.publish_decisions()
    return recorded


@router.get("/audit", response_model=AuditPage, summary="The audit log (who looked at which customer, when)")
def audit(
    request: Request,
    username: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    session = auth.api_session(request, "audit")
    console = auth.state(request)
    entries, total = console.store.audit_entries(
        username=username, customer_id=customer_id, action=action, limit=limit, offset=offset
    )
    console.store.audit(session.user, "read_audit", channel="api", ip=auth.client_ip(request))
    return AuditPage(items=[AuditEntry(**entry) for entry in entries], total=total, limit=limit, offset=offset)
