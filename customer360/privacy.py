"""Data-subject requests (GDPR Art. 15): everything customer360 holds about one person, in one file.

`c360 privacy export` finds the customer (by customer ID, e-mail, phone or source record), then collects from the
warehouse, set-based, per table: every delivered version of each member record in the raw tables (with the
quality gate's verdict), every consent statement of those records, and every row of every marts table keyed by
the customer (facts, touchpoints, golden record, derived fields such as the next best action, the identity links
that say why each record belongs). The export is JSON (machine-readable) plus an HTML rendering of the same.
What it covers and leaves out: docs/privacy.md#access-art-15.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from customer360.core import decisions, tombstones, warehouse
from customer360.core.config import Config, IdentityMapping, SourceConfig
from customer360.core.errors import C360Error, UsageError
from customer360.core.marts_builds import scalar
from customer360.serving.explain import follow_merges
from customer360.serving.text import COUNTRY_CODES, looks_like_phone, national_number

EXPORT_FORMAT = "customer360-access-export/1"


class SubjectNotFound(C360Error):
    """No customer matches the identifier given."""


class AmbiguousSubject(UsageError):
    """An identifier (a family e-mail, a shared landline) belongs to more than one customer: exporting them all
    would hand one person another's data, so the request must name the customer."""


@dataclass(frozen=True)
class Subject:
    customer_id: str
    found_by: str  # how the request identified the person: "customer C000000042", "e-mail anna@…"


def find_subject(
    con: duckdb.DuckDBPyConnection,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    record: str | None = None,
) -> Subject:
    """The one active customer an identifier stands for; SubjectNotFound or AmbiguousSubject otherwise."""
    given = [
        (k, v) for k, v in (("customer", customer_id), ("e-mail", email), ("phone", phone), ("record", record)) if v
    ]
    if len(given) != 1:
        raise UsageError("name the person by exactly one of --customer, --email, --phone or --record")
    kind, value = given[0]
    value = value.strip()
    if kind == "customer":
        current = follow_merges(con, warehouse.MARTS, value.upper())
        if current is None:
            raise SubjectNotFound(f"no customer {value}")
        return Subject(current, f"customer {value}")
    if kind == "e-mail":
        condition, parameter = "records.email_std = lower(?)", value
    elif kind == "phone":
        if not looks_like_phone(value) or not (number := national_number(value)):
            raise UsageError(f"{value!r} is not a phone number")
        national = "^\\+(" + "|".join(COUNTRY_CODES) + ")"  # the part national_number() drops
        condition = (
            f"(case when regexp_matches(records.phone_e164, '{national}')"
            f" then regexp_replace(records.phone_e164, '{national}', '') else ltrim(records.phone_e164, '+') end) = ?"
        )
        parameter = number
    else:
        if ":" not in value:
            raise UsageError(f"--record takes <source_system>:<source_record_id>, e.g. sales:1042 (got {value!r})")
        condition, parameter = "records.record_key = ?", value
    rows = con.execute(
        f"""
        select distinct map.customer_id
        from {warehouse.STAGING}.int_identity_records as records
        inner join {warehouse.MARTS}.customer_identity_map as map on map.record_key = records.record_key
        where {condition}
        order by 1
        """,
        [parameter],
    ).fetchall()
    if not rows:
        raise SubjectNotFound(f"no customer has the {kind} {value}")
    if len(rows) > 1:
        ids = ", ".join(row[0] for row in rows)
        raise AmbiguousSubject(
            f"the {kind} {value} belongs to {len(rows)} customers ({ids}): a household or shared address. Check who"
            " made the request and name that customer with --customer <ID>"
        )
    return Subject(rows[0][0], f"{kind} {value}")


def member_records(con: duckdb.DuckDBPyConnection, customer_id: str) -> list[str]:
    """The customer's source records (record keys), as the marts of the last run have them."""
    rows = con.execute(
        f"select record_key from {warehouse.MARTS}.customer_identity_map where customer_id = ? order by 1",
        [customer_id],
    ).fetchall()
    return [row[0] for row in rows]


