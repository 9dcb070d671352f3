"""Who is asking, and may they? Sessions (cookie) and API tokens (Bearer), permissions, CSRF, rate limits.

- Pages: no session → 303 to /login; a role without the permission → 403 page.
- API: no or bad credentials → 401 (WWW-Authenticate: Bearer); a role without the permission → 403.
- Every state-changing request needs a CSRF token: forms carry a hidden field, API calls made with the session
  cookie send the X-CSRF-Token header (calls with a Bearer token need none: browsers never add it by themselves).
  The Origin header, when present, must be this site.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request

from customer360.console.i18n import DEFAULT_LANGUAGE, LANGUAGES, negotiate
from customer360.console.store import Session

if TYPE_CHECKING:
    from customer360.console.app import ConsoleState

SESSION_COOKIE = "c360_session"
LANG_COOKIE = "c360_lang"
LOGIN_CSRF_COOKIE = "c360_login_csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """A page needs a session: the handler redirects to /login."""


class PageForbidden(Exception):
    def __init__(self, permission: str):
        self.permission = permission


class CsrfFailed(Exception):
    pass


class RateLimited(Exception):
    def __init__(self, retry_after: float):
        self.retry_after = retry_after


class ApiError(HTTPException):
    def __init__(self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code


def state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    """The user's address: the peer, or — when the peer is a trusted proxy — the nearest address in
    X-Forwarded-For that is not a trusted proxy (the header's left part is the client's to write)."""
    peer = request.client.host if request.client else "unknown"
    trusted = state(request).settings.trusted_proxies
    if not trusted or not _within(peer, trusted):
        return peer
    forwarded = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _within(hop, trusted):
            return hop if _within(hop, None) else peer  # a hop that is not an address: do not believe the header
    return forwarded[0] if forwarded else peer


def _within(address: str, networks: tuple[IPv4Network | IPv6Network, ...] | None) -> bool:
    """Is `address` an IP address (networks None), or one inside `networks`?"""
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return networks is None or any(ip in network for network in networks)


def principal(request: Request) -> Session | None:
    """The session or API token of this request (looked up once per request)."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    store = state(request).store
    found: Session | None = None
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        found = store.token_session(authorization[7:].strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = store.session(cookie)
    request.state.principal = found
    return found


def page_session(request: Request, permission: str | None = None) -> Session:
    session = principal(request)
    if session is None or session.via != "session":
        raise LoginRequired()
    if permission and not session.user.can(permission):
        raise PageForbidden(permission)
    _rate_limit(request, session)
    return session


def api_session(request: Request, permission: str | None = None) -> Session:
    session = principal(request)
    if session is None:
        raise ApiError(
            401,
            "not_authenticated",
            "log in (session cookie) or send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if permission and not session.user.can(permission):
        raise ApiError(403, "forbidden", f"role '{session.user.role}' may not '{permission}'")
    _rate_limit(request, session, api=True)
    return session


def check_csrf(request: Request, session: Session, submitted: str | None) -> None:
    """Forms: the hidden csrf_token field must equal the session's token; the Origin, if sent, must be ours."""
    _check_origin(request)
    if session.via == "token":
        return
    if not submitted or not hmac.compare_digest(submitted, session.csrf_token):
        raise CsrfFailed()


def check_api_csrf(request: Request, session: Session) -> None:
    if session.via == "token":
        return
    try:
        check_csrf(request, session, request.headers.get(CSRF_HEADER))
    except CsrfFailed:
        raise ApiError(403, "csrf_failed", f"send the session's CSRF token in the {CSRF_HEADER} header") from None


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise CsrfFailed()


def _rate_limit(request: Request, session: Session, api: bool = False) -> None:
    limiter = state(request).limiter
    wait = limiter.hit(session.user.username)
    if wait:
        if api:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests: slow down",
                headers={"Retry-After": str(int(wait) + 1)},
            )
        raise RateLimited(wait)


class RateLimiter:
    """Requests per minute per key, in memory (per console process), fixed one-minute windows."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = time.time()
        window = int(now // 60)
        with self._lock:
            current_window, count = self._counts.get(key, (window, 0))
            if current_window != window:
                count = 0
                if len(self._counts) > 10_000:
                    self._counts.clear()
            count += 1
            self._counts[key] = (window, count)
        return (window + 1) * 60 - now if count > self.per_minute else 0.0


@dataclass
class LangChoice:
    lang: str
    remember: bool  # ?lang= was given: set the cookie (and the user's setting)


def choose_language(request: Request, session: Session | None) -> LangChoice:
    asked = request.query_params.get("lang", "").lower()
    if asked in LANGUAGES:
        return LangChoice(asked, True)
    if session is not None and session.user.lang in LANGUAGES:
        return LangChoice(session.user.lang or DEFAULT_LANGUAGE, False)
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGUAGES:
        return LangChoice(cookie, False)
    return LangChoice(negotiate(request.headers.get("accept-language")) or DEFAULT_LANGUAGE, False)


def cookie_args(request: Request, secure: bool) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}
