"""The console's review page and API for data stewards: the next pair side by side with the evidence, same /
different / unsure with CSRF, roles, and a `different` answer that the next pipeline run obeys.

Integration: a private copy of the session's demo run (tests/support/demo_pipeline.py) with a steward user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest
from support.console import PASSWORD, ConsoleEnv, csrf_of, login, make_console_env
from support.demo_pipeline import DemoRun, copy_demo

from customer360 import pipeline
from customer360.core.decisions import list_decisions, list_review_answers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def review_env(demo_pipeline: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> ConsoleEnv:
    from customer360.console.store import ConsoleStore

    env = make_console_env(copy_demo(demo_pipeline, tmp_path_factory.mktemp("review-console")))
    ConsoleStore.for_state_dir(env.state_dir).add_user("test-steward", PASSWORD, "steward", "Test steward")
    env.logins["steward"] = ("test-steward", PASSWORD)
    return env


@pytest.fixture(scope="module")
def review_app(review_env: ConsoleEnv) -> Iterator[Any]:
    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    app = create_app(
        review_env.config, ConsoleSettings(apply_decisions=False, requests_per_minute=0, snapshot_override=None)
    )
    yield app
    app.state.console.snapshots.close()


@pytest.fixture
def client_as(review_app: Any, review_env: ConsoleEnv) -> Iterator[Callable[[str | None], Any]]:
    from fastapi.testclient import TestClient

    clients = []

    def make(role: str | None) -> Any:
        client = TestClient(review_app)
        clients.append(client)
        if role is not None:
            assert login(client, *review_env.logins[role]).status_code == 303
        return client

    yield make
    for client in clients:
        client.close()


def shown_pair(html: str) -> tuple[str, str]:
    left = re.search(r'name="record_key_l" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    right = re.search(r'name="record_key_r" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    return left, right


def test_steward_sees_the_next_pair_side_by_side_with_the_evidence(client_as, review_env: ConsoleEnv) -> None:  # noqa: ANN001
    client = client_as("steward")
    home = client.get("/?lang=en")
    assert 'href="/review"' in home.text
    page = client.get("/review?lang=en")
    assert page.status_code == 200
    left, right = shown_pair(page.text)
    assert left < right and left in page.text and right in page.text
    for text in ("Same person", "Different people", "Not sure", "Evidence per comparison", "Answers per score band"):
        assert text in page.text
    next_pair = client.get("/api/v1/review/next").json()
    assert (next_pair["pair"]["record_key_l"], next_pair["pair"]["record_key_r"]) == (left, right)
    evidence = next_pair["pair"]["evidence"]
    assert evidence and all(item["level"] for item in evidence)
    for item in evidence:
        assert item["level"] in page.text.replace("&#39;", "'").replace("&amp;", "&")
    assert next_pair["pair"]["left"]["source_system"] and next_pair["pair"]["right"]["full_name"] is not None
    assert next_pair["remaining"] > 0 and next_pair["progress"]
    german = client.get("/review?lang=de")
    assert "Dieselbe Person" in german.text and "Verschiedene Personen" in german.text


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_roles_without_review_permission_are_refused(client_as, role: str) -> None:  # noqa: ANN001
    client = client_as(role)
    assert client.get("/review").status_code == 403
    assert 'href="/review"' not in client.get("/").text
    assert client.get("/api/v1/review/next").json()["code"] == "forbidden"
    token = csrf_of(client.get("/").text)
    body = {"record_key_l": "a:1", "record_key_r": "b:1", "answer": "same"}
    assert client.post("/review/answer", data={**body, "csrf_token": token}).status_code == 403
    assert client.post("/api/v1/review/answers", json=body, headers={"X-CSRF-Token": token}).status_code == 403


def test_anonymous_is_sent_to_login(client_as) -> None:  # noqa: ANN001
    anonymous = client_as(None)
    assert anonymous.get("/review", follow_redirects=False).headers["location"].startswith("/login")
    assert anonymous.get("/api/v1/review/next").status_code == 401


def test_answers_need_csrf_and_a_candidate_pair(client_as, review_env: ConsoleEnv) -> None:  # noqa: ANN001
    client = client_as("steward")
    page = client.get("/review")
    left, right = shown_pair(page.text)
    before = len(list_review_answers(review_env.state_dir))
    body = {"record_key_l": left, "record_key_r": right, "answer": "same"}
    assert client.post("/review/answer", data=body).status_code == 403
    assert client.post("/review/answer", data={**body, "csrf_token": "wrong"}).status_code == 403
    token = csrf_of(page.text)
    cross = client.post(
        "/review/answer", data={**body, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert client.post("/api/v1/review/answers", json=body).json()["code"] == "csrf_failed"
    not_a_candidate = client.post(
        "/review/answer",
        data={"record_key_l": "sales:1", "record_key_r": "sales:999999", "answer": "same", "csrf_token": token},
    )
    assert not_a_candidate.status_code == 404
    bad_answer = client.post("/review/answer", data={**body, "answer": "maybe", "csrf_token": token})
    assert bad_answer.status_code == 422
    assert (
        client.post(
            "/api/v1/review/answers", json={**body, "answer": "maybe"}, headers={"X-CSRF-Token": token}
        ).status_code
        == 422
    )
    assert len(list_review_answers(review_env.state_dir)) == before


def test_three_buttons_record_answers_decisions_and_audit(client_as, review_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.console.store import ConsoleStore

    client = client_as("steward")
    seen = []
    for answer in ("same", "different", "unsure"):
        page = client.get("/review?lang=en")
        pair = shown_pair(page.text)
        assert pair not in seen  # an answered pair never comes back
        seen.append(pair)
        response = client.post(
            "/review/answer",
            data={
                "record_key_l": pair[0],
                "record_key_r": pair[1],
                "answer": answer,
                "csrf_token": csrf_of(page.text),
                "reason": f"console {answer}",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == f"/review?saved={answer}"
        assert "Saved:" in client.get(response.headers["location"] + "&lang=en").text
    answers = {(a.record_key_l, a.record_key_r): a for a in list_review_answers(review_env.state_dir)}
    decisions = {(d.record_key_l, d.record_key_r): d for d in list_decisions(review_env.state_dir)}
    for pair, answer in zip(seen, ("same", "different", "unsure"), strict=True):
        assert answers[pair].answer == answer and answers[pair].answered_by == "test-steward"
        assert answers[pair].match_probability is not None
        if answer == "unsure":
            assert answers[pair].decision_id is None and pair not in decisions
        else:
            assert decisions[pair].decision == answer and decisions[pair].decision_id == answers[pair].decision_id
    audit, _ = ConsoleStore.for_state_dir(review_env.state_dir).audit_entries(action="review_answer")
    assert {entry["detail"].split(": ")[1] for entry in audit[:3]} == {"same", "different", "unsure"}


def test_api_token_answers_and_admin_may_review(client_as, review_app, review_env: ConsoleEnv) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from customer360.console.store import ConsoleStore

    token = ConsoleStore.for_state_dir(review_env.state_dir).create_token("test-steward", "review widget")
    with TestClient(review_app) as api:
        headers = {"Authorization": f"Bearer {token}"}
        queue = api.get("/api/v1/review/next", headers=headers).json()
        pair = queue["pair"]
        created = api.post(
            "/api/v1/review/answers",
            headers=headers,
            json={"record_key_l": pair["record_key_r"], "record_key_r": pair["record_key_l"], "answer": "unsure"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["decision_id"] is None and created.json()["record_key_l"] == pair["record_key_l"]
        after = api.get("/api/v1/review/next", headers=headers).json()
        assert after["answered"] == queue["answered"] + 1
        assert (after["pair"]["record_key_l"], after["pair"]["record_key_r"]) != (
            pair["record_key_l"],
            pair["record_key_r"],
        )
    admin = client_as("admin")
    assert admin.get("/review").status_code == 200 and 'href="/review"' in admin.get("/").text
    schema = admin.get("/api/v1/openapi.json").json()
    assert "/api/v1/review/next" in schema["paths"] and "/api/v1/review/answers" in schema["paths"]


def test_a_different_answer_is_a_decision_the_next_run_obeys(client_as, review_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.console.snapshot import duckdb_config
    from customer360.serving.snapshots import current_snapshot

    involved = {key for a in list_review_answers(review_env.state_dir) for key in (a.record_key_l, a.record_key_r)}
    with duckdb.connect(str(current_snapshot(review_env.config)), read_only=True, config=duckdb_config()) as con:
        together = con.execute(
            "select record_key_l, record_key_r from marts.review_candidates where is_same_customer order by sample_rank"
        ).fetchall()
    left, right = next(pair for pair in together if not involved & set(pair))
    client = client_as("steward")
    token = csrf_of(client.get("/review").text)
    response = client.post(
        "/review/answer",
        data={"record_key_l": left, "record_key_r": right, "answer": "different", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303

    ctx = pipeline.RunContext.new(review_env.config)
    summary = pipeline.run_pipeline(ctx, [("resolve", pipeline.resolve)])
    assert summary.exit_code == 0, summary.message
    with duckdb.connect(str(review_env.config.warehouse_path), read_only=True) as con:
        customers = dict(con.execute("select record_key, customer_id from entity_resolution.identity_map").fetchall())
        vetoed = con.execute(
            "select vetoed_by from entity_resolution.links where record_key_l = ? and record_key_r = ?", [left, right]
        ).fetchone()
    assert customers[left] != customers[right]
    assert vetoed is None or vetoed[0] == "decision: not the same person"
