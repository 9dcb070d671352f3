"""The agent console: FastAPI app with server-rendered pages (Jinja2), a JSON API and local API docs.

    uvicorn factory:  create_app(config)            c360 serve --host 127.0.0.1 --port 8000

State lives in ConsoleState (app.state.console): configuration, settings, the console's SQLite store, the
snapshot manager (read-only published snapshot + search index) and the request rate limiter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from customer360.console import auth
from customer360.console.i18n import LANGUAGES, has_text, translate
from customer360.console.jobs import DecisionApplier, Erasures
from customer360.console.settings import ConsoleSettings
from customer360.console.snapshot import SnapshotManager, SnapshotUnavailable
from customer360.console.store import ConsoleStore
from customer360.core.config import Config

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
API_PREFIX = "/api/v1"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


@dataclass
class ConsoleState:
    config: Config
    settings: ConsoleSettings
    store: ConsoleStore
    snapshots: SnapshotManager
    limiter: auth.RateLimiter
    templates: Environment
    erasures: Erasures
    decisions: DecisionApplier

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    def publish_decisions(self) -> bool:
        """After a decision: publish it now, unless the console leaves decisions to the next run. True if it does."""
        if self.settings.apply_decisions:
            self.decisions.request()
        return self.settings.apply_decisions


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response; no caching of anything personal."""

    def __init__(self, app: Any, secure: bool):
        self.app = app
        self.secure = secure

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    h for h in message.get("headers", []) if h[0].lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers += SECURITY_HEADERS
                if not is_static:
                    headers.append((b"cache-control", b"no-store"))
                if self.secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(config: Config, settings: ConsoleSettings | None = None) -> FastAPI:
    from customer360.console import api, web

    settings = settings or ConsoleSettings()
    store = ConsoleStore.for_state_dir(
        config.state_dir,
        session_idle_seconds=settings.session_idle_minutes * 60,
        session_max_seconds=settings.session_max_hours * 3600,
    )
    snapshots = SnapshotManager(
        config,
        override=settings.snapshot_override,
        check_seconds=settings.snapshot_check_seconds,
        threads=settings.duckdb_threads,
    )
    app = FastAPI(
        title="customer360 agent console API",
        version="1",
        description=(
            "Find a customer and see everything about them: search, the 360° profile, the cross-channel timeline, "
            "the next best action, and why records were merged. Authenticate with a session (log in at /login) or "
            "with an API token: `Authorization: Bearer c360_…` (create one with `c360 users token USER`). "
            "Every customer view is written to the audit log."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.console = ConsoleState(
        config=config,
        settings=settings,
        store=store,
        snapshots=snapshots,
        limiter=auth.RateLimiter(settings.requests_per_minute),
        templates=_templates(),
        erasures=Erasures(config.file, config.state_dir),
        decisions=DecisionApplier(config.file, config.state_dir, on_published=snapshots.refresh),
    )
    app.add_middleware(SecurityHeaders, secure=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(web.router)
    app.include_router(api.router, prefix=API_PREFIX)
    _exception_handlers(app)

    @app.on_event("startup")
    def _warm_up() -> None:
        """Open the snapshot (and build its search index if needed) before the first agent waits for it."""
        import threading

        def warm() -> None:
            try:
                snapshots.current()
            except Exception as error:  # noqa: BLE001 - a missing snapshot is reported per request
                log.warning("console: no snapshot yet: %s", error)

        threading.Thread(target=warm, name="c360-snapshot-warm-up", daemon=True).start()

    @app.on_event("shutdown")
    def _close() -> None:
        snapshots.close()

    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory customer360.console.app:app_from_environment` (reads $C360_CONFIG)."""
    from customer360.core.config import default_config_path, load_config

    return create_app(load_config(default_config_path()))


# -- templates --------------------------------------------------------------------------------------------------


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = _format_datetime
    env.filters["d"] = _format_date
    env.filters["money"] = _format_money
    env.filters["num"] = _format_number
    env.filters["pct"] = lambda v, lang="de": "—" if v is None else _format_number(float(v) * 100, lang, 2) + " %"
    env.filters["phone"] = _format_phone
    env.filters["urlq"] = lambda v: quote(str(v), safe="")
    return env


def _format_datetime(value: Any, lang: str = "de") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M" if lang == "de" else "%Y-%m-%d %H:%M")
    return _format_date(value, lang)


def _format_date(value: Any, lang: str = "de") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y" if lang == "de" else "%Y-%m-%d")
    return str(value)


def _format_number(value: Any, lang: str = "de", digits: int = 0) -> str:
    if value is None:
        return "—"
    try:
        text = f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)
    return text.replace(",", "X").replace(".", ",").replace("X", ".") if lang == "de" else text


def _format_phone(value: Any) -> str:
    """+4917025468 82 → +49 17025468 82 would mislead; show the country code apart: +49 1702546882."""
    if not value:
        return "—"
    text = str(value)
    for code in ("+49", "+43", "+41"):
        if text.startswith(code) and len(text) > len(code):
            return f"{code}\u00a0{text[len(code) :]}"
    return text


def _format_money(value: Any, lang: str = "de", currency: str | None = "EUR") -> str:
    if value is None:
        return "—"
    number = _format_number(value, lang, 2)
    symbol = "€" if (currency or "EUR") == "EUR" else currency
    return f"{number} {symbol}" if lang == "de" else f"{symbol} {number}"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page in the request's language; remembers ?lang= in a cookie (and the user's setting)."""
    console = auth.state(request)
    session = auth.principal(request)
    choice = auth.choose_language(request, session)
    lang = choice.lang

    def t(key: str, **values: Any) -> str:
        return translate(lang, key, **values)

    def label(prefix: str, value: Any) -> str:
        key = f"{prefix}.{value}"
        return translate(lang, key) if has_text(key) else str(value).replace("_", " ")

    snapshot = None
    try:
        snapshot = console.snapshots.current() if session is not None else None
    except SnapshotUnavailable:
        snapshot = None
    html = console.templates.get_template(template).render(
        request=request,
        session=session,
        user=session.user if session else None,
        csrf_token=session.csrf_token if session else "",
        lang=lang,
        languages=LANGUAGES,
        t=t,
        label=label,
        has_text=has_text,
        snapshot=snapshot,
        path=request.url.path,
        lang_links={code: _with_query(request, lang=code) for code in LANGUAGES},
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if choice.remember:
        response.set_cookie(
            auth.LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            samesite="lax",
            path="/",
            secure=console.settings.secure_cookies,
            httponly=True,
        )
        if session is not None and session.user.lang != lang:
            console.store.set_lang(session.user.username, lang)
    return response


def _with_query(request: Request, **changes: str) -> str:
    from urllib.parse import urlencode

    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += list(changes.items())
    return f"{request.url.path}?{urlencode(params)}"


# -- errors -----------------------------------------------------------------------------------------------------


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(auth.LoginRequired)
    async def _login_required(request: Request, _exc: auth.LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(auth.PageForbidden)
    async def _forbidden(request: Request, _exc: auth.PageForbidden) -> Response:
        return render(request, "error.html", status_code=403, message_key="error.forbidden")

    @app.exception_handler(auth.CsrfFailed)
    async def _csrf(request: Request, _exc: auth.CsrfFailed) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "CSRF check failed", "code": "csrf_failed"}, status_code=403)
        return render(request, "error.html", status_code=403, message_key="error.csrf")

    @app.exception_handler(auth.RateLimited)
    async def _rate_limited(request: Request, exc: auth.RateLimited) -> Response:
        response = render(request, "error.html", status_code=429, message_key="error.rate_limited")
        response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return response

    @app.exception_handler(SnapshotUnavailable)
    async def _no_snapshot(request: Request, exc: SnapshotUnavailable) -> Response:
        log.warning("console: %s", exc)
        if _is_api(request):
            return JSONResponse({"detail": str(exc), "code": "no_snapshot"}, status_code=503)
        return render(request, "error.html", status_code=503, message_key="error.no_snapshot")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            code = getattr(exc, "code", None) or {
                401: "not_authenticated",
                403: "forbidden",
                404: "not_found",
                405: "method_not_allowed",
                429: "rate_limited",
            }.get(exc.status_code, "error")
            return JSONResponse(
                {"detail": exc.detail, "code": code},
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        if exc.status_code == 404:
            return render(request, "error.html", status_code=404, message_key="error.not_found")
        return render(request, "error.html", status_code=exc.status_code, message=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": errors, "code": "invalid_request"}, status_code=422)
        return render(request, "error.html", status_code=422, message="; ".join(str(e["msg"]) for e in errors))
