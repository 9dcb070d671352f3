"""The warehouse's writer lock (customer360/core/writer.py) between real processes: who holds it, waiting for it,
and a holder killed with SIGKILL, whose lock the kernel releases and whose record the next holder reports."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from customer360.core.errors import EXIT_BUSY, WarehouseBusy
from customer360.core.writer import lock_path, writer_lock

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from customer360.core.writer import writer_lock
    with writer_lock(Path(sys.argv[1]), "c360 run", "r-holder"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold(warehouse: Path, seconds: float) -> subprocess.Popen[str]:
    """A process that holds the lock for `seconds`; returns once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_is_told_who_holds_the_warehouse(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    holder = hold(warehouse, 60)
    try:
        with pytest.raises(WarehouseBusy) as refused, writer_lock(warehouse, "c360 ingest", wait=0):
            pass
        message = str(refused.value)
        assert message.startswith("the warehouse is being written by c360 run (run r-holder, pid ")
        assert f"pid {holder.pid} on " in message and "nothing was done" in message
        assert refused.value.exit_code == EXIT_BUSY
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_that_waits_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    holder = hold(warehouse, 1)
    with writer_lock(warehouse, "c360 run", "r-next", wait=30) as previous:
        assert holder.wait() == 0
        assert previous is None  # released cleanly: nothing to report
        assert '"run_id": "r-next"' in lock_path(warehouse).read_text()
    assert lock_path(warehouse).read_text() == ""


def test_a_killed_holder_releases_the_lock_and_is_reported(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    holder = hold(warehouse, 60)
    holder.send_signal(signal.SIGKILL)
    assert holder.wait() == -signal.SIGKILL
    with writer_lock(warehouse, "c360 run", "r-after", wait=0) as previous:
        assert previous is not None
        assert (previous["pid"], previous["run_id"], previous["holder"]) == (holder.pid, "r-holder", "c360 run")


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with writer_lock(warehouse, "c360 run", "r-outer"), writer_lock(warehouse, "a session"):
        assert '"run_id": "r-outer"' in lock_path(warehouse).read_text()
    with writer_lock(warehouse, "c360 run", wait=0) as previous:
        assert previous is None
