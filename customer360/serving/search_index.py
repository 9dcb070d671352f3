"""The console's search index: a small SQLite file built once per published snapshot, read with point lookups.

Why a sidecar: an agent types a name, phone number, e-mail or ID and expects an answer in well under a second, at
a million customers and with many agents at once. DuckDB is built for scans; SQLite's B-trees answer a key lookup
in microseconds. The index holds, per customer, search keys and a short display record:

    keys(key, customer_id)      one row per search key (covering index on key, customer_id)
        n:<token>               loose name token (Müller, Mueller, Muller → n:muller), every name of every record
        k:<code>                Kölner Phonetik of a name token (Mueler, Müller → k:657)
        nk:<code>_<code>        phonetic code pairs of two tokens of one name (Anna Müller → nk:06_657, nk:657_06)
        em:<email>              every e-mail (golden and of every source record), lower case
        ph:<number>             national significant number of every phone (0151/2345678 → ph:1512345678)
        id:<customer id>        customer IDs, merged ones pointing to the surviving customer
    ids(key, customer_id, label) the numbers of the source systems, with what they are: one number may be a shop
                                customer number in one system and a ticket number in another
        rec:<id>                source record IDs (10234, nl-001234, nl001234, sales:10234) · "sales record"
        ref:<reference>         numbers people quote: touchpoint streams' `reference` (an order number) and the
                                ids of orders and tickets · "sales order", "service ticket"
    customers(customer_id, ...) the golden display record and all loose name tokens (for Jaro-Winkler ranking)
    meta(key, value)            which snapshot it was built from, when, counts

Prefix queries (type-ahead: "muel", "anna.m", "0151 23") are B-tree range scans on the same keys. Candidates
are ranked with Jaro-Winkler on the loose name tokens. The index is built by `build_search_index` at publish
time (as `<snapshot>.search.sqlite` next to the snapshot) or by the console when it opens a snapshot that has
none (cached under state/console/search/).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer360.serving.profile_store import build_profiles, load_dictionary, read_profile
from customer360.serving.text import (
    cologne,
    fold,
    jaro_winkler,
    looks_like_phone,
    loosen,
    name_tokens,
    national_number,
    word_tokens,
)

log = logging.getLogger(__name__)

INDEX_VERSION = "7"  # 7: name tokens in a fixed order (a rewritten index equals a full build)
SIDECAR_SUFFIX = ".search.sqlite"
_CUSTOMER_ID = re.compile(r"^c\d{3,}$", re.IGNORECASE)
_BATCH = 50_000


class IndexUnavailable(RuntimeError):
    """The snapshot has no identity tables to index (yet)."""


def sidecar_path(snapshot: Path) -> Path:
    """Where a publisher puts the index of a snapshot: beside it."""
    return snapshot.with_name(snapshot.name + SIDECAR_SUFFIX)


def snapshot_fingerprint(snapshot: Path) -> str:
    stat = snapshot.stat()
    return f"{snapshot.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


# -- building ---------------------------------------------------------------------------------------------------


@dataclass
class BuildStats:
    customers: int = 0
    keys: int = 0
    profiles: int = 0
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)
    changed: int | None = None  # customers rewritten in a copy of the previous index; None: built in full


def build_search_index(
    snapshot: Path,
    target: Path,
    schema: str = "marts",
    threads: int | None = None,
    previous: Path | None = None,
) -> BuildStats:
    """Build the search index of a snapshot (a DuckDB file with the marts) into `target`, atomically.

    Reads only: the snapshots are attached read-only. Written to a temporary file first and renamed into place, so
    a reader never sees a half-built index. Call it from publish (before the pointer flips) to make a new snapshot
    searchable the moment it is published.

    With `previous` (the snapshot published before, whose index lies beside it), the index is a copy of that one
    in which only the customers whose rows differ between the two snapshots are rewritten (`BuildStats.changed`).
    It is built in full instead when that index is not of that snapshot or of this version, when the marts'
    columns changed, or when so many customers changed that a full build costs less.
    """
    import duckdb

    started = time.perf_counter()
    stats = BuildStats()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        if threads:
            con.execute(f"set threads = {int(threads)}")
        con.execute("set preserve_insertion_order = false")
        con.execute("set enable_progress_bar = false")
        con.execute("set memory_limit = '4GB'")
        con.execute(f"set temp_directory = '{_sql_string(str(target.parent / '.duckdb_tmp'))}'")
        con.execute(f"attach '{_sql_string(str(snapshot))}' as snap (read_only)")
        tables = _tables(con, "snap", schema)
        if "customer_identity_map" not in tables:
            raise IndexUnavailable(f"{snapshot} has no {schema}.customer_identity_map to index")
        stats.sources = sorted(tables & {"dim_customer", "customer_identity_map", "customer_ids", "fct_touchpoints"})
        base = _reusable_index(con, previous, schema) if previous is not None else None
        if base is not None and previous is not None and _changed_customers(con, schema, stats, previous):
            shutil.copyfile(base, tmp)
            db = sqlite3.connect(tmp)
            try:
                # deleted rows are overwritten, so what a customer changed does not linger in the file's free pages
                db.executescript("pragma journal_mode = off; pragma synchronous = off; pragma secure_delete = on;")
                _rewrite_changed(con, db, schema, stats)
                _write_meta(db, snapshot, stats)
                db.commit()
            finally:
                db.close()
        else:
            stats.changed = None
            db = sqlite3.connect(tmp)
            try:
                db.executescript(_SCHEMA_SQL)
                customers_sql, keys_sql, ids_sql = _index_rows(con, "snap", schema, only=None)
                stats.customers = _copy(
                    con.execute(customers_sql), db, "insert into customers values (?,?,?,?,?,?,?,?,?,?)"
                )
                stats.keys = _copy(con.execute(keys_sql), db, "insert into keys values (?, ?)")
                stats.keys += _copy(con.execute(ids_sql), db, "insert into ids values (?, ?, ?)")
                stats.profiles = build_profiles(con, db, schema, _table_columns(con, schema))
                _write_meta(db, snapshot, stats)
                db.commit()
                db.execute("analyze")
                db.commit()
            finally:
                db.close()
        os.replace(tmp, target)
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    stats.seconds = time.perf_counter() - started
    log.info(
        "search index %s: %s customers, %s keys, %s profiles in %.1f s (%s)",
        target,
        stats.customers,
        stats.keys,
        stats.profiles,
        stats.seconds,
        "full build" if stats.changed is None else f"{stats.changed} changed customers rewritten",
    )
    return stats


_SCHEMA_SQL = """
    pragma journal_mode = off;
    pragma synchronous = off;
    pragma page_size = 8192;
    create table meta (key text primary key, value text);
    create table customers (
        customer_id text primary key, full_name text, email text, phone_e164 text, date_of_birth text,
        postcode text, city text, source_systems text, record_count integer, tokens text
    ) without rowid;
    create table keys (key text not null, customer_id text not null, primary key (key, customer_id)) without rowid;
    create table ids (
        key text not null, customer_id text not null, label text not null, primary key (key, customer_id, label)
    ) without rowid;
