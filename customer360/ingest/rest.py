"""The REST connector: JSON pages over HTTP (httpx), with pagination, an incremental cursor and retries.

All pages of one read are written to temporary files and loaded in one statement (one batch). A read that
fails part-way (retries exhausted, HTTP error) loads nothing, so the cursor never skips unread pages.
Records are de-duplicated by row hash: re-running adds nothing.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin

import httpx

from customer360.core.config import SourceConfig
from customer360.ingest.loader import (
    RECORDS,
    REJECTS,
    STAGE,
    Batch,
    SourceError,
    TableContext,
    count_rows,
    first_line,
    last_cursor,
    later_text,
    literal,
    stage_json_records,
    stage_pages,
    text_cursor_max_sql,
    text_lower_bound,
    write_batch,
)

PAGES = "_c360_ingest_pages"
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@contextmanager
def client(source: SourceConfig) -> Iterator[httpx.Client]:
    headers = {"Accept": "application/json", "User-Agent": "customer360-ingest", **source.headers}
    if source.token:
        headers["Authorization"] = f"Bearer {source.token}"
    with httpx.Client(headers=headers, timeout=source.timeout_seconds, follow_redirects=True) as http:
        yield http


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def fetch(
    ctx: TableContext, http: httpx.Client, url: str, params: dict[str, str] | None, sleep=time.sleep
) -> httpx.Response:
    """GET, retried on 429, 5xx, timeouts and connection errors (exponential backoff, jitter, Retry-After)."""
    source = ctx.source
    policy = source.retries
    shown = str(httpx.URL(url, params=params)) if params else url
    problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        wait: float | None = None
        try:
            response = http.get(url, params=params)
        except httpx.TimeoutException:
            problem = f"no answer within {source.timeout_seconds:g} s (timeout_seconds)"
        except httpx.TransportError as error:
            problem = f"connection failed ({first_line(error)})"
        else:
            status = response.status_code
            if status in _RETRY_STATUSES or status >= 500:
                problem = f"HTTP {status} {response.reason_phrase}".strip()
                wait = _retry_after(response)
            elif status in (401, 403):
                raise SourceError(
                    f"{ctx.label}: GET {shown} answered HTTP {status} {response.reason_phrase}: the API "
                    f"refused the credentials — check `token` of source '{source.name}' (set it with "
                    "${VAR} in the configuration and the variable in the environment)"
                )
            elif status >= 400:
                raise SourceError(
                    f"{ctx.label}: GET {shown} answered HTTP {status} {response.reason_phrase}: "
                    f"{response.text[:300].strip()} — check `base_url`, `endpoint` and `params` of table "
                    f"'{ctx.table.name}'"
                )
            else:
                return response
        if attempt == policy.max_attempts:
            break
        delay = min(policy.max_backoff_seconds, policy.backoff_seconds * 2 ** (attempt - 1))
        delay += random.uniform(0, delay * 0.1)
        if wait is not None:  # the server said when to come back: honour it, up to max_backoff_seconds
            delay = min(max(wait, 0.0), max(policy.max_backoff_seconds, policy.backoff_seconds))
        ctx.result.info(
            f"{ctx.label}: GET {shown}: {problem}; retry {attempt}/{policy.max_attempts - 1} in {delay:.1f} s"
        )
        sleep(delay)
    raise SourceError(
        f"{ctx.label}: GET {shown} failed after {policy.max_attempts} attempt(s), last: {problem} — check "
        f"that the API at {source.base_url} is up and run again (nothing from this read was loaded)"
    )


def endpoint_url(source: SourceConfig, endpoint: str) -> str:
    if endpoint.startswith(("http://", "https://")):
        return endpoint
    return (source.base_url or "").rstrip("/") + "/" + endpoint.lstrip("/")


def load_table(ctx: TableContext, http: httpx.Client) -> None:
    table = ctx.table
    pagination = table.pagination
    url = endpoint_url(ctx.source, table.endpoint or "")
    params: dict[str, str] = dict(table.params)
    cursor, param = table.incremental.cursor, table.incremental.param
    previous = last_cursor(ctx) if cursor else None
    bound = None
    if cursor and param and previous is not None:
        bound = text_lower_bound(previous, table.incremental.lookback_seconds)
        params[param] = bound
    if pagination.type != "none":
        params[pagination.size_param] = str(pagination.page_size)
    if pagination.type == "page_number":
        params[pagination.page_param] = "1"
    first = str(httpx.URL(url, params=params))

    folder = ctx.tmpdir / f"{ctx.source.name}.{ctx.table.name}.pages"
    folder.mkdir(parents=True, exist_ok=True)
    urls: list[str] = []
    records = 0
    page_number = 1
    seen: set[str] = set()
    next_url: str | None = url
    next_params: dict[str, str] | None = params
    ctx.progress.update(description=f"{ctx.label}: GET {first}")
    while next_url is not None:
        response = fetch(ctx, http, next_url, next_params)
        page_url = str(response.url)
        seen.add(page_url)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise SourceError(
                f"{ctx.label}: GET {page_url} (page {len(urls) + 1}) did not return JSON ({error}): "
                f"{response.text[:200]!r} — nothing from this read was loaded"
            ) from None
        urls.append(page_url)
        (folder / f"page_{len(urls):07d}.json").write_text(response.text, encoding="utf-8")
        page_records = _records(body, table.records_field)
        records += len(page_records) if isinstance(page_records, list) else 0
        ctx.progress.update(description=f"{ctx.label}: {len(urls)} page(s), {records:,} records")
        next_url, next_params = None, None
        if pagination.type == "next_link":
            link = body.get(pagination.next_field) if isinstance(body, dict) else None
            if isinstance(link, str) and link:
                candidate = urljoin(page_url, link)
                if candidate in seen:
                    ctx.result.warn(f"{ctx.label}: {page_url} links to a page read before ({candidate}): stopped")
                else:
                    next_url = candidate
        elif (
            pagination.type == "page_number"
            and isinstance(page_records, list)
            and len(page_records) >= pagination.page_size
        ):
            page_number += 1
            next_url, next_params = url, {**params, pagination.page_param: str(page_number)}
        if next_url is None and not isinstance(page_records, list):
            # a 200 that says {"error": ...}: no records and no way on — whether pages were left, nobody knows
            where = f"'{table.records_field}'" if table.records_field else "the top level"
            raise SourceError(
                f"{ctx.label}: GET {page_url} (page {len(urls)}) has no list of records at {where} and no next page: "
                f"{response.text[:200]!r} — the API reported an error or changed its format; nothing from this read "
                "was loaded (fix `records_field` if the format changed, else run again)"
            )

    _load_pages(ctx, folder, urls, first, previous, bound)


def _records(body: object, field: str | None) -> object:
    if not field:
        return body
    node = body
    for part in field.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _load_pages(
    ctx: TableContext, folder: Path, urls: list[str], first: str, previous: str | None, bound: str | None
) -> None:
    con = ctx.con
    con.execute(
        f"""
        create or replace temp table {PAGES} as
        with bodies as (
            select cast(regexp_extract(filename, 'page_(\\d+)\\.json$', 1) as bigint) as page_no,
                   content as body
            from read_text({literal(str(folder / "page_*.json"))})
        ), urls as (
            select unnest(range(1, len($urls) + 1)) as page_no, unnest($urls) as url
        )
        select page_no, url, body from bodies join urls using (page_no)
        """,
        {"urls": urls},
    )
    stage_pages(ctx, PAGES, ctx.table.records_field, "'page ' || page_no || ' of GET ' || url")
    stage_json_records(ctx)
    cursor = ctx.table.incremental.cursor
    cursor_to = previous
    if cursor:
        columns = {
            name.lower(): name for (name,) in con.execute(f"select column_name from (describe {STAGE})").fetchall()
        }
        if cursor.lower() in columns:
            row = con.execute(f"select {text_cursor_max_sql(columns[cursor.lower()])} from {STAGE}").fetchone()
            cursor_to = later_text(previous, row[0] if row else None)
        elif count_rows(con, RECORDS):
            ctx.result.warn(
                f"{ctx.label}: cursor field '{cursor}' (incremental.cursor) is not in the records of "
                f"{first}: every run reads everything again (de-duplicated)"
            )
    batch = Batch(
        ctx.new_batch_id(),
        f"GET {first}",
        rejects=REJECTS,
        cursor_from=bound,
        cursor_to=cursor_to,
        dedupe=True,
        what="read",
    )
    counts = write_batch(ctx, batch)
    con.execute(f"drop table if exists {PAGES}")
    ctx.progress.done(f"{ctx.label}: {len(urls)} page(s), {counts.delivered:,} records, {counts.loaded:,} new")
    if counts.rejected:
        ctx.result.warn(
            f"{ctx.label}: {counts.rejected} record(s) or page(s) from GET {first} could not be used: "
            f"kept in quarantine.{ctx.source.name}__{ctx.table.name} with the reason"
        )
    if counts.delivered and not counts.loaded and not counts.rejected:
        ctx.result.info(
            f"{ctx.label}: nothing new from GET {first} ({counts.delivered:,} records read, all loaded before)"
        )
