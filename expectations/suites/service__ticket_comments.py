"""service.ticket_comments — comments on helpdesk tickets (REST API).

A comment must belong to a known ticket (raw_service.tickets) and carry a creation time that parses and does
not lie in the future. The author's role is only reported.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    SuiteContext,
    declare_columns,
    derive,
    new_suite,
    parse_timestamp,
    quarantine,
    reference,
    standard_checks,
    warn,
)

COLUMNS = ("id", "ticket_id", "author_role", "body", "public", "created_at", "updated_at")


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Ticket comments: one row per comment id and version (updated_at).")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("id", "ticket_id", "created_at"))

    derive(suite, "ticket_id__known", reference("ticket_id", ctx.relation("tickets"), "id"), shows="ticket_id")
    derive(suite, "created_at__at", parse_timestamp("created_at"), shows="created_at")

    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="ticket_id"),
        rule="ticket_missing",
        reason="{column} is missing: the comment belongs to no ticket",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="ticket_id__known", row_condition=Column("ticket_id").is_not_null()),
        rule="ticket_unknown",
        reason="{column} {value} is not a known ticket (no such ticket in service.tickets)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="created_at__at", row_condition=Column("created_at").is_not_null()),
        rule="created_at_format",
        reason="{column} {value} is not an ISO 8601 timestamp",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column="created_at__at", max_value=ctx.iso(ctx.as_of + dt.timedelta(days=1))),
        rule="created_at_future",
        reason="{column} {value} lies in the future",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="author_role", value_set=["agent", "end_user"]),
        rule="author_role_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="public", value_set=["true", "false"]),
        rule="public_values",
    )
    return suite
