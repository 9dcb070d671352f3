"""The service-agent console: web pages, JSON API and `c360 lookup` on the published snapshot (docs/console.md).

`ensure_demo_user(config)` is what `c360 demo` calls to print a login at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customer360.core.config import Config

DEMO_AGENT = "agent"
DEMO_ADMIN = "admin"


def ensure_demo_users(config: Config) -> list[tuple[str, str, str]]:
    """Create the demo agent and demo admin once (random passwords, kept in the console state so that later
    calls print the same ones); returns [(username, password, role), ...]. Idempotent."""
    from customer360.console.store import ConsoleStore

    store = ConsoleStore.for_state_dir(config.state_dir)
    return [
        (DEMO_AGENT, store.ensure_demo_login(DEMO_AGENT, "agent"), "agent"),
        (DEMO_ADMIN, store.ensure_demo_login(DEMO_ADMIN, "admin"), "admin"),
    ]


def ensure_demo_user(config: Config) -> tuple[str, str]:
    """The demo agent's login (username, password), created once; the demo admin is created alongside
    (see `c360 users demo`)."""
    username, password, _role = ensure_demo_users(config)[0]
    return username, password
