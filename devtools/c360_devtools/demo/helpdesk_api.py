"""A stand-in for the helpdesk's REST API (shaped like Zendesk/Freshdesk), served on loopback.

    with HelpdeskAPI(Path("data/silos/service"), token="demo-token") as api:
        api.base_url                      # http://127.0.0.1:<port>/api/v2
        GET {base_url}/tickets?updated_since=2026-10-01T00:00:00Z&page=1&per_page=100
            Authorization: Bearer demo-token
        -> {"tickets": [...], "next_page": "<absolute URL>" | null, "previous_page": ..., "count": <total>}
        GET {base_url}/ticket_comments?...  -> {"comments": [...], "next_page": ..., "count": ...}

Records are ordered by (`updated_at`, `id`); `updated_since` keeps records with `updated_at >= updated_since`
(inclusive, so a client that resumes from the last `updated_at` it saw may get that record again and must
de-duplicate by id). The JSON files are re-read when they change on disk, so a generator run with a larger
`--upto` shows up without restarting the server.

Fault injection for tests of the connector's retries and timeouts:

    api.inject(path_prefix="/api/v2/tickets", statuses=[429, 500], retry_after=0)  # next 2 requests fail
    api.inject(path_prefix="/api/v2/", delay_seconds=2.0, times=3)                # next 3 requests are slow
    api.requests                                                                   # what the server saw

Status 0 means "drop the connection without an answer".
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

API_PREFIX = "/api/v2"
RESOURCES = {"tickets": ("tickets.json", "tickets"), "ticket_comments": ("ticket_comments.json", "comments")}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def parse_timestamp(value: str) -> float:
    """ISO 8601 (``2026-10-01T08:00:00Z``, ``...+02:00``, ``2026-10-01``) -> epoch seconds; naive = UTC."""
    v = value.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass
class FaultRule:
    path_prefix: str
    status: int | None  # None: only delay, then answer normally; 0: drop the connection
    delay_seconds: float = 0.0
    retry_after: float | None = None
    remaining: int = 1


class FaultInjector:
    """Queue of faults; each request takes the first rule whose prefix matches its path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        path_prefix: str = API_PREFIX,
        status: int | None = None,
        delay_seconds: float = 0.0,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            self._rules.append(FaultRule(path_prefix, status, delay_seconds, retry_after, times))

    def take(self, path: str) -> FaultRule | None:
        with self._lock:
            for i, rule in enumerate(self._rules):
                if path.startswith(rule.path_prefix):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        del self._rules[i]
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(r.remaining for r in self._rules)


