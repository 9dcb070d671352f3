"""Decisions at once (docs/console.md#decisions-at-once): a decision made in the console is published by a real
`c360 decisions apply` process in the background, and the customer page shows it without waiting for a
scheduled run; stewards join two customers ("same person") and undo decisions; the next run agrees.

On a private copy of the demo run: an agent separates a record, a steward joins it back as "same person", undoes
that (separate again), undoes the separation (the original customer again), and then a scheduled run and a full
re-resolution change nothing.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
import pytest
from support.console import csrf_of, login, make_console_env, pick_customer, published_snapshot
from support.demo_pipeline import copy_demo

from customer360 import pipeline
from customer360.core.decisions import list_decisions

pytestmark = pytest.mark.integration

APPLY_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def world(demo_pipeline, tmp_path_factory) -> Any:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    env = make_console_env(copy_demo(demo_pipeline, tmp_path_factory.mktemp("decisions")))
    app = create_app(env.config, ConsoleSettings(apply_decisions=True, snapshot_check_seconds=0, requests_per_minute=0))
    clients = {}
    for role in ("agent", "admin"):
        clients[role] = TestClient(app)
        assert login(clients[role], *env.logins[role]).status_code == 303
    yield env, app, clients
    for client in clients.values():
        client.close()
    app.state.console.snapshots.close()


def identity_map(env) -> dict[str, str]:  # noqa: ANN001
    from customer360.console.snapshot import duckdb_config

    # the console of this process has the snapshot open: the same configuration, or DuckDB refuses
    with duckdb.connect(str(published_snapshot(env)), read_only=True, config=duckdb_config()) as con:
        return dict(con.execute("select record_key, customer_id from marts.customer_identity_map").fetchall())


def partition(mapping: dict[str, str]) -> set[frozenset[str]]:
    customers: dict[str, set[str]] = {}
    for record, customer in mapping.items():
        customers.setdefault(customer, set()).add(record)
    return {frozenset(records) for records in customers.values()}


def review_pair_in_one_customer(env) -> tuple[str, str]:  # noqa: ANN001
    from customer360.console.snapshot import duckdb_config

    with duckdb.connect(str(published_snapshot(env)), read_only=True, config=duckdb_config()) as con:
        return con.execute(
            "select c.record_key_l, c.record_key_r from marts.review_candidates as c"
            " join marts.customer_identity_map as l on l.record_key = c.record_key_l"
            " join marts.customer_identity_map as r on r.record_key = c.record_key_r"
            " where l.customer_id = r.customer_id order by c.match_probability, 1, 2 limit 1"
        ).fetchone()


def wait_for_apply(app) -> None:  # noqa: ANN001
    applier = app.state.console.decisions
    deadline = time.monotonic() + APPLY_TIMEOUT_SECONDS
    while applier.busy and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not applier.busy, "the apply did not finish"
    assert applier.job is not None and not applier.job.failed, applier.job and applier.job.last_lines(30)


def test_decisions_are_published_at_once_undone_and_kept_by_the_next_run(world) -> None:  # noqa: ANN001
    env, app, clients = world
    customer = pick_customer(env)
    customer_id, record = customer["customer_id"], customer["record_keys"][-1]
    before = identity_map(env)
    agent, steward = clients["agent"], clients["admin"]

    # 1. an agent: not the same person → published by a background apply; the page says so, then shows it
    token = csrf_of(agent.get(f"/customers/{customer_id}").text)
    response = agent.post(
        f"/customers/{customer_id}/not-same-person",
        data={"csrf_token": token, "record_key": record, "reason": "twin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = agent.get(response.headers["location"].split("#")[0] + "&lang=en")
    assert "Publishing the change now" in page.text
    wait_for_apply(app)
    split = identity_map(env)
    members = set(customer["record_keys"])
    assert split[record] not in {before[key] for key in members}  # a customer of its own now
    assert customer_id in {split[key] for key in members - {record}}  # the rest keeps the ID
    # nobody else moved (a member linked to the others only through the separated record may leave with it)
    assert {key for key, value in split.items() if value != before[key]} <= members
    page = agent.get(f"/customers/{customer_id}?lang=en")
    assert f'<td class="mono">{record}</td>' not in page.text  # no longer a member
    assert "applied" in page.text and "not published yet" not in page.text and "Publishing a decision" not in page.text

    # 2. "same person" is for stewards: an agent is refused, a steward joins the two customers again
    other = split[record]
    token = csrf_of(agent.get(f"/customers/{customer_id}").text)
    refused = agent.post(
        f"/customers/{customer_id}/same-person",
        data={"csrf_token": token, "other_customer_id": other},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    token = csrf_of(steward.get(f"/customers/{customer_id}").text)
    joined = steward.post(
        f"/customers/{customer_id}/same-person",
        data={"csrf_token": token, "other_customer_id": other, "reason": "same passport"},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    wait_for_apply(app)
    joined_map = identity_map(env)
    assert joined_map[record] == customer_id  # it overrides the separation; the bigger customer's ID stays
    assert {key for key, value in joined_map.items() if value != split[key]} <= members
    assert steward.get(f"/customers/{other}", follow_redirects=False).status_code == 303  # merged: leads here

    # 3. undo the join (API) → separated again; undo the separation (form) → as the model sees it
    same = [d for d in list_decisions(env.state_dir) if d.decision == "same"]
    sizes = [sum(1 for value in split.values() if value == wanted) for wanted in (customer_id, other)]
    assert len(same) == sizes[0] * sizes[1]  # every record of the one with every record of the other
    token = csrf_of(steward.get("/").text)
    undone = steward.post(f"/api/v1/decisions/{same[0].decision_id}/undo", headers={"X-CSRF-Token": token})
    assert undone.status_code == 200 and undone.json()["applying"] is True, undone.text
    wait_for_apply(app)
    assert partition(identity_map(env)) == partition(split)  # the record gets a new ID: merged IDs are not revived
    different = [d for d in list_decisions(env.state_dir) if d.decision == "different"]
    assert len(different) == customer["records"] - 1
    token = csrf_of(steward.get(f"/customers/{customer_id}").text)
    response = steward.post(
        f"/customers/{customer_id}/decisions/{different[0].decision_id}/undo",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    wait_for_apply(app)
    assert list_decisions(env.state_dir) == []  # the whole action was withdrawn, every pair
    assert identity_map(env) == before

    # 3b. a steward's "different" on the review page is a decision too: published at once, undone like any other
    left, right = review_pair_in_one_customer(env)
    token = csrf_of(steward.get("/review").text)
    answered = steward.post(
        "/review/answer",
        data={"csrf_token": token, "record_key_l": left, "record_key_r": right, "answer": "different"},
        follow_redirects=False,
    )
    assert answered.status_code == 303 and "applying=true" in answered.headers["location"]
    assert "Publishing it now" in steward.get(answered.headers["location"] + "&lang=en").text
    wait_for_apply(app)
    assert identity_map(env)[left] != identity_map(env)[right]
    (review_decision,) = list_decisions(env.state_dir)
    token = csrf_of(steward.get("/").text)
    undone = steward.post(f"/api/v1/decisions/{review_decision.decision_id}/undo", headers={"X-CSRF-Token": token})
    assert undone.status_code == 200 and undone.json()["applying"] is True, undone.text
    wait_for_apply(app)
    assert partition(identity_map(env)) == partition(before)

    # 4. the next scheduled run, and a full re-resolution, agree with what the console published (no ingestion:
    # the copy's helpdesk stand-in is gone, and nothing new arrives anyway)
    for full in (False, True):
        stages = [stage for stage in pipeline.default_stages(full=full) if stage[0] != "ingest"]
        summary = pipeline.run_pipeline(pipeline.RunContext.new(env.config), stages)
        assert summary.exit_code == 0, summary.message
        assert identity_map(env) == before, f"full={full}"

    # 5. the same from the command line: decide and publish, undo and publish
    from typer.testing import CliRunner

    from customer360.cli import app as cli

    config = ["--config", str(env.config.file)]
    added = CliRunner().invoke(
        cli, ["decisions", "add", record, customer["record_keys"][0], "--different", "--apply", *config]
    )
    assert added.exit_code == 0 and "decisions applied and published" in added.output, added.output
    assert identity_map(env)[record] != identity_map(env)[customer["record_keys"][0]]
    (decision,) = list_decisions(env.state_dir)
    undone = CliRunner().invoke(cli, ["decisions", "undo", str(decision.decision_id), "--apply", *config])
    assert undone.exit_code == 0 and f"withdrew decision {decision.decision_id}" in undone.output, undone.output
    assert identity_map(env) == before
    missing = CliRunner().invoke(cli, ["decisions", "undo", str(decision.decision_id), *config])
    assert missing.exit_code == 2 and "already undone" in missing.output


def test_an_apply_that_fails_is_reported_not_swallowed(tmp_path) -> None:  # noqa: ANN001
    from customer360.console.jobs import DecisionApplier

    applier = DecisionApplier(tmp_path / "missing.yml", tmp_path, on_published=lambda: pytest.fail("not published"))
    applier.request()
    deadline = time.monotonic() + 120
    while applier.busy and time.monotonic() < deadline:
        time.sleep(0.2)
    assert applier.failed is not None and "missing.yml" in applier.failed, applier.failed