"""

# Above this share of changed customers, rewriting them costs about what a full build costs.
_MAX_CHANGED_SHARE = 0.5


def _reusable_index(con: Any, previous: Path, schema: str) -> Path | None:
    """The index beside `previous` if it was built from exactly that file by this version, with it attached as
    `prev` and the same marts' columns as the new snapshot; else None (build in full)."""
    index = sidecar_path(previous)
    if not previous.is_file() or not index.is_file():
        return None
    meta = read_meta(index)
    if meta.get("version") != INDEX_VERSION or meta.get("fingerprint") != snapshot_fingerprint(previous):
        return None
    con.execute(f"attach '{_sql_string(str(previous))}' as prev (read_only)")
    if _table_columns(con, schema, "prev") != _table_columns(con, schema):
        return None
    return index


def _changed_customers(con: Any, schema: str, stats: BuildStats, previous: Path) -> bool:
    """Temp table `changed_customers`: every customer with a row added, removed or changed in any table with a
    customer_id, between `prev` and `snap` (a digest of each customer's rows per table). A snapshot that publishing
    updated from `previous` says which customers it rewrote in which tables (meta.updated_from): only the other
    tables are compared. False when too many changed for a rewrite to pay."""
    recorded, updated = _recorded_update(con, previous)
    digests = ["select customer_id from snap.meta.updated_customers"] if recorded else []
    for table, columns in _table_columns(con, schema).items():
        if "customer_id" not in {name for name, _ in columns} or table in updated:
            continue
        name = '"' + table.replace('"', '""') + '"'
        digest = "select customer_id, sum(hash(t)::hugeint) as digest from {}.{}.{} as t group by customer_id"
        digests.append(
            f"select customer_id from ({digest.format('prev', schema, name)}) as a"
            f" full join ({digest.format('snap', schema, name)}) as b using (customer_id)"
            " where a.digest is distinct from b.digest"
        )
    con.execute(
        "create or replace temp table changed_customers as select distinct customer_id from ("
        + " union all ".join(digests or ["select null as customer_id"])
        + ") where customer_id is not null"
    )
    stats.changed = con.execute("select count(*) from changed_customers").fetchone()[0]
    total = con.execute(f"select count(*) from snap.{schema}.customer_identity_map").fetchone()[0]
    return stats.changed <= _MAX_CHANGED_SHARE * max(total, 1)


