"""Human decisions that stick: "same person" (must-link) and "not the same person" (cannot-link), by record pair.

Decisions are written by `c360 decisions add` and by the agent console while a pipeline run may be writing the
warehouse, so they live in their own small SQLite file (state/decisions.sqlite) rather than in DuckDB. Every
resolution run copies the latest decision per pair into entity_resolution.decisions and obeys them.

Decisions are never deleted (except by an erasure): undoing one records a withdrawal of the decisions it was made
with (one console action can decide several pairs), and the pair falls back to its previous decision, if any, or to
the model. `c360 decisions apply` (and the console, right after a decision) brings them into the published
snapshot at once instead of at the next run.

Review answers (`c360 review`, the console's review page) live beside them: a steward's same / different / unsure
for a candidate pair. "same" and "different" are recorded as a decision in the same transaction (so every later
run obeys them); all answers are the labels the review report calibrates the model with (docs/entity-resolution.md).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ER = "entity_resolution"
DECISIONS = ("same", "different")
ANSWERS = ("same", "different", "unsure")

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
create table if not exists withdrawals (
    withdrawal_id integer primary key autoincrement,
    decision_id integer not null,
    withdrawn_by text not null,
    withdrawn_at text not null
);
create table if not exists review_answers (
    answer_id integer primary key autoincrement,
    record_key_l text not null,
    record_key_r text not null,
    answer text not null check (answer in ('same', 'different', 'unsure')),
    match_probability real,
    reason text,
    answered_by text not null,
    answered_at text not null,
    decision_id integer
);
create index if not exists review_answers_pair on review_answers (record_key_l, record_key_r);
"""


# the latest decision per pair that is not withdrawn: what every run obeys
IN_FORCE = """
    select * from decisions where decision_id in (
        select max(decision_id) from decisions
        where decision_id not in (select decision_id from withdrawals)
        group by record_key_l, record_key_r
    )
"""
_COLUMNS = "decision_id, record_key_l, record_key_r, decision, reason, decided_by, decided_at, action_id"


@dataclass(frozen=True)
class Decision:
    decision_id: int
    record_key_l: str
    record_key_r: str
    decision: str
    reason: str | None
    decided_by: str
    decided_at: str
    action_id: str | None = None  # decisions made together (one console action) are undone together


@dataclass(frozen=True)
class ReviewAnswer:
    answer_id: int
    record_key_l: str
    record_key_r: str
    answer: str  # same, different, unsure
    match_probability: float | None  # the model's score when the pair was shown
    reason: str | None
    answered_by: str
    answered_at: str
    decision_id: int | None  # the decision a same/different answer recorded


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
        if "action_id" not in {row[1] for row in con.execute("pragma table_info(decisions)")}:
            con.execute("alter table decisions add column action_id text")  # stores made before undo existed
        yield con
        con.commit()
    finally:
        con.close()


def forget_records(state_dir: Path, record_keys: list[str]) -> tuple[int, int]:
    """An erasure (docs/privacy.md): delete every decision and review answer about these records; returns
    (decisions, answers) deleted. Nothing is created when there is no store yet."""
    if not decisions_path(state_dir).exists() or not record_keys:
        return 0, 0
    marks = ",".join("?" * len(record_keys))
    with _store(state_dir) as con:
        counts = []
        con.execute(
            "delete from withdrawals where decision_id in (select decision_id from decisions"
            f" where record_key_l in ({marks}) or record_key_r in ({marks}))",
            [*record_keys, *record_keys],
        )
        for table in ("decisions", "review_answers"):
            cursor = con.execute(
                f"delete from {table} where record_key_l in ({marks}) or record_key_r in ({marks})",
                [*record_keys, *record_keys],
            )
            counts.append(cursor.rowcount)
    return counts[0], counts[1]


def add_decision(
    state_dir: Path, record_a: str, record_b: str, decision: str, decided_by: str, reason: str | None = None
) -> Decision:
    """Record that two identity records are (or are not) the same person. The latest decision per pair wins."""
    return add_decisions(state_dir, [(record_a, record_b)], decision, decided_by, reason)[0]


