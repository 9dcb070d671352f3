"""The service-agent console: web pages, JSON API and `c360 lookup` on the published snapshot (docs/console.md).

`reset_demo_logins(config)` is what `c360 demo` and `c360 users demo` call to print the demo logins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customer360.core.config import Config

DEMO_AGENT = "agent"
DEMO_ADMIN = "admin"


def reset_demo_logins(config: Config) -> list[tuple[str, str, str]]:
    """The demo agent and demo admin, created if missing, with new random passwords: [(username, password, role)].

    Passwords are shown once and stored only as Argon2 hashes (never in clear text), so every call sets new ones
    and ends the demo users' sessions."""
    from customer360.console.store import ConsoleStore

    store = ConsoleStore.for_state_dir(config.state_dir)
    return [
        (name, store.reset_demo_login(name, role), role)
        for name, role in ((DEMO_AGENT, "agent"), (DEMO_ADMIN, "admin"))
    ]
