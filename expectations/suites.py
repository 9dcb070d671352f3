"""Which suite checks a batch. Nothing is looked up by a global name:

- a raw table `raw_<source>.<table>`: the generic checks (kit.standard_checks: schema stability, primary key,
  volume), then the rules its configuration declares (expectations/rules.py), then the project's own suite
  module when `tables.<t>.suite` names one (expectations/project.py);
- a public mart: the product's suite in the registry expectations/marts (MART_SUITES).
"""

from __future__ import annotations

import great_expectations as gx

from expectations import kit, project, rules
from expectations.kit import SuiteContext


def table_suite(ctx: SuiteContext, module: project.ProjectSuite | None = None) -> tuple[gx.ExpectationSuite, str]:
    """(suite, what it is made of) for one batch of a raw table, e.g. `generic + config + suites/tickets.py`."""
    table = ctx.table_config
    description = (table.description if table is not None else None) or f"{ctx.name}: a raw table"
    suite = kit.new_suite(ctx, description)
    kit.standard_checks(suite, ctx)
    parts = ["generic"]
    if table is not None and (table.freshness or table.volume or any(r.rules() for r in table.columns.values())):
        rules.add_configured_rules(suite, ctx)
        parts.append("config")
    elif table is not None:
        kit.declare_columns(suite, table.columns)
    if module is not None:
        module.build(suite, ctx)
        parts.append(module.label)
    return suite, " + ".join(parts)


def mart_suite(table: str, ctx: SuiteContext) -> gx.ExpectationSuite:
    """The product's suite of a public mart (KeyError for a table that has none)."""
    from expectations.marts import DESCRIPTIONS, MART_SUITES

    build = MART_SUITES[table]
    suite = kit.new_suite(ctx, DESCRIPTIONS[table].strip())
    build(suite, ctx)
    return suite
