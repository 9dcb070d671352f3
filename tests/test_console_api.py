"""The console's JSON API and search on the real demo run (and a small synthetic snapshot for merged IDs).

Integration: uses the session's demo pipeline (tests/support/demo_pipeline.py) through a private copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.console import (
    ConsoleEnv,
    consent_of,
    csrf_of,
    login,
    make_console_env,
    misspell,
    other_phone_format,
    pick_customer,
    published_snapshot,
)
from support.demo_pipeline import copy_demo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def customer(console_env: ConsoleEnv) -> dict:
    return pick_customer(console_env)


def _ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [hit["customer_id"] for hit in response.json()["results"]]


# -- search ------------------------------------------------------------------------------------------------------


def test_search_by_misspelled_name_finds_the_customer(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("agent")
    query = f"{customer['first_name']} {misspell(customer['last_name'])}"
    ids = _ids(client.get("/api/v1/search", params={"q": query}))
    assert customer["customer_id"] in ids[:5], (query, ids)


@pytest.mark.parametrize("variant", ["folded", "loose", "upper"])
def test_search_tolerates_umlaut_spellings(client_for, customer, variant) -> None:  # noqa: ANN001
    from customer360.serving.text import fold, loosen

    last = customer["last_name"]
    spelled = {"folded": fold(last), "loose": loosen(fold(last)), "upper": last.upper()}[variant]
    ids = _ids(
        client_for("agent").get("/api/v1/search", params={"q": f"{customer['first_name']} {spelled}", "limit": 50})
    )
    assert customer["customer_id"] in ids


def test_search_by_phone_in_another_format(client_for, customer) -> None:  # noqa: ANN001
    query = other_phone_format(customer["phone_e164"])
    response = client_for("agent").get("/api/v1/search", params={"q": query})
    assert _ids(response)[0] == customer["customer_id"], query
    assert "phone" in response.json()["results"][0]["matched_on"]


def test_search_by_email_customer_id_and_source_record_ids(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("agent")
    assert _ids(client.get("/api/v1/search", params={"q": customer["email"].upper()}))[0] == customer["customer_id"]
    assert _ids(client.get("/api/v1/search", params={"q": customer["customer_id"].lower()})) == [
        customer["customer_id"]
    ]
    for key, record_id in zip(customer["record_keys"], customer["record_ids"], strict=True):
        for query in (record_id, key):
            response = client.get("/api/v1/search", params={"q": query})
            assert customer["customer_id"] in _ids(response)[:3], query
            assert "record_id" in response.json()["results"][0]["matched_on"]


def test_search_results_are_ranked(client_for, customer) -> None:  # noqa: ANN001
    response = client_for("agent").get("/api/v1/search", params={"q": customer["full_name"], "limit": 20})
    scores = [hit["score"] for hit in response.json()["results"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0


def test_search_validates_input(client_for) -> None:  # noqa: ANN001
    client = client_for("agent")
    assert client.get("/api/v1/search").status_code == 422
    assert client.get("/api/v1/search", params={"q": ""}).status_code == 422
    assert client.get("/api/v1/search", params={"q": "x" * 201}).status_code == 422
    assert client.get("/api/v1/search", params={"q": "anna", "limit": 0}).status_code == 422
    nothing = client.get("/api/v1/search", params={"q": "zzqxj wvvkz"})
    assert nothing.status_code == 200 and nothing.json()["results"] == []


# -- the customer --------------------------------------------------------------------------------------------------


def test_customer_profile_has_everything(client_for, customer) -> None:  # noqa: ANN001
    response = client_for("agent").get(f"/api/v1/customers/{customer['customer_id']}")
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["customer_id"] == customer["customer_id"] and not profile["redirected"]
    golden = {value["field"]: value for value in profile["golden"]}
    assert golden["last_name"]["value"] == customer["last_name"]
    assert golden["last_name"]["source"], "every golden value names its source"
    assert profile["next_best_action"]["action"] and profile["next_best_action"]["reason"]
    assert {flag["code"] for flag in profile["risk_flags"]} >= {
        "has_open_complaint",
        "is_value_dropping",
        "has_recent_bad_experience",
    }
    assert "is_newsletter_subscribed" in profile["consent"]
    assert profile["timeline"]["total"] >= 1 and profile["timeline"]["items"]
    assert len(profile["explanation"]["members"]) == customer["records"]
    assert profile["explanation"]["links"], "a multi-record customer has link evidence"
    assert profile["missing_tables"] == []
    assert profile["snapshot"]["file"] == published_snapshot_name(client_for)


def test_consent_per_purpose_and_channel_with_its_source(client_for, console_env) -> None:  # noqa: ANN001
    """A customer with a "do not call" note and one whose records disagree: the profile lists every statement of
    marts.customer_consent with where it came from, and the records that say otherwise."""
    client = client_for("agent")
    for condition in ("purpose = 'any' and consent_channel = 'phone'", "has_conflict"):
        expected = consent_of(console_env, condition)
        assert expected, f"the demo has a customer with {condition}"
        shown = client.get(f"/api/v1/customers/{expected[0]['customer_id']}").json()["consent_statements"]
        assert [(c["purpose"], c["consent_channel"], c["consent_status"], c["evidence_source"]) for c in shown] == [
            (s["purpose"], s["consent_channel"], s["consent_status"], s["evidence_source"]) for s in expected
        ]
        assert [c["conflicting_statements"] for c in shown] == [list(s["conflicting_statements"]) for s in expected]
        assert all(c["source_record_id"] and c["changed_at"] for c in shown)


def published_snapshot_name(client_for) -> str:  # noqa: ANN001
    return client_for("agent").get("/api/v1/snapshot").json()["file"]


def test_unknown_customer_is_404_and_bad_ids_are_422(client_for) -> None:  # noqa: ANN001
    client = client_for("agent")
    missing = client.get("/api/v1/customers/C999999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get("/api/v1/customers/C1%20OR%201=1").status_code == 422
    assert client.get("/api/v1/customers/C999999999/timeline").status_code == 404
    assert client.get("/api/v1/customers/C999999999/next-best-action").status_code == 404


def test_timeline_is_paged_and_filterable(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("agent")
    url = f"/api/v1/customers/{customer['customer_id']}/timeline"
    full = client.get(url, params={"page_size": 200}).json()
    assert full["total"] == len(full["items"]) == sum(c["touchpoints"] for c in full["channels"])
    times = [item["occurred_at"] for item in full["items"]]
    assert times == sorted(times, reverse=True), "newest first"
    first = client.get(url, params={"page_size": 1, "page": 1}).json()
    assert first["items"][0]["touchpoint_id"] == full["items"][0]["touchpoint_id"]
    assert first["has_more"] == (full["total"] > 1)
    if full["total"] > 1:
        second = client.get(url, params={"page_size": 1, "page": 2}).json()
        assert second["items"][0]["touchpoint_id"] == full["items"][1]["touchpoint_id"]
    channel = full["channels"][0]["channel"]
    filtered = client.get(url, params={"channel": channel, "page_size": 200}).json()
    assert filtered["total"] == full["channels"][0]["touchpoints"]
    assert {item["channel"] for item in filtered["items"]} == {channel}
    assert client.get(url, params={"page": 0}).status_code == 422
    assert client.get(url, params={"page_size": 201}).status_code == 422


def test_next_best_action_and_explanation(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("agent")
    nba = client.get(f"/api/v1/customers/{customer['customer_id']}/next-best-action")
    assert nba.status_code == 200 and nba.json()["customer_id"] == customer["customer_id"]
    assert nba.json()["action_code"] and nba.json()["reason"]
    explanation = client.get(f"/api/v1/customers/{customer['customer_id']}/explanation").json()
    assert sorted(m["record_key"] for m in explanation["members"]) == customer["record_keys"]
    assert all(link["evidence"] for link in explanation["links"])


def test_api_token_auth_and_not_same_person(console_env: ConsoleEnv, console_app, customer) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from customer360.console.store import ConsoleStore
    from customer360.core.decisions import list_decisions

    store = ConsoleStore.for_state_dir(console_env.state_dir)
    token = store.create_token(console_env.logins["agent"][0], "test widget")
    with TestClient(console_app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/me", headers=headers).json()["role"] == "agent"
        assert client.get("/api/v1/me", headers={"Authorization": "Bearer c360_wrong"}).status_code == 401
        record = customer["record_keys"][-1]
        response = client.post(
            f"/api/v1/customers/{customer['customer_id']}/not-same-person",
            headers=headers,
            json={"record_key": record, "reason": "API test: different birthday"},
        )
        assert response.status_code == 201, response.text
        assert len(response.json()["decisions"]) == customer["records"] - 1
        bad = client.post(
            f"/api/v1/customers/{customer['customer_id']}/not-same-person",
            headers=headers,
            json={"record_key": "sales:does-not-belong"},
        )
        assert bad.status_code == 422
        invalid = client.post(
            f"/api/v1/customers/{customer['customer_id']}/not-same-person",
            headers=headers,
            json={"record_key": "no colon"},
        )
        assert invalid.status_code == 422
    pairs = {(d.record_key_l, d.record_key_r): d for d in list_decisions(console_env.state_dir)}
    for other in customer["record_keys"][:-1]:
        decision = pairs[tuple(sorted((record, other)))]
        assert decision.decision == "different" and decision.decided_by == console_env.logins["agent"][0]


def test_session_api_post_needs_csrf_header(client_for, customer) -> None:  # noqa: ANN001
    client = client_for("agent")
    url = f"/api/v1/customers/{customer['customer_id']}/not-same-person"
    body = {"record_key": customer["record_keys"][0]}
    refused = client.post(url, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    token = csrf_of(client.get("/").text)
    assert client.post(url, json=body, headers={"X-CSRF-Token": token}).status_code == 201


def test_openapi_documents_errors(client_for) -> None:  # noqa: ANN001
    schema = client_for(None).get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/customers/{customer_id}"]["get"]
    assert {"401", "403", "404", "422", "429"} <= set(operation["responses"])
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    docs = client_for(None).get("/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()


def test_audit_api_lists_views(client_for, customer) -> None:  # noqa: ANN001
    client_for("agent").get(f"/api/v1/customers/{customer['customer_id']}")
    page = client_for("admin").get(
        "/api/v1/audit", params={"customer_id": customer["customer_id"], "action": "view_customer"}
    )
    assert page.status_code == 200
    assert any(item["username"] == "test-agent" and item["channel"] == "api" for item in page.json()["items"])


# -- snapshots -----------------------------------------------------------------------------------------------------


def test_new_snapshot_is_picked_up_without_restart_and_warehouse_lock_is_harmless(demo_pipeline, tmp_path) -> None:  # noqa: ANN001
    import duckdb
    from fastapi.testclient import TestClient

    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings
    from customer360.serving import snapshots as publish

    run = copy_demo(demo_pipeline, tmp_path / "run")
    env = make_console_env(run)
    app = create_app(
        env.config, ConsoleSettings(apply_decisions=False, snapshot_check_seconds=0, requests_per_minute=0)
    )
    with TestClient(app) as client:
        assert login(client, *env.logins["agent"]).status_code == 303
        first = client.get("/api/v1/snapshot").json()["file"]
        # a pipeline run holds the warehouse open for writing: the console reads only the snapshot
        writer = duckdb.connect(str(env.config.warehouse_path))
        try:
            assert client.get("/api/v1/search", params={"q": "a"}).status_code == 200
            # publish a "new" snapshot: a new file, then the pointer flips
            current = published_snapshot(env)
            new = current.with_name("customer360-r99990101T000000Z-test.duckdb")
            shutil.copyfile(current, new)
            (publish.published_dir(env.config) / publish.POINTER).write_text(f"snapshots/{new.name}\n")
            app.state.console.snapshots.refresh(wait=True)
            assert client.get("/api/v1/snapshot").json()["file"] == new.name != first
            assert client.get("/api/v1/search", params={"q": "a"}).status_code == 200
        finally:
            writer.close()
    app.state.console.snapshots.close()


def test_merged_customer_id_answers_with_the_survivor(tmp_path: Path, demo_pipeline) -> None:  # noqa: ANN001
    from c360_devtools.synthetic_snapshot import generate_snapshot
    from fastapi.testclient import TestClient

    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    snapshot = tmp_path / "synthetic.duckdb"
    generate_snapshot(snapshot, customers=300)
    run = copy_demo(demo_pipeline, tmp_path / "run")
    env = make_console_env(run)
    app = create_app(
        env.config, ConsoleSettings(apply_decisions=False, snapshot_override=snapshot, requests_per_minute=0)
    )
    with TestClient(app) as client:
        assert login(client, *env.logins["agent"]).status_code == 303
        # synthetic: C000000308 (= 300 + 7 + 1) was merged into C000000008
        response = client.get("/api/v1/customers/C000000308")
        assert response.status_code == 200
        assert response.json()["customer_id"] == "C000000008" and response.json()["redirected"]
        assert response.headers["content-location"].endswith("/api/v1/customers/C000000008")
        page = client.get("/customers/C000000308", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/customers/C000000008")
        merged = client.get(page.headers["location"] + "&lang=en").text
        assert "Customer ID C000000308 was merged into C000000008" in merged
        assert (
            client.get("/api/v1/search", params={"q": "C000000308"}).json()["results"][0]["customer_id"] == "C000000008"
        )
    app.state.console.snapshots.close()


def test_console_explanation_agrees_with_entity_resolution(console_app, customer) -> None:  # noqa: ANN001
    """The console reads members and evidence without pandas; it must say what `c360 explain` says."""
    from customer360.console import queries
    from customer360.serving.explain import explain_customer

    snapshot = console_app.state.console.snapshots.current()
    ours = queries.load_explanation(snapshot, customer["customer_id"])
    theirs = explain_customer(snapshot.cursor(), customer["customer_id"], schema="marts")
    assert [m.record_key for m in ours.members] == [m["record_key"] for m in theirs.members]
    assert [
        (link.record_key_l, link.record_key_r, [(e.comparison, e.level) for e in link.evidence]) for link in ours.links
    ] == [
        (link.record_key_l, link.record_key_r, [(c, label) for c, label, _ in link.evidence]) for link in theirs.links
    ]


def test_cli_lookup_prints_the_same_summary(console_env: ConsoleEnv, customer) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from customer360.cli import app
    from customer360.console.store import ConsoleStore

    runner = CliRunner()
    config = str(console_env.config.file)
    single = runner.invoke(
        app, ["lookup", other_phone_format(customer["phone_e164"]), "--config", config], env={"COLUMNS": "200"}
    )
    assert single.exit_code == 0, single.output
    assert customer["full_name"] in single.output and customer["customer_id"] in single.output
    assert "next best action" in single.output and "timeline" in single.output
    as_json = runner.invoke(app, ["lookup", customer["customer_id"], "--json", "--config", config])
    assert as_json.exit_code == 0 and f'"customer_id": "{customer["customer_id"]}"' in as_json.output
    listing = runner.invoke(app, ["lookup", customer["last_name"], "--config", config], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and customer["customer_id"] in listing.output
    missing = runner.invoke(app, ["lookup", "zzqxj wvvkz", "--config", config])
    assert missing.exit_code == 1
    entries, _ = ConsoleStore.for_state_dir(console_env.state_dir).audit_entries(
        customer_id=customer["customer_id"], action="view_customer"
    )
    assert any(e["channel"] == "cli" and e["username"].startswith("cli:") for e in entries)
