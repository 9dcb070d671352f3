"""Privacy state (docs/privacy.md): tombstones, the erasure log, and the restrictions and objections in force.

Tombstones are what an erasure leaves behind so that the erased person does not come back.

A tombstone is a keyed hash (SHA-256 over a secret project key and the value) of a key that identified an erased
row: an identity record (`<source_system>:<source_record_id>`) or a key column of an erased raw row
(`<source>.<table>.<column>=<value>`: its primary key and every column another table `references`). The clear
values are never stored, and without the key (state/privacy.key, created on the first erasure, readable by its
owner only) nobody can test a guess against them. Ingestion computes the same hashes for every delivered row, set
based in DuckDB, and drops the rows that match, counted as suppressed (customer360/ingest/loader.py).

They live in their own SQLite file (state/privacy.sqlite) beside the console's and the decisions' state, with the
erasure log (when, by whom, why, and how many rows went where — never who) and the data subjects' requests that
change how their data may be used: a restriction of processing (Art. 18) or an objection to a purpose (Art. 21),
kept per source record so that they follow the person through merges and splits, until lifted.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer360.core.config import Config, SourceConfig

_SCHEMA = """
create table if not exists tombstones (
    key_hash text primary key,
    erasure_id text not null
);
create table if not exists requests (
    request_id integer primary key autoincrement,
    kind text not null check (kind in ('restriction', 'objection')),
    purpose text,                 -- objections: what the person objects to (marketing, profiling, any)
    record_keys text not null,    -- JSON list: the customer's records when the request was made
    reason text not null,
    requested_by text not null,
    requested_at text not null,
    lifted_at text,
    lifted_by text
);
create table if not exists erasures (
    erasure_id text primary key,
    erased_at text not null,
    requested_by text not null,
    reason text not null,
    subject text not null,       -- a pseudonym of the customer ID, never the ID itself
    report text not null          -- JSON: rows removed per place, tombstones written
);
"""


def key_path(state_dir: Path) -> Path:
    return state_dir / "privacy.key"


def store_path(state_dir: Path) -> Path:
    return state_dir / "privacy.sqlite"


def project_key(state_dir: Path, create: bool = False) -> str | None:
    """The secret the hashes are keyed with; created (mode 0600) when asked to and missing."""
    path = key_path(state_dir)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if not create:
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key)
    return key


def keyed_hash(key: str, value: str) -> str:
    """The same value DuckDB computes with keyed_hash_sql()."""
    return hashlib.sha256(f"{key}|{value}".encode()).hexdigest()


def keyed_hash_sql(expression: str) -> str:
    """SQL for the keyed hash of a text expression; the key is the query parameter $tombstone_key."""
    return f"sha256($tombstone_key || '|' || ({expression}))"


@contextmanager
def _db(state_dir: Path) -> Iterator[sqlite3.Connection]:
    state_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(store_path(state_dir), timeout=30)
    try:
        con.executescript(_SCHEMA)
        yield con
        con.commit()
    finally:
        con.close()


def add(state_dir: Path, erasure_id: str, hashes: Iterable[str]) -> int:
    with _db(state_dir) as con:
        before = con.total_changes
        con.executemany(
            "insert or ignore into tombstones (key_hash, erasure_id) values (?, ?)", ((h, erasure_id) for h in hashes)
        )
        return con.total_changes - before


TOMBSTONE_TABLE = "_c360_tombstones"


def load_into(con: Any, state_dir: Path) -> str | None:
    """Register the tombstones as the temp table TOMBSTONE_TABLE(key_hash) on the connection, once per ingestion;
    returns the key they are hashed with, or None when nothing was ever erased (then nothing is suppressed)."""
    known = hashes(state_dir)
    key = project_key(state_dir) if known else None
    if key is not None:
        con.execute(
            f"create or replace temp table {TOMBSTONE_TABLE} as select unnest($hashes::varchar[]) as key_hash",
            {"hashes": known},
        )
    return key


def hashes(state_dir: Path) -> list[str]:
    """Every tombstone (empty when nothing was ever erased: then no file is created)."""
    if not store_path(state_dir).exists():
        return []
    with _db(state_dir) as con:
        return [row[0] for row in con.execute("select key_hash from tombstones")]


@dataclass(frozen=True)
class Erasure:
    erasure_id: str
    erased_at: str
    requested_by: str
    reason: str
    subject: str
    report: dict[str, Any]


def log_erasure(state_dir: Path, erasure: Erasure) -> None:
    with _db(state_dir) as con:
        con.execute(
            "insert or replace into erasures values (?, ?, ?, ?, ?, ?)",
            (
                erasure.erasure_id,
                erasure.erased_at,
                erasure.requested_by,
                erasure.reason,
                erasure.subject,
                json.dumps(erasure.report, sort_keys=True),
            ),
        )


def erasures(state_dir: Path) -> list[Erasure]:
    if not store_path(state_dir).exists():
        return []
    with _db(state_dir) as con:
        rows = con.execute("select * from erasures order by erased_at").fetchall()
    return [Erasure(row[0], row[1], row[2], row[3], row[4], json.loads(row[5])) for row in rows]


@dataclass(frozen=True)
class Request:
    request_id: int
    kind: str
    purpose: str | None
    record_keys: list[str]
    reason: str
    requested_by: str
    requested_at: str


def add_request(
    state_dir: Path, kind: str, purpose: str | None, record_keys: list[str], reason: str, requested_by: str
) -> int:
    with _db(state_dir) as con:
        cursor = con.execute(
            "insert into requests (kind, purpose, record_keys, reason, requested_by, requested_at)"
            " values (?, ?, ?, ?, ?, ?)",
            (kind, purpose, json.dumps(sorted(record_keys)), reason, requested_by, _now()),
        )
        return int(cursor.lastrowid or 0)


def lift_request(state_dir: Path, request_id: int, lifted_by: str) -> bool:
    with _db(state_dir) as con:
        cursor = con.execute(
            "update requests set lifted_at = ?, lifted_by = ? where request_id = ? and lifted_at is null",
            (_now(), lifted_by, request_id),
        )
        return cursor.rowcount == 1


def requests_in_force(state_dir: Path) -> list[Request]:
    if not store_path(state_dir).exists():
        return []
    with _db(state_dir) as con:
        rows = con.execute(
            "select request_id, kind, purpose, record_keys, reason, requested_by, requested_at from requests"
            " where lifted_at is null order by request_id"
        ).fetchall()
    return [Request(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]


def forget_requests(state_dir: Path, record_keys: list[str]) -> int:
    """An erasure: requests about the erased records go with them (nothing is left to restrict)."""
    if not store_path(state_dir).exists():
        return 0
    erased = set(record_keys)
    with _db(state_dir) as con:
        doomed = [
            (request_id,)
            for request_id, keys in con.execute("select request_id, record_keys from requests")
            if erased.intersection(json.loads(keys))
        ]
        con.executemany("delete from requests where request_id = ?", doomed)
    return len(doomed)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_erasure_id() -> str:
    return f"E{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


# -- which keys identify a row of a raw table ------------------------------------------------------------------


@dataclass(frozen=True)
class RowKey:
    """One way a row of a raw table names a person or another row: `prefix` + the SQL expression's value."""

    prefix: str
    expression: str  # over the raw columns, aliased source_rows

    def sql(self) -> str:
        return f"'{self.prefix}' || cast(({self.expression}) as varchar)"


