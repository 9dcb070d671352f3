"""Crash safety and one writer (issue 15), with the real CLI in child processes on Gipfelwerk's silos: a run
killed with SIGKILL in the resolution or in the marts is followed by a plain `c360 run` that ends where an
uninterrupted run ends; a second writer is refused with a clear message (or waits), never a traceback.

Every test starts from one completed run and a second delivery (members whose phone changed, a new member who is
an existing one written another way), so that the run that is interrupted is an incremental one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from support.strangers import write_project

from customer360.core.config import load_config
from customer360.core.errors import EXIT_BUSY
from customer360.serving.snapshots import current_snapshot, run_id_of

pytestmark = pytest.mark.integration

C360 = str(Path(sys.executable).with_name("c360"))
WAREHOUSE = "data/warehouse/customer360.duckdb"


def c360_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [C360, "run", "--config", str(root / "customer360.yml"), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=_environment(),
    )


def start_run(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [C360, "run", "--verbose", "--config", str(root / "customer360.yml"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )


def _environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("C360_")}
    return {**environment, "COLUMNS": "200"}


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 600) -> list[str]:
    """Read the child's log until a line contains `text`; returns the lines read. Fails if the child ended first."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            pytest.fail(f"the run ended (exit {process.wait()}) before logging {text!r}:\n{''.join(lines[-40:])}")
        lines.append(line)
        if text in line:
            return lines
    pytest.fail(f"no {text!r} in the run's log after {timeout} s")


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert process.stderr is not None
    process.stderr.close()


def customers(root: Path) -> set[frozenset[str]]:
    """The partition of identity records into customers (customer IDs may be named differently)."""
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        rows = con.execute(
            "select customer_id, list(record_key) from marts.customer_identity_map group by 1"
        ).fetchall()
    return {frozenset(keys) for _, keys in rows}


def runs(root: Path) -> dict[str, str]:
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        return dict(con.execute("select run_id, status from meta.runs").fetchall())


def second_delivery(root: Path) -> None:
    """A new member export: ten members with a new mobile number, and one new member who is an existing one."""
    path = root / "silos/loyalty/mitglieder.csv"
    raw = path.read_bytes()
    encoding = "utf-8" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    header, *rows = raw.decode(encoding).split("\r\n")
    rows = [row for row in rows if row]
    changed = []
    for number, row in enumerate(rows):
        fields = row.split(";")
        if number < 10:
            fields[4] = f"+41 79 {number:03d} 12 34"
            fields[14] = "01.06.2026 09:00"
        changed.append(";".join(fields))
    twin = rows[0].split(";")
    twin[0], twin[3], twin[14] = "GR-999001", twin[3].upper(), "02.06.2026 10:00"
    path.write_bytes("\r\n".join([header, *changed, ";".join(twin), ""]).encode(encoding))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "base"
    write_project(root, "three_silos", people=150)
    outcome = c360_run(root)
    assert outcome.returncode == 0, outcome.stderr
    return root


