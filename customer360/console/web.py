"""Server-rendered pages: login, search, the customer page, "not the same person", the review page (data stewards),
audit log, users, API docs."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from customer360.console import auth, queries
from customer360.console.app import render
from customer360.console.store import ROLES, ConsoleStore, StoreError

router = APIRouter(include_in_schema=False)
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# A search that finds exactly one customer by one of these opens the profile at once. Not a bare record id or order
# or ticket number: the same number may be a shop customer number and a helpdesk ticket (another person) — the
# list shows what each number is; with its system prefix (`sales:10794`) a record id is unambiguous.
PERSON_MATCHES = {"customer_id", "email", "phone"}


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# -- login ------------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, bye: int = 0) -> Response:
    if auth.principal(request) is not None and auth.principal(request).via == "session":  # type: ignore[union-attr]
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next=next, message_key="login.logged_out" if bye else None)


def _login_form(
    request: Request,
    next: str | None = None,
    status_code: int = 200,
    error: str | None = None,
    message_key: str | None = None,
    username: str = "",
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next=_safe_next(next),
        error=error,
        message_key=message_key,
        username=username,
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=auth.state(request).settings.secure_cookies,
        path="/login",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    console = auth.state(request)
    cookie = request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not cookie or not hmac.compare_digest(csrf_token, cookie):
        raise auth.CsrfFailed()
    auth._check_origin(request)
    ip = auth.client_ip(request)
    settings = console.settings
    wait = console.store.reserve_login_attempt(
        username, ip, settings.login_failures_per_minute, settings.login_failures_per_ip_per_minute
    )
    if wait:
        console.store.audit(None, "login_throttled", channel="web", ip=ip, username=username[:100])
        response = _login_form(
            request,
            next=next,
            status_code=429,
            username=username,
            error=render_text(request, "login.throttled", seconds=int(wait) + 1),
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = console.store.verify_password(username, password)
    if user is None:
        console.store.audit(None, "login_failed", channel="web", ip=ip, username=username[:100])
        return _login_form(
            request, next=next, status_code=401, username=username, error=render_text(request, "login.failed")
        )
    console.store.clear_login_failures(username, ip)
    token, _csrf = console.store.create_session(user, ip, request.headers.get("user-agent"))
    console.store.audit(user, "login", channel="web", ip=ip)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=int(settings.session_max_hours * 3600),
        **auth.cookie_args(request, settings.secure_cookies),
    )
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


def render_text(request: Request, key: str, **values: object) -> str:
    from customer360.console.i18n import translate

    return translate(auth.choose_language(request, auth.principal(request)).lang, key, **values)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = auth.principal(request)
    if session is not None and session.via == "session":
        auth.check_csrf(request, session, csrf_token)
        console = auth.state(request)
        console.store.end_session(request.cookies.get(auth.SESSION_COOKIE, ""))
        console.store.audit(session.user, "logout", channel="web", ip=auth.client_ip(request))
    response = RedirectResponse("/login?bye=1", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


# -- search -----------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    list_: Annotated[int, Query(alias="list")] = 0,
) -> Response:
    session = auth.page_session(request, "search")
    console = auth.state(request)
    result = None
    if q.strip():
        snapshot = console.snapshots.current()
        result = queries.search(snapshot, q, limit=20)
        if console.settings.audit_searches:
            console.store.audit(session.user, "search", detail=q, channel="web", ip=auth.client_ip(request))
        hits = result.results
        if not list_ and len(hits) == 1 and hits[0].score >= 1.0 and _opens_at_once(q, hits[0].matched_on):
            return RedirectResponse(f"/customers/{quote(hits[0].customer_id)}?q={quote(q)}", status_code=303)
    return render(request, "search.html", q=q, result=result)


def _opens_at_once(query: str, matched_on: list[str]) -> bool:
    return bool(PERSON_MATCHES & set(matched_on)) or (":" in query and "record_id" in matched_on)


# -- the customer -----------------------------------------------------------------------------------------------


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(
    request: Request,
    customer_id: str,
    channel: Annotated[str | None, Query(max_length=50)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    q: Annotated[str, Query(max_length=200)] = "",
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    session = auth.page_session(request, "view")
    console = auth.state(request)
    if not CUSTOMER_ID.match(customer_id):
        return render(
            request,
            "error.html",
            status_code=404,
            message_key="customer.not_found",
            message_values={"id": customer_id},
        )
    snapshot = console.snapshots.current()
    profile = queries.load_profile(
        snapshot,
        customer_id,
        state_dir=console.state_dir,
        channel=channel or None,
        page=page,
        page_size=queries.TIMELINE_PAGE_SIZE,
    )
    if profile is None:
        return render(
            request,
            "error.html",
            status_code=404,
            message_key="customer.not_found",
            message_values={"id": customer_id},
        )
    if profile.redirected:
        merged = console.store.add_notice(session.user.username, "merged", requested=customer_id)
        target = f"/customers/{quote(profile.customer_id)}?notice={merged}"
        return RedirectResponse(target + (f"&q={quote(q)}" if q else ""), status_code=303)
    kind, values = console.store.pop_notice(session.user.username, notice) or ("", {})
    console.store.audit(
        session.user,
        "view_customer",
        customer_id=profile.customer_id,
        channel="web",
        ip=auth.client_ip(request),
    )
    return render(
        request,
        "customer.html",
        profile=profile,
        channel=channel or "",
        q=q,
        decided=values.get("record") if kind == "decided" else None,
        decided_count=values.get("count", 0),
        decision_notice=kind if kind in ("decided", "joined", "undone") else None,
        notice_values=values,
        applying=console.decisions.busy,
        apply_failed=console.decisions.failed,
        merged_from=values.get("requested") if kind == "merged" else None,
    )


@router.post("/customers/{customer_id}/not-same-person")
def not_same_person(
    request: Request,
    customer_id: str,
    record_key: Annotated[str, Form(min_length=3, max_length=300)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    session = auth.page_session(request, "decide")
    auth.check_csrf(request, session, csrf_token)
    console = auth.state(request)
    snapshot = console.snapshots.current()
    try:
        current, decisions = queries.record_not_same_person(
            snapshot,
            console.state_dir,
            customer_id,
            record_key,
            session.user.username,
            reason.strip() or None,
        )
    except LookupError:
        return render(
            request,
            "error.html",
            status_code=404,
            message_key="customer.not_found",
            message_values={"id": customer_id},
        )
    except ValueError as error:
        return render(request, "error.html", status_code=422, message=str(error))
    console.store.audit(
        session.user,
        "not_same_person",
        customer_id=current,
        channel="web",
        detail=f"{record_key}" + (f": {reason.strip()}" if reason.strip() else ""),
        ip=auth.client_ip(request),
    )
    return _decided(request, session, current, "decided", record=record_key, count=len(decisions))


@router.post("/customers/{customer_id}/same-person")
def same_person(
    request: Request,
    customer_id: str,
    other_customer_id: Annotated[str, Form(min_length=1, max_length=64)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A steward joins two customers (a must-link between every record of the one and every record of the other)."""
    session = auth.page_session(request, "review")
    auth.check_csrf(request, session, csrf_token)
    console = auth.state(request)
    try:
        current, other, _ = queries.record_same_person(
            console.snapshots.current(),
            console.state_dir,
            customer_id,
            other_customer_id,
            session.user.username,
            reason.strip() or None,
        )
    except LookupError as error:
        return render(request, "error.html", status_code=404, message=str(error))
    except ValueError as error:
        return render(request, "error.html", status_code=422, message=str(error))
    detail = f"same person as {other}" + (f": {reason.strip()}" if reason.strip() else "")
    console.store.audit(
        session.user, "same_person", customer_id=current, channel="web", detail=detail, ip=auth.client_ip(request)
    )
    return _decided(request, session, current, "joined", other=other)


