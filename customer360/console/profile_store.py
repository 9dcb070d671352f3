"""The serving store: everything the customer page shows, one compressed JSON document per customer.

Built from the snapshot together with the search index (same SQLite file, table `profiles`), so that a customer
page is one point read (tens of microseconds) instead of ten DuckDB lookups (1-5 ms each at a million customers,
more when the snapshot's tables are not sorted by customer_id). Each part is read from one marts table, only the
columns the console shows, newest first, and serialised by DuckDB; Python merges the parts by customer_id (every
part is sorted by it) and compresses the document.

    profiles(customer_id primary key, data)   data = zlib(JSON {"dim": {...}, "c360": {...}, "nba": {...},
        "fct_orders": [...20], "fct_orders__count": n, "fct_tickets": ..., "fct_marketing_events": ...,
        "fct_touchpoints": [... all, newest first], "members": [...], "evidence": [...]})
"""

from __future__ import annotations

import heapq
import json
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from customer360.console.models import CampaignEvent, Member, Order, Ticket, Touchpoint

GOLDEN_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone_e164",
    "date_of_birth",
    "street",
    "postcode",
    "city",
    "country_code",
)
SUMMARY_FIELDS = (
    "lifetime_value",
    "order_count",
    "last_order_date",
    "average_order_value",
    "open_ticket_count",
    "ticket_count",
    "last_contact_at",
    "last_contact_channel",
    "average_csat",
    "email_opens_90d",
    "email_clicks_90d",
    "source_record_count",
    "complaint_count",
    "returned_order_count",
)
RISK_FLAGS = ("has_open_complaint", "is_value_dropping", "has_recent_bad_experience", "is_email_bouncing")
CONSENT_FIELDS = (
    "is_newsletter_subscribed",
    "newsletter_consent_status",
    "newsletter_consent_changed_at",
    "newsletter_consent_source",
    "is_promotion_allowed",
)
FACTS_SHOWN = 20
_DICTIONARY_SAMPLE = 300
_DICTIONARY_BYTES = 32 * 1024
EVIDENCE_COLUMNS = (
    "record_key_l",
    "record_key_r",
    "match_probability",
    "pair_match_weight",
    "comparison",
    "level_label",
    "match_weight",
)


@dataclass(frozen=True)
class Part:
    key: str  # key in the document
    table: str
    columns: tuple[str, ...]  # ("*",) = every column
    order: str | None = None  # within a customer; None = a single row
    limit: int | None = None  # keep this many (and the count), None = all


PARTS = (
    Part(
        "dim",
        "dim_customer",
        (
            "customer_id",
            "full_name",
            *GOLDEN_FIELDS,
            *(f"{f}_source" for f in GOLDEN_FIELDS),
            "source_systems",
            "source_record_count",
            *CONSENT_FIELDS,
        ),
    ),
    Part(
        "c360",
        "customer_360",
        (
            "customer_id",
            "full_name",
            *SUMMARY_FIELDS,
            *RISK_FLAGS,
            *CONSENT_FIELDS,
            *GOLDEN_FIELDS,
            "source_systems",
        ),
    ),
    Part("nba", "next_best_action", ("*",)),
    Part("fct_orders", "fct_orders", tuple(Order.model_fields), "ordered_at desc nulls last, order_id", FACTS_SHOWN),
    Part(
        "fct_tickets", "fct_tickets", tuple(Ticket.model_fields), "created_at desc nulls last, ticket_id", FACTS_SHOWN
    ),
    Part(
        "fct_marketing_events",
        "fct_marketing_events",
        tuple(CampaignEvent.model_fields),
        "occurred_at desc nulls last, event_id",
        FACTS_SHOWN,
    ),
    Part(
        "fct_touchpoints",
        "fct_touchpoints",
        tuple(Touchpoint.model_fields),
        "occurred_at desc nulls last, touchpoint_id",
    ),
    Part("members", "customer_identity_map", ("customer_id", *Member.model_fields), "source_system, source_record_id"),
    Part(
        "evidence",
        "customer_match_evidence",
        EVIDENCE_COLUMNS,
        "pair_match_weight desc, record_key_l, record_key_r, comparison",
    ),
)


def _select_list(columns: list[tuple[str, str]]) -> str:
    """A DuckDB struct of the columns; timestamps as ISO 8601 text that Python and pydantic read back."""
    fields = []
    for name, data_type in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if data_type.startswith("TIMESTAMP WITH TIME ZONE"):
            expression = f"strftime({quoted}, '%Y-%m-%dT%H:%M:%S') || '+00:00'"
        elif data_type.startswith("TIMESTAMP"):
            expression = f"strftime({quoted}, '%Y-%m-%dT%H:%M:%S')"
        else:
            expression = quoted
        fields.append(f"'{name}': {expression}")
    return "{" + ", ".join(fields) + "}"


