"""The suites: one module per table, named `<source>__<table>.py` (the quarantine table's name), each with
`build(ctx: SuiteContext) -> gx.ExpectationSuite`. A table without a module is gated by `default.py`.

Marts have modules named `marts__<table>.py`; they run after the marts are built (`validate_marts`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

import great_expectations as gx

from expectations.kit import SuiteContext

Builder = Callable[[SuiteContext], gx.ExpectationSuite]

MART_TABLES = ("customer_identity_map", "dim_customer", "customer_360")


def module_name(source: str, table: str) -> str:
    return f"{source}__{table}"


def find_module(source: str, table: str) -> ModuleType | None:
    """The dedicated suite module of a table, or None."""
    try:
        return importlib.import_module(f"{__name__}.{module_name(source, table)}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{module_name(source, table)}":
            raise
        return None


def builder_for(source: str, table: str) -> tuple[Builder, str]:
    """(build function, module name) of a table: its dedicated module, else the generic default suite."""
    module = find_module(source, table)
    if module is None:
        from expectations.suites import default

        return default.build, "default"
    return module.build, module_name(source, table)