def _recorded_update(con: Any, previous: Path) -> tuple[bool, set[str]]:
    """(whether `snap` records its update from `previous`, the tables it rewrote per customer)."""
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = 'snap' and schema_name = 'meta'"
        " and table_name in ('updated_from', 'updated_customers')"
    ).fetchone()[0]
    row = (
        con.execute("select snapshot, tables_by_customer from snap.meta.updated_from").fetchone()
        if found == 2
        else None
    )
    if row is None or row[0] != previous.name:
        return False, set()
    return True, set(json.loads(row[1]))


def _rewrite_changed(con: Any, db: sqlite3.Connection, schema: str, stats: BuildStats) -> None:
    """In a copy of the previous index: delete the changed customers' rows as the previous snapshot made them, and
    insert them as the new one makes them. Key and ID rows are deleted by their primary key, so nothing is scanned."""
    old_customers, old_keys, old_ids = _index_rows(con, "prev", schema, only="changed_customers")
    new_customers, new_keys, new_ids = _index_rows(con, "snap", schema, only="changed_customers")
    changed = [(row[0],) for row in con.execute("select customer_id from changed_customers").fetchall()]
    meta = dict(db.execute("select key, value from meta").fetchall())
    db.executemany("delete from customers where customer_id = ?", changed)
    db.executemany("delete from profiles where customer_id = ?", changed)
    before = db.total_changes
    _copy(con.execute(old_keys), db, "delete from keys where key = ? and customer_id = ?")
    _copy(con.execute(old_ids), db, "delete from ids where key = ? and customer_id = ? and label = ?")
    removed_keys = db.total_changes - before
    _copy(con.execute(new_customers), db, "insert into customers values (?,?,?,?,?,?,?,?,?,?)")
    before = db.total_changes
    _copy(con.execute(new_keys), db, "insert into keys values (?, ?)")
    _copy(con.execute(new_ids), db, "insert into ids values (?, ?, ?)")
    added_keys = db.total_changes - before
    build_profiles(con, db, schema, _table_columns(con, schema), only="changed_customers")
    stats.customers = db.execute("select count(*) from customers").fetchone()[0]
    stats.profiles = db.execute("select count(*) from profiles").fetchone()[0]
    stats.keys = int(meta.get("keys", 0)) - removed_keys + added_keys


def _write_meta(db: sqlite3.Connection, snapshot: Path, stats: BuildStats) -> None:
    meta = {
        "version": INDEX_VERSION,
        "snapshot": str(snapshot),
        "fingerprint": snapshot_fingerprint(snapshot),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "customers": str(stats.customers),
        "keys": str(stats.keys),
        "profiles": str(stats.profiles),
        "sources": ",".join(stats.sources),
    }
    db.executemany("insert or replace into meta values (?, ?)", meta.items())


