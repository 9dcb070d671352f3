"""marketing.contacts — the newsletter tool's contact export (CSV, German headers, all values text).

Identity-relevant fields must be usable: a contact needs its id and a name; e-mail, phone, postcode and birth
date, when given, must have a plausible format (placeholders such as `n/a` or `unbekannt` count as "not
given"; junk that is well-formed, like test@test.de, is left to the standardisation in dbt). Categories and
the subscription dates are only reported.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    POSTCODE_DACH,
    SuiteContext,
    birth_date_checks,
    block,
    declare_columns,
    derive,
    email_check,
    freshness_check,
    given,
    new_suite,
    parse_timestamp,
    phone_checks,
    quarantine,
    standard_checks,
    timestamp_checks,
    warn,
)

COLUMNS = (
    "kontakt_id",
    "anrede",
    "titel",
    "vorname",
    "nachname",
    "e_mail",
    "telefon",
    "geburtsdatum",
    "strasse",
    "plz",
    "ort",
    "newsletter",
    "angemeldet_am",
    "abgemeldet_am",
    "letzte_aenderung",
)
GERMAN_TIMESTAMP = "%d.%m.%Y %H:%M"


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Newsletter contacts: one row per contact (Kontakt-ID), German CSV export.")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("kontakt_id", "vorname", "nachname", "e_mail", "letzte_aenderung"))

    derive(suite, "name__given", f"coalesce({given('vorname')}, {given('nachname')})")
    derive(suite, "plz__checked", given("plz"), shows="plz")
    derive(
        suite,
        "angemeldet_am__at",
        parse_timestamp("angemeldet_am", (GERMAN_TIMESTAMP,)),
        shows="angemeldet_am",
    )

    block(
        suite,
        gxe.ExpectColumnValuesToMatchRegex(column="kontakt_id", regex=r"^NL-[0-9]+$", mostly=0.5),
        rule="contact_id_layout",
        reason="most Kontakt-IDs do not look like NL-<number>: the columns are probably shifted",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="kontakt_id", regex=r"^NL-[0-9]+$"),
        rule="contact_id_format",
        reason="{column} {value} is not a Kontakt-ID (NL-<number>)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="name__given"),
        rule="name_missing",
        reason="neither vorname nor nachname is given: the contact cannot be matched to a person",
    )
    email_check(suite, ctx, "e_mail")
    phone_checks(suite, ctx, "telefon", rule="phone")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="plz__checked", regex=POSTCODE_DACH),
        rule="postcode_format",
        reason="{column} {value} is not a postcode (4 or 5 digits)",
    )
    birth_date_checks(suite, ctx, "geburtsdatum", ("%d.%m.%Y", "%Y-%m-%d"), written="DD.MM.YYYY")
    timestamp_checks(
        suite, ctx, "letzte_aenderung", (GERMAN_TIMESTAMP,), rule="changed_at", written="a timestamp (DD.MM.YYYY HH:MM)"
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="newsletter", value_set=["ja", "nein"]),
        rule="newsletter_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="anrede", value_set=["Herr", "Frau", "Divers"]),
        rule="salutation_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToNotBeNull(
            column="angemeldet_am__at", row_condition=Column("angemeldet_am").is_not_null()
        ),
        rule="subscribed_at_format",
        reason="{column} {value} is not a timestamp (DD.MM.YYYY HH:MM)",
    )
    freshness_check(suite, ctx, "letzte_aenderung__at", label="letzte_aenderung")
    return suite
