"""A tiny helpdesk-like JSON API on loopback for REST ingestion tests (stdlib http.server, threaded).

    api = FakeAPI(token="t0k3n"); api.start()
    api.collections["tickets"] = [{"id": 1, "updated_at": "2024-01-01T00:00:00Z", ...}]
    api.inject("/api/v2/tickets", statuses=[429], retry_after=0)   # the next request answers 429
    api.delay("/api/v2/tickets", seconds=1.0, times=1)            # the next request is slow
    api.pages["broken"] = {2: {"tickets": None}}                   # page 2 of /api/v2/broken is served as is

Endpoints: `GET /api/v2/<collection>?updated_since=&page=&per_page=` →
`{"<key>": [...], "next_page": <url|null>, "count": n}` ordered by (updated_at, id); `?style=page_number`
leaves next_page out. Every request is logged in
`api.requests` (path, query dict, headers).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest


class FakeAPI:
    def __init__(self, token: str = "demo-token") -> None:
        self.token = token
        self.collections: dict[str, list[dict]] = defaultdict(list)
        # collection → key of the records list (default: the collection name)
        self.keys: dict[str, str] = {}
        # collection → page → body served as is
        self.pages: dict[str, dict[int, object]] = defaultdict(dict)
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._faults: dict[str, list[tuple[int, float | None]]] = defaultdict(list)
        self._delays: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------------------------
    def start(self) -> FakeAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                api._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def inject(self, path_prefix: str, statuses: list[int], retry_after: float | None = None) -> None:
        with self._lock:
            self._faults[path_prefix].extend((status, retry_after) for status in statuses)

    def delay(self, path_prefix: str, seconds: float, times: int = 1) -> None:
        with self._lock:
            self._delays[path_prefix].extend([seconds] * times)

    def requests_to(self, collection: str) -> list[dict[str, str]]:
        return [query for path, query, _ in self.requests if path.endswith("/" + collection)]

    # -- serving ---------------------------------------------------------------------------------------------
    def _take(self, table: dict, path: str):
        with self._lock:
            for prefix, queue in table.items():
                if path.startswith(prefix) and queue:
                    return queue.pop(0)
        return None

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: object,
        headers: dict[str, str] | None = None,
    ):
        data = json.dumps(body).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((parts.path, query, dict(handler.headers)))
        pause = self._take(self._delays, parts.path)
        if pause:
            time.sleep(pause)
        fault = self._take(self._faults, parts.path)
        if fault:
            status, retry_after = fault
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self._send(handler, status, {"error": f"injected {status}"}, headers)
            return
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(handler, 401, {"error": "Couldn't authenticate you"})
            return
        collection = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if not parts.path.startswith("/api/v2/") or collection not in self.collections and collection not in self.pages:
            self._send(handler, 404, {"error": "InvalidEndpoint"})
            return
        page = int(query.get("page", "1"))
        per_page = int(query.get("per_page", "100"))
        if page in self.pages.get(collection, {}):
            body = self.pages[collection][page]
            if isinstance(body, dict) and query.get("style") != "page_number" and "next_page" not in body:
                body = {**body, "next_page": self._next(handler, parts.path, query, page)}
            self._send(handler, 200, body)
            return
        since = query.get("updated_since")
        rows = sorted(self.collections.get(collection, []), key=lambda r: (str(r.get("updated_at")), r.get("id")))
        if since:
            rows = [r for r in rows if str(r.get("updated_at")) >= since]
        chunk = rows[(page - 1) * per_page : page * per_page]
        body: dict[str, object] = {self.keys.get(collection, collection): chunk, "count": len(rows)}
        if query.get("style") != "page_number":
            more = page * per_page < len(rows) or page + 1 in self.pages.get(collection, {})
            body["next_page"] = self._next(handler, parts.path, query, page) if more else None
        self._send(handler, 200, body)

    def _next(self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str], page: int) -> str:
        host, port = handler.server.server_address[:2]
        return f"http://{host}:{port}{path}?{urlencode({**query, 'page': str(page + 1)})}"


@pytest.fixture
def fake_api():
    api = FakeAPI(token="t0k3n").start()
    try:
        yield api
    finally:
        api.stop()