def _index_rows(con: Any, source: str, schema: str, only: str | None) -> tuple[str, str, str]:
    """The queries of the index's customers, keys and ids rows of the snapshot attached as `source`: of every
    customer, or of those in the temp table `only`. Builds temp tables named after `source`."""
    import pyarrow as pa

    tables = _tables(con, source, schema)
    s = f"{source}.{schema}"
    t = f"{source}_index"  # prefix of this source's temp tables

    def mine(column: str = "customer_id") -> str:
        return f"{column} in (select customer_id from {only})" if only else "true"

    id_map_columns = _columns(con, schema, "customer_identity_map", source)

    def col(columns: set[str], name: str, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return f"{prefix}{name}" if name in columns else "null"

    # The display record: the golden record where dim_customer exists, else the latest source record.
    con.execute(
        f"""
        create or replace temp table {t}_members as
        select customer_id, source_system, source_record_id, record_key,
               {col(id_map_columns, "full_name")} as full_name, {col(id_map_columns, "first_name")} as first_name,
               {col(id_map_columns, "last_name")} as last_name, {col(id_map_columns, "email")} as email,
               {col(id_map_columns, "phone_e164")} as phone_e164,
               {col(id_map_columns, "date_of_birth")} as date_of_birth,
               {col(id_map_columns, "postcode")} as postcode, {col(id_map_columns, "city")} as city,
               {col(id_map_columns, "record_updated_at")} as updated_at
        from {s}.customer_identity_map
        where {mine()}
        """
    )
    if "dim_customer" in tables:
        dim = _columns(con, schema, "dim_customer", source)
        con.execute(
            f"""
            create or replace temp table {t}_docs as
            select d.customer_id,
                   coalesce({col(dim, "full_name", "d")}, concat_ws(' ', {col(dim, "first_name", "d")},
                            {col(dim, "last_name", "d")})) as full_name,
                   {col(dim, "email", "d")} as email, {col(dim, "phone_e164", "d")} as phone_e164,
                   cast({col(dim, "date_of_birth", "d")} as varchar) as date_of_birth,
                   {col(dim, "postcode", "d")} as postcode, {col(dim, "city", "d")} as city,
                   m.source_systems, m.record_count
            from {s}.dim_customer as d
            left join (
                select customer_id, string_agg(distinct source_system, ',' order by source_system) as source_systems,
                       count(*) as record_count
                from {t}_members group by customer_id
            ) as m using (customer_id)
            where {mine("d.customer_id")}
            """
        )
    else:
        con.execute(
            f"""
            create or replace temp table {t}_docs as
            select customer_id,
                   arg_max(coalesce(full_name, concat_ws(' ', first_name, last_name)), updated_at) as full_name,
                   arg_max(email, updated_at) filter (where email is not null) as email,
                   arg_max(phone_e164, updated_at) filter (where phone_e164 is not null) as phone_e164,
                   cast(arg_max(date_of_birth, updated_at) filter (where date_of_birth is not null) as varchar)
                       as date_of_birth,
                   arg_max(postcode, updated_at) filter (where postcode is not null) as postcode,
                   arg_max(city, updated_at) filter (where city is not null) as city,
                   string_agg(distinct source_system, ',' order by source_system) as source_systems,
                   count(*) as record_count
            from {t}_members group by customer_id
            """
        )

    # Names → loose tokens (in Python, the same code that reads the query), once per distinct name.
    con.execute(
        f"""
        create or replace temp table {t}_names as
        select distinct customer_id, name from (
            select customer_id, full_name as name from {t}_docs
            union all
            select customer_id, coalesce(full_name, concat_ws(' ', first_name, last_name)) from {t}_members
        ) where name is not null and trim(name) <> ''
        """
    )
    distinct_names = [row[0] for row in con.execute(f"select distinct name from {t}_names").fetchall()]
    tokenised = pa.table(
        {
            "name": pa.array(distinct_names, pa.string()),
            "tokens": pa.array([list(name_tokens(name)) for name in distinct_names], pa.list_(pa.string())),
        }
    )
    con.register(f"{t}_tokenised", tokenised)
    con.execute(
        f"""
        create or replace temp table {t}_name_tokens as
        select names.customer_id, tokenised.tokens
        from {t}_names as names join {t}_tokenised as tokenised using (name)
        where len(tokenised.tokens) > 0
        """
    )
    distinct_tokens = [row[0] for row in con.execute(f"select distinct unnest(tokens) from {t}_name_tokens").fetchall()]
    con.register(
        f"{t}_token_codes",
        pa.table(
            {
                "token": pa.array(distinct_tokens, pa.string()),
                "code": pa.array([cologne(token) for token in distinct_tokens], pa.string()),
            }
        ),
    )
    phones = [
        row[0]
        for row in con.execute(
            f"select distinct phone_e164 from (select phone_e164 from {t}_docs union all"
            f" select phone_e164 from {t}_members) where phone_e164 is not null"
        ).fetchall()
    ]
    con.register(
        f"{t}_phones",
        pa.table(
            {
                "phone": pa.array(phones, pa.string()),
                "number": pa.array([national_number(phone) for phone in phones], pa.string()),
            }
        ),
    )

    # Merged customer IDs point to the surviving customer (chains followed): rows of the survivors asked for.
    id_rows: list[tuple[str, str]] = []
    if "customer_ids" in tables:
        merged_into = dict(
            con.execute(
                f"select customer_id, merged_into from {s}.customer_ids"
                " where status = 'merged' and merged_into is not null"
            ).fetchall()
        )
        for cid, current in merged_into.items():
            seen = {cid}
            while current in merged_into and current not in seen:
                seen.add(current)
                current = merged_into[current]
            id_rows.append((f"id:{cid.lower()}", current))
    con.register(
        f"{t}_merged_ids",
        pa.table(
            {"key": [row[0] for row in id_rows], "customer_id": [row[1] for row in id_rows]},
            schema=pa.schema([("key", pa.string()), ("customer_id", pa.string())]),
        ),
    )

    references = ""
    if "fct_touchpoints" in tables:
        touchpoint_columns = _columns(con, schema, "fct_touchpoints", source)
        labelled = "source_system || ' ' || replace(kind, '_', ' ')"
        if "reference" in touchpoint_columns:
            references += f"""
                union all
                select 'ref:' || lower(reference), customer_id, {labelled} from {s}.fct_touchpoints
                where reference is not null and customer_id is not null and {mine()}
            """
        if {"source_id", "kind"} <= touchpoint_columns:
            references += f"""
                union all
                select 'ref:' || lower(source_id), customer_id, {labelled} from {s}.fct_touchpoints
                where kind in ('order', 'ticket') and source_id is not null and customer_id is not null and {mine()}
            """
    ids_sql = f"""
        select distinct key, customer_id, label from (
            select 'rec:' || lower(source_record_id) as key, customer_id, source_system || ' record' as label
            from {t}_members
            union all
            select 'rec:' || lower(regexp_replace(source_record_id, '[^A-Za-z0-9]', '', 'g')), customer_id,
                   source_system || ' record'
            from {t}_members
            union all
            select 'rec:' || lower(record_key), customer_id, source_system || ' record' from {t}_members
            where record_key is not null
            {references}
        ) where key is not null and length(key) > 4 and label is not null
        order by key, customer_id, label
    """
    keys_sql = f"""
        select distinct key, customer_id from (
            select 'n:' || token as key, customer_id from (select customer_id, unnest(tokens) as token from {t}_name_tokens)
            union all
            select 'k:' || c.code, n.customer_id
            from (select customer_id, unnest(tokens) as token from {t}_name_tokens) as n
            join {t}_token_codes as c using (token) where c.code <> ''
            union all
            select 'nk:' || ca.code || '_' || cb.code, p.customer_id
            from (
                select customer_id, tokens[i] as a, tokens[j] as b
                from (select customer_id, tokens from {t}_name_tokens where len(tokens) between 2 and 5),
                     range(1, 6) as ri(i), range(1, 6) as rj(j)
                where i <= len(tokens) and j <= len(tokens) and i <> j
            ) as p
            join {t}_token_codes as ca on ca.token = p.a join {t}_token_codes as cb on cb.token = p.b
            where ca.code <> '' and cb.code <> ''
            union all
            select 'em:' || lower(trim(email)), customer_id from {t}_docs where email is not null
            union all
            select 'em:' || lower(trim(email)), customer_id from {t}_members where email is not null
            union all
            select 'ph:' || p.number, x.customer_id
            from (select customer_id, phone_e164 from {t}_docs union all select customer_id, phone_e164 from {t}_members) as x
            join {t}_phones as p on p.phone = x.phone_e164 where p.number is not null
            union all
            select 'id:' || lower(customer_id), customer_id from {t}_docs
            union all
            select key, customer_id from {t}_merged_ids where {mine()}
        ) where key is not null and length(key) > 3
        order by key, customer_id
    """
    customers_sql = f"""
        select d.customer_id, d.full_name, d.email, d.phone_e164, d.date_of_birth, d.postcode, d.city,
               d.source_systems, d.record_count, n.tokens
        from {t}_docs as d
        left join (
            select customer_id, string_agg(distinct token, ' ' order by token) as tokens
            from (select customer_id, unnest(tokens) as token from {t}_name_tokens) group by customer_id
        ) as n using (customer_id)
    """
    return customers_sql, keys_sql, ids_sql


def _copy(cursor: Any, db: sqlite3.Connection, insert: str) -> int:
    total = 0
    while rows := cursor.fetchmany(_BATCH):
        db.executemany(insert, rows)
        total += len(rows)
    return total


def _columns(con: Any, schema: str, table: str, source: str = "snap") -> set[str]:
    return {name for name, _ in _table_columns(con, schema, source).get(table, [])}


def _tables(con: Any, source: str, schema: str) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = ?"
            " union select view_name from duckdb_views() where database_name = ? and schema_name = ?",
            [source, schema, source, schema],
        ).fetchall()
    }


