"""service.ticket_comments — comments on helpdesk tickets (REST API).

A comment must belong to a known ticket (raw_service.tickets) and carry a creation time that parses and does
not lie in the future. The author's role is only reported.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import (
    SuiteContext,
    declare_columns,
    new_suite,
    parent_checks,
    standard_checks,
    timestamp_checks,
    warn,
)

COLUMNS = ("id", "ticket_id", "author_role", "body", "public", "created_at", "updated_at")


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Ticket comments: one row per comment id and version (updated_at).")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("id", "ticket_id", "created_at"))

    parent_checks(suite, ctx, "ticket_id", table="tickets", key="id", parent="ticket", child="comment")
    timestamp_checks(suite, ctx, "created_at")
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
