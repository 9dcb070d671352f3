"""`c360 privacy ...`: data-subject requests (docs/privacy.md).

    c360 privacy export --email anna@example.de [--out DIR]     everything held about one person (Art. 15)
    c360 privacy erase --customer C000000042 --reason "…"      erase them everywhere, for good (Art. 17)

Registered in customer360/cli/__init__.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from customer360.cli.common import ConfigOption, console, print_error
from customer360.cli.common import setup as _setup

privacy_app = typer.Typer(help="Data-subject requests: what is held about a person (GDPR).", no_args_is_help=True)


CustomerOption = Annotated[str | None, typer.Option("--customer", help="a customer ID (a merged ID is followed)")]
EmailOption = Annotated[str | None, typer.Option("--email", help="an e-mail address of the person")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="a phone number of the person, in any format")]
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
    reason: Annotated[str, typer.Option("--reason", help="why (the request, its reference): kept in the erasure log")],
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
    if not reason.strip():
        raise typer.BadParameter("say why (the request and its reference)", param_hint="--reason")
    with warehouse.session(cfg, read_only=True) as con:
        subject = privacy.find_subject(con, customer_id=customer, email=email, phone=phone, record=record)
        members = con.execute(
            f"select record_key from {warehouse.MARTS}.customer_identity_map where customer_id = ? order by 1",
            [subject.customer_id],
        ).fetchall()
    console.print(
        f"customer [bold]{subject.customer_id}[/bold] ({subject.found_by}): {len(members)} source record(s):"
        f" {', '.join(row[0] for row in members)}"
    )
    if not yes:
        typed = typer.prompt("This cannot be undone. Type the customer ID to erase them")
        if typed.strip().upper() != subject.customer_id:
            print_error("the ID typed does not match: nothing was erased")
            raise typer.Exit(1)
    summary = pipeline.erase(cfg, subject, reason.strip(), requested_by=requested_by or f"cli:{getpass.getuser()}")
    if summary.exit_code:
        print_error(
            f"{summary.message}. Fix the problem and run `c360 privacy erase --customer {subject.customer_id}` again:"
            " it finishes the erasure",
            f"erasure {summary.status}",
        )
        raise typer.Exit(summary.exit_code)
    console.print(summary.stages["scrub"].render())
