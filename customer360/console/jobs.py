"""Pipeline commands the console starts in their own process (under the warehouse's writer lock, so the console
stays responsive, and a console restart does not stop them):

- an erasure (docs/privacy.md): an admin starts `c360 privacy erase` for a customer; one at a time per console;
  the erasure log (state/privacy.sqlite) is what the page shows when it has finished;
- applying decisions: after every "not the same person", "same person" or undo, `c360 decisions apply` publishes
  the change (docs/console.md). One at a time; a decision made while one runs starts another when it ends, since
  the running one may have read the decisions before it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# an apply waits this long for a scheduled run that holds the writer lock (the run may have read the decisions
# before they were made)
APPLY_WAIT_SECONDS = 3600


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


def start_command(arguments: list[str], config_file: Path, log: Path) -> Job:
    """`python -m customer360.cli <arguments> --config <file>` in a new session, output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed program, arguments are not parsed by a shell
            [sys.executable, "-m", "customer360.cli", *arguments, "--config", str(config_file)],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return Job(time.time(), process, log)


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
            arguments = ["privacy", "erase", "--customer", customer_id, "--reason", reason]
            arguments += ["--requested-by", requested_by, "--yes"]
            self.job = start_command(arguments, self._config_file, self._state_dir / "privacy-erase.log")
            return True


class DecisionApplier:
    def __init__(self, config_file: Path, state_dir: Path, on_published: Callable[[], object] | None = None) -> None:
        self._config_file = config_file
        self._on_published = on_published  # the console switches to the new snapshot before it stops saying "busy"
        self._log = state_dir / "decisions-apply.log"
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self.job: Job | None = None

    @property
    def busy(self) -> bool:
        return self._running

    @property
    def failed(self) -> str | None:
        """The end of the last apply's output if it failed (the decisions wait for the next run), else None."""
        job = self.job
        return job.last_lines(3) or "see the log" if job is not None and not self._running and job.failed else None

    def request(self) -> None:
        """Apply the decisions now, or as soon as the apply that is running has finished."""
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._apply_until_done, name="c360-apply-decisions", daemon=True).start()

    def _apply_until_done(self) -> None:
        while True:
            job = start_command(["decisions", "apply", "--wait", str(APPLY_WAIT_SECONDS)], self._config_file, self._log)
            self.job = job
            job.process.wait()
            if not job.failed and self._on_published is not None:
                try:
                    self._on_published()
                except Exception:  # the console keeps serving the last snapshot and switches on its own later
                    log.exception("console: cannot switch to the snapshot the decisions were published in")
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False
