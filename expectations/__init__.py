"""The quality gate: Great Expectations checks of every delivered batch; bad rows go to quarantine.

    runner.py     validate(config, run_id) -> QualityReport; validate_marts(...) before publishing
    suites.py     which suite checks a batch: generic + the configuration's rules + the project's own module;
                  the marts' suites from the registry in marts/
    kit.py        what suites are made of: quarantine / block / warn, derived columns, one helper per rule
    values.py     SQL for derived columns: given values, parsed numbers, dates, times, JSON fields
    rules.py      the configuration's column rules, freshness and volume as expectations
    project.py    a project's suite module, loaded by path (never by a global name)
    history.py    the ledger of pending batches, profiles and each table's accepted history
    checks.py     one suite applied to one batch: GX, the SQL of row-level rules (sql.py), quarantine rows
    gate.py       per batch: decide (passed, quarantined, rejected) and record, in one transaction
    messages.py   the wording of failures
    release.py    `c360 quarantine release`: re-check held rows and rejected batches

Importing this package is cheap: Great Expectations is loaded when the gate runs. See docs/quality.md.
"""
