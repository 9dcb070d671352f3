"""`c360 lookup`, `c360 serve` and `c360 users …`: registered on the main CLI by `register(app)`
(customer360/cli/__init__.py). Heavy imports happen inside the commands, so `c360 --help` stays fast."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from customer360.cli.common import ConfigOption, console, err, print_error
from customer360.cli.common import setup as _config

users_app = typer.Typer(
    help="Console users and roles (agent, analyst, steward, admin) and API tokens.", no_args_is_help=True
)


def _store(config):  # noqa: ANN001, ANN202
    from customer360.console.store import ConsoleStore

    return ConsoleStore.for_state_dir(config.state_dir)


def register(app: typer.Typer) -> None:
    app.command()(lookup)
    app.command()(serve)
    app.add_typer(users_app, name="users")


# -- lookup -----------------------------------------------------------------------------------------------------


def lookup(
    query: Annotated[str, typer.Argument(help="name, e-mail, phone, customer ID, source record ID or order number")],
    limit: Annotated[int, typer.Option(help="how many search results to list")] = 10,
    first: Annotated[
        bool, typer.Option("--first", help="show the profile of the best match even if several match")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (the API's shapes) instead of tables")] = False,
    snapshot: Annotated[Path | None, typer.Option(help="read this snapshot file instead of the published one")] = None,
    config: ConfigOption = None,
) -> None:
    """Find a customer and print the 360° summary (reads the published snapshot, like the console)."""
    from customer360.console import queries
    from customer360.console.snapshot import (
        SnapshotUnavailable,
        index_cache_dir,
        open_snapshot,
        snapshot_source,
    )

    cfg = _config(config)
    path = snapshot or snapshot_source(cfg)
    if path is None:
        err.print("[red]error:[/red] no published snapshot yet: run the pipeline first (c360 demo or c360 run)")
        raise typer.Exit(1)
    try:
        snap = open_snapshot(path, index_cache_dir(cfg))
    except SnapshotUnavailable as error:
        print_error(error)
        raise typer.Exit(1) from None
    store = _store(cfg)
    who = f"cli:{os.environ.get('USER') or getpass.getuser()}"
    try:
        result = queries.search(snap, query, limit=limit)
        store.audit(None, "search", detail=query, channel="cli", username=who)
        hits = result.results
        decisive = (
            len(hits) == 1
            or (first and hits)
            or (len(hits) > 1 and hits[0].score >= 1.0 and hits[1].score < 1.0 and "name" not in hits[0].matched_on)
        )
        if not hits:
            if as_json:
                print(result.model_dump_json(indent=2))  # noqa: T201
            else:
                console.print(f"no customer found for [bold]{escape(query)}[/bold]")
            raise typer.Exit(1)
        if not decisive:
            if as_json:
                print(result.model_dump_json(indent=2))  # noqa: T201
                return
            _print_hits(result)
            return
        profile = queries.load_profile(snap, hits[0].customer_id, state_dir=cfg.state_dir, page_size=10)
        if profile is None:  # pragma: no cover - the index and the snapshot come from the same file
            raise typer.Exit(1)
        store.audit(None, "view_customer", customer_id=profile.customer_id, channel="cli", username=who)
        if as_json:
            print(profile.model_dump_json(indent=2))  # noqa: T201
        else:
            _print_profile(profile)
    finally:
        snap.close()


def _print_hits(result: Any) -> None:
    table = Table(
        "customer",
        "name",
        "e-mail",
        "phone",
        "place",
        "born",
        "found by",
        "match",
        title=f"{len(result.results)} customers for “{result.query}” ({result.took_ms:.1f} ms)",
    )
    for hit in result.results:
        table.add_row(
            hit.customer_id,
            hit.full_name or "",
            hit.email or "",
            hit.phone_e164 or "",
            f"{hit.postcode or ''} {hit.city or ''}".strip(),
            hit.date_of_birth or "",
            ", ".join(hit.matched_on),
            f"{hit.score:.0%}",
        )
    console.print(table)
    if result.truncated:
        console.print("[yellow]more customers match: add a first name, town, postcode or birth year[/yellow]")
    console.print(f"show one: [bold]c360 lookup {result.results[0].customer_id}[/bold] (or add --first)")


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "hour") else value.strftime("%Y-%m-%d")
    return str(value)


def _print_profile(p: Any) -> None:
    if p.redirected:
        console.print(f"[yellow]{p.requested_id} was merged into {p.customer_id}[/yellow]")
    flags = [f.code.replace("_", " ") for f in p.risk_flags if f.active]
    title = f"[bold]{p.full_name or p.customer_id}[/bold]  {p.customer_id}  ({', '.join(p.source_systems)})"
    body = Table.grid(padding=(0, 2))
    body.add_column(style="dim")
    body.add_column()
    body.add_column(style="dim")
    for value in p.golden:
        body.add_row(value.field.replace("_", " "), _value(value.value), value.source or "")
    for key, value in p.consent.items():
        body.add_row(key.replace("_", " "), _value(value), "")
    for c in p.consent_statements:
        conflict = "  (others say otherwise)" if c.conflicting_statements else ""
        body.add_row(
            f"consent {c.purpose} by {c.consent_channel}",
            f"{c.consent_status.replace('_', ' ')} since {_value(c.changed_at)}{conflict}",
            c.evidence_source or "",
        )
    console.print(
        Panel(
            body,
            title=title,
            subtitle=("⚠ " + ", ".join(flags)) if flags else "no risk flags",
            title_align="left",
        )
    )
    if p.next_best_action and p.next_best_action.action:
        nba = p.next_best_action
        console.print(
            Panel(
                f"[bold]{nba.action}[/bold]\nwhy: {nba.reason or '—'}",
                title="next best action",
                title_align="left",
                border_style="blue",
            )
        )
    if p.summary:
        kpis = Table.grid(padding=(0, 2))
        for key, value in p.summary.items():
            kpis.add_row(f"[dim]{key.replace('_', ' ')}[/dim]", _value(value))
        console.print(Panel(kpis, title="at a glance", title_align="left"))
    if p.timeline and p.timeline.items:
        table = Table(
            "when",
            "channel",
            "type",
            "what",
            "outcome",
            title=f"timeline (latest {len(p.timeline.items)} of {p.timeline.total}; channels: "
            + ", ".join(f"{c.channel} {c.touchpoints}" for c in p.timeline.channels)
            + ")",
        )
        for e in p.timeline.items:
            table.add_row(
                _value(e.occurred_at),
                e.channel or "",
                e.touchpoint_type or "",
                e.summary or "",
                e.outcome or "",
            )
        console.print(table)
    if p.orders:
        table = Table(
            "ordered", "order", "status", "total", title=f"orders (latest {len(p.orders)} of {p.order_count})"
        )
        for o in p.orders[:5]:
            table.add_row(
                _value(o.ordered_at),
                o.order_number or o.order_id or "",
                o.status or "",
                f"{o.total_amount:,.2f} {o.currency or ''}" if o.total_amount is not None else "—",
            )
        console.print(table)
    if p.tickets:
        table = Table(
            "opened",
            "subject",
            "status",
            "rating",
            title=f"tickets (latest {len(p.tickets)} of {p.ticket_count})",
        )
        for k in p.tickets[:5]:
            table.add_row(
                _value(k.created_at),
                k.subject or "",
                "OPEN" if k.is_open else (k.status or ""),
                _value(k.csat_score),
            )
        console.print(table)
    if p.campaigns:
        table = Table(
            "when",
            "campaign",
            "event",
            title=f"campaigns (latest {len(p.campaigns)} of {p.campaign_event_count})",
        )
        for c in p.campaigns[:5]:
            table.add_row(_value(c.occurred_at), c.campaign_name or "", c.event_type or "")
        console.print(table)
    if p.explanation and len(p.explanation.members) > 1:
        table = Table("record", "name", "e-mail", "phone", "best link", title="why these records are one customer")
        for m in p.explanation.members:
            table.add_row(
                m.record_key,
                m.full_name or "",
                m.email or "",
                m.phone_e164 or "",
                f"{m.best_match_probability:.4f}" if m.best_match_probability is not None else "—",
            )
        console.print(table)
        console.print(f"evidence per link: [bold]c360 explain {p.customer_id}[/bold]")
    if p.missing_tables:
        console.print(f"[dim]not in this snapshot: {', '.join(p.missing_tables)}[/dim]")


# -- serve ------------------------------------------------------------------------------------------------------


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on (0.0.0.0 for all: put TLS in front)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    reload: Annotated[bool, typer.Option("--reload/--no-reload", help="restart on code changes (development)")] = False,
    workers: Annotated[int, typer.Option(help="worker processes (each opens the snapshot read-only)")] = 1,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="mark cookies Secure (serving over HTTPS)")
    ] = False,
    snapshot: Annotated[Path | None, typer.Option(help="serve this snapshot file instead of the published one")] = None,
    config: ConfigOption = None,
) -> None:
    """Start the agent console (web pages, JSON API, /docs) on the published snapshot."""
    import uvicorn

    cfg = _config(config)
    os.environ["C360_CONFIG"] = str(cfg.file.resolve())
    if secure_cookies:
        os.environ["C360_CONSOLE_SECURE_COOKIES"] = "1"
    if snapshot:
        os.environ["C360_CONSOLE_SNAPSHOT"] = str(snapshot.resolve())
    store = _store(cfg)
    if not store.list_users():
        console.print("[yellow]no console users yet:[/yellow] c360 users add NAME --role agent  (or run c360 demo)")
    console.print(f"agent console on [bold]http://{host}:{port}/[/bold]  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "customer360.console.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
        log_level="info",
        access_log=False,
        proxy_headers=False,
    )


# -- users ------------------------------------------------------------------------------------------------------


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        err.print("[red]error:[/red] the passwords differ")
        raise typer.Exit(2)
    return first


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help="agent, analyst, steward or admin")] = "agent",
    display_name: Annotated[str | None, typer.Option(help="name shown in the console")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    config: ConfigOption = None,
) -> None:
    """Create a console user (asks for the password)."""
    from customer360.console.store import StoreError

    store = _store(_config(config))
    try:
        user = store.add_user(username, _password(password_stdin), role, display_name)
    except StoreError as error:
        print_error(error)
        raise typer.Exit(2) from None
    store.audit(
        None,
        "user_add",
        detail=f"{user.username} ({user.role})",
        channel="cli",
        username=f"cli:{getpass.getuser()}",
    )
    console.print(f"user [bold]{user.username}[/bold] created with role {user.role}")


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """List console users and their roles."""
    table = Table("user", "name", "role", "active", "language", "created")
    for user in _store(_config(config)).list_users():
        table.add_row(
            user.username,
            user.display_name or "",
            user.role,
            "yes" if user.is_active else "no",
            user.lang or "",
            user.created_at or "",
        )
    console.print(table)


@users_app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="agent, analyst, steward or admin")],
    config: ConfigOption = None,
) -> None:
    """Change a user's role (their sessions end: the new rights apply from the next login)."""
    from customer360.console.store import StoreError

    store = _store(_config(config))
    try:
        store.set_role(username, role)
    except StoreError as error:
        print_error(error)
        raise typer.Exit(2) from None
    store.audit(None, "user_role", detail=f"{username} → {role}", channel="cli", username=f"cli:{getpass.getuser()}")
    console.print(f"{username} is now {role}")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    config: ConfigOption = None,
) -> None:
    """Set a user's password (their sessions end)."""
    from customer360.console.store import StoreError

    store = _store(_config(config))
    try:
        store.set_password(username, _password(password_stdin))
    except StoreError as error:
        print_error(error)
        raise typer.Exit(2) from None
    store.audit(None, "user_password", detail=username, channel="cli", username=f"cli:{getpass.getuser()}")
    console.print(f"password of {username} changed")