@router.post("/customers/{customer_id}/decisions/{decision_id}/undo")
def undo_decision(
    request: Request,
    customer_id: str,
    decision_id: int,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A steward withdraws a decision (and those made with it)."""
    session = auth.page_session(request, "review")
    auth.check_csrf(request, session, csrf_token)
    console = auth.state(request)
    try:
        withdrawn = queries.undo_decision(console.state_dir, decision_id, session.user.username)
    except LookupError as error:
        return render(request, "error.html", status_code=404, message=str(error))
    pairs = ", ".join(f"{d.record_key_l}/{d.record_key_r}" for d in withdrawn)
    console.store.audit(
        session.user, "undo_decision", customer_id=customer_id, channel="web", detail=pairs, ip=auth.client_ip(request)
    )
    return _decided(request, session, customer_id, "undone", count=len(withdrawn))


def _decided(request: Request, session: Any, customer_id: str, kind: str, **values: Any) -> Response:
    """After a decision: publish it now (if the console does) and show the customer with a notice saying so."""
    console = auth.state(request)
    applying = console.publish_decisions()
    notice = console.store.add_notice(session.user.username, kind, applying=applying, **values)
    return RedirectResponse(f"/customers/{quote(customer_id)}?notice={notice}#why", status_code=303)


# -- review (data stewards) -------------------------------------------------------------------------------------

REVIEW_ANSWERS = ("same", "different", "unsure")


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    saved: Annotated[str | None, Query(max_length=20)] = None,
    applying: bool = False,
) -> Response:
    """The next candidate pair: both records side by side, the evidence, and same / different / unsure."""
    session = auth.page_session(request, "review")
    console = auth.state(request)
    snapshot = console.snapshots.current()
    queue = queries.review_next(snapshot, console.state_dir)
    if queue is not None and queue.pair is not None:
        console.store.audit(
            session.user,
            "view_review_pair",
            channel="web",
            detail=f"{queue.pair.record_key_l} {queue.pair.record_key_r}",
            ip=auth.client_ip(request),
        )
    return render(
        request, "review.html", queue=queue, saved=saved if saved in REVIEW_ANSWERS else None, applying=applying
    )


@router.post("/review/answer")
def review_answer(
    request: Request,
    record_key_l: Annotated[str, Form(min_length=3, max_length=300)],
    record_key_r: Annotated[str, Form(min_length=3, max_length=300)],
    answer: Annotated[str, Form(max_length=20)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    session = auth.page_session(request, "review")
    auth.check_csrf(request, session, csrf_token)
    if answer not in REVIEW_ANSWERS:
        return render(
            request, "error.html", status_code=422, message=f"answer must be one of {', '.join(REVIEW_ANSWERS)}"
        )
    console = auth.state(request)
    try:
        recorded = queries.record_review_answer(
            console.snapshots.current(),
            console.state_dir,
            record_key_l,
            record_key_r,
            answer,
            session.user.username,
            reason.strip() or None,
        )
    except LookupError:
        return render(request, "error.html", status_code=404, message_key="review.not_candidate")
    except ValueError as error:
        return render(request, "error.html", status_code=422, message=str(error))
    console.store.audit(
        session.user,
        "review_answer",
        channel="web",
        detail=f"{recorded.record_key_l} {recorded.record_key_r}: {recorded.answer}"
        + (f": {reason.strip()}" if reason.strip() else ""),
        ip=auth.client_ip(request),
    )
    applying = recorded.decision_id is not None and console.publish_decisions()
    return RedirectResponse(
        f"/review?saved={quote(recorded.answer)}" + ("&applying=true" if applying else ""), status_code=303
    )


# -- admin ------------------------------------------------------------------------------------------------------


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    username: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=50)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    session = auth.page_session(request, "audit")
    console = auth.state(request)
    size = 100
    entries, total = console.store.audit_entries(
        username=username or None,
        customer_id=customer_id or None,
        action=action or None,
        limit=size,
        offset=(page - 1) * size,
    )
    console.store.audit(
        session.user,
        "read_audit",
        channel="web",
        ip=auth.client_ip(request),
        detail=" ".join(
            f"{k}={v}" for k, v in (("username", username), ("customer_id", customer_id), ("action", action)) if v
        )
        or None,
    )
    return render(
        request,
        "audit.html",
        entries=entries,
        total=total,
        page=page,
        size=size,
        filters={"username": username or "", "customer_id": customer_id or "", "action": action or ""},
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, notice: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    session = auth.page_session(request, "users")
    console = auth.state(request)
    kind, values = console.store.pop_notice(session.user.username, notice) or ("", {})
    return render(
        request,
        "users.html",
        users=console.store.list_users(),
        roles=ROLES,
        saved=kind == "saved",
        error=values.get("error") if kind == "error" else None,
        tokens=console.store.list_tokens(),
    )


@router.post("/admin/users")
def users_add(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=20)],
    display_name: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session = auth.page_session(request, "users")
    auth.check_csrf(request, session, csrf_token)
    console = auth.state(request)
    try:
        console.store.add_user(username, password, role, display_name or None)
    except StoreError as error:
        return _users_notice(console.store, session.user.username, "error", error=str(error))
    console.store.audit(session.user, "user_add", detail=f"{username} ({role})", ip=auth.client_ip(request))
    return _users_notice(console.store, session.user.username, "saved")


@router.post("/admin/users/{username}")
def users_change(
    request: Request,
    username: str,
    change: Annotated[str, Form(max_length=20)],
    role: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session = auth.page_session(request, "users")
    auth.check_csrf(request, session, csrf_token)
    store = auth.state(request).store
    try:
        if change == "role":
            store.set_role(username, role)
            detail = f"{username} → {role}"
        elif change == "password":
            store.set_password(username, password)
            detail = username
        elif change in ("activate", "deactivate"):
            if username.lower() == session.user.username.lower():
                raise StoreError("you cannot deactivate yourself")
            store.set_active(username, change == "activate")
            detail = username
        else:
            raise StoreError(f"unknown change {change!r}")
    except StoreError as error:
        return _users_notice(store, session.user.username, "error", error=str(error))
    store.audit(session.user, f"user_{change}", detail=detail, ip=auth.client_ip(request))
    return _users_notice(store, session.user.username, "saved")


def _users_notice(store: ConsoleStore, username: str, kind: str, **values: str) -> Response:
    return _with_notice(store, username, "/admin/users", kind, **values)


def _with_notice(store: ConsoleStore, username: str, target: str, kind: str, **values: str) -> Response:
    """Redirect to a page that shows a notice (kept in the store: a URL anyone can write never carries its text)."""
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}notice={store.add_notice(username, kind, **values)}", status_code=303)


# -- privacy (admins) -------------------------------------------------------------------------------------------


@router.get("/admin/privacy", response_class=HTMLResponse)
def privacy_page(
    request: Request,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Erasure requests: the form for one customer (from the customer page), the running erasure, the log."""
    from customer360.core import tombstones

    session = auth.page_session(request, "erase")
    console = auth.state(request)
    kind, values = console.store.pop_notice(session.user.username, notice) or ("", {})
    profile = None
    if customer and CUSTOMER_ID.match(customer):
        profile = queries.load_profile(console.snapshots.current(), customer, state_dir=console.state_dir)
    return render(
        request,
        "privacy.html",
        profile=profile,
        job=console.erasures.job,
        erasures=list(reversed(tombstones.erasures(console.state_dir))),
        notice_kind=kind,
        error=values.get("error"),
    )


@router.post("/admin/privacy/erase")
def privacy_erase(
    request: Request,
    customer_id: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=500)] = "",
    confirm_id: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Erase a customer (GDPR Art. 17): a reason and the customer ID typed again, then `c360 privacy erase`."""
    session = auth.page_session(request, "erase")
    auth.check_csrf(request, session, csrf_token)
    console = auth.state(request)
    store = console.store

    def refused(error: str) -> Response:
        target = f"/admin/privacy?customer={quote(customer_id)}"
        return _with_notice(store, session.user.username, target, "error", error=error)

    if not CUSTOMER_ID.match(customer_id):
        return refused("privacy.unknown")
    if not reason.strip():
        return refused("privacy.no_reason")
    if confirm_id.strip().upper() != customer_id.upper():
        return refused("privacy.not_confirmed")
    if not console.erasures.start(customer_id.upper(), reason.strip(), f"console:{session.user.username}"):
        return refused("privacy.busy")
    store.audit(
        session.user,
        "erase_customer",
        customer_id=customer_id.upper(),
        detail=reason.strip(),
        ip=auth.client_ip(request),
    )
    return _with_notice(store, session.user.username, "/admin/privacy", "started")


# -- API docs and health ----------------------------------------------------------------------------------------


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """Swagger UI, served from this app (no CDN), initialised by a static script (CSP: no inline scripts)."""
    return render(request, "api_docs.html")


@router.get("/favicon.ico")
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=308)


@router.get("/healthz")
def health(request: Request) -> Response:
    snapshots = auth.state(request).snapshots
    try:
        snapshot = snapshots.current()
        return JSONResponse({"status": "ok", "snapshot": snapshot.name})
    except Exception:  # noqa: BLE001 - health must answer
        return JSONResponse({"status": "no_snapshot"}, status_code=503)