def _key_columns(source: SourceConfig) -> dict[str, set[str]]:
    """Per table, the columns that identify its rows to others: the primary key (a composite one as one key) and
    every column another table `references`."""
    keys: dict[str, set[str]] = {table.name: set() for table in source.tables}
    for table in source.tables:
        if table.primary_key:
            keys[table.name].add(_composite(table.primary_key))
        for rules in table.columns.values():
            if rules is not None and rules.references:
                parent, _, parent_column = rules.references.partition(".")
                keys.setdefault(parent, set()).add(parent_column)
    return keys


def _composite(columns: list[str]) -> str:
    return columns[0] if len(columns) == 1 else "concat_ws('|', " + ", ".join(columns) + ")"


def _own_keys(source: SourceConfig, table: str) -> list[RowKey]:
    return [
        RowKey(f"{source.name}.{table}.{column}=", column) for column in sorted(_key_columns(source).get(table, ()))
    ]


def _looked_up(config: Config, system: str) -> list[str]:
    """The `record_key` expressions streams and statements look this identity mapping's records up by."""
    items = [*config.touchpoint_streams(), *config.consent_statements()]
    return sorted(
        {item.record_key for owner, item in items if item.record_key and config.identity_system(owner, item) == system}
    )


def produced_keys(config: Config, source: SourceConfig, table: str) -> list[RowKey]:
    """The keys an erased row of the table leaves as tombstones: the identity record it is (and the keys streams
    look that record up by), and its own key columns."""
    keys: list[RowKey] = []
    for system, owner, mapping in config.identity_mappings():
        if owner.name == source.name and mapping.table == table:
            keys.append(RowKey(f"{system}:", mapping.source_record_id))
            keys.extend(RowKey(f"{system}#", expression) for expression in _looked_up(config, system))
    return list(dict.fromkeys([*keys, *_own_keys(source, table)]))


def suppression_keys(config: Config, source: SourceConfig, table: str) -> list[RowKey]:
    """The keys whose tombstone suppresses a row of the table: the identity record it is or belongs to (directly
    or looked up), its own key columns, and the key columns of the parent rows it `references`."""
    keys = [
        RowKey(f"{system}:", mapping.source_record_id)
        for system, owner, mapping in config.identity_mappings()
        if owner.name == source.name and mapping.table == table
    ]
    for owner, item in [*config.touchpoint_streams(), *config.consent_statements()]:
        if owner.name == source.name and item.table == table:
            marker = "#" if item.record_key else ":"
            keys.append(RowKey(f"{config.identity_system(owner, item)}{marker}", item.record))
    for candidate in source.tables:
        if candidate.name == table:
            for column, rules in candidate.columns.items():
                if rules is not None and rules.references:
                    parent, _, parent_column = rules.references.partition(".")
                    keys.append(RowKey(f"{source.name}.{parent}.{parent_column}=", column))
    return list(dict.fromkeys([*keys, *_own_keys(source, table)]))


def matches_sql(keys: list[RowKey], key_table: str) -> str:
    """A predicate over source_rows, never null: one of the row's keys is in key_table(key_hash)."""
    if not keys:
        return "false"
    terms = (f"coalesce({keyed_hash_sql(key.sql())} in (select key_hash from {key_table}), false)" for key in keys)
    return "(" + " or ".join(terms) + ")"


def bindable_keys(con: Any, relation: str, keys: list[RowKey]) -> list[RowKey]:
    """The keys whose expressions bind on the relation (a delivery may lack a column the configuration names:
    it is loaded as NULL, so no key can match through it)."""
    import duckdb

    usable = []
    for key in keys:
        try:
            con.execute(f"select {key.sql()} from {relation} as source_rows limit 0")
        except duckdb.Error:
            continue
        usable.append(key)
    return usable
