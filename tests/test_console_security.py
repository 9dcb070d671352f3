"""Console security: authentication, roles, CSRF, injection, login throttling, cookies, headers, audit log."""

from __future__ import annotations

import re
import sqlite3

import pytest
from support.console import ConsoleEnv, csrf_of, login, make_console_env, pick_customer
from support.demo_pipeline import copy_demo

pytestmark = pytest.mark.integration

PAGES = ["/", "/?q=anna", "/customers/C000000001", "/admin/audit", "/admin/users"]
API = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/snapshot"),
    ("get", "/api/v1/search?q=anna"),
    ("get", "/api/v1/customers/C000000001"),
    ("get", "/api/v1/customers/C000000001/timeline"),
    ("get", "/api/v1/customers/C000000001/next-best-action"),
    ("get", "/api/v1/customers/C000000001/explanation"),
    ("post", "/api/v1/customers/C000000001/not-same-person"),
    ("get", "/api/v1/audit"),
]
INJECTIONS = [
    "' OR 1=1 --",
    "'; DROP TABLE marts.dim_customer; --",
    "Robert'); DROP TABLE users;--",
    '" OR ""="',
    "%' UNION SELECT password_hash, 1 FROM users --",
    "1; ATTACH '/etc/passwd' AS x",
    "\\x00\\'",
    "<script>alert(1)</script>",
    "n:muller",
    "ph:%",
]


@pytest.fixture(scope="module")
def customer(console_env: ConsoleEnv) -> dict:
    return pick_customer(console_env)


# -- no session: no data -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_login_without_session(client_for, path) -> None:  # noqa: ANN001
    response = client_for(None).get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path"), API)
def test_api_is_401_without_credentials(client_for, method, path) -> None:  # noqa: ANN001
    client = client_for(None)
    response = client.post(path, json={"record_key": "sales:1"}) if method == "post" else client.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    assert "C000000001" not in response.text or "customer" not in response.json()


def test_bad_session_cookie_and_token_get_nothing(client_for) -> None:  # noqa: ANN001
    client = client_for(None)
    client.cookies.set("c360_session", "forged-session-token")
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer c360_forged"}).status_code == 401


# -- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/users"])
def test_agent_cannot_open_admin_pages(client_for, path) -> None:  # noqa: ANN001
    assert client_for("agent").get(path).status_code == 403


