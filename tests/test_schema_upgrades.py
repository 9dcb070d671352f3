"""A store's tables keep the shape they were first released with: a column added to a `create table if not exists`
statement never reaches a warehouse or state file made before (the statement does nothing there), and the first
query that names the column fails with a traceback — meta.marts_basis did exactly that. Later columns are added with
`alter table … add column if not exists` (DuckDB) or an explicit migration (SQLite), which this test does not see.

When this test fails because you added a column: leave the create statement as it was and add the column where the
store upgrades itself (warehouse._META_DDL's `alter table` lines, decisions.py's `action_id`). Only a new table
belongs here: add its columns to CREATED."""

from __future__ import annotations

import re
import sqlite3

import duckdb
import pytest

from customer360.console import store
from customer360.core import decisions, quarantine, tombstones, warehouse
from entity_resolution import resolve, stable_ids

CREATED = {
    "meta": {
        "meta.batches": [
            "batch_id",
            "run_id",
            "source_name",
            "table_name",
            "location",
            "content_hash",
            "cursor_from",
            "cursor_to",
            "rows_delivered",
            "rows_loaded",
            "rows_duplicate",
            "rows_rejected",
            "loaded_at",
            "status",
            "message",
        ],
        "meta.marts_basis": ["basis", "run_id", "built_at"],
        "meta.privacy_requests": ["request_id", "kind", "purpose", "record_key", "requested_at"],
        "meta.runs": ["run_id", "command", "started_at", "finished_at", "status", "summary"],
    },
    "quarantine": {
        "main.q": [
            "_c360_batch_id",
            "_c360_row_number",
            "_c360_source",
            "_c360_stage",
            "_c360_rule",
            "_c360_reason",
            "_c360_record",
            "_c360_quarantined_at",
            "_c360_released_at",
        ]
    },
    "er": {
        "entity_resolution.components": ["record_key", "component_key", "cluster_key"],
        "entity_resolution.customer_id_history": [
            "run_id",
            "event",
            "customer_id",
            "related_customer_id",
            "records",
            "recorded_at",
        ],
        "entity_resolution.customers": [
            "customer_id",
            "status",
            "merged_into",
            "record_count",
            "created_run_id",
            "changed_run_id",
        ],
        "entity_resolution.identity_map": [
            "record_key",
            "source_system",
            "source_record_id",
            "customer_id",
            "best_match_probability",
            "cluster_size",
            "assigned_run_id",
        ],
        "entity_resolution.refused_links": ["component_key", "record_key_l", "record_key_r", "reason"],
        "entity_resolution.runs": [
            "run_id",
            "mode",
            "model_id",
            "threshold",
            "cluster_size_cap",
            "records",
            "records_changed",
            "records_removed",
            "pairs_scored",
            "links_accepted",
            "links_vetoed",
            "components_reclustered",
            "links_refused",
            "customers",
            "events",
            "seconds",
            "finished_at",
        ],
    },
    "tombstones": {
        "erasures": ["erasure_id", "erased_at", "requested_by", "reason", "subject", "report"],
        "requests": [
            "request_id",
            "kind",
            "purpose",
            "record_keys",
            "reason",
            "requested_by",
            "requested_at",
            "lifted_at",
            "lifted_by",
        ],
        "tombstones": ["key_hash", "erasure_id"],
    },
    "decisions": {
        "decisions": ["decision_id", "record_key_l", "record_key_r", "decision", "reason", "decided_by", "decided_at"],
        "review_answers": [
            "answer_id",
            "record_key_l",
            "record_key_r",
            "answer",
            "match_probability",
            "reason",
            "answered_by",
            "answered_at",
            "decision_id",
        ],
        "withdrawals": ["withdrawal_id", "decision_id", "withdrawn_by", "withdrawn_at"],
    },
    "console": {
        "api_tokens": [
            "token_hash",
            "token_prefix",
            "username",
            "name",
            "created_at",
            "expires_at",
            "last_used_at",
            "is_revoked",
        ],
        "audit_log": ["audit_id", "at", "username", "role", "action", "customer_id", "detail", "channel", "ip"],
        "login_failures": ["username", "ip", "at"],
        "notices": ["id", "username", "kind", "payload", "at"],
        "sessions": [
            "token_hash",
            "username",
            "csrf_token",
            "created_at",
            "last_seen_at",
            "expires_at",
            "ip",
            "user_agent",
        ],
        "users": [
            "username",
            "password_hash",
            "role",
            "display_name",
            "lang",
            "is_active",
            "created_at",
            "password_changed_at",
        ],
    },
}

DDL = {
    "meta": ("duckdb", warehouse._META_DDL),
    "quarantine": ("duckdb", quarantine._DDL.format(table="main.q")),
    "er": ("duckdb", resolve.DDL + ";" + stable_ids.DDL),
    "tombstones": ("sqlite", tombstones._SCHEMA),
    "decisions": ("sqlite", decisions._SCHEMA),
    "console": ("sqlite", store._SCHEMA),
}


def _created_tables(engine: str, ddl: str) -> dict[str, list[str]]:
    """The columns of every table the DDL's create statements make (its alter statements left out)."""
    statements = [s.strip() for s in re.sub(r"--[^\n]*", "", ddl).split(";") if s.strip().lower().startswith("create")]
    if engine == "duckdb":
        con = duckdb.connect()
        for statement in statements:
            con.execute(statement)
        tables = con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall()
        return {
            f"{schema}.{table}": [
                column
                for (column,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = ? and table_name = ?"
                    " order by column_index",
                    [schema, table],
                ).fetchall()
            ]
            for schema, table in tables
        }
    lite = sqlite3.connect(":memory:")
    for statement in statements:
        lite.execute(statement)
    names = [name for (name,) in lite.execute("select name from sqlite_master where type = 'table' order by 1")]
    return {
        name: [row[1] for row in lite.execute(f"pragma table_info({name})")]
        for name in names
        if name != "sqlite_sequence"
    }


@pytest.mark.parametrize("store_name", sorted(DDL))
def test_create_statements_keep_their_released_columns(store_name: str) -> None:
    engine, ddl = DDL[store_name]
    assert _created_tables(engine, ddl) == CREATED[store_name], (
        "a create statement changed: add new columns with an upgrade (alter table ... add column), see the docstring"
    )
