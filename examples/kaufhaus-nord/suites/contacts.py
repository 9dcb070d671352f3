"""marketing.contacts: what the column rules in customer360.yml cannot say.

A contact needs a name to be matched to a person: a first or a last name (either is enough).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import SuiteContext, derive, presence_check, quarantine
from expectations.values import given


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    for column in ("vorname", "nachname"):
        presence_check(suite, ctx, column)
    name = derive(suite, "name__given", f"coalesce({given('vorname')}, {given('nachname')})", label="name")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=name),
        rule="name_missing",
        reason="neither vorname nor nachname is given: the contact cannot be matched to a person",
    )