class _Store:
    """One JSON array file, sorted by (updated_at, id), re-read when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._sig: tuple[int, int] | None = None
        self.items: list[dict] = []
        self.keys: list[float] = []

    def get(self) -> tuple[list[dict], list[float]]:
        with self._lock:
            try:
                st = self.path.stat()
                sig = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                sig = None
            if sig != self._sig:
                items = [] if sig is None else json.loads(self.path.read_text(encoding="utf-8"))
                keyed = sorted(
                    ((parse_timestamp(x["updated_at"]), x["id"], x) for x in items),
                    key=lambda k: (k[0], k[1]),
                )
                self.items = [x for *_, x in keyed]
                self.keys = [k for k, *_ in keyed]
                self._sig = sig
            return self.items, self.keys


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KaufhausNordHelpdesk/1.0"
    api: HelpdeskAPI  # set on the per-server subclass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence the default stderr log
        pass

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status, REASONS.get(status))
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, status: int) -> None:
        self.api._log(self.command, self.path, status, self.headers.get("Authorization") is not None)

    def do_GET(self) -> None:  # noqa: N802
        api = self.api
        url = urlsplit(self.path)
        fault = api.faults.take(url.path)
        if fault is not None:
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            if fault.status == 0:
                self._record(0)
                self.close_connection = True
                return
            if fault.status is not None:
                headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                self._record(fault.status)
                self._send(
                    fault.status,
                    {"error": REASONS.get(fault.status, "Error"), "description": "injected fault"},
                    headers,
                )
                return
        auth = self.headers.get("Authorization", "")
        expected = f"Bearer {api.token}"
        if not hmac.compare_digest(auth.encode(), expected.encode()):
            self._record(401)
            self._send(401, {"error": "Couldn't authenticate you"}, {"WWW-Authenticate": 'Bearer realm="helpdesk"'})
            return
        path = url.path.rstrip("/")
        if not path.startswith(API_PREFIX + "/") or path[len(API_PREFIX) + 1 :] not in RESOURCES:
            self._record(404)
            self._send(404, {"error": "InvalidEndpoint", "description": f"no such endpoint: {url.path}"})
            return
        resource = path[len(API_PREFIX) + 1 :]
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", str(api.default_per_page)))
            if page < 1 or not 1 <= per_page <= api.max_per_page:
                raise ValueError
        except ValueError:
            self._record(400)
            self._send(
                400,
                {
                    "error": "InvalidPaginationParameter",
                    "description": f"page >= 1 and 1 <= per_page <= {api.max_per_page}",
                },
            )
            return
        since_raw = query.get("updated_since")
        start = 0
        items, keys = api._stores[resource].get()
        if since_raw:
            try:
                since = parse_timestamp(since_raw)
            except ValueError:
                self._record(400)
                self._send(400, {"error": "InvalidValue", "description": "updated_since must be ISO 8601"})
                return
            start = bisect_left(keys, since)
        count = len(items) - start
        lo = start + (page - 1) * per_page
        chunk = items[lo : lo + per_page] if lo < len(items) else []

        def page_url(p: int) -> str:
            params = {"page": p, "per_page": per_page}
            if since_raw:
                params["updated_since"] = since_raw
            return f"{api.base_url}/{resource}?{urlencode(params)}"

        more = lo + per_page < len(items)
        body = {
            RESOURCES[resource][1]: chunk,
            "next_page": page_url(page + 1) if more else None,
            "previous_page": page_url(page - 1) if page > 1 else None,
            "count": count,
        }
        self._record(200)
        self._send(200, body)

    def _method_not_allowed(self) -> None:
        self._record(405)
        self._send(405, {"error": "MethodNotAllowed"}, {"Allow": "GET"})

    do_POST = do_PUT = do_PATCH = do_DELETE = _method_not_allowed  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):  # client gave up (timeout tests): not an error
            return
        super().handle_error(request, client_address)


class HelpdeskAPI:
    """Serve `data_dir/tickets.json` and `data_dir/ticket_comments.json` over HTTP in a background thread."""

    def __init__(
        self,
        data_dir: Path | str,
        token: str = "demo-token",
        host: str = "127.0.0.1",
        port: int = 0,
        default_per_page: int = 100,
        max_per_page: int = 1000,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.token = token
        self.host = host
        self.port = port
        self.default_per_page = default_per_page
        self.max_per_page = max_per_page
        self.faults = FaultInjector()
        self.requests: list[dict] = []
        self._log_lock = threading.Lock()
        self._stores = {name: _Store(self.data_dir / fname) for name, (fname, _) in RESOURCES.items()}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> HelpdeskAPI:
        if self._server is not None:
            return self
        handler = type("BoundHandler", (_Handler,), {"api": self})
        server = _Server((self.host, self.port), handler)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"helpdesk-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> HelpdeskAPI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    # -- faults and observation -----------------------------------------------------------------------------
    def inject(
        self,
        path_prefix: str = API_PREFIX,
        statuses: list[int] | tuple[int, ...] = (),
        retry_after: float | None = None,
        delay_seconds: float = 0.0,
        times: int = 1,
    ) -> None:
        """The next requests under `path_prefix` answer `statuses` in order (each once, after
        `delay_seconds`), then succeed again. Without statuses, the next `times` requests are only delayed."""
        if statuses:
            for status in statuses:
                self.faults.add(path_prefix, status, delay_seconds, retry_after, 1)
        elif delay_seconds:
            self.faults.add(path_prefix, None, delay_seconds, None, times)

    def _log(self, method: str, path: str, status: int, authorized: bool) -> None:
        with self._log_lock:
            self.requests.append({"method": method, "path": path, "status": status, "auth_header": authorized})

    def reset_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()


def main(argv: list[str] | None = None) -> None:
    """python -m c360_devtools.demo.helpdesk_api data/silos/service --port 8765 --token demo-token"""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--token", default=os.environ.get("C360_HELPDESK_TOKEN") or "demo-token")
    args = ap.parse_args(argv)
    api = HelpdeskAPI(args.data_dir, token=args.token, host=args.host, port=args.port).start()
    sys.stdout.write(f"helpdesk API on {api.base_url} (token {args.token!r}); Ctrl+C stops\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()


if __name__ == "__main__":
    main()