def access_export(con: duckdb.DuckDBPyConnection, config: Config, subject: Subject) -> dict[str, Any]:
    """Everything held about the subject, as one JSON-ready document."""
    customer_id = subject.customer_id
    members = _rows(
        con,
        f"select * from {warehouse.MARTS}.customer_identity_map where customer_id = ? order by record_key",
        [customer_id],
    )
    marts = {
        table: _rows(
            con,
            f"select * from {warehouse.MARTS}.{warehouse.quote_identifier(table)} where customer_id = ?",
            [customer_id],
        )
        for table in _customer_tables(con)
    }
    return {
        "format": EXPORT_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": config.project,
        "subject": {"customer_id": customer_id, "identified_by": subject.found_by},
        "purposes": [purpose.model_dump() for purpose in config.privacy.purposes],
        "why_these_records": {
            "members": members,
            "links": marts.pop("customer_match_evidence", []),
            "explanation": (
                "Each source record below belongs to this customer because identity resolution linked it to another"
                " of the customer's records (the links, with the evidence per field and its match weight) or a"
                " person decided so (decisions). A record without links is the customer's only record."
            ),
        },
        "source_records": _source_records(con, config, [(m["source_system"], m["source_record_id"]) for m in members]),
        "consent_statements": _rows(
            con,
            f"""
            select events.*
            from {warehouse.STAGING}.int_consent_events as events
            inner join {warehouse.MARTS}.customer_identity_map as map
                on map.source_system = events.source_system and map.source_record_id = events.source_record_id
            where map.customer_id = ?
            order by events.changed_at, events.consent_event_id
            """,
            [customer_id],
        ),
        "marts": marts,
    }


def _customer_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every marts table keyed by customer (the facts, touchpoints, golden record and derived marts of any project)."""
    return [
        row[0]
        for row in con.execute(
            """
            select table_name from information_schema.columns
            where table_schema = ? and column_name = 'customer_id'
            order by table_name
            """,
            [warehouse.MARTS],
        ).fetchall()
        if row[0] != "customer_identity_map"  # the members, listed under why_these_records
    ]


def _source_records(
    con: duckdb.DuckDBPyConnection, config: Config, records: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every delivered version of each member record, from every identity table of its source system, with what
    the quality gate said about the row (held in quarantine: its reason)."""
    wanted: dict[str, list[str]] = {}
    for system, record_id in records:
        wanted.setdefault(system, []).append(record_id)
    found: list[dict[str, Any]] = []
    for system, source, mapping in config.identity_mappings():
        if system in wanted and warehouse.table_exists(con, source.raw_schema, mapping.table):
            found.extend(_raw_versions(con, system, source, mapping, wanted[system]))
    return found


def _raw_versions(
    con: duckdb.DuckDBPyConnection, system: str, source: SourceConfig, mapping: IdentityMapping, ids: list[str]
) -> list[dict[str, Any]]:
    raw = f"{source.raw_schema}.{warehouse.quote_identifier(mapping.table)}"
    quarantine = f"{warehouse.QUARANTINE}.{warehouse.quote_identifier(f'{source.name}__{mapping.table}')}"
    held = warehouse.table_exists(con, warehouse.QUARANTINE, f"{source.name}__{mapping.table}")
    verdict = (
        f"""(select string_agg(q._c360_reason, '; ') from {quarantine} as q
             where q._c360_batch_id = source_rows.{warehouse.BATCH_ID}
               and q._c360_row_number = source_rows.{warehouse.ROW_NUMBER}
               and q._c360_released_at is null)"""
        if held
        else "null"
    )
    rows = _rows(
        con,
        f"""
        select '{system}' as source_system, cast(({mapping.source_record_id}) as varchar) as source_record_id,
               '{source.name}.{mapping.table}' as source_table, {verdict} as held_in_quarantine_because,
               to_json(source_rows) as delivered_row
        from {raw} as source_rows
        where cast(({mapping.source_record_id}) as varchar) in (select unnest(?::varchar[]))
        order by source_rows.{warehouse.LOADED_AT}, source_rows.{warehouse.BATCH_ID}, source_rows.{warehouse.ROW_NUMBER}
        """,
        [ids],
    )
    for row in rows:
        row["delivered_row"] = json.loads(row["delivered_row"])
    return rows


