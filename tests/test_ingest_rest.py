"""REST connector against a loopback JSON API: pagination, incremental cursor, retries, bad pages, auth."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.configs import counts, ledger_balanced, make_config, query, scalar

from customer360.ingest import ingest

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def ticket(i: int, updated: str = "2024-01-01T00:00:00Z", **extra) -> dict:
    return {
        "id": i,
        "subject": f"Ticket {i}",
        "status": "open",
        "requester": {"id": 100 + i, "name": "Anna Müller"},
        "tags": ["a"],
        "order_number": None,
        "updated_at": updated,
        **extra,
    }


def api_config(
    tmp_path: Path,
    api,
    token: str = "t0k3n",
    retries=None,
    timeout: float = 5.0,
    tables=None,
    extra_sources=None,
):
    service = {
        "connector": "rest",
        "base_url": api.base_url,
        "token": token,
        "timeout_seconds": timeout,
        "retries": retries or {"max_attempts": 3, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05},
        "tables": tables
        or {
            "tickets": {
                "endpoint": "/tickets",
                "records_field": "tickets",
                "pagination": {"type": "next_link", "next_field": "next_page", "page_size": 2},
                "primary_key": "id",
                "incremental": {"cursor": "updated_at", "param": "updated_since"},
            },
        },
    }
    return make_config(tmp_path, {"service": service, **(extra_sources or {})})


def run(config, run_id="r1", at=T0, **kwargs):
    return ingest(config, run_id=run_id, loaded_at=at, **kwargs)


def test_next_link_pagination_and_incremental_cursor(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(i, f"2024-01-0{i}T10:00:00Z") for i in range(1, 6)]
    config = api_config(tmp_path, fake_api)

    report = run(config)

    result = report.result("service", "tickets")
    assert report.ok and (result.rows_delivered, result.rows_loaded) == (5, 5)
    assert len(fake_api.requests_to("tickets")) == 3  # pages of 2
    assert all(h.get("Authorization") == "Bearer t0k3n" for _, _, h in fake_api.requests)
    rows = query(
        config,
        "select id, subject, requester, tags, order_number, _c360_row_number, _c360_source "
        "from raw_service.tickets order by _c360_row_number",
    )
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"] and [r[5] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][2] == '{"id":101,"name":"Anna Müller"}' and rows[0][3] == '["a"]' and rows[0][4] is None
    assert "page=2" in rows[2][6] and rows[0][6].startswith(fake_api.base_url + "/tickets?")
    types = dict(query(config, "select column_name, column_type from (describe raw_service.tickets)"))
    assert types["requester"] == "JSON" and types["id"] == "VARCHAR"
    assert query(config, "select cursor_from, cursor_to, status from meta.batches") == [
        (None, "2024-01-05T10:00:00Z", "loaded")
    ]
    assert "updated_since" not in fake_api.requests_to("tickets")[0]

    # nothing new: the boundary record is read again and skipped; no batch, no rows
    fake_api.requests.clear()
    again = run(config, "r2", T0 + timedelta(hours=1))
    assert fake_api.requests_to("tickets")[0]["updated_since"] == "2024-01-05T10:00:00Z"
    assert again.result("service", "tickets").status == "unchanged"
    assert counts(config, "service", "tickets") == (5, 0, 1)

    # a changed ticket and a new one
    fake_api.collections["tickets"][1] = ticket(2, "2024-01-06T10:00:00Z", status="solved")
    fake_api.collections["tickets"].append(ticket(6, "2024-01-07T10:00:00Z"))
    third = run(config, "r3", T0 + timedelta(hours=2)).result("service", "tickets")
    assert (third.rows_delivered, third.rows_loaded, third.rows_duplicate) == (3, 2, 1)
    assert query(
        config,
        "select id, status from raw_service.tickets where _c360_batch_id = ? order by id",
        [third.batches[0]],
    ) == [("2", "solved"), ("6", "open")]
    assert ledger_balanced(config)


def test_page_number_pagination(tmp_path, fake_api):
    fake_api.collections["comments"] = [
        {"id": i, "ticket_id": 1, "body": f"c{i}", "updated_at": "2024-01-01"} for i in range(1, 8)
    ]
    config = api_config(
        tmp_path,
        fake_api,
        tables={
            "ticket_comments": {
                "endpoint": "/comments",
                "records_field": "comments",
                "params": {"style": "page_number"},
                "pagination": {
                    "type": "page_number",
                    "page_param": "page",
                    "size_param": "per_page",
                    "page_size": 3,
                },
            }
        },
    )
    result = run(config).result("service", "ticket_comments")
    assert result.rows_loaded == 7
    assert [q["page"] for q in fake_api.requests_to("comments")] == ["1", "2", "3"]
    assert scalar(config, "select count(distinct id) from raw_service.ticket_comments") == 7


def test_429_then_success_is_retried(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(1)]
    fake_api.inject("/api/v2/tickets", statuses=[429, 503], retry_after=0)
    report = run(api_config(tmp_path, fake_api))
    result = report.result("service", "tickets")
    assert report.ok and result.rows_loaded == 1
    assert len(fake_api.requests_to("tickets")) == 3
    assert any("HTTP 429" in m.text and "retry 1/2" in m.text for m in result.messages)


def test_500_exhausting_retries_fails_the_source_but_others_load(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(i) for i in range(1, 5)]
    (tmp_path / "in").mkdir()
    (tmp_path / "in/a.csv").write_text("id\n1\n")
    config = api_config(
        tmp_path,
        fake_api,
        extra_sources={
            "marketing": {"connector": "files", "tables": {"contacts": {"path": "in/*.csv", "format": "csv"}}}
        },
    )
    # page 1 answers, page 2 fails three times: nothing from the read may be loaded
    original = fake_api._handle

    def failing_page_two(handler):
        if "page=2" in handler.path:
            fake_api.inject("/api/v2/tickets", statuses=[500])
        original(handler)

    fake_api._handle = failing_page_two

    report = run(config)

    assert report.failed_sources == ["service"] and report.exit_code == 3
    error = report.result("service", "tickets").errors[0]
    assert "page=2" in error and "HTTP 500" in error and "after 3 attempt(s)" in error
    assert "nothing from this read was loaded" in error
    assert counts(config, "service", "tickets") == (0, 0, 1)
    assert query(
        config,
        "select status, location, message like '%HTTP 500%' from meta.batches where source_name = 'service'",
    ) == [("failed", f"GET {fake_api.base_url}/tickets", True)]
    assert report.result("marketing", "contacts").rows_loaded == 1


def test_timeout_is_retried_then_reported(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(1)]
    config = api_config(tmp_path, fake_api, timeout=0.3)
    fake_api.delay("/api/v2/tickets", seconds=0.6, times=1)
    assert run(config).result("service", "tickets").rows_loaded == 1

    fake_api.delay("/api/v2/tickets", seconds=0.6, times=3)
    report = run(config, "r2", T0 + timedelta(hours=1))
    error = report.result("service", "tickets").errors[0]
    assert "no answer within 0.3 s" in error and "after 3 attempt(s)" in error


def test_page_with_null_records_and_non_object_records_are_quarantined(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(i, f"2024-01-0{i}") for i in range(1, 7)]
    fake_api.pages["tickets"] = {  # page 1 is served normally (tickets 1, 2)
        2: {"tickets": None, "count": 6, "next_page": "/api/v2/tickets?page=3"},  # relative link
        3: {"tickets": [ticket(5, "2024-01-05"), 42], "next_page": None},
    }
    config = api_config(tmp_path, fake_api)

    report = run(config)

    result = report.result("service", "tickets")
    assert report.ok
    assert (result.rows_delivered, result.rows_loaded, result.rows_rejected) == (5, 3, 2)
    bad = query(
        config,
        "select _c360_row_number, _c360_rule, _c360_reason, _c360_record, _c360_source "
        "from quarantine.service__tickets order by 1",
    )
    assert bad[0][1] == "no_records" and "page 2 of GET" in bad[0][2] and "'tickets' is missing or null" in bad[0][2]
    assert '"tickets": null' in bad[0][3] and "page=2" in bad[0][4]
    assert bad[1][1] == "not_an_object" and "record 2 of page 3" in bad[1][2] and bad[1][3] == "42"
    assert ledger_balanced(config)
    assert query(config, "select rows_delivered, rows_loaded, rows_rejected from meta.batches") == [(5, 3, 2)]

    # the same bad page and record are served again (page 1 now brings ticket 6): quarantined only once
    again = run(config, "r2", T0 + timedelta(hours=1)).result("service", "tickets")
    assert (again.rows_loaded, again.rows_rejected, again.rows_duplicate) == (1, 0, 4)
    assert counts(config, "service", "tickets") == (4, 2, 2)
    third = run(config, "r3", T0 + timedelta(hours=2)).result("service", "tickets")
    assert third.status == "unchanged" and counts(config, "service", "tickets") == (4, 2, 2)
    assert ledger_balanced(config)


def test_bad_token_gives_a_clear_message(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(1)]
    report = run(api_config(tmp_path, fake_api, token="wrong"))
    error = report.result("service", "tickets").errors[0]
    assert "HTTP 401" in error and "`token` of source 'service'" in error
    assert len(fake_api.requests_to("tickets")) == 1  # not retried
    assert report.exit_code == 1


def test_api_down_names_the_url(tmp_path, fake_api):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = api_config(tmp_path, fake_api)
    config = config.model_copy(
        update={"sources": [config.sources[0].model_copy(update={"base_url": f"http://127.0.0.1:{port}/api/v2"})]}
    )
    report = run(config)
    error = report.result("service", "tickets").errors[0]
    assert f"127.0.0.1:{port}/api/v2/tickets" in error and "connection failed" in error


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_retry_after_header_is_honoured(retry_after):
    from customer360.ingest.rest import _retry_after

    class Response:
        headers = {"Retry-After": retry_after}

    assert _retry_after(Response()) == 0.0


@pytest.mark.parametrize("pagination", ["next_link", "page_number"])
def test_an_error_page_that_answers_200_fails_the_read(tmp_path, fake_api, pagination):
    """{"error": ...} with HTTP 200 on page 2: nobody knows how many pages were left, so nothing is loaded and the
    source fails with the page's text (issue 15); before, paging stopped there and the run ended with exit 0."""
    fake_api.collections["tickets"] = [ticket(i, f"2024-01-0{i}") for i in range(1, 7)]
    fake_api.pages["tickets"] = {2: {"error": "rate limit exceeded, try later", "next_page": None}}
    settings = {"type": pagination, "page_size": 2}
    if pagination == "next_link":
        settings["next_field"] = "next_page"
    tables = {
        "tickets": {"endpoint": "/tickets", "records_field": "tickets", "pagination": settings, "primary_key": "id"}
    }
    config = api_config(tmp_path, fake_api, tables=tables)

    report = run(config)

    assert report.failed_sources == ["service"] and report.exit_code == 1  # the only source: nothing loaded
    error = report.result("service", "tickets").errors[0]
    assert "(page 2) has no list of records at 'tickets' and no next page" in error
    assert "rate limit exceeded" in error and "nothing from this read was loaded" in error
    assert counts(config, "service", "tickets")[0] == 0
