"""Console settings: defaults that are safe on a laptop, overridable by environment variables (docs/console.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _networks(name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or networks (10.0.0.5, 10.0.0.0/8, ::1); an invalid entry is a startup error."""
    entries = [entry.strip() for entry in os.environ.get(name, "").split(",") if entry.strip()]
    try:
        return tuple(ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ValueError(f"{name}: {error} (give addresses or networks, e.g. 10.0.0.5,10.0.0.0/8)") from None


def _float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class ConsoleSettings:
    # Cookies: Secure only over HTTPS (set C360_CONSOLE_SECURE_COOKIES=1 behind TLS)
    secure_cookies: bool = field(default_factory=lambda: _bool("C360_CONSOLE_SECURE_COOKIES", False))
    session_idle_minutes: float = field(default_factory=lambda: _float("C360_CONSOLE_SESSION_IDLE_MINUTES", 120))
    session_max_hours: float = field(default_factory=lambda: _float("C360_CONSOLE_SESSION_MAX_HOURS", 12))
    # Login throttling: failures per minute per (username, IP), and per IP over all usernames
    login_failures_per_minute: int = field(default_factory=lambda: int(_float("C360_CONSOLE_LOGIN_FAILURES", 5)))
    login_failures_per_ip_per_minute: int = field(
        default_factory=lambda: int(_float("C360_CONSOLE_LOGIN_FAILURES_PER_IP", 30))
    )
    # API (and page) requests per minute per user; 0 switches the limit off
    requests_per_minute: int = field(default_factory=lambda: int(_float("C360_CONSOLE_REQUESTS_PER_MINUTE", 600)))
    # How often the publish pointer is checked for a new snapshot
    snapshot_check_seconds: float = field(default_factory=lambda: _float("C360_CONSOLE_SNAPSHOT_CHECK_SECONDS", 2))
    duckdb_threads: int = field(default_factory=lambda: int(_float("C360_CONSOLE_DUCKDB_THREADS", 1)))
    # Serve this snapshot file instead of following the publish pointer (benchmarks, tests)
    snapshot_override: Path | None = field(
        default_factory=lambda: (
            Path(os.environ["C360_CONSOLE_SNAPSHOT"]) if os.environ.get("C360_CONSOLE_SNAPSHOT") else None
        )
    )
    # Publish a decision (not the same person, same person, undo) at once: `c360 decisions apply` in the background.
    # Off: decisions wait for the next scheduled run.
    apply_decisions: bool = field(default_factory=lambda: _bool("C360_CONSOLE_APPLY_DECISIONS", True))
    # Audit every search (the query text) as well as every customer view
    audit_searches: bool = field(default_factory=lambda: _bool("C360_CONSOLE_AUDIT_SEARCHES", True))
    # Reverse proxies whose X-Forwarded-For is believed (none by default: the header is anyone's to write). Behind a
    # TLS proxy every request comes from the proxy; naming it gives the login limit and the audit the user's address.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = field(
        default_factory=lambda: _networks("C360_CONSOLE_TRUSTED_PROXIES")
    )