@users_app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Lock a user out (sessions end, API tokens are revoked)."""
    from customer360.console.store import StoreError

    store = _store(_config(config))
    try:
        store.set_active(username, False)
    except StoreError as error:
        print_error(error)
        raise typer.Exit(2) from None
    console.print(f"{username} deactivated")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="the user the token acts as (its role applies)")],
    name: Annotated[str | None, typer.Option(help="what the token is for, e.g. helpdesk-widget")] = None,
    days: Annotated[int, typer.Option(help="valid for this many days (0: no expiry)")] = 365,
    config: ConfigOption = None,
) -> None:
    """Create an API token (printed once; send it as 'Authorization: Bearer <token>')."""
    from customer360.console.store import StoreError

    store = _store(_config(config))
    try:
        token = store.create_token(username, name, days or None)
    except StoreError as error:
        print_error(error)
        raise typer.Exit(2) from None
    store.audit(
        None,
        "token_create",
        detail=f"{username} {name or ''}".strip(),
        channel="cli",
        username=f"cli:{getpass.getuser()}",
    )
    print(token)  # noqa: T201


@users_app.command("demo")
def users_demo(config: ConfigOption = None) -> None:
    """Give the demo logins new passwords and show them (they are stored only as hashes)."""
    from customer360.console import reset_demo_logins

    for username, password, role in reset_demo_logins(_config(config)):
        console.print(f"{role:8} {username} / {password}")
