"""What an ingestion run did: one result per (source, table), with counts and messages a person can act on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

log = logging.getLogger("customer360.ingest")
log.addHandler(logging.NullHandler())

Level = Literal["info", "warning", "error"]

# Table statuses: loaded (new rows or quarantined rows), unchanged (nothing new), empty (nothing delivered),
# failed (the table could not be read; its source is reported as failed).
LOADED, UNCHANGED, EMPTY, FAILED = "loaded", "unchanged", "empty", "failed"

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True)
class Message:
    level: Level
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class TableResult:
    source: str
    table: str
    connector: str
    status: str = UNCHANGED
    batches: list[str] = field(default_factory=list)  # ids of the batches recorded in meta.batches
    rows_delivered: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    rows_suppressed: int = 0  # rows of erased people delivered again (docs/privacy.md)
    messages: list[Message] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.source}.{self.table}"

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def warnings(self) -> list[str]:
        return [m.text for m in self.messages if m.level == "warning"]

    @property
    def errors(self) -> list[str]:
        return [m.text for m in self.messages if m.level == "error"]

    def add(self, level: Level, text: str) -> None:
        self.messages.append(Message(level, text))
        log.log(_LOG_LEVELS[level], text)

    def info(self, text: str) -> None:
        self.add("info", text)

    def warn(self, text: str) -> None:
        self.add("warning", text)

    def fail(self, text: str) -> None:
        self.status = FAILED
        self.add("error", text)

    def count(self, delivered: int, loaded: int, duplicate: int, rejected: int, suppressed: int = 0) -> None:
        self.rows_delivered += delivered
        self.rows_loaded += loaded
        self.rows_duplicate += duplicate
        self.rows_rejected += rejected
        self.rows_suppressed += suppressed
        if self.status != FAILED and (loaded or rejected):
            self.status = LOADED


@dataclass
class IngestReport:
    run_id: str
    loaded_at: datetime
    results: list[TableResult] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(r.source for r in self.results))

    @property
    def failed_sources(self) -> list[str]:
        return list(dict.fromkeys(r.source for r in self.results if r.failed))

    @property
    def ok(self) -> bool:
        return not self.failed_sources

    @property
    def exit_code(self) -> int:
        """0 success; 3 some sources failed and the others were loaded; 1 every selected source failed."""
        if self.ok:
            return 0
        return 1 if set(self.failed_sources) == set(self.sources) else 3

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.results)

    @property
    def rows_rejected(self) -> int:
        return sum(r.rows_rejected for r in self.results)

    @property
    def rows_suppressed(self) -> int:
        return sum(r.rows_suppressed for r in self.results)

    def result(self, source: str, table: str) -> TableResult:
        for result in self.results:
            if result.source == source and result.table == table:
                return result
        raise KeyError(f"no result for {source}.{table}")

    @property
    def messages(self) -> list[Message]:
        return [m for r in self.results for m in r.messages]

    def render(self):  # -> rich.console.RenderableType
        """The CLI summary: a table per (source, table) and, below it, the warnings and errors."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        styles = {LOADED: "green", UNCHANGED: "dim", EMPTY: "yellow", FAILED: "bold red"}
        table = Table(title=f"Ingestion {self.run_id}", title_justify="left")
        table.add_column("source.table")
        table.add_column("status")
        suppressed = self.rows_suppressed > 0  # a column only after an erasure (docs/privacy.md)
        for heading in ("batches", "delivered", "loaded", "duplicate", "rejected", *(["suppressed"] * suppressed)):
            table.add_column(heading, justify="right")
        for r in self.results:
            table.add_row(
                r.name,
                Text(r.status, style=styles.get(r.status, "")),
                str(len(r.batches)),
                f"{r.rows_delivered:,}",
                f"{r.rows_loaded:,}",
                f"{r.rows_duplicate:,}",
                Text(f"{r.rows_rejected:,}", style="yellow" if r.rows_rejected else ""),
                *([f"{r.rows_suppressed:,}"] if suppressed else []),
            )
        lines: list[Text] = []
        shown: set[str] = set()
        for message in self.messages:
            if message.level == "info" or message.text in shown:  # a source-wide error is on each table
                continue
            shown.add(message.text)
            style = "red" if message.level == "error" else "yellow"
            lines.append(Text(f"{message.level}: {message.text}", style=style))
        if self.failed_sources:
            lines.append(
                Text(
                    f"{len(self.failed_sources)} source(s) failed: {', '.join(self.failed_sources)}; "
                    "the other sources were loaded. Fix the problem above and run again: "
                    "what was loaded is not loaded twice.",
                    style="bold red",
                )
            )
        return Group(table, *lines) if lines else table