def _part_query(part: Part, columns: list[tuple[str, str]], source: str) -> str:
    """Rows as JSON text, sorted by customer and then newest first. A sort spills to disk when it must; grouping
    into lists in DuckDB would hold every customer's lists in memory at once."""
    order = f", {part.order}" if part.order else ""
    return (
        f"select customer_id, to_json({_select_list(columns)})::varchar from {source} "
        f"where customer_id is not null order by customer_id{order}"
    )


def _stream(cursor: Any, index: int, batch: int = 20_000) -> Iterator[tuple[str, int, str]]:
    while rows := cursor.fetchmany(batch):
        for customer_id, data in rows:
            yield customer_id, index, data


def build_profiles(con: Any, db: sqlite3.Connection, schema: str, columns: dict[str, list[tuple[str, str]]]) -> int:
    """Write `profiles` into the SQLite index from the snapshot attached to `con` as `snap`."""
    db.execute("create table profiles (customer_id text primary key, data blob not null) without rowid")
    db.execute("create table profile_dictionary (id integer primary key, zdict blob not null)")
    parts: list[Part] = []
    streams = []
    cursors = []
    for part in PARTS:
        present = columns.get(part.table)
        if not present:
            continue
        wanted = present if part.columns == ("*",) else [c for c in present if c[0] in set(part.columns)]
        cursor = con.cursor()
        cursor.execute("set enable_progress_bar = false")
        cursor.execute(_part_query(part, wanted, f"snap.{schema}.{part.table}"))
        cursors.append(cursor)
        streams.append(_stream(cursor, len(parts)))
        parts.append(part)
    total = 0
    batch: list[tuple[str, bytes]] = []
    pending: list[tuple[str, bytes]] = []  # the first documents, uncompressed, to train the dictionary on
    zdict: bytes | None = None
    current: str | None = None
    rows: list[list[str]] = [[] for _ in parts]
    counts = [0] * len(parts)

    def flush() -> None:
        nonlocal total
        if current is None:
            return
        pieces = []
        for index, part in enumerate(parts):
            if not counts[index]:
                continue
            if part.order is None:
                pieces.append(f'"{part.key}":{rows[index][0]}')
            else:
                pieces.append(f'"{part.key}":[{",".join(rows[index])}]')
                pieces.append(f'"{part.key}__count":{counts[index]}')
            rows[index].clear()
            counts[index] = 0
        document = ("{" + ",".join(pieces) + "}").encode()
        total += 1
        if zdict is None:
            pending.append((current, document))
            if len(pending) >= _DICTIONARY_SAMPLE:
                train()
            return
        batch.append((current, _compress(document, zdict)))
        if len(batch) >= 5_000:
            db.executemany("insert into profiles values (?, ?)", batch)
            batch.clear()

    def train() -> None:
        """Small documents compress poorly alone: a dictionary of what they have in common (keys, values) helps."""
        nonlocal zdict
        zdict = b"".join(document for _, document in pending)[-_DICTIONARY_BYTES:]
        db.execute("insert into profile_dictionary values (1, ?)", (zdict,))
        batch.extend((cid, _compress(document, zdict)) for cid, document in pending)
        pending.clear()

    try:
        for customer_id, index, data in heapq.merge(*streams, key=lambda item: item[0]):
            if customer_id != current:
                flush()
                current = customer_id
            counts[index] += 1
            limit = parts[index].limit
            if parts[index].order is None:
                if counts[index] == 1:
                    rows[index].append(data)
            elif limit is None or counts[index] <= limit:
                rows[index].append(data)
        flush()
        if zdict is None:
            train()
        if batch:
            db.executemany("insert into profiles values (?, ?)", batch)
    finally:
        for cursor in cursors:
            cursor.close()
    return total


def _compress(document: bytes, zdict: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return compressor.compress(document) + compressor.flush()


def load_dictionary(db: sqlite3.Connection) -> bytes:
    row = db.execute("select zdict from profile_dictionary where id = 1").fetchone()
    return bytes(row[0]) if row else b""


def read_profile(db: sqlite3.Connection, customer_id: str, zdict: bytes) -> dict[str, Any] | None:
    row = db.execute("select data from profiles where customer_id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    decompressor = zlib.decompressobj(15, zdict) if zdict else zlib.decompressobj(15)
    return json.loads(decompressor.decompress(row[0]) + decompressor.flush())  # type: ignore[no-any-return]
