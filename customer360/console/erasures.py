"""Erasure from the console (docs/privacy.md): an admin starts `c360 privacy erase` for a customer, which runs as
its own process under the warehouse's writer lock (minutes on a large warehouse), so the console stays
responsive and a console restart does not stop it. One erasure at a time per console; the erasure log
(state/privacy.sqlite) is what the page shows when it has finished."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Job:
    started_at: float
    process: subprocess.Popen[str]
    log: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def failed(self) -> bool:
        return self.process.poll() not in (None, 0)

    def last_lines(self, count: int = 5) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-count:])


class Erasures:
    def __init__(self, config_file: Path, state_dir: Path) -> None:
        self._config_file = config_file
        self._state_dir = state_dir
        self._lock = threading.Lock()
        self.job: Job | None = None

    def start(self, customer_id: str, reason: str, requested_by: str) -> bool:
        """Start an erasure; False while another one is still running."""
        with self._lock:
            if self.job is not None and self.job.running:
                return False
            log = self._state_dir / "privacy-erase.log"
            self._state_dir.mkdir(parents=True, exist_ok=True)
            with log.open("w", encoding="utf-8") as output:
                process = subprocess.Popen(  # noqa: S603 - fixed program, arguments are not parsed by a shell
                    [
                        sys.executable,
                        "-m",
                        "customer360.cli",
                        "privacy",
                        "erase",
                        "--customer",
                        customer_id,
                        "--reason",
                        reason,
                        "--requested-by",
                        requested_by,
                        "--yes",
                        "--config",
                        str(self._config_file),
                    ],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,
                )
            self.job = Job(time.time(), process, log)
            return True