def write_export(document: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """`<customer_id>-access-<date>.json` and `.html` in out_dir (created); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{document['subject']['customer_id']}-access-{document['created_at'][:10]}"
    json_path, html_path = out_dir / f"{stem}.json", out_dir / f"{stem}.html"
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=_json_value), encoding="utf-8")
    html_path.write_text(render_html(document), encoding="utf-8")
    return json_path, html_path


def render_html(document: dict[str, Any]) -> str:
    """A readable rendering of the export: one section per part, one table per list of rows."""
    subject = document["subject"]
    sections = [
        ("Why these records belong to you", document["why_these_records"]["explanation"], []),
        ("Your records in each system", "", document["why_these_records"]["members"]),
        ("How the records were linked", "", document["why_these_records"]["links"]),
        ("Every delivered version of your records", "", document["source_records"]),
        ("Your consent statements", "", document["consent_statements"]),
        *((f"{table.replace('_', ' ')} ({len(rows)})", "", rows) for table, rows in document["marts"].items() if rows),
    ]
    purposes = "".join(
        f"<tr><td>{_h(p['name'])}</td><td>{_h(p['description'])}</td><td>{_h(p['legal_basis'])}</td></tr>"
        for p in document["purposes"]
    )
    body = "".join(
        f"<section><h2>{_h(title)}</h2>{f'<p>{_h(text)}</p>' if text else ''}{_table(rows)}</section>"
        for title, text, rows in sections
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Access export {_h(subject['customer_id'])}</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;"
        "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}"
        "th{background:#f3f3f3}code{font-size:12px;white-space:pre-wrap}</style></head><body>"
        f"<h1>Personal data held about customer {_h(subject['customer_id'])}</h1>"
        f"<p>Project {_h(document['project'])}, created {_h(document['created_at'])}, identified by"
        f" {_h(subject['identified_by'])}. The same content, machine-readable: the JSON file beside this one.</p>"
        "<section><h2>Why we process it</h2><table><tr><th>purpose</th><th>what for</th><th>legal basis</th></tr>"
        f"{purposes}</table></section>{body}</body></html>"
    )


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{_h(c)}</th>" for c in columns)
    cells = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{cells}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"<code>{_h(json.dumps(value, ensure_ascii=False, default=_json_value))}</code>"
    return "" if value is None else _h(_json_value(value) if not isinstance(value, str) else value)


def _h(value: Any) -> str:
    return html.escape(str(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, parameters)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- erasure (Art. 17) ------------------------------------------------------------------------------------------

ERASE_KEYS = "_c360_erase_keys"
ERASE_MARKS = "_c360_erase_marks"
_MAX_ROUNDS = 10  # parent → child → grandchild …: a deeper chain of `references` is not a person's data model


@dataclass
class ErasureReport:
    """What an erasure removed where, without saying whose data it was (the log keeps this, never the person)."""

    erasure_id: str
    subject: str  # a pseudonym of the customer ID
    records: int = 0
    raw_rows: dict[str, int] = field(default_factory=dict)  # <source>.<table> → rows deleted
    quarantine_rows: dict[str, int] = field(default_factory=dict)
    tombstones: int = 0
    snapshots: dict[str, int] = field(default_factory=dict)  # snapshot file → rows removed
    audit_entries: int = 0
    decisions: int = 0
    review_answers: int = 0
    requests: int = 0  # restrictions and objections about the records

    def summary(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items()}

    def render(self) -> str:
        places = [
            *(f"  raw {table}: {count:,} row(s)" for table, count in sorted(self.raw_rows.items())),
            *(f"  quarantine {table}: {count:,} row(s)" for table, count in sorted(self.quarantine_rows.items())),
            *(f"  snapshot {name}: {count:,} row(s)" for name, count in sorted(self.snapshots.items())),
        ]
        return "\n".join(
            [
                f"erasure {self.erasure_id} (subject {self.subject}): {self.records} source record(s),"
                f" {self.tombstones} tombstone(s) against re-delivery",
                *places,
                f"  audit log entries pseudonymised: {self.audit_entries:,}; decisions deleted: {self.decisions:,};"
                f" review answers deleted: {self.review_answers:,}; restrictions and objections deleted:"
                f" {self.requests:,}",
            ]
        )


def pseudonym(key: str, customer_id: str) -> str:
    return "erased-" + tombstones.keyed_hash(key, customer_id)[:12]


@dataclass
class Erased:
    report: ErasureReport
    record_keys: list[str]
    customer_ids: list[str]  # the customer and every ID merged into it


def erase_rows(config: Config, subject: Subject, erasure_id: str) -> Erased:
    """Delete every raw and quarantined row of the subject's records, and of the rows that reference them
    (`references` in the configuration, followed to a fixpoint), after writing their tombstones; forget the
    decisions and review answers about the records. Resolution, marts and publishing then run as usual and drop
    what was derived from the rows (pipeline.erase)."""
    key = tombstones.project_key(config.state_dir, create=True)
    assert key is not None
    report = ErasureReport(erasure_id, pseudonym(key, subject.customer_id))
    with warehouse.session(config) as con:
        record_keys = member_records(con, subject.customer_id)
        report.records = len(record_keys)
        customer_ids = [subject.customer_id]
        while merged := [
            row[0]
            for row in con.execute(
                f"select customer_id from {warehouse.MARTS}.customer_ids where merged_into in"
                " (select unnest($ids::varchar[])) and customer_id not in (select unnest($ids::varchar[]))",
                {"ids": customer_ids},
            ).fetchall()
        ]:
            customer_ids += merged
        con.execute(f"create or replace temp table {ERASE_KEYS} (key_hash varchar primary key)")
        con.execute(
            f"insert into {ERASE_KEYS} select distinct {tombstones.keyed_hash_sql('k')} from unnest($keys::varchar[]) as t(k)",
            {"keys": record_keys, "tombstone_key": key},
        )
        con.execute(
            f"create or replace temp table {ERASE_MARKS} (source varchar, table_name varchar, batch_id varchar, row_number bigint)"
        )
        tables = [
            (source, table.name)
            for source in config.sources
            for table in source.tables
            if warehouse.table_exists(con, source.raw_schema, table.name)
        ]
        for _round in range(_MAX_ROUNDS):
            if not sum(_mark_round(con, config, source, table, key) for source, table in tables):
                break
        hashes = [row[0] for row in con.execute(f"select key_hash from {ERASE_KEYS}").fetchall()]
        # the tombstones first: should the deletion below fail, a re-delivery is already suppressed
        report.tombstones = tombstones.add(config.state_dir, erasure_id, hashes)
        con.execute("begin transaction")
        try:
            for source, table in tables:
                _delete_marked(con, source, table, report)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    report.decisions, report.review_answers = decisions.forget_records(config.state_dir, record_keys)
    report.requests = tombstones.forget_requests(config.state_dir, record_keys)
    return Erased(report, record_keys, customer_ids)


def _mark_round(con: duckdb.DuckDBPyConnection, config: Config, source: SourceConfig, table: str, key: str) -> int:
    """Mark the table's rows that one of the erasure's keys matches; add the keys they produce. Returns new marks."""
    raw = f"{source.raw_schema}.{warehouse.quote_identifier(table)}"
    keys = tombstones.bindable_keys(con, raw, tombstones.suppression_keys(config, source, table))
    if not keys:
        return 0
    con.execute(
        f"""
        create or replace temp table _c360_erase_new as
        select source_rows.*
        from {raw} as source_rows
        where {tombstones.matches_sql(keys, ERASE_KEYS)}
          and not exists (
              select 1 from {ERASE_MARKS} as marks
              where marks.source = $source and marks.table_name = $table
                and marks.batch_id = source_rows.{warehouse.BATCH_ID}
                and marks.row_number = source_rows.{warehouse.ROW_NUMBER}
          )
        """,
        {"tombstone_key": key, "source": source.name, "table": table},
    )
    new = scalar(con, "select count(*) from _c360_erase_new")
    if new:
        con.execute(
            f"insert into {ERASE_MARKS} select $source, $table, {warehouse.BATCH_ID}, {warehouse.ROW_NUMBER}"
            " from _c360_erase_new",
            {"source": source.name, "table": table},
        )
        produced = tombstones.bindable_keys(con, "_c360_erase_new", tombstones.produced_keys(config, source, table))
        for produced_key in produced:
            con.execute(
                f"insert or ignore into {ERASE_KEYS} select distinct {tombstones.keyed_hash_sql(produced_key.sql())}"
                f" from _c360_erase_new as source_rows where ({produced_key.sql()}) is not null",
                {"tombstone_key": key},
            )
    return int(new)


def _delete_marked(con: duckdb.DuckDBPyConnection, source: SourceConfig, table: str, report: ErasureReport) -> None:
    marked = f"""(select batch_id, row_number from {ERASE_MARKS} where source = '{source.name}' and table_name = '{table}')"""
    raw = f"{source.raw_schema}.{warehouse.quote_identifier(table)}"
    deleted = scalar(con, f"delete from {raw} where ({warehouse.BATCH_ID}, {warehouse.ROW_NUMBER}) in {marked}")
    if deleted:
        report.raw_rows[f"{source.name}.{table}"] = int(deleted)
    held = f"{source.name}__{table}"
    if warehouse.table_exists(con, warehouse.QUARANTINE, held):
        removed = scalar(
            con,
            f"delete from {warehouse.QUARANTINE}.{warehouse.quote_identifier(held)}"
            f" where (_c360_batch_id, _c360_row_number) in {marked}",
        )
        if removed:
            report.quarantine_rows[f"{source.name}.{table}"] = int(removed)


def log_erasure(config: Config, report: ErasureReport, reason: str, requested_by: str) -> Path:
    """The erasure log entry (state/privacy.sqlite) and its report file: what was removed where, by whom, why."""
    erasure = tombstones.Erasure(
        report.erasure_id,
        datetime.now(UTC).isoformat(timespec="seconds"),
        requested_by,
        reason,
        report.subject,
        report.summary(),
    )
    tombstones.log_erasure(config.state_dir, erasure)
    folder = config.data_path / "privacy" / "erasures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report.erasure_id}.json"
    path.write_text(json.dumps(erasure.__dict__, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# -- restriction (Art. 18) and objection (Art. 21) -----------------------------------------------------------------


def sync_requests(con: duckdb.DuckDBPyConnection, config: Config) -> int:
    """Copy the restrictions and objections in force into meta.privacy_requests for the marts build (one row per
    request and record). Returns the requests in force."""
    requests = tombstones.requests_in_force(config.state_dir)
    con.execute(f"delete from {warehouse.META}.privacy_requests")
    rows = [
        (request.request_id, request.kind, request.purpose, record_key, request.requested_at)
        for request in requests
        for record_key in request.record_keys
    ]
    if rows:
        con.executemany(f"insert into {warehouse.META}.privacy_requests values (?, ?, ?, ?, ?)", rows)
    return len(requests)
