"""Fixtures for the agent console: a private copy of the demo run with console users, a FastAPI TestClient
factory that logs in, a real uvicorn server on a free loopback port, and headless Chromium (Debian's package).

Browser tests skip with a reason when /usr/bin/chromium is missing, and fail instead when CI=true.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.demo_pipeline import DemoRun, copy_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct-horse-battery"


@dataclass
class ConsoleEnv:
    run: DemoRun
    logins: dict[str, tuple[str, str]]  # role → (username, password)

    @property
    def config(self) -> Any:
        return self.run.config

    @property
    def state_dir(self) -> Path:
        return self.run.config.state_dir


def make_console_env(run: DemoRun) -> ConsoleEnv:
    from customer360.console.store import ConsoleStore

    store = ConsoleStore.for_state_dir(run.config.state_dir)
    logins = {}
    for role in ("agent", "analyst", "admin"):
        username = f"test-{role}"
        if store.get_user(username) is None:
            store.add_user(username, PASSWORD, role, display_name=f"Test {role}")
        logins[role] = (username, PASSWORD)
    return ConsoleEnv(run, logins)


@pytest.fixture(scope="session")
def console_env(demo_pipeline: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> ConsoleEnv:
    """A private copy of the demo run (the console writes its state there) with a test user per role."""
    return make_console_env(copy_demo(demo_pipeline, tmp_path_factory.mktemp("console")))


@pytest.fixture(scope="session")
def console_app(console_env: ConsoleEnv) -> Any:
    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    app = create_app(
        console_env.config, ConsoleSettings(apply_decisions=False, requests_per_minute=0, snapshot_override=None)
    )
    yield app
    app.state.console.snapshots.close()


def login(client: Any, username: str, password: str, next_url: str = "/") -> Any:
    """Log in through the form (login CSRF cookie + hidden field); returns the POST response."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def client_for(console_app: Any, console_env: ConsoleEnv) -> Callable[[str | None], Any]:
    """client_for('agent') → a TestClient logged in as the test agent; client_for(None) → anonymous."""
    from fastapi.testclient import TestClient

    clients = []

    def make(role: str | None) -> Any:
        client = TestClient(console_app)
        clients.append(client)
        if role is not None:
            username, password = console_env.logins[role]
            response = login(client, username, password)
            assert response.status_code == 303, response.text[:500]
        return client

    yield make
    for client in clients:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: Any
    thread: threading.Thread


def start_server(app: Any) -> LiveServer:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console test server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture(scope="session")
def live_console(console_app: Any) -> Iterator[LiveServer]:
    live = start_server(console_app)
    yield live
    live.server.should_exit = True
    live.thread.join(timeout=10)


def require_chromium() -> Path:
    """Debian's Chromium, or skip (locally) / fail (CI=true) with the reason."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's packages `chromium chromium-driver`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the playwright Python package is missing")
        pytest.skip("the playwright Python package is missing")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def published_snapshot(env: ConsoleEnv) -> Path:
    from customer360.serving.snapshots import current_snapshot

    path = current_snapshot(env.config)
    assert path is not None, "the demo run published no snapshot"
    return path


def pick_customer(env: ConsoleEnv) -> dict[str, Any]:
    """A customer of the demo snapshot with 2+ source records, a phone number and, if possible, an umlaut."""
    import duckdb

    from customer360.console.snapshot import duckdb_config

    con = duckdb.connect(str(published_snapshot(env)), read_only=True, config=duckdb_config())
    try:
        row = con.execute(
            """
            with members as (
                select customer_id, count(*) as records, list(record_key order by record_key) as record_keys,
                       list(source_record_id order by record_key) as record_ids
                from marts.customer_identity_map group by customer_id
            )
            select d.customer_id, d.first_name, d.last_name, d.full_name, d.phone_e164, d.email,
                   m.records, m.record_keys, m.record_ids
            from marts.dim_customer as d join members as m using (customer_id)
            where m.records >= 2 and d.phone_e164 like '+49%' and length(d.last_name) >= 5
              and d.first_name is not null and d.email is not null
              and exists (select 1 from marts.fct_touchpoints as t where t.customer_id = d.customer_id)
            order by regexp_matches(d.last_name, '[äöüÄÖÜß]') desc, m.records desc, d.customer_id
            limit 1
            """
        ).fetchone()
    finally:
        con.close()
    assert row is not None, "no suitable demo customer"
    keys = (
        "customer_id",
        "first_name",
        "last_name",
        "full_name",
        "phone_e164",
        "email",
        "records",
        "record_keys",
        "record_ids",
    )
    return dict(zip(keys, row, strict=True))


def consent_of(env: ConsoleEnv, condition: str) -> list[dict[str, Any]]:
    """marts.customer_consent rows of the first customer with a statement matching the SQL `condition`."""
    import duckdb

    from customer360.console.snapshot import duckdb_config

    con = duckdb.connect(str(published_snapshot(env)), read_only=True, config=duckdb_config())
    try:
        return (
            con.execute(
                "select * from marts.customer_consent where customer_id = "
                f"(select min(customer_id) from marts.customer_consent where {condition}) order by purpose, consent_channel"
            )
            .fetchdf()
            .to_dict("records")
        )
    finally:
        con.close()


def misspell(name: str) -> str:
    """Müller → Mueler: umlauts written out, one letter dropped (a typo on top of a spelling variant)."""
    from customer360.serving.text import transliterate

    folded = transliterate(name)
    middle = len(folded) // 2
    typo = folded[:middle] + folded[middle + 1 :]
    return typo[:1].upper() + typo[1:]


def other_phone_format(e164: str) -> str:
    """+49 151 2345678 → 0151/2345678 (how people write it in Germany)."""
    national = "0" + e164[3:]
    return f"{national[:4]}/{national[4:]}"
