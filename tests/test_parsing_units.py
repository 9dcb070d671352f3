"""Parsing values as sources write them: the quality gate's SQL (expectations/values.py) and the dbt macros read
the same strings the same way, and no value makes DuckDB read past its end."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess

import duckdb
import pytest

from customer360.transform import _failure_detail
from expectations.values import date_of, strptime_of, timestamp_of


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("24.12.2023 10:15", "%d.%m.%Y %H:%M", dt.datetime(2023, 12, 24, 10, 15)),
        # stops where the format goes on: DuckDB 1.5's strptime alone reads one byte past such a value
        ("24.12.2023 10:15", "%d.%m.%Y %H:%M:%S", None),
        ("24.12.2023 10", "%d.%m.%Y %H:%M", None),
        ("24.12.2023", "%d.%m.%Y %H:%M", None),
        ("  24.12.2023  ", "%d.%m.%Y", dt.datetime(2023, 12, 24)),
        ("19851224", "%Y%m%d", dt.datetime(1985, 12, 24)),
        ("24.12.2023 10:15 Uhr", "%d.%m.%Y %H:%M", None),
        ("24.12.2023 10:15 Uhr", "%d.%m.%Y %H:%M Uhr", dt.datetime(2023, 12, 24, 10, 15)),
    ],
)
def test_strptime_reads_whole_values_only(text: str, pattern: str, expected: dt.datetime | None) -> None:
    parsed = duckdb.execute(f"select {strptime_of('$1', pattern)}", [text]).fetchone()[0]
    assert parsed == expected


def test_dates_and_times_try_iso_first_then_the_formats() -> None:
    row = duckdb.execute(
        f"select {date_of('$1', ['%d.%m.%Y'])}, {date_of('$2', ['%d.%m.%Y'])}, "
        f"{timestamp_of('$3', ['%d.%m.%Y %H:%M'], 'Europe/Berlin')}, {timestamp_of('$4', [], 'Europe/Berlin')}",
        ["1985-12-24", "24.12.1985", "24.12.2023 10:15", "2023-12-24T10:15:00Z"],
    ).fetchone()
    utc = dt.UTC
    assert [value.astimezone(utc) for value in row] == [
        dt.datetime(1985, 12, 24, tzinfo=utc),
        dt.datetime(1985, 12, 24, tzinfo=utc),
        dt.datetime(2023, 12, 24, 9, 15, tzinfo=utc),  # 10:15 in Berlin, winter time
        dt.datetime(2023, 12, 24, 10, 15, tzinfo=utc),
    ]


def test_a_dbt_process_killed_by_a_signal_is_reported_as_such(tmp_path) -> None:
    crashed = subprocess.CompletedProcess(
        args=["dbt"], returncode=-signal.SIGSEGV, stdout="14:02:11 1 of 92 START", stderr=""
    )
    detail = _failure_detail(crashed, [], {"DBT_LOG_PATH": str(tmp_path)})
    assert "killed by SIGSEGV" in detail
    assert str(tmp_path / "dbt.log") in detail
    failed = subprocess.CompletedProcess(args=["dbt"], returncode=1, stdout="", stderr="")
    assert (
        _failure_detail(failed, ["model.x: Binder Error"], {"DBT_LOG_PATH": str(tmp_path)})
        == "  - model.x: Binder Error"
    )
