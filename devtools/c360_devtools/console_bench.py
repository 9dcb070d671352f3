"""Console benchmark: search and customer-page latency at N concurrent agents, on loopback.

    c360 bench-console --customers 1000000 --users 20 --duration 30 --think 1.0

1. Writes a synthetic snapshot with the marts' shape (devtools/c360_devtools/synthetic_snapshot.py; generating a million
   people and running the whole pipeline on 2 cores takes hours, the console only reads the published tables).
2. Builds its search index (timed), starts `uvicorn` with the console (N worker processes) on a free port of
   127.0.0.1, logs in one session per virtual agent.
3. Each virtual agent loops: search (a name with typos, a phone number in another format, an e-mail, a customer
   or record ID) → open a customer page, pausing `think` seconds on average (exponential) between requests, as an
   agent on the phone does. With `--saturation` it runs once more without pauses (throughput limit).
4. Reports p50/p95/p99 per page kind and writes report.json. Requests go only to 127.0.0.1; the run is bounded
   by --duration.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_PASSWORD = "bench-password-1"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _summary(values: list[float], seconds: float) -> dict[str, Any]:
    return {
        "requests": len(values),
        "per_second": round(len(values) / seconds, 1) if seconds else None,
        "p50_ms": round(_percentile(values, 50), 1),
        "p95_ms": round(_percentile(values, 95), 1),
        "p99_ms": round(_percentile(values, 99), 1),
        "max_ms": round(max(values), 1) if values else None,
    }


def _write_config(out: Path) -> Path:
    path = out / "bench.yml"
    path.write_text(
        f"version: 1\nproject: console-bench\ndata_dir: {out / 'data'}\n"
        f"warehouse:\n  path: {out / 'data' / 'unused.duckdb'}\nsources: []\n",
        encoding="utf-8",
    )
    return path


def _sample_queries(snapshot: Path, count: int, seed: int) -> tuple[list[str], list[str]]:
    """Search queries in the forms agents type, and customer IDs to open, sampled from the snapshot."""
    import duckdb

    from customer360.serving.text import transliterate

    rng = random.Random(seed)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        total = con.execute("select count(*) from marts.dim_customer").fetchone()[0]  # type: ignore[index]
        fraction = min(100.0, max(0.01, 100.0 * count * 2 / max(total, 1)))
        rows = con.execute(
            f"select customer_id, first_name, last_name, email, phone_e164 from marts.dim_customer "
            f"using sample {fraction:.4f}% (bernoulli, {seed})"
        ).fetchall()
        records = [
            r[0]
            for r in con.execute(
                f"select source_record_id from marts.customer_identity_map using sample {fraction:.4f}% (bernoulli, {seed})"
            ).fetchall()
        ]
    finally:
        con.close()
    rng.shuffle(rows)
    queries: list[str] = []
    for index, (customer_id, first, last, email, phone) in enumerate(rows[:count]):
        kind = index % 6
        if kind in (0, 1) and first and last:  # a name, sometimes with a typo / umlaut written out
            folded = transliterate(last)
            typo = folded[: len(folded) // 2] + folded[len(folded) // 2 + 1 :] if kind == 1 else last
            queries.append(f"{first} {typo}")
        elif kind == 2 and phone and phone.startswith("+49"):
            national = "0" + phone[3:]
            queries.append(f"{national[:4]}/{national[4:]}")
        elif kind == 3 and email:
            queries.append(email)
        elif kind == 4 and records:
            queries.append(rng.choice(records))
        else:
            queries.append(customer_id if rng.random() < 0.5 else f"{first or ''} {last or ''}".strip() or customer_id)
    customers = [row[0] for row in rows]
    return queries, customers


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(config_path: Path, snapshot: Path, port: int, workers: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "C360_CONFIG": str(config_path),
        "C360_CONSOLE_SNAPSHOT": str(snapshot),
        "C360_CONSOLE_REQUESTS_PER_MINUTE": "0",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "customer360.console.app:app_from_environment",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def _wait_ready(base: str, process: subprocess.Popen, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the console server exited; see its log")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the console server did not become ready")


async def _login(client: Any, username: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = await client.post(
        "/login", data={"username": username, "password": BENCH_PASSWORD, "csrf_token": token, "next": "/"}
    )
    if response.status_code != 303:
        raise RuntimeError(f"bench login failed: {response.status_code}")


async def _scenario(
    base: str,
    usernames: list[str],
    queries: list[str],
    customers: list[str],
    duration: float,
    think: float,
    seed: int,
) -> dict[str, Any]:
    import httpx

    latencies: dict[str, list[float]] = {"search": [], "customer": []}
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits, follow_redirects=False) for _ in usernames]
    try:
        await asyncio.gather(*(_login(client, name) for client, name in zip(clients, usernames, strict=True)))
        started = time.monotonic()
        stop = started + duration

        async def agent(index: int, client: Any) -> None:
            rng = random.Random(seed + index)
            while time.monotonic() < stop:
                for kind in ("search", "customer"):
                    if kind == "search":
                        url, params = "/", {"q": rng.choice(queries), "list": "1"}
                    else:
                        url, params = f"/customers/{rng.choice(customers)}", None
                    began = time.perf_counter()
                    try:
                        response = await client.get(url, params=params)
                        status = response.status_code
                    except httpx.HTTPError as error:
                        status = type(error).__name__
                    elapsed = (time.perf_counter() - began) * 1000
                    if status == 200:
                        latencies[kind].append(elapsed)
                    else:
                        errors[f"{kind}:{status}"] = errors.get(f"{kind}:{status}", 0) + 1
                    if think > 0:
                        await asyncio.sleep(rng.expovariate(1 / think))
                    if time.monotonic() >= stop:
                        break

        await asyncio.gather(*(agent(i, c) for i, c in enumerate(clients)))
        seconds = time.monotonic() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return {
        "think_seconds": think,
        "seconds": round(seconds, 1),
        "search": _summary(latencies["search"], seconds),
        "customer_page": _summary(latencies["customer"], seconds),
        "errors": errors,
    }


def run_benchmark(
    out: Path,
    customers: int = 1_000_000,
    users: int = 20,
    duration: float = 30.0,
    think: float = 1.0,
    workers: int = 2,
    saturation: bool = True,
    seed: int = 7,
    echo: Callable[[str], Any] = print,
    snapshot: Path | None = None,
) -> dict[str, Any]:
    """`snapshot`: load-test a published snapshot (e.g. the pipeline benchmark's) instead of a synthetic one."""
    import duckdb

    from c360_devtools.synthetic_snapshot import generate_snapshot
    from customer360.console.snapshot import ensure_index, index_cache_dir
    from customer360.console.store import ConsoleStore
    from customer360.core.config import load_config

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "customers": customers,
        "users": users,
        "workers": workers,
        "cores": os.cpu_count(),
    }
    if snapshot is not None:
        snapshot = snapshot.resolve()
        with duckdb.connect(str(snapshot), read_only=True) as con:
            report["customers"] = con.execute("select count(*) from marts.dim_customer").fetchone()[0]  # type: ignore[index]
        report["snapshot"] = str(snapshot)
    else:
        snapshot = out / f"snapshot-{customers}.duckdb"
    if not snapshot.exists():
        echo(f"writing a synthetic snapshot with {customers:,} customers to {snapshot} …")
        report["snapshot_rows"] = generate_snapshot(snapshot, customers)
    config_path = _write_config(out)
    config = load_config(config_path)
    began = time.perf_counter()
    index = ensure_index(snapshot, index_cache_dir(config))
    report["search_index"] = {
        "path": str(index),
        "seconds": round(time.perf_counter() - began, 1),
        "bytes": index.stat().st_size,
    }
    echo(f"search index ready in {report['search_index']['seconds']} s")
    store = ConsoleStore.for_state_dir(config.state_dir)
    usernames = [f"bench-agent-{i:02d}" for i in range(users)]
    for name in usernames:
        if store.get_user(name) is None:
            store.add_user(name, BENCH_PASSWORD, "agent")
    queries, ids = _sample_queries(snapshot, 2000, seed)
    port = _free_port()
    log = out / "server.log"
    process = _start_server(config_path, snapshot, port, workers, log)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_wait_ready(base, process))
        echo("warming up …")
        asyncio.run(_scenario(base, usernames[:2], queries, ids, min(5.0, duration), 0, seed + 99))
        report["load_before"] = os.getloadavg()
        echo(f"{users} agents, think time {think} s, {duration} s …")
        report["agents"] = asyncio.run(_scenario(base, usernames, queries, ids, duration, think, seed))
        if saturation and think > 0:
            echo(f"{users} agents without think time, {duration} s …")
            report["saturation"] = asyncio.run(_scenario(base, usernames, queries, ids, duration, 0, seed + 1))
        report["load_after"] = os.getloadavg()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report