def _table_columns(con: Any, schema: str, source: str = "snap") -> dict[str, list[tuple[str, str]]]:
    """Every table's columns (name, type) in order, of the snapshot attached as `source`."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from duckdb_columns()"
        " where database_name = ? and schema_name = ? order by table_name, column_index",
        [source, schema],
    ).fetchall():
        columns.setdefault(table, []).append((column, data_type))
    return columns


def _sql_string(value: str) -> str:
    return value.replace("'", "''")


def read_meta(index: Path) -> dict[str, str]:
    try:
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            return dict(db.execute("select key, value from meta").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return {}


# -- searching --------------------------------------------------------------------------------------------------

# How much a key hit counts before ranking (which candidates are worth a Jaro-Winkler look).
_PRE_EXACT_ID = 100.0
_PRE_COMPOUND = 3.0
_PRE_TOKEN = 1.0
_PRE_PHONETIC = 0.6
_PRE_PREFIX = 0.5
_KEY_LIMIT = 400
_PREFIX_LIMIT = 150
_RANKED = 150
_MIN_NAME_SCORE = 0.78


@dataclass
class SearchHit:
    customer_id: str
    score: float
    matched_on: list[str]
    matched_ids: list[str] = field(default_factory=list)
    full_name: str | None = None
    email: str | None = None
    phone_e164: str | None = None
    date_of_birth: str | None = None
    postcode: str | None = None
    city: str | None = None
    source_systems: list[str] = field(default_factory=list)
    record_count: int = 0


@dataclass
class SearchResult:
    query: str
    hits: list[SearchHit]
    candidates: int
    truncated: bool
    took_ms: float


@dataclass
class _Candidate:
    pre: float = 0.0
    reasons: dict[str, str] = field(default_factory=dict)  # reason → the key value that matched
    ids: set[str] = field(default_factory=set)  # which systems' numbers matched: "service ticket 10794"
    tokens_hit: set[int] = field(default_factory=set)


class SearchIndex:
    """Read-only access to one index file; safe to share between threads (one SQLite connection per thread)."""

    def __init__(self, path: Path):
        self.path = path
        self.meta = read_meta(path)
        if not self.meta:
            raise IndexUnavailable(f"{path} is not a search index")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._zdict: bytes | None = None

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise IndexUnavailable("search index closed")
            # immutable: the file is never changed after it was renamed into place, so no locking is needed
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            db.execute("pragma cache_size = -4000")  # per thread; the OS page cache (mmap) is shared
            db.execute("pragma mmap_size = 4294967296")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for db in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._connections.clear()

    # -- lookups ---------------------------------------------------------------------------------------------
    def _exact(self, key: str, limit: int = _KEY_LIMIT) -> list[str]:
        rows = self._db().execute("select customer_id from keys where key = ? limit ?", (key, limit)).fetchall()
        return [row[0] for row in rows]

    def _ids(self, key: str, limit: int = _KEY_LIMIT) -> list[tuple[str, str]]:
        rows = self._db().execute("select customer_id, label from ids where key = ? limit ?", (key, limit)).fetchall()
        return [(row[0], row[1]) for row in rows]

    def _prefix(self, prefix: str, limit: int = _PREFIX_LIMIT) -> list[tuple[str, str]]:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = (
            self._db()
            .execute("select key, customer_id from keys where key >= ? and key < ? limit ?", (prefix, upper, limit))
            .fetchall()
        )
        return [(row[0], row[1]) for row in rows]

    def resolve_id(self, customer_id: str) -> str | None:
        """A customer ID (active or merged) → the customer it stands for now, via the index."""
        hits = self._exact(f"id:{customer_id.strip().lower()}", 1)
        return hits[0] if hits else None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's serving document (see profile_store), or None."""
        if self._zdict is None:
            self._zdict = load_dictionary(self._db())
        return read_profile(self._db(), customer_id, self._zdict)

    def customer_count(self) -> int:
        return int(self.meta.get("customers", "0"))

    # -- the search ------------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 20) -> SearchResult:
        started = time.perf_counter()
        query = " ".join(query.split())[:200]
        candidates: dict[str, _Candidate] = {}
        truncated = False
        if not query:
            return SearchResult(query, [], 0, False, 0.0)

        def add(ids: Iterable[str], weight: float, reason: str, value: str, token: int | None = None) -> None:
            for cid in ids:
                candidate = candidates.setdefault(cid, _Candidate())
                if token is None:
                    candidate.pre += weight
                elif token not in candidate.tokens_hit or weight > _PRE_TOKEN:
                    candidate.pre += weight
                    candidate.tokens_hit.add(token)
                candidate.reasons.setdefault(reason, value)

        lowered = query.lower().strip()
        compact = lowered.replace(" ", "")
        is_email = "@" in query
        exact_hits = 0

        # 1. identifiers: customer IDs, source record IDs, order numbers, e-mails, phone numbers
        if _CUSTOMER_ID.match(compact):
            found = self._exact(f"id:{compact}")
            add(found, _PRE_EXACT_ID, "customer_id", compact.upper())
            exact_hits += len(found)
        if " " not in lowered or compact.isalnum():
            keys = {f"rec:{compact}": "record_id", f"rec:{re.sub(r'[^a-z0-9:]', '', compact)}": "record_id"}
            keys[f"ref:{compact}"] = "reference"
            for key, reason in keys.items():
                for cid, label in self._ids(key):
                    add([cid], _PRE_EXACT_ID, reason, query)
                    candidates[cid].ids.add(f"{label} {query}")
                    exact_hits += 1
        if is_email:
            found = self._exact(f"em:{compact}")
            add(found, _PRE_EXACT_ID, "email", compact)
            exact_hits += len(found)
            if not found and len(compact) >= 3:
                pairs = self._prefix(f"em:{compact}")
                truncated |= len(pairs) >= _PREFIX_LIMIT
                for key, cid in pairs:
                    add([cid], _PRE_PREFIX * 10, "email", key[3:])
        if looks_like_phone(query):
            number = national_number(query)
            if number:
                found = self._exact(f"ph:{number}")
                add(found, _PRE_EXACT_ID, "phone", query)
                exact_hits += len(found)
                if not found and len(number) >= 5:
                    pairs = self._prefix(f"ph:{number}")
                    truncated |= len(pairs) >= _PREFIX_LIMIT
                    for _key, cid in pairs:
                        add([cid], _PRE_PREFIX * 10, "phone", query)

        # 2. names (with typos and spelling variants), unless the query is clearly an identifier that matched
        tokens = [] if is_email else list(name_tokens(query))
        extra_words = [w for w in word_tokens(query) if any(ch.isdigit() for ch in w)] if tokens else []
        skip_names = exact_hits > 0 and not compact.replace("-", "").replace(".", "").isalpha()
        if tokens and not skip_names:
            codes = [cologne(token) for token in tokens]
            for a in range(len(tokens) - 1):
                if codes[a] and codes[a + 1]:
                    found = self._exact(f"nk:{codes[a]}_{codes[a + 1]}")
                    truncated |= len(found) >= _KEY_LIMIT
                    add(found, _PRE_COMPOUND, "name", query)
            per_token = _KEY_LIMIT if len(tokens) == 1 else 200
            # Enough customers whose names sound like the whole query: the per-token lookups (for typos that change
            # a phonetic code) would only add weaker candidates to rank.
            enough = len(tokens) > 1 and len(candidates) >= 3 * limit
            for index, token in enumerate(tokens):
                if len(token) < 2 or enough:
                    continue
                found = self._exact(f"n:{token}", per_token)
                truncated |= len(found) >= per_token and len(tokens) == 1
                add(found, _PRE_TOKEN, "name", query, token=index)
                if codes[index] and len(codes[index]) >= 2:
                    add(self._exact(f"k:{codes[index]}", per_token), _PRE_PHONETIC, "name", query, token=index)
                if len(token) >= 3:
                    for key, cid in self._prefix(f"n:{token}", _PREFIX_LIMIT if len(tokens) == 1 else 60):
                        if key != f"n:{token}":
                            add([cid], _PRE_PREFIX, "name", query, token=index)

        # 3. rank: the best candidates by key hits, then Jaro-Winkler on the loose name tokens
        ranked = sorted(candidates.items(), key=lambda item: -item[1].pre)[:_RANKED]
        docs = self._docs([cid for cid, _ in ranked])
        similarity: dict[tuple[str, str], float] = {}
        hits: list[SearchHit] = []
        for cid, candidate in ranked:
            doc = docs.get(cid)
            if doc is None:
                continue
            score = 0.0
            if candidate.pre >= _PRE_EXACT_ID:
                score = 1.0
            if tokens and "name" in candidate.reasons:
                score = max(score, _name_score(tokens, extra_words, doc, similarity))
                if score < _MIN_NAME_SCORE and candidate.pre < _PRE_EXACT_ID:
                    continue
            elif candidate.pre < _PRE_EXACT_ID:
                score = max(score, 0.9)  # prefix of an e-mail or phone number
            hits.append(_hit(cid, score, candidate, doc))
        hits.sort(
            key=lambda hit: (
                -hit.score,
                -candidates[hit.customer_id].pre,
                hit.full_name or "",
                hit.customer_id,
            )
        )
        return SearchResult(
            query=query,
            hits=hits[:limit],
            candidates=len(candidates),
            truncated=truncated or len(hits) > limit,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def _docs(self, ids: list[str]) -> dict[str, tuple[Any, ...]]:
        if not ids:
            return {}
        rows: list[tuple[Any, ...]] = []
        db = self._db()
        for chunk in _chunks(ids, 500):
            rows += db.execute(
                "select customer_id, full_name, email, phone_e164, date_of_birth, postcode, city, source_systems,"
                f" record_count, tokens from customers where customer_id in ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        return {row[0]: row for row in rows}


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _name_score(
    tokens: list[str], extra_words: list[str], doc: tuple[Any, ...], cache: dict[tuple[str, str], float]
) -> float:
    """Mean over query tokens of the best Jaro-Winkler similarity with any name token of the customer; a query
    word that is the customer's town or postcode counts as a match (Müller Hamburg)."""
    name_tokens_ = (doc[9] or "").split()
    place = set(loosen(fold(doc[6] or "")).split()) | ({doc[5]} if doc[5] else set())
    scores = []
    for token in tokens:
        best = 0.0
        if token in place:
            best = 1.0
        for candidate in name_tokens_:
            key = (token, candidate)
            value = cache.get(key)
            if value is None:
                value = jaro_winkler(token, candidate)
                if len(token) >= 3 and candidate.startswith(token):
                    value = max(value, 0.96)  # typed so far (type-ahead)
                cache[key] = value
            if value > best:
                best = value
        scores.append(best)
    for word in extra_words:  # a postcode or birth year in the query
        scores.append(1.0 if word == doc[5] or (doc[4] and word in doc[4]) else 0.5)
    return sum(scores) / len(scores) if scores else 0.0


def _hit(cid: str, score: float, candidate: _Candidate, doc: tuple[Any, ...]) -> SearchHit:
    return SearchHit(
        customer_id=cid,
        score=round(score, 4),
        matched_on=sorted(candidate.reasons),
        matched_ids=sorted(candidate.ids),
        full_name=doc[1],
        email=doc[2],
        phone_e164=doc[3],
        date_of_birth=doc[4],
        postcode=doc[5],
        city=doc[6],
        source_systems=[s for s in (doc[7] or "").split(",") if s],
        record_count=int(doc[8] or 0),
    )
