"""service.tickets: what the column rules in customer360.yml cannot say about the JSON the helpdesk sends.

The requester is the person: it must be an object with an id, and its e-mail address and phone number, when
given, must be plausible. The satisfaction score is 1 to 5 (reported only). (A page or record the API sent as
null instead of an object never reaches this table: ingestion quarantines it.)
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    SuiteContext,
    derive,
    email_check,
    phone_check,
    quarantine,
    warn,
)
from expectations.values import json_field, json_type, parse_number


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    kind = derive(suite, "requester__type", json_type("requester"), shows="requester")
    requester_id = derive(suite, "requester__id", json_field("requester", "id"), shows="requester")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeInSet(column=kind, value_set=["OBJECT"]),
        rule="requester_not_object",
        reason="requester {value} is not an object with id, name, email, phone",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=requester_id, row_condition=Column(kind) == "OBJECT"),
        rule="requester_id_missing",
        reason="the requester has no id: {value}",
    )
    email_check(
        suite,
        ctx,
        "requester_email",
        value=json_field("requester", "email"),
        reason="the requester's e-mail is not an address: {value}",
    )
    phone_check(
        suite,
        ctx,
        "requester_phone",
        value=json_field("requester", "phone"),
        reason="the requester's phone is not a phone number (6 to 15 digits): {value}",
    )
    rating = derive(suite, "rating__number", parse_number(json_field("satisfaction_rating", "score")))
    warn(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column=rating, min_value=1, max_value=5),
        rule="rating_range",
        reason="the satisfaction score is not 1 to 5",
    )
