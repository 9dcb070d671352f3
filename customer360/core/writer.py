"""One writer per warehouse, across processes: the CLI, Airflow tasks, tests and tools take turns.

DuckDB itself lets one process open the file read-write, but it says so with a lock traceback, and only while a
connection is open: a `c360 run` closes the warehouse between stages (dbt is another process), so a second
writer could slip into the gap and interleave its batches with the first run's. The writer lock is held for a
whole run. It is an advisory `flock` on a file next to the warehouse, so the kernel releases it when its holder
dies, however it dies (kill -9 included): a lock is never stale. The file tells who holds it (pid, host, command,
run id, since when) for the message the next writer shows, and a holder that did not release it cleanly is
recognisable by the record it left behind (`previous_holder`).

Reentrant within a process: a run holds the lock and every warehouse session it opens inside is covered.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer360.core.errors import UsageError, WarehouseBusy

WAIT_ENV_VAR = "C360_WRITER_WAIT"  # seconds a writer waits for the lock before giving up (default: 0)
_POLL_SECONDS = 0.2


@dataclass
class _Held:
    handle: Any
    depth: int
    previous: dict[str, Any] | None


_held: dict[Path, _Held] = {}
_guard = threading.RLock()


def lock_path(warehouse_path: Path) -> Path:
    return warehouse_path.with_name(warehouse_path.name + ".writer.lock")


def default_wait() -> float:
    raw = os.environ.get(WAIT_ENV_VAR, "").strip()
    try:
        return max(float(raw), 0.0) if raw else 0.0
    except ValueError:
        raise UsageError(f"{WAIT_ENV_VAR}={raw!r} is not a number of seconds") from None


@contextmanager
def writer_lock(
    warehouse_path: Path, holder: str, run_id: str | None = None, wait: float | None = None
) -> Iterator[dict[str, Any] | None]:
    """Hold the warehouse's writer lock; yields the record a previous holder left without releasing (it was
    interrupted) or None. Raises WarehouseBusy when another process still holds it after `wait` seconds."""
    path = lock_path(warehouse_path)
    with _guard:
        held = _held.get(path)
        if held is not None:
            held.depth += 1
            try:
                yield held.previous
            finally:
                held.depth -= 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while the lock is held
        try:
            _acquire(handle, path, default_wait() if wait is None else wait)
            handle.seek(0)
            previous = _parse(handle.read())
            handle.seek(0)
            handle.truncate()
            record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "holder": holder,
                "run_id": run_id,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            handle.write(json.dumps(record))
            handle.flush()
            _held[path] = _Held(handle, 1, previous)
        except BaseException:
            handle.close()
            raise
        try:
            yield previous
        finally:
            del _held[path]
            handle.seek(0)
            handle.truncate()  # released cleanly: nothing left for the next holder to report
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _acquire(handle: Any, path: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WarehouseBusy(_busy_message(path, wait)) from None
            time.sleep(_POLL_SECONDS)


def _busy_message(path: Path, wait: float) -> str:
    holder = _parse(path.read_text(encoding="utf-8") if path.exists() else "") or {}
    who = holder.get("holder") or "another process"
    details = ", ".join(
        part
        for part in (
            f"run {holder['run_id']}" if holder.get("run_id") else "",
            f"pid {holder['pid']} on {holder['host']}" if holder.get("pid") else "",
            f"since {holder['since']}" if holder.get("since") else "",
        )
        if part
    )
    waited = f" (waited {wait:g} s)" if wait else ""
    return (
        f"the warehouse is being written by {who}{f' ({details})' if details else ''}{waited}: nothing was done. "
        f"Run again when it has finished, or wait for it with {WAIT_ENV_VAR}=SECONDS (`c360 run --wait SECONDS`)."
    )


def _parse(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None