@pytest.fixture(scope="module")
def reference(first_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after the second delivery, run without interruption."""
    root = tmp_path_factory.mktemp("crash") / "reference"
    shutil.copytree(first_run, root)
    second_delivery(root)
    outcome = c360_run(root)
    assert outcome.returncode == 0, outcome.stderr
    return root


@pytest.fixture(scope="module")
def uninterrupted(first_run: Path, reference: Path) -> set[frozenset[str]]:
    result = customers(reference)
    assert result != customers(first_run)  # the new member joined an existing customer
    return result


def raw_rows(root: Path) -> dict[str, int]:
    """Rows per raw table and in quarantine (loaded twice or lost shows here)."""
    with duckdb.connect(str(root / WAREHOUSE), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'raw_%' or table_schema = 'quarantine'"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'select count(*) from {s}."{t}"').fetchone()[0] for s, t in tables}


@pytest.mark.parametrize(
    ("stage", "after_seconds"),
    [("ingest", 0.5), ("validate", 1.0), ("staging", 2.0), ("publish", 1.0)],
)
def test_kill_in_any_stage_then_a_plain_run_ends_where_an_uninterrupted_run_ends(
    first_run: Path,
    reference: Path,
    uninterrupted: set[frozenset[str]],
    tmp_path: Path,
    stage: str,
    after_seconds: float,
) -> None:
    root = copy_with_second_delivery(first_run, tmp_path / "project")
    process = start_run(root)
    wait_for_line(process, f"stage {stage}")
    time.sleep(after_seconds)
    kill(process)

    outcome = c360_run(root)
    assert outcome.returncode == 0, outcome.stderr
    assert customers(root) == uninterrupted
    assert raw_rows(root) == raw_rows(reference)  # nothing lost, nothing loaded twice
    current = current_snapshot(load_config(root / "customer360.yml"))
    assert current is not None and runs(root)[run_id_of(current)] == "succeeded"  # the rerun published
    assert not [*root.rglob(".*.tmp-*"), *root.rglob("c360-ingest-*")]  # what the killed run left is gone


def copy_with_second_delivery(first_run: Path, target: Path) -> Path:
    shutil.copytree(first_run, target)
    second_delivery(target)
    return target


def test_kill_during_resolution_then_a_plain_run_recovers(
    first_run: Path, uninterrupted: set[frozenset[str]], tmp_path: Path
) -> None:
    root = copy_with_second_delivery(first_run, tmp_path / "project")
    before = runs(root)
    process = start_run(root)
    wait_for_line(process, "num edges remaining")  # connected components: records and pairs are written
    kill(process)

    outcome = c360_run(root)
    assert outcome.returncode == 0, outcome.stderr
    assert customers(root) == uninterrupted
    statuses = {run_id: status for run_id, status in runs(root).items() if run_id not in before}
    assert sorted(statuses.values()) == ["interrupted", "succeeded"], statuses


def test_kill_during_the_marts_leaves_no_process_behind(
    first_run: Path, uninterrupted: set[frozenset[str]], tmp_path: Path
) -> None:
    root = copy_with_second_delivery(first_run, tmp_path / "project")
    process = start_run(root)
    wait_for_line(process, "stage marts")
    time.sleep(3)  # dbt is building
    assert any("dbt.cli.main" in command for command in _processes_in(root))
    kill(process)
    deadline = time.monotonic() + 1  # the kernel kills the child at once; an orphan would build on for seconds
    while _processes_in(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_in(root) == []  # dbt died with its parent

    outcome = c360_run(root)
    assert outcome.returncode == 0, outcome.stderr
    assert customers(root) == uninterrupted


def _processes_in(root: Path) -> list[str]:
    """Command lines of live processes that work on this project (dbt's names the project's dbt folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if str(root) in command and "zombie" not in state:
            found.append(command)
    return found


def test_a_second_writer_is_refused_with_a_clear_message_or_waits(first_run: Path, tmp_path: Path) -> None:
    root = copy_with_second_delivery(first_run, tmp_path / "project")
    before = runs(root)
    first = start_run(root)
    wait_for_line(first, "stage validate")

    refused = c360_run(root)
    assert refused.returncode == EXIT_BUSY
    message = " ".join(refused.stderr.split())
    assert "the warehouse is being written by c360 run" in message and f"pid {first.pid}" in message, message
    assert "Traceback" not in refused.stderr

    waiting = start_run(root, "--wait", "900")
    assert first.stderr is not None
    first.stderr.read()
    assert first.wait(timeout=900) == 0
    assert waiting.stderr is not None
    waiting.stderr.read()
    assert waiting.wait(timeout=900) == 0
    statuses = {run_id: status for run_id, status in runs(root).items() if run_id not in before}
    assert sorted(statuses.values()) == ["succeeded", "succeeded"], statuses  # the refused run left no row
