"""Errors a user can act on. The CLI prints their message (no traceback) and exits with their exit code."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_BLOCKED, EXIT_BUSY = 0, 1, 2, 3, 4, 5


class C360Error(Exception):
    """Base class: the message says what failed and what to do."""

    exit_code = EXIT_FAILED


class StageFailed(C360Error):
    """A pipeline stage could not complete."""


class QualityGateBlocked(StageFailed):
    """The quality gate stopped the run: nothing is resolved or published, the last snapshot stays."""

    exit_code = EXIT_BLOCKED


class ConfigurationMismatch(StageFailed):
    """The configuration names something the delivered data does not have (a column, a table): fix the
    configuration; nothing was built."""

    exit_code = EXIT_USAGE


class UsageError(C360Error):
    """A setting or an argument is invalid: nothing was done."""

    exit_code = EXIT_USAGE


class WarehouseBusy(C360Error):
    """Another process is writing the warehouse (customer360/core/writer.py): nothing was done; run again when it
    has finished."""

    exit_code = EXIT_BUSY
