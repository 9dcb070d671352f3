"""The generic suite: what every table gets, including a silo added by configuration only and tables that have
no configuration at all (no primary key known: no key checks).

- schema stability: the batch delivers the columns earlier accepted batches established (a column entirely
  empty where recent batches filled it counts as missing; a new column is a schema change);
- primary key (`primary_key` in customer360.yml): present and unique within the batch (row level);
- volume: no collapse to 0 rows, no jump beyond `volume_jump_ratio` × the recent batches (batch level).
"""

from __future__ import annotations

import great_expectations as gx

from expectations.kit import SuiteContext, new_suite, standard_checks


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, f"{ctx.name}: generic checks (schema stability, primary key, volume).")
    standard_checks(suite, ctx)
    return suite