def add_decisions(
    state_dir: Path, pairs: list[tuple[str, str]], decision: str, decided_by: str, reason: str | None = None
) -> list[Decision]:
    """Several pairs decided in one action (e.g. one record is not the same person as each other member): one
    transaction, one action id, undone together."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    checked = [_pair(record_a, record_b) for record_a, record_b in pairs]
    action_id = uuid.uuid4().hex
    with _store(state_dir) as con:
        return [_insert_decision(con, left, right, decision, decided_by, reason, action_id) for left, right in checked]


def withdraw(state_dir: Path, decision_id: int, withdrawn_by: str) -> list[Decision]:
    """Undo a decision and every decision made in the same action; each pair falls back to its previous
    decision, if any, or to the model. Returns what was withdrawn; raises LookupError for an unknown or
    already withdrawn decision."""
    with _store(state_dir) as con:
        row = con.execute(
            "select action_id from decisions where decision_id = ?"
            " and decision_id not in (select decision_id from withdrawals)",
            [decision_id],
        ).fetchone()
        if row is None:
            raise LookupError(f"no decision {decision_id} in force (unknown or already undone)")
        rows = con.execute(
            f"select {_COLUMNS} from decisions where (decision_id = ? or action_id = ?)"
            " and decision_id not in (select decision_id from withdrawals) order by decision_id",
            [decision_id, row[0]],
        ).fetchall()
        withdrawn_at = datetime.now(UTC).isoformat(timespec="seconds")
        con.executemany(
            "insert into withdrawals (decision_id, withdrawn_by, withdrawn_at) values (?, ?, ?)",
            [(r[0], withdrawn_by, withdrawn_at) for r in rows],
        )
    return [Decision(*r) for r in rows]


def _pair(record_a: str, record_b: str) -> tuple[str, str]:
    if record_a == record_b:
        raise ValueError("a decision needs two different records")
    for key in (record_a, record_b):
        if ":" not in key:
            raise ValueError(f"record {key!r} is not of the form <source_system>:<source_record_id>")
    left, right = sorted((record_a, record_b))
    return left, right


def _insert_decision(
    con: sqlite3.Connection,
    left: str,
    right: str,
    decision: str,
    decided_by: str,
    reason: str | None,
    action_id: str | None = None,
) -> Decision:
    decided_at = datetime.now(UTC).isoformat(timespec="seconds")
    cursor = con.execute(
        "insert into decisions (record_key_l, record_key_r, decision, reason, decided_by, decided_at, action_id)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        (left, right, decision, reason, decided_by, decided_at, action_id),
    )
    return Decision(int(cursor.lastrowid or 0), left, right, decision, reason, decided_by, decided_at, action_id)


def add_review_answer(
    state_dir: Path,
    record_a: str,
    record_b: str,
    answer: str,
    answered_by: str,
    reason: str | None = None,
    match_probability: float | None = None,
) -> ReviewAnswer:
    """A steward's answer for a pair. same/different also become a decision (the next run obeys it); unsure is
    kept as an answer only, so the pair leaves the review queue. The latest answer per pair counts."""
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {ANSWERS}, got {answer!r}")
    left, right = _pair(record_a, record_b)
    answered_at = datetime.now(UTC).isoformat(timespec="seconds")
    with _store(state_dir) as con:
        decision = _insert_decision(con, left, right, answer, answered_by, reason) if answer in DECISIONS else None
        decision_id = decision.decision_id if decision else None
        cursor = con.execute(
            "insert into review_answers (record_key_l, record_key_r, answer, match_probability, reason, answered_by,"
            " answered_at, decision_id) values (?, ?, ?, ?, ?, ?, ?, ?)",
            (left, right, answer, match_probability, reason, answered_by, answered_at, decision_id),
        )
        answer_id = int(cursor.lastrowid or 0)
    return ReviewAnswer(
        answer_id, left, right, answer, match_probability, reason, answered_by, answered_at, decision_id
    )


def list_review_answers(state_dir: Path) -> list[ReviewAnswer]:
    """The latest answer per pair, oldest first."""
    if not decisions_path(state_dir).exists():
        return []
    with _store(state_dir) as con:
        rows = con.execute(
            "select answer_id, record_key_l, record_key_r, answer, match_probability, reason, answered_by,"
            " answered_at, decision_id from review_answers where answer_id in"
            " (select max(answer_id) from review_answers group by record_key_l, record_key_r) order by answer_id"
        ).fetchall()
    return [ReviewAnswer(*row) for row in rows]


def list_decisions(state_dir: Path, include_superseded: bool = False) -> list[Decision]:
    """The decisions in force (what runs obey), or every decision ever recorded, withdrawn ones included."""
    if not decisions_path(state_dir).exists():
        return []
    source = "decisions" if include_superseded else f"({IN_FORCE})"
    with _store(state_dir) as con:
        rows = con.execute(f"select {_COLUMNS} from {source} order by decision_id").fetchall()
    return [Decision(*row) for row in rows]


def decisions_about(state_dir: Path, record_keys: list[str]) -> list[Decision]:
    """The decisions in force that involve any of these records, oldest first."""
    if not record_keys or not decisions_path(state_dir).exists():
        return []
    marks = ",".join("?" * len(record_keys))
    with _store(state_dir) as con:
        rows = con.execute(
            f"select {_COLUMNS} from ({IN_FORCE}) where record_key_l in ({marks}) or record_key_r in ({marks})"
            " order by decision_id",
            [*record_keys, *record_keys],
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
