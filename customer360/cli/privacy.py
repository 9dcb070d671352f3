"""`c360 privacy ...`: data-subject requests (docs/privacy.md).

    c360 privacy export --email anna@example.de [--out DIR]     everything held about one person (Art. 15)
    c360 privacy erase --customer C000000042 --reason "…"      erase them everywhere, for good (Art. 17)
    c360 privacy restrict --customer C000000042 --reason "…"   service only: no promotions, no exports (Art. 18)
    c360 privacy object --customer C000000042 --purpose profiling --reason "…"    (Art. 21)
    c360 privacy requests                                       the restrictions and objections in force
    c360 privacy lift 3                                         end one (the next run applies it)

Registered in customer360/cli/__init__.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from customer360.cli.common import ConfigOption, console, print_error
from customer360.cli.common import setup as _setup

privacy_app = typer.Typer(help="Data-subject requests: what is held about a person (GDPR).", no_args_is_help=True)


CustomerOption = Annotated[str | None, typer.Option("--customer", help="a customer ID (a merged ID is followed)")]
EmailOption = Annotated[str | None, typer.Option("--email", help="an e-mail address of the person")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="a phone number of the person, in any format")]
ReasonOption = Annotated[str, typer.Option("--reason", help="why: the request and its reference (kept in the log)")]
RecordOption = Annotated[
    str | None, typer.Option("--record", help="a source record, <source_system>:<source_record_id>")
]


@privacy_app.command("export")
def export(
    customer: CustomerOption = None,
    email: EmailOption = None,
    phone: PhoneOption = None,
    record: RecordOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the files [default: <data_dir>/privacy/exports]")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write everything held about one person (GDPR Art. 15) as JSON plus a readable HTML rendering: every
    source record, consent statement, fact, touchpoint and derived field of the resolved customer, the identity
    links that say why each record is included, and the purposes of processing."""
    from customer360 import privacy
    from customer360.core import warehouse

    cfg = _setup(config)
    with warehouse.session(cfg, read_only=True) as con:
        subject = privacy.find_subject(con, customer_id=customer, email=email, phone=phone, record=record)
        document = privacy.access_export(con, cfg, subject)
    json_path, html_path = privacy.write_export(document, out or cfg.data_path / "privacy" / "exports")
    members = document["why_these_records"]["members"]
    facts = sum(len(rows) for rows in document["marts"].values())
    console.print(
        f"customer [bold]{subject.customer_id}[/bold] ({subject.found_by}): {len(members)} source record(s),"
        f" {len(document['source_records'])} delivered version(s), {len(document['consent_statements'])} consent"
        f" statement(s), {facts} marts row(s)"
    )
    console.print(f"  {json_path}\n  {html_path}")


