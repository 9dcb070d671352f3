"""marketing.contacts — the newsletter tool's contact export (CSV, German headers, all values text).

Identity-relevant fields must be usable: a contact needs its id and a name; e-mail, phone, postcode and birth
date, when given, must have a plausible format (placeholders such as `n/a` or `unbekannt` count as "not
given"; junk that is well-formed, like test@test.de, is left to the standardisation in dbt). Categories and
the subscription dates are only reported.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    EARLIEST_BIRTH,
    EMAIL,
    PHONE_CHARACTERS,
    PHONE_DIGITS,
    POSTCODE_DACH,
    SuiteContext,
    block,
    declare_columns,
    derive,
    digits,
    freshness_check,
    given,
    new_suite,
    parse_date,
    parse_timestamp,
    quarantine,
    standard_checks,
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
    derive(suite, "e_mail__checked", given("e_mail"), shows="e_mail")
    derive(suite, "telefon__checked", given("telefon"), shows="telefon")
    derive(suite, "telefon__digits", digits("telefon"), shows="telefon")
    derive(suite, "plz__checked", given("plz"), shows="plz")
    derive(suite, "geburtsdatum__given", given("geburtsdatum"), shows="geburtsdatum")
    derive(
        suite,
        "geburtsdatum__date",
        parse_date("geburtsdatum", ("%d.%m.%Y", "%Y-%m-%d")),
        shows="geburtsdatum",
    )
    derive(
        suite,
        "letzte_aenderung__at",
        parse_timestamp("letzte_aenderung", (GERMAN_TIMESTAMP,)),
        shows="letzte_aenderung",
    )
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
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="e_mail__checked", regex=EMAIL),
        rule="email_format",
        reason="{column} {value} is not an e-mail address (name@domain.tld)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="telefon__checked", regex=PHONE_CHARACTERS),
        rule="phone_characters",
        reason="{column} {value} contains characters a phone number cannot have",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column="telefon__digits", min_value=PHONE_DIGITS[0], max_value=PHONE_DIGITS[1]
        ),
        rule="phone_length",
        reason=f"{{column}} {{value}} is not a phone number ({PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="plz__checked", regex=POSTCODE_DACH),
        rule="postcode_format",
        reason="{column} {value} is not a postcode (4 or 5 digits)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(
            column="geburtsdatum__date", row_condition=Column("geburtsdatum__given").is_not_null()
        ),
        rule="birth_date_format",
        reason="{column} {value} is not a date (DD.MM.YYYY)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column="geburtsdatum__date", min_value=ctx.iso(EARLIEST_BIRTH), max_value=ctx.iso(ctx.as_of)
        ),
        rule="birth_date_range",
        reason=f"{{column}} {{value}} is not a plausible birth date (after {ctx.as_of:%Y-%m-%d}, the day of "
        "the check, or before 1900)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(
            column="letzte_aenderung__at", row_condition=Column("letzte_aenderung").is_not_null()
        ),
        rule="changed_at_format",
        reason="{column} {value} is not a timestamp (DD.MM.YYYY HH:MM)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column="letzte_aenderung__at", max_value=ctx.iso(ctx.as_of + dt.timedelta(days=1))
        ),
        rule="changed_at_future",
        reason="{column} {value} lies in the future",
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
