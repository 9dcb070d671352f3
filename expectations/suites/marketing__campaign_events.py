"""marketing.campaign_events — the newsletter tool's campaign events (JSON lines: sent, open, click, ...).

Events are facts about contacts: an event must name its contact, and that contact must be known (a row in
raw_marketing.contacts, from this or an earlier delivery); otherwise it is quarantined until the contact
arrives (`c360 quarantine release marketing.campaign_events` re-checks it). Its time must parse and not lie in
the future.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    EMAIL,
    SuiteContext,
    declare_columns,
    derive,
    freshness_check,
    given,
    new_suite,
    parse_timestamp,
    quarantine,
    reference,
    standard_checks,
    warn,
)

COLUMNS = (
    "event_id",
    "contact_id",
    "email",
    "campaign_id",
    "campaign_name",
    "channel",
    "event_type",
    "occurred_at",
    "url",
)
EVENT_TYPES = ["sent", "open", "click", "unsubscribe", "bounce"]


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Campaign events: one row per event (event_id) of a newsletter contact.")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("event_id", "contact_id", "event_type", "occurred_at"))

    derive(
        suite,
        "contact_id__known",
        reference("contact_id", ctx.relation("contacts"), "kontakt_id"),
        shows="contact_id",
    )
    derive(suite, "occurred_at__at", parse_timestamp("occurred_at"), shows="occurred_at")
    derive(suite, "email__checked", given("email"), shows="email")

    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="contact_id"),
        rule="contact_missing",
        reason="{column} is missing: the event belongs to no contact",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="contact_id__known", row_condition=Column("contact_id").is_not_null()),
        rule="contact_unknown",
        reason="{column} {value} is not a known contact (no such kontakt_id in marketing.contacts)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="occurred_at__at", row_condition=Column("occurred_at").is_not_null()),
        rule="occurred_at_format",
        reason="{column} {value} is not an ISO 8601 timestamp",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column="occurred_at__at", max_value=ctx.iso(ctx.as_of + dt.timedelta(days=1))
        ),
        rule="occurred_at_future",
        reason="{column} {value} lies in the future",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=EVENT_TYPES),
        rule="event_type_values",
    )
    warn(suite, gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=["email"]), rule="channel_values")
    warn(
        suite,
        gxe.ExpectColumnValuesToMatchRegex(column="email__checked", regex=EMAIL),
        rule="email_format",
        reason="{column} {value} is not an e-mail address",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToNotBeNull(column="url", row_condition=Column("event_type") == "click"),
        rule="click_url",
        reason="a click without its url",
    )
    freshness_check(suite, ctx, "occurred_at__at", label="occurred_at")
    return suite
