"""The quality gate: Great Expectations suites as code and the runner that quarantines bad rows.

    suites/<source>__<table>.py   one suite per table, built per batch (suites/default.py: the rest)
    kit.py                        what suites use: quarantine / block / warn, derived columns, standard checks
    sql.py                        each row-level expectation as the SQL predicate selecting its failing rows
    runner.py                     validate(config, run_id) -> QualityReport; validate_marts(...)
    release.py, cli.py            `c360 quarantine list | show | release | check`

Importing this package is cheap: Great Expectations is loaded when the gate runs. See docs/quality.md.
"""