@privacy_app.command("erase")
def erase(
    reason: ReasonOption,
    customer: CustomerOption = None,
    email: EmailOption = None,
    phone: PhoneOption = None,
    record: RecordOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation (scripts)")] = False,
    requested_by: Annotated[
        str | None, typer.Option("--requested-by", help="who erases, for the log [default: cli:<user>]")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Erase one person everywhere (GDPR Art. 17): raw, quarantine, staging, resolution, marts, every kept
    snapshot with its Parquet, search index and serving store; the audit log is pseudonymised. Tombstones (keyed
    hashes, never the values) keep the same records from coming back when a source delivers them again."""
    import getpass

    from customer360 import pipeline, privacy
    from customer360.core import warehouse

    cfg = _setup(config)
    reason = _reason(reason)
    with warehouse.session(cfg, read_only=True) as con:
        subject = privacy.find_subject(con, customer_id=customer, email=email, phone=phone, record=record)
        members = privacy.member_records(con, subject.customer_id)
    console.print(
        f"customer [bold]{subject.customer_id}[/bold] ({subject.found_by}): {len(members)} source record(s):"
        f" {', '.join(members)}"
    )
    if not yes:
        typed = typer.prompt("This cannot be undone. Type the customer ID to erase them")
        if typed.strip().upper() != subject.customer_id:
            print_error("the ID typed does not match: nothing was erased")
            raise typer.Exit(1)
    summary = pipeline.erase(cfg, subject, reason, requested_by=requested_by or f"cli:{getpass.getuser()}")
    if summary.exit_code:
        print_error(
            f"{summary.message}. Fix the problem and run `c360 privacy erase --customer {subject.customer_id}` again:"
            " it finishes the erasure",
            f"erasure {summary.status}",
        )
        raise typer.Exit(summary.exit_code)
    console.print(summary.stages["scrub"].render())


def _reason(reason: str) -> str:
    if not reason.strip():
        raise typer.BadParameter("say why (the request and its reference)", param_hint="--reason")
    return reason.strip()


def _record_request(kind: str, purpose: str | None, reason: str, config: Any, **identifier: str | None) -> None:
    import getpass

    from customer360 import privacy
    from customer360.core import tombstones, warehouse

    cfg = _setup(config)
    reason = _reason(reason)
    with warehouse.session(cfg, read_only=True) as con:
        subject = privacy.find_subject(con, **identifier)
        records = privacy.member_records(con, subject.customer_id)
    request_id = tombstones.add_request(cfg.state_dir, kind, purpose, records, reason, f"cli:{getpass.getuser()}")
    what = f"objection to {purpose}" if kind == "objection" else "restriction of processing"
    console.print(
        f"request {request_id}: {what} for customer [bold]{subject.customer_id}[/bold] ({len(records)} source"
        " record(s)); the next run (`c360 run`) applies it"
    )


@privacy_app.command("restrict")
def restrict(
    reason: ReasonOption,
    customer: CustomerOption = None,
    email: EmailOption = None,
    phone: PhoneOption = None,
    record: RecordOption = None,
    config: ConfigOption = None,
) -> None:
    """Restrict processing (GDPR Art. 18): the customer stays in the 360 view for service, gets no promotional
    next best action and is left out of the Parquet exports, until the restriction is lifted."""
    _record_request("restriction", None, reason, config, customer_id=customer, email=email, phone=phone, record=record)


@privacy_app.command("object")
def object_(
    purpose: Annotated[str, typer.Option("--purpose", help="marketing, profiling, any (every purpose), …")],
    reason: ReasonOption,
    customer: CustomerOption = None,
    email: EmailOption = None,
    phone: PhoneOption = None,
    record: RecordOption = None,
    config: ConfigOption = None,
) -> None:
    """Record an objection (GDPR Art. 21): an opt-out for the purpose on every channel that no source can
    overrule with an older statement; `profiling` also turns the derived predictions off."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", purpose):
        raise typer.BadParameter("a purpose name: lower case letters, digits, _", param_hint="--purpose")
    _record_request("objection", purpose, reason, config, customer_id=customer, email=email, phone=phone, record=record)


@privacy_app.command("requests")
def requests(config: ConfigOption = None) -> None:
    """The restrictions and objections in force."""
    from rich.table import Table

    from customer360.core import tombstones

    cfg = _setup(config)
    table = Table("id", "kind", "purpose", "records", "requested", "by", "reason")
    for request in tombstones.requests_in_force(cfg.state_dir):
        table.add_row(
            str(request.request_id),
            request.kind,
            request.purpose or "",
            ", ".join(request.record_keys),
            request.requested_at,
            request.requested_by,
            request.reason,
        )
    console.print(table)


@privacy_app.command("lift")
def lift(
    request_id: Annotated[int, typer.Argument(help="the request's id (c360 privacy requests)")],
    config: ConfigOption = None,
) -> None:
    """End a restriction or objection; the next run applies it."""
    import getpass

    from customer360.core import tombstones

    cfg = _setup(config)
    if not tombstones.lift_request(cfg.state_dir, request_id, f"cli:{getpass.getuser()}"):
        print_error(f"no request {request_id} in force (c360 privacy requests)")
        raise typer.Exit(1)
    console.print(f"request {request_id} lifted; the next run (`c360 run`) applies it")
