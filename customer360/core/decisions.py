"""Human decisions that stick: "same person" (must-link) and "not the same person" (cannot-link), by record pair.

Decisions are written by `c360 decisions add` and by the agent console while a pipeline run may be writing the
warehouse, so they live in their own small SQLite file (state/decisions.sqlite) rather than in DuckDB. Every
resolution run copies the latest decision per pair into entity_resolution.decisions and obeys them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ER = "entity_resolution"
DECISIONS = ("same", "different")

_SCHEMA = """
create table if not exists decisions (
    decision_id integer primary key autoincrement,
    record_key_l text not null,
    record_key_r text not null,
    decision text not null check (decision in ('same', 'different')),
    reason text,
    decided_by text not null,
    decided_at text not null
);
create index if not exists decisions_pair on decisions (record_key_l, record_key_r);
"""


@dataclass(frozen=True)
class Decision:
    decision_id: int
    record_key_l: str
    record_key_r: str
    decision: str
    reason: str | None
    decided_by: str
    decided_at: str


def record_key(source_system: str, source_record_id: str) -> str:
    """The key of an identity record everywhere in entity resolution: `<source_system>:<source_record_id>`."""
    return f"{source_system}:{source_record_id}"


def decisions_path(state_dir: Path) -> Path:
    return state_dir / "decisions.sqlite"


@contextmanager
def _store(state_dir: Path) -> Iterator[sqlite3.Connection]:
    state_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(decisions_path(state_dir), timeout=30)
    try:
        con.execute("pragma journal_mode=wal")
        con.executescript(_SCHEMA)
        yield con
        con.commit()
    finally:
        con.close()


def add_decision(
    state_dir: Path, record_a: str, record_b: str, decision: str, decided_by: str, reason: str | None = None
) -> Decision:
    """Record that two identity records are (or are not) the same person. The latest decision per pair wins."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if record_a == record_b:
        raise ValueError("a decision needs two different records")
    for key in (record_a, record_b):
        if ":" not in key:
            raise ValueError(f"record {key!r} is not of the form <source_system>:<source_record_id>")
    left, right = sorted((record_a, record_b))
    decided_at = datetime.now(UTC).isoformat(timespec="seconds")
    with _store(state_dir) as con:
        cursor = con.execute(
            "insert into decisions (record_key_l, record_key_r, decision, reason, decided_by, decided_at)"
            " values (?, ?, ?, ?, ?, ?)",
            (left, right, decision, reason, decided_by, decided_at),
        )
        decision_id = int(cursor.lastrowid or 0)
    return Decision(decision_id, left, right, decision, reason, decided_by, decided_at)


def list_decisions(state_dir: Path, include_superseded: bool = False) -> list[Decision]:
    if not decisions_path(state_dir).exists():
        return []
    latest_only = (
        ""
        if include_superseded
        else ("where decision_id in (select max(decision_id) from decisions group by record_key_l, record_key_r)")
    )
    with _store(state_dir) as con:
        rows = con.execute(
            "select decision_id, record_key_l, record_key_r, decision, reason, decided_by, decided_at"
            f" from decisions {latest_only} order by decision_id"
        ).fetchall()
    return [Decision(*row) for row in rows]


def sync_to_warehouse(con: duckdb.DuckDBPyConnection, state_dir: Path) -> None:
    """Replace entity_resolution.decisions with the latest decision per pair (what this run obeys)."""
    con.execute(
        f"""
        create table if not exists {ER}.decisions (
            record_key_l varchar, record_key_r varchar, decision varchar, reason varchar,
            decided_by varchar, decided_at varchar, decision_id bigint
        )
        """
    )
    con.execute(f"delete from {ER}.decisions")
    rows = [
        (d.record_key_l, d.record_key_r, d.decision, d.reason, d.decided_by, d.decided_at, d.decision_id)
        for d in list_decisions(state_dir)
    ]
    if rows:
        con.executemany(f"insert into {ER}.decisions values (?, ?, ?, ?, ?, ?, ?)", rows)
