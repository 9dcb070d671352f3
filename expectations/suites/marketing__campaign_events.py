"""marketing.campaign_events — the newsletter tool's campaign events (JSON lines: sent, open, click, ...).

Events are facts about contacts: an event must name its contact, and that contact must be known (a row in
raw_marketing.contacts, from this or an earlier delivery); otherwise it is quarantined until the contact
arrives (`c360 quarantine release marketing.campaign_events` re-checks it). Its time must parse and not lie in
the future.
"""

from __future__ import annotations

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
    parent_checks,
    standard_checks,
    timestamp_checks,
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

    derive(suite, "email__checked", given("email"), shows="email")

    parent_checks(
        suite,
        ctx,
        "contact_id",
        table="contacts",
        key="kontakt_id",
        parent="contact",
        child="event",
        no_such="kontakt_id",
    )
    timestamp_checks(suite, ctx, "occurred_at")
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
