"""The serving store: everything the customer page shows, one compressed JSON document per customer.

Built from the snapshot together with the search index (same SQLite file, table `profiles`), so that a customer
page is one point read (tens of microseconds) instead of ten DuckDB lookups (1-5 ms each at a million customers,
more when the snapshot's tables are not sorted by customer_id). Each part is read from one marts table, only the
columns the console shows, newest first, serialised and joined into one JSON document per customer by DuckDB;
Python only compresses the documents (zlib with a shared dictionary) and inserts them.

    profiles(customer_id primary key, data)   data = zlib(JSON {"dim": {...}, "c360": {...}, "nba": {...},
        "consent": [...], "fct_orders": [...20], "fct_orders__count": n, "fct_tickets": ..., "fct_marketing_events": ...,
        "fct_touchpoints": [... all, newest first], "members": [...], "evidence": [...]})
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from customer360.serving.models import CampaignEvent, ConsentStatement, Member, Order, Ticket, Touchpoint

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
_ROWS_PER_BUCKET = 2_000_000  # rows of all parts per bucket: their JSON text, aggregated, fits in 4 GB
_INSERT_BATCH = 5_000
_COMPRESS_CHUNK = 500
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
    Part(
        "consent",
        "customer_consent",
        ("customer_id", *ConsentStatement.model_fields),
        "purpose, consent_channel",
    ),
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


def _part_query(part: Part, columns: list[tuple[str, str]], source: str, bucket: str) -> str:
    """Per customer of one bucket: the part as JSON text (a single object, or the newest rows as an array) and its
    row count. DuckDB serialises and orders; the bucket keeps the ordered aggregates' state small."""
    rows = (
        f"select customer_id, to_json({_select_list(columns)})::varchar as doc"
        + (f", row_number() over (partition by customer_id order by {part.order}) as rn" if part.order else "")
        + f" from {source} where customer_id is not null and {bucket}"
    )
    if part.order is None:
        return f"select customer_id, '\"{part.key}\":' || min(doc) as piece from ({rows}) group by customer_id"
    kept = f" filter (where rn <= {int(part.limit)})" if part.limit else ""
    return (
        f"select customer_id, '\"{part.key}\":[' || string_agg(doc, ',' order by rn){kept}"
        f" || '],\"{part.key}__count\":' || count(*) as piece from ({rows}) group by customer_id"
    )


def _document_query(parts: list[tuple[Part, list[tuple[str, str]]]], schema: str, bucket: str) -> str:
    """One JSON document per customer of the bucket, sorted by customer_id (cheap inserts into SQLite's B-tree)."""
    pieces = [
        f"p{i} as ({_part_query(part, cols, f'snap.{schema}.{part.table}', bucket)})"
        for i, (part, cols) in enumerate(parts)
    ]
    ids = " union ".join(f"select customer_id from p{i}" for i in range(len(parts)))
    joins = " ".join(f"left join p{i} using (customer_id)" for i in range(len(parts)))
    document = "concat_ws(',', " + ", ".join(f"p{i}.piece" for i in range(len(parts))) + ")"
    return (
        f"with {', '.join(pieces)} select customer_id, '{{' || {document} || '}}' as document "
        f"from ({ids}) as ids {joins} order by customer_id"
    )


def build_profiles(
    con: Any, db: sqlite3.Connection, schema: str, columns: dict[str, list[tuple[str, str]]], only: str | None = None
) -> int:
    """Write `profiles` into the SQLite index from the snapshot attached to `con` as `snap`.

    DuckDB builds each customer's whole document, a bucket of customers at a time (hash of customer_id, so that
    the per-customer lists of one bucket fit in memory); Python only compresses and inserts. With `only` (a temp
    table of customer_ids), only those customers' documents are written, into an existing store and compressed
    with its dictionary (their old documents must be gone).
    """
    if only:
        zdict = load_dictionary(db)
        primed: Any = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, *([zdict] if zdict else []))
        mine = f"customer_id in (select customer_id from {only})"
    else:
        db.execute("create table profiles (customer_id text primary key, data blob not null) without rowid")
        db.execute("create table profile_dictionary (id integer primary key, zdict blob not null)")
        primed = None  # a zlib compressor primed with the dictionary, once the first documents are read
        mine = "true"
    parts: list[tuple[Part, list[tuple[str, str]]]] = []
    for part in PARTS:
        present = columns.get(part.table)
        if present:
            wanted = present if part.columns == ("*",) else [c for c in present if c[0] in set(part.columns)]
            parts.append((part, wanted))
    if not parts:
        return 0
    rows = sum(
        con.execute(f"select count(*) from snap.{schema}.{part.table} where {mine}").fetchone()[0] for part, _ in parts
    )
    buckets = max(1, -(-rows // _ROWS_PER_BUCKET))
    total = 0
    # zlib releases the GIL: compressing on every core keeps the build from waiting on one
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for bucket in range(buckets):
            where = f"hash(customer_id) % {buckets} = {bucket} and {mine}" if buckets > 1 else mine
            cursor = con.execute(_document_query(parts, schema, where))
            while documents := cursor.fetchmany(_INSERT_BATCH):
                if primed is None:
                    # Small documents compress poorly alone: a dictionary of what they have in common (keys, values).
                    sample = "".join(document for _, document in documents[:_DICTIONARY_SAMPLE]).encode()
                    zdict = sample[-_DICTIONARY_BYTES:]
                    db.execute("insert into profile_dictionary values (1, ?)", (zdict,))
                    primed = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
                chunks = [
                    documents[start : start + _COMPRESS_CHUNK] for start in range(0, len(documents), _COMPRESS_CHUNK)
                ]
                for compressed in pool.map(partial(_compress_all, primed=primed), chunks):
                    db.executemany("insert into profiles values (?, ?)", compressed)
                total += len(documents)
    if primed is None:
        db.execute("insert into profile_dictionary values (1, ?)", (b"",))
    return total


def _compress_all(documents: list[tuple[str, str]], primed: Any) -> list[tuple[str, bytes]]:
    """Compress each document with the dictionary: copying a compressor primed with it is ten times faster than
    priming a new one per document (the dictionary is larger than most documents)."""
    compressed = []
    for customer_id, document in documents:
        compressor = primed.copy()
        compressed.append((customer_id, compressor.compress(document.encode()) + compressor.flush()))
    return compressed


def load_dictionary(db: sqlite3.Connection) -> bytes:
    row = db.execute("select zdict from profile_dictionary where id = 1").fetchone()
    return bytes(row[0]) if row else b""


def read_profile(db: sqlite3.Connection, customer_id: str, zdict: bytes) -> dict[str, Any] | None:
    row = db.execute("select data from profiles where customer_id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    decompressor = zlib.decompressobj(15, zdict) if zdict else zlib.decompressobj(15)
    return json.loads(decompressor.decompress(row[0]) + decompressor.flush())  # type: ignore[no-any-return]