def test_agent_cannot_read_audit_api(client_for) -> None:  # noqa: ANN001
    response = client_for("agent").get("/api/v1/audit")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_analyst_reads_but_cannot_decide_or_manage_users(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("analyst")
    assert client.get(f"/customers/{customer['customer_id']}").status_code == 200
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/users").status_code == 403
    token = csrf_of(client.get("/").text)
    form = client.post(
        f"/customers/{customer['customer_id']}/not-same-person",
        data={"csrf_token": token, "record_key": customer["record_keys"][0]},
    )
    assert form.status_code == 403
    api = client.post(
        f"/api/v1/customers/{customer['customer_id']}/not-same-person",
        json={"record_key": customer["record_keys"][0]},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 403
    assert "Not the same person" not in client.get(f"/customers/{customer['customer_id']}?lang=en").text


def test_admin_manages_users(client_for, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin/users").text)
    created = admin.post(
        "/admin/users",
        data={"csrf_token": token, "username": "new-agent", "password": "long-enough-pw", "role": "agent"},
        follow_redirects=False,
    )
    assert created.status_code == 303 and "notice=" in created.headers["location"]
    assert 'role="status"' in admin.get(created.headers["location"]).text  # "Saved.", shown once
    assert 'role="status"' not in admin.get(created.headers["location"]).text
    changed = admin.post(
        "/admin/users/new-agent",
        data={"csrf_token": token, "change": "role", "role": "analyst"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    from customer360.console.store import ConsoleStore

    assert ConsoleStore.for_state_dir(console_env.state_dir).get_user("new-agent").role == "analyst"
    weak = admin.post(
        "/admin/users",
        data={"csrf_token": token, "username": "weak", "password": "short", "role": "agent"},
        follow_redirects=False,
    )
    assert "a password needs at least 10 characters" in admin.get(weak.headers["location"]).text
    no_csrf = admin.post("/admin/users", data={"username": "sneaky", "password": "long-enough-pw", "role": "admin"})
    assert no_csrf.status_code == 403
    assert ConsoleStore.for_state_dir(console_env.state_dir).get_user("sneaky") is None


# -- CSRF --------------------------------------------------------------------------------------------------------


def test_form_post_without_csrf_token_is_rejected(client_for, customer, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.core.decisions import list_decisions

    before = len(list_decisions(console_env.state_dir, include_superseded=True))
    client = client_for("agent")
    url = f"/customers/{customer['customer_id']}/not-same-person"
    assert client.post(url, data={"record_key": customer["record_keys"][0]}).status_code == 403
    assert client.post(url, data={"record_key": customer["record_keys"][0], "csrf_token": "wrong"}).status_code == 403
    token = csrf_of(client.get("/").text)
    cross_site = client.post(
        url,
        data={"record_key": customer["record_keys"][0], "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert len(list_decisions(console_env.state_dir, include_superseded=True)) == before
    assert client.post("/logout", data={}).status_code == 403


def test_login_needs_its_csrf_token(client_for, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    client = client_for(None)
    username, password = console_env.logins["agent"]
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 403
    assert "c360_session" not in response.headers.get("set-cookie", "")


def test_not_same_person_form_records_decision_and_audit(client_for, customer, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.core.decisions import list_decisions

    client = client_for("agent")
    token = csrf_of(client.get(f"/customers/{customer['customer_id']}").text)
    record = customer["record_keys"][0]
    response = client.post(
        f"/customers/{customer['customer_id']}/not-same-person",
        data={"csrf_token": token, "record_key": record, "reason": "form test"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "notice=" in response.headers["location"]
    decisions = [d for d in list_decisions(console_env.state_dir) if record in (d.record_key_l, d.record_key_r)]
    assert decisions and all(d.decision == "different" for d in decisions)
    notice = response.headers["location"].split("#")[0] + "&lang=en"
    assert "Recorded: " not in client_for("admin").get(notice).text  # the agent's notice, not the admin's
    page = client.get(notice)
    assert "Recorded: " in page.text
    assert "It takes effect in the next pipeline run." in page.text and "not published yet" in page.text


def test_banners_come_from_the_server_not_from_the_link(client_for, customer) -> None:  # noqa: ANN001
    """A link anyone can write cannot make the console say that a decision was saved or a customer merged."""
    client = client_for("agent")
    forged = client.get(
        f"/customers/{customer['customer_id']}?lang=en&decided={customer['record_keys'][0]}&n=3"
        "&merged_from=C000000999&notice=forged-notice-id"
    )
    assert forged.status_code == 200
    assert "Recorded: " not in forged.text and "was merged into" not in forged.text
    assert client_for("admin").get("/admin/users?saved=1&error=Call+0800+now").text.count("Call 0800 now") == 0


# -- injection and escaping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", INJECTIONS)
def test_sql_injection_in_search_is_harmless(client_for, query) -> None:  # noqa: ANN001
    client = client_for("agent")
    api = client.get("/api/v1/search", params={"q": query})
    assert api.status_code == 200, api.text
    assert isinstance(api.json()["results"], list)
    page = client.get("/", params={"q": query, "list": 1})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text


def test_database_intact_after_injection_attempts(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("agent")
    for query in INJECTIONS:
        client.get("/api/v1/search", params={"q": query})
        client.get(f"/api/v1/customers/{query}")
        client.get("/api/v1/customers/C000000001/timeline", params={"channel": query})
    assert client.get(f"/api/v1/customers/{customer['customer_id']}").status_code == 200
    admin = client_for("admin")
    assert admin.get("/api/v1/audit", params={"username": "' OR 1=1 --"}).json()["items"] == []
    assert admin.get("/api/v1/audit").json()["total"] > 0


def test_open_redirect_after_login_is_refused(client_for, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    username, password = console_env.logins["agent"]
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        response = login(client_for(None), username, password, next_url=target)
        assert response.status_code == 303 and response.headers["location"] == "/"


# -- login throttling --------------------------------------------------------------------------------------------


def test_login_rate_limit_returns_429(demo_pipeline, tmp_path) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    env = make_console_env(copy_demo(demo_pipeline, tmp_path / "run"))
    app = create_app(
        env.config, ConsoleSettings(apply_decisions=False, login_failures_per_minute=5, requests_per_minute=0)
    )
    username, password = env.logins["agent"]
    with TestClient(app) as client:
        for _ in range(5):
            assert login(client, username, "wrong-password-x").status_code == 401
        blocked = login(client, username, "wrong-password-x")
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        # even the right password waits: no guessing during the block
        assert login(client, username, password).status_code == 429
        # another user from the same address is not blocked by this one's failures
        assert login(client, *env.logins["admin"]).status_code == 303
    from customer360.console.store import ConsoleStore

    entries, _ = ConsoleStore.for_state_dir(env.state_dir).audit_entries(action="login_failed")
    assert len(entries) == 5 and all(e["username"] == username for e in entries)
    app.state.console.snapshots.close()


# -- sessions, cookies, headers, storage -----------------------------------------------------------------------------


def test_session_cookie_flags_and_security_headers(client_for, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    client = client_for(None)
    response = login(client, *console_env.logins["agent"])
    cookie = response.headers["set-cookie"]
    assert "c360_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "no inline scripts"
    assert " style=" not in page.text


def test_secure_cookie_flag_is_configurable(demo_pipeline, tmp_path) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    env = make_console_env(copy_demo(demo_pipeline, tmp_path / "run"))
    app = create_app(env.config, ConsoleSettings(apply_decisions=False, secure_cookies=True, requests_per_minute=0))
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, *env.logins["agent"])
        assert "Secure" in response.headers["set-cookie"]
        assert "strict-transport-security" in client.get("/").headers
    app.state.console.snapshots.close()


def test_logout_and_password_change_end_sessions(client_for, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.console.store import ConsoleStore

    store = ConsoleStore.for_state_dir(console_env.state_dir)
    store.add_user("short-lived", "first-password-1", "agent")
    client = client_for(None)
    assert login(client, "short-lived", "first-password-1").status_code == 303
    token = csrf_of(client.get("/").text)
    cookie = client.cookies.get("c360_session")
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.set("c360_session", cookie)
    assert client.get("/api/v1/me").status_code == 401, "a logged-out session is gone on the server"
    assert login(client, "short-lived", "first-password-1").status_code == 303
    store.set_password("short-lived", "second-password-2")
    assert client.get("/api/v1/me").status_code == 401
    store.set_active("short-lived", False)
    assert login(client, "short-lived", "second-password-2").status_code == 401


def test_passwords_and_tokens_are_stored_hashed(console_env: ConsoleEnv, client_for) -> None:  # noqa: ANN001
    from customer360.console.store import ConsoleStore, console_db_path

    token = ConsoleStore.for_state_dir(console_env.state_dir).create_token("test-admin", "hash check")
    client_for("agent")  # a session exists
    db = sqlite3.connect(console_db_path(console_env.state_dir))
    try:
        hashes = [row[0] for row in db.execute("select password_hash from users")]
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert "correct-horse-battery" not in dump and token not in dump
    assert not any(c in dump for c in client_for("agent").cookies.values())


# -- audit -------------------------------------------------------------------------------------------------------


def test_every_profile_view_is_audited(client_for, customer, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.console.store import ConsoleStore

    store = ConsoleStore.for_state_dir(console_env.state_dir)
    _, before = store.audit_entries(customer_id=customer["customer_id"], action="view_customer")
    agent = client_for("agent")
    assert agent.get(f"/customers/{customer['customer_id']}").status_code == 200
    assert agent.get(f"/api/v1/customers/{customer['customer_id']}").status_code == 200
    entries, after = store.audit_entries(customer_id=customer["customer_id"], action="view_customer")
    assert after == before + 2
    latest = entries[0]
    assert latest["username"] == "test-agent" and latest["role"] == "agent" and latest["at"]
    page = client_for("admin").get("/admin/audit", params={"customer_id": customer["customer_id"]})
    assert page.status_code == 200 and "view_customer" in page.text and "test-agent" in page.text
