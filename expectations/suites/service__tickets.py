"""service.tickets — helpdesk tickets (REST API; nested values as JSON).

The requester is the person: a ticket needs a requester object with an id, and its e-mail and phone, when
given, must be plausible. Times must parse and not lie in the future. Categories and ratings are only
reported. (A page or record the API sent as null instead of an object never reaches this table: ingestion
quarantines it.)
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    EMAIL,
    PHONE_CHARACTERS,
    PHONE_DIGITS,
    SuiteContext,
    declare_columns,
    derive,
    digits,
    freshness_check,
    given,
    json_field,
    json_type,
    new_suite,
    parse_number,
    quarantine,
    standard_checks,
    timestamp_checks,
    warn,
)

COLUMNS = (
    "id",
    "subject",
    "description",
    "status",
    "priority",
    "type",
    "channel",
    "requester",
    "order_number",
    "created_at",
    "updated_at",
    "solved_at",
    "satisfaction_rating",
    "tags",
)


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Helpdesk tickets: one row per ticket id and version (updated_at).")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("id", "requester", "created_at", "updated_at"))

    derive(suite, "requester__type", json_type("requester"), shows="requester")
    derive(suite, "requester__id", json_field("requester", "id"), shows="requester")
    derive(suite, "requester__email", given(json_field("requester", "email")))
    derive(suite, "requester__phone", given(json_field("requester", "phone")))
    phone_digits = digits(json_field("requester", "phone"))
    derive(suite, "requester_phone__digits", phone_digits, shows="requester__phone")
    derive(suite, "rating__number", parse_number(json_field("satisfaction_rating", "score")))

    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="requester"),
        rule="requester_missing",
        reason="{column} is missing: the ticket cannot be linked to a person",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeInSet(column="requester__type", value_set=["OBJECT"]),
        rule="requester_not_object",
        reason="requester {value} is not an object with id, name, email, phone",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="requester__id", row_condition=Column("requester__type") == "OBJECT"),
        rule="requester_id_missing",
        reason="the requester has no id: {value}",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="requester__email", regex=EMAIL),
        rule="email_format",
        reason="the requester's e-mail is not an address: {value}",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="requester__phone", regex=PHONE_CHARACTERS),
        rule="phone_characters",
        reason="the requester's phone contains characters a phone number cannot have: {value}",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column="requester_phone__digits",
            min_value=PHONE_DIGITS[0],
            max_value=PHONE_DIGITS[1],
            row_condition=Column("requester__phone").is_not_null(),
        ),
        rule="phone_length",
        reason="the requester's phone is not a phone number (%s to %s digits): {value}" % PHONE_DIGITS,  # noqa: UP031
    )
    for column in ("created_at", "updated_at"):
        timestamp_checks(suite, ctx, column)
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["new", "open", "pending", "solved", "closed"]),
        rule="status_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="priority", value_set=["low", "normal", "high", "urgent"]),
        rule="priority_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(
            column="type", value_set=["question", "complaint", "return", "delivery", "payment"]
        ),
        rule="type_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=["phone", "email", "chat"]),
        rule="channel_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="rating__number", min_value=1, max_value=5),
        rule="rating_range",
        reason="the satisfaction score is not 1 to 5",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToMatchRegex(column="order_number", regex=r"^KN-[0-9]+$"),
        rule="order_number_format",
        reason="{column} {value} is not KN-<number>",
    )
    freshness_check(suite, ctx, "updated_at__at", label="updated_at")
    return suite
