"""Generate the demo silos of Kaufhaus Nord GmbH (see docs/demo-silos.md for the file contract).

    from c360_devtools.demo.generator import generate_silos
    result = generate_silos(Path("data/silos"), people=2000, seed=42, deliveries=2, upto=None, variety=Variety())

One world of `people` persons is drawn from `seed`; its records are spread over `deliveries` deliveries, of
which 1..`upto` are written. The same arguments always give the same files. Running again with a larger
`upto` on the same directory adds the later deliveries on top (new CSV/JSONL files, upserts into the SQLite
database, rewritten helpdesk store, labels and manifest) and ends with the same files as a direct run.

`variety` (variety.Variety) sets the rates of the harder variations (initials, first-letter typos, first-name-only
sign-ups, helpdesk users with a new address, transliterations, double names, ...); `Variety.none()` gives the
output of generator version 1.0. Beside `labels.csv` (which records are one person) the generator writes the
ground truth an accuracy report needs: `kinds.csv` (source_system, source_record_id, kinds: the record's kinds of
variation, `;`-separated, see variety.KINDS; records without any are left out) and `households.csv` (entity_id,
household_id, is_twin: the people who share a home with someone, so merged households can be counted).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .facts import build_campaign_events, build_helpdesk, build_orders
from .silos import marketing_records, render_marketing, render_sales, sales_records
from .variety import Variety, kind_strings
from .world import BASE_DATE, Timeline, build_world

GENERATOR_VERSION = "1.1.0"

MARKETING_CONTACT_COLUMNS = [
    "Kontakt-ID",
    "Anrede",
    "Titel",
    "Vorname",
    "Nachname",
    "E-Mail",
    "Telefon",
    "Geburtsdatum",
    "Straße",
    "PLZ",
    "Ort",
    "Newsletter",
    "Angemeldet am",
    "Abgemeldet am",
    "Letzte Änderung",
]
EVENT_COLUMNS = [
    "event_id",
    "contact_id",
    "email",
    "campaign_id",
    "campaign_name",
    "channel",
    "event_type",
    "occurred_at",
    "url",
]

# The shop/CRM schema: (column, SQLite type, PostgreSQL type, constraint)
SALES_TABLES: dict[str, list[tuple[str, str, str, str]]] = {
    "customers": [
        ("customer_id", "INTEGER", "integer", "PRIMARY KEY"),
        ("customer_number", "TEXT", "varchar(20)", "NOT NULL UNIQUE"),
        ("salutation", "TEXT", "varchar(20)", ""),
        ("title", "TEXT", "varchar(40)", ""),
        ("first_name", "TEXT", "varchar(100)", ""),
        ("last_name", "TEXT", "varchar(100)", ""),
        ("email", "TEXT", "varchar(254)", ""),
        ("phone", "TEXT", "varchar(40)", ""),
        ("mobile", "TEXT", "varchar(40)", ""),
        ("birth_date", "TEXT", "varchar(20)", ""),  # free text in the CRM: mostly ISO, some 24.12.1985
        ("street", "TEXT", "varchar(200)", ""),
        ("postcode", "TEXT", "varchar(10)", ""),
        ("city", "TEXT", "varchar(100)", ""),
        ("country_code", "TEXT", "char(2)", "NOT NULL"),
        ("created_at", "TEXT", "timestamptz", "NOT NULL"),
        ("updated_at", "TEXT", "timestamptz", "NOT NULL"),
        ("is_active", "INTEGER", "boolean", "NOT NULL"),
    ],
    "orders": [
        ("order_id", "INTEGER", "integer", "PRIMARY KEY"),
        ("order_number", "TEXT", "varchar(20)", "NOT NULL UNIQUE"),
        ("customer_id", "INTEGER", "integer", "NOT NULL REFERENCES customers (customer_id)"),
        ("ordered_at", "TEXT", "timestamptz", "NOT NULL"),
        ("channel", "TEXT", "varchar(10)", "NOT NULL"),
        ("status", "TEXT", "varchar(20)", "NOT NULL"),
        ("total_amount", "REAL", "numeric(12,2)", "NOT NULL"),
        ("currency", "TEXT", "char(3)", "NOT NULL"),
        ("payment_method", "TEXT", "varchar(20)", ""),
        ("updated_at", "TEXT", "timestamptz", "NOT NULL"),
    ],
    "order_lines": [
        ("order_line_id", "INTEGER", "integer", "PRIMARY KEY"),
        ("order_id", "INTEGER", "integer", "NOT NULL REFERENCES orders (order_id)"),
        ("line_number", "INTEGER", "integer", "NOT NULL"),
        ("sku", "TEXT", "varchar(20)", "NOT NULL"),
        ("product_name", "TEXT", "varchar(200)", "NOT NULL"),
        ("category", "TEXT", "varchar(40)", "NOT NULL"),
        ("quantity", "INTEGER", "integer", "NOT NULL"),
        ("unit_price", "REAL", "numeric(12,2)", "NOT NULL"),
        ("discount_amount", "REAL", "numeric(12,2)", "NOT NULL"),
        ("returned_quantity", "INTEGER", "integer", "NOT NULL"),
        ("updated_at", "TEXT", "timestamptz", "NOT NULL"),
    ],
}
SALES_INDEXES = [
    ("customers", "updated_at"),
    ("orders", "customer_id"),
    ("orders", "updated_at"),
    ("order_lines", "order_id"),
    ("order_lines", "updated_at"),
]


def sales_ddl(dialect: str = "sqlite", tables: bool = True, indexes: bool = True) -> str:
    """CREATE TABLE/INDEX statements of the shop/CRM database ('sqlite' or 'postgres')."""
    out = []
    for table, cols in SALES_TABLES.items() if tables else ():
        body = ",\n".join(
            f"    {c} {st if dialect == 'sqlite' else pt}{(' ' + con) if con else ''}" for c, st, pt, con in cols
        )
        out.append(f"CREATE TABLE IF NOT EXISTS {table} (\n{body}\n);")
    for table, col in SALES_INDEXES if indexes else ():
        out.append(f"CREATE INDEX IF NOT EXISTS ix_{table}_{col} ON {table} ({col});")
    return "\n".join(out) + "\n"


SCHEMA_POSTGRES_HEADER = """-- Kaufhaus Nord GmbH shop/CRM database (PostgreSQL).
-- The demo ships it as SQLite (sales/shop.sqlite) with the same tables and columns;
-- c360_devtools.demo.generator.load_sales_into_postgres copies it here.
"""


@dataclass
class GenerationResult:
    out_dir: Path
    people: int
    seed: int
    deliveries: int
    upto: int
    deliveries_written: list[int]  # deliveries present in out_dir after this call (1..upto)
    row_counts: dict[str, int]
    labels_path: Path
    manifest_path: Path
    delivery_dates: dict[int, str] = field(default_factory=dict)
    deliveries_added: list[int] = field(default_factory=list)  # deliveries applied by this very call
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


# ----------------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------------


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename (readers never see half a file); leave identical files alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _csv_bytes(df: pd.DataFrame, encoding: str, lineterminator: str) -> bytes:
    text = df.to_csv(sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator=lineterminator)
    return text.encode(encoding)  # strict: every value must exist in the code page


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _json_column(values: np.ndarray) -> tuple[str, list]:
    """How a column goes into a JSON line: ('"%s"', raw strings) when no value needs escaping and none is
    null (the common case, fast), else ('%s', JSON literals)."""
    vals = values.tolist()
    nulls = [v is None or v != v for v in vals]
    strings = [v for v, isnull in zip(vals, nulls, strict=True) if not isnull]
    if all(isinstance(v, str) for v in strings) and not _NEEDS_ESCAPE.search("\u2028".join(strings)):
        if not any(nulls):
            return '"%s"', vals
        return "%s", ["null" if isnull else f'"{v}"' for v, isnull in zip(vals, nulls, strict=True)]
    return "%s", [
        "null" if isnull else json.dumps(v, ensure_ascii=False) for v, isnull in zip(vals, nulls, strict=True)
    ]


def _jsonl_bytes(df: pd.DataFrame, columns: list[str]) -> bytes:
    """One JSON object a line, keys in `columns` order (same output as json.dumps, ensure_ascii=False)."""
    if df.empty:
        return b""
    pieces, cols = [], []
    for c in columns:
        fmt, vals = _json_column(df[c].to_numpy(dtype=object))
        pieces.append(f'"{c}":{fmt}')
        cols.append(vals)
    template = "{" + ",".join(pieces) + "}"
    return ("\n".join([template % t for t in zip(*cols, strict=True)]) + "\n").encode("utf-8")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_array_bytes(items: list[dict]) -> bytes:
    """A JSON array with one object a line (readable, diffable, still one json.loads)."""
    if not items:
        return b"[]\n"
    body = ",\n".join(map(_ENCODER.encode, items))
    return ("[\n" + body + "\n]\n").encode("utf-8")


def _sqlite_rows(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    cols = []
    for c in columns:
        s = df[c]
        if s.dtype == object:
            cols.append(s.where(s.notna(), None).tolist())
        else:
            cols.append(s.tolist())
    return list(zip(*cols, strict=True))


def _upsert_sql(table: str) -> str:
    cols = [c for c, *_ in SALES_TABLES[table]]
    pk = cols[0]
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT ({pk}) DO UPDATE SET {sets}"
    )


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    # bulk load: the file content does not depend on these, and a crash makes the next run start over
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA journal_mode = MEMORY")
    con.execute("PRAGMA cache_size = -262144")
    return con


def _create_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _sqlite_connect(path)
    try:
        con.executescript("BEGIN;\n" + sales_ddl("sqlite", indexes=False) + "COMMIT;\n")
    finally:
        con.close()


def _apply_sales_delivery(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Upsert one delivery in one transaction (indexes are built after the first, bulk delivery)."""
    con = _sqlite_connect(path)
    try:
        with con:
            for table in ("customers", "orders", "order_lines"):
                cols = [c for c, *_ in SALES_TABLES[table]]
                con.executemany(_upsert_sql(table), _sqlite_rows(tables[table], cols))
            for stmt in sales_ddl("sqlite", tables=False).split(";"):
                if stmt.strip():
                    con.execute(stmt)
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------------

_OWNED_GLOBS = [
    "marketing/contacts/newsletter_contacts_*.csv",
    "marketing/events/campaign_events_*.jsonl",
    "sales/shop.sqlite",
    "sales/shop.sqlite-journal",
    "sales/schema_postgres.sql",
    "service/tickets.json",
    "service/ticket_comments.json",
    "labels.csv",
    "kinds.csv",
    "households.csv",
    "manifest.json",
]


def _remove_outputs(out_dir: Path) -> None:
    for pattern in _OWNED_GLOBS:
        for p in out_dir.glob(pattern):
            p.unlink()


def _read_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def contacts_file(out_dir: Path, date: str) -> Path:
    return out_dir / "marketing" / "contacts" / f"newsletter_contacts_{date}.csv"


def events_file(out_dir: Path, date: str) -> Path:
    return out_dir / "marketing" / "events" / f"campaign_events_{date}.jsonl"


def generate_silos(
    out_dir: Path,
    people: int = 2000,
    seed: int = 42,
    deliveries: int = 2,
    upto: int | None = None,
    variety: Variety | None = None,
    first_delivery: date = BASE_DATE,
) -> GenerationResult:
    """Write deliveries 1..upto of the demo silos into out_dir (see docs/demo-silos.md); `variety`: the rates of
    the harder variations (default: `Variety()`, see variety.py); deliveries are monthly from `first_delivery`."""
    started = time.perf_counter()
    variety = variety if variety is not None else Variety()
    out_dir = Path(out_dir)
    if people < 1:
        raise ValueError("people must be >= 1")
    if deliveries < 1:
        raise ValueError("deliveries must be >= 1")
    upto = deliveries if upto is None else upto
    if not 1 <= upto <= deliveries:
        raise ValueError(f"upto must be between 1 and deliveries ({deliveries}), got {upto}")

    tl = Timeline.build(deliveries, first_delivery)
    world = build_world(people, seed, tl, variety)
    mrec = marketing_records(world, seed)
    srec = sales_records(world, seed)
    orders = build_orders(world, srec, seed)
    events = build_campaign_events(world, mrec, seed)
    helpdesk = build_helpdesk(world, orders, seed)

    # incremental? only on top of the same world, never backwards
    prev = _read_manifest(out_dir)
    same_world = (
        prev is not None
        and prev.get("generator_version") == GENERATOR_VERSION
        and prev.get("people") == people
        and prev.get("seed") == seed
        and prev.get("deliveries") == deliveries
        and prev.get("delivery_dates", {}).get("1") == tl.dates[0]
        and prev.get("variety", Variety.none().as_dict()) == variety.as_dict()
        and isinstance(prev.get("upto"), int)
        and prev["upto"] <= upto
        and (out_dir / "sales" / "shop.sqlite").exists()
    )
    prev_upto = prev["upto"] if same_world else 0
    if not same_world:
        _remove_outputs(out_dir)
    else:
        (out_dir / "manifest.json").unlink()  # re-written last: a crash leaves no half-valid manifest
    for sub in ("marketing/contacts", "marketing/events", "sales", "service"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    files: list[dict] = []
    db = out_dir / "sales" / "shop.sqlite"
    if prev_upto == 0:
        _create_sqlite(db)
    # kinds of variation per record, of its latest version written (what staging resolves)
    m_kinds = np.zeros(len(mrec), dtype=np.int64)
    s_kinds = np.zeros(len(srec), dtype=np.int64)
    for k in range(1, upto + 1):
        date = tl.dates[k - 1]
        cut = int(tl.cut[k])
        # marketing: the export holds the contacts created or changed since the previous export
        sel = np.flatnonzero(mrec.in_delivery(tl, k))
        contacts = render_marketing(world, mrec.take(sel), cut)
        m_kinds[sel] = contacts["_kinds"].to_numpy()
        contacts = contacts.sort_values("Kontakt-ID", kind="stable")
        encoding = "cp1252" if k == 1 else "utf-8"
        cpath = contacts_file(out_dir, date)
        ev = events[events["delivery"] == k]
        epath = events_file(out_dir, date)
        if k > prev_upto or not cpath.exists():
            _atomic_write_bytes(
                cpath, _csv_bytes(contacts[MARKETING_CONTACT_COLUMNS], encoding, "\r\n" if k == 1 else "\n")
            )
        if k > prev_upto or not epath.exists():
            _atomic_write_bytes(epath, _jsonl_bytes(ev, EVENT_COLUMNS))
        files.append(
            {
                "path": cpath.relative_to(out_dir).as_posix(),
                "delivery": k,
                "rows": len(contacts),
                "encoding": encoding,
                "delimiter": ";",
            }
        )
        files.append(
            {
                "path": epath.relative_to(out_dir).as_posix(),
                "delivery": k,
                "rows": len(ev),
                "encoding": "utf-8",
            }
        )
        # sales: upsert what is new or changed in this delivery
        ssel = np.flatnonzero(srec.in_delivery(tl, k))
        customers = render_sales(world, srec.take(ssel), cut)
        s_kinds[ssel] = customers["_kinds"].to_numpy()
        if k > prev_upto:
            o, ln = orders.at(tl, k)
            _apply_sales_delivery(
                db, {"customers": customers.sort_values("customer_id"), "orders": o, "order_lines": ln}
            )

    cut = int(tl.cut[upto])
    tickets, comments = helpdesk.at(cut)
    _atomic_write_bytes(out_dir / "service" / "tickets.json", _json_array_bytes(tickets))
    _atomic_write_bytes(out_dir / "service" / "ticket_comments.json", _json_array_bytes(comments))
    ddl = SCHEMA_POSTGRES_HEADER + sales_ddl("postgres")
    _atomic_write_bytes(out_dir / "sales" / "schema_postgres.sql", ddl.encode("utf-8"))

    # labels: every identity record written in deliveries 1..upto
    m_ok = mrec.first <= upto
    s_ok = srec.first <= upto
    req = helpdesk.requesters
    r_ok = (req["first"] <= upto).to_numpy()
    eid = world["entity_id"]
    labels = pd.concat(
        [
            pd.DataFrame(
                {
                    "source_system": "marketing",
                    "source_record_id": "NL-" + pd.Series(mrec.record_id[m_ok]).astype(str).str.zfill(6),
                    "entity_id": eid[mrec.e[m_ok]],
                    "_k": mrec.record_id[m_ok],
                    "kinds": m_kinds[m_ok],
                }
            ),
            pd.DataFrame(
                {
                    "source_system": "sales",
                    "source_record_id": pd.Series(srec.record_id[s_ok]).astype(str),
                    "entity_id": eid[srec.e[s_ok]],
                    "_k": srec.record_id[s_ok],
                    "kinds": s_kinds[s_ok],
                }
            ),
            pd.DataFrame(
                {
                    "source_system": "service",
                    "source_record_id": req["id"][r_ok].astype(str).to_numpy(),
                    "entity_id": eid[req["e"][r_ok].to_numpy()],
                    "_k": req["id"][r_ok].to_numpy(),
                    "kinds": req["kinds"][r_ok].to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    ).sort_values(["source_system", "_k"], kind="stable")
    labels_path = out_dir / "labels.csv"
    _atomic_write_bytes(
        labels_path,
        labels[["source_system", "source_record_id", "entity_id"]]
        .to_csv(index=False, lineterminator="\n")
        .encode("utf-8"),
    )
    kinds = labels.assign(kinds=kind_strings(labels["kinds"].to_numpy()))
    _atomic_write_bytes(
        out_dir / "kinds.csv",
        kinds.loc[kinds["kinds"] != "", ["source_system", "source_record_id", "kinds"]]
        .to_csv(index=False, lineterminator="\n")
        .encode("utf-8"),
    )
    shared = world["hh_size"] > 1
    households = pd.DataFrame(
        {
            "entity_id": eid[shared],
            "household_id": pd.Series(world["hh"][shared]).map("H{:07d}".format).to_numpy(),
            "is_twin": world["is_twin"][shared].astype(int),
        }
    ).sort_values("entity_id")
    _atomic_write_bytes(out_dir / "households.csv", households.to_csv(index=False, lineterminator="\n").encode("utf-8"))

    con = sqlite3.connect(db)
    try:
        db_counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SALES_TABLES}  # noqa: S608
    finally:
        con.close()
    row_counts = {
        "marketing.contacts": int(m_ok.sum()),
        "marketing.contact_file_rows": int(sum(f["rows"] for f in files if "contacts" in f["path"])),
        "marketing.campaign_events": int((events["delivery"] <= upto).sum()),
        "sales.customers": db_counts["customers"],
        "sales.orders": db_counts["orders"],
        "sales.order_lines": db_counts["order_lines"],
        "service.requesters": int(r_ok.sum()),
        "service.tickets": len(tickets),
        "service.ticket_comments": len(comments),
        "labels": len(labels),
        "entities": int(labels["entity_id"].nunique()),
    }
    files += [
        {
            "path": "sales/shop.sqlite",
            "delivery": upto,
            "rows": db_counts["customers"] + db_counts["orders"] + db_counts["order_lines"],
        },
        {"path": "sales/schema_postgres.sql", "delivery": upto, "rows": 0, "encoding": "utf-8"},
        {"path": "service/tickets.json", "delivery": upto, "rows": len(tickets), "encoding": "utf-8"},
        {
            "path": "service/ticket_comments.json",
            "delivery": upto,
            "rows": len(comments),
            "encoding": "utf-8",
        },
        {"path": "labels.csv", "delivery": upto, "rows": len(labels), "encoding": "utf-8"},
        {"path": "kinds.csv", "delivery": upto, "rows": int((kinds["kinds"] != "").sum()), "encoding": "utf-8"},
        {"path": "households.csv", "delivery": upto, "rows": len(households), "encoding": "utf-8"},
    ]
    manifest = {
        "generator": "c360_devtools.demo.generator",
        "generator_version": GENERATOR_VERSION,
        "company": "Kaufhaus Nord GmbH",
        "people": people,
        "seed": seed,
        "deliveries": deliveries,
        "upto": upto,
        "variety": variety.as_dict(),
        "deliveries_written": list(range(1, upto + 1)),
        "delivery_dates": {str(k): tl.dates[k - 1] for k in range(1, deliveries + 1)},
        "row_counts": row_counts,
        "files": files,
    }
    manifest_path = out_dir / "manifest.json"
    _atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return GenerationResult(
        out_dir=out_dir,
        people=people,
        seed=seed,
        deliveries=deliveries,
        upto=upto,
        deliveries_written=list(range(1, upto + 1)),
        row_counts=row_counts,
        labels_path=labels_path,
        manifest_path=manifest_path,
        delivery_dates={k: tl.dates[k - 1] for k in range(1, deliveries + 1)},
        deliveries_added=list(range(prev_upto + 1, upto + 1)),
        files=[out_dir / f["path"] for f in files],
        seconds=round(time.perf_counter() - started, 3),
    )


# ----------------------------------------------------------------------------------------------------
# PostgreSQL
# ----------------------------------------------------------------------------------------------------


def load_sales_into_postgres(
    sqlite_path: Path | str, dsn: str, schema: str = "public", replace: bool = False
) -> dict[str, int]:
    """Create the shop schema in PostgreSQL and copy the SQLite shop database into it (COPY, then upsert).

    Rows already in PostgreSQL are updated in place (same primary key), so loading the database of a later
    delivery on top of an earlier one behaves like the real CRM: new rows appear, changed rows get a later
    `updated_at`. `replace=True` drops the tables first. Returns the row counts of the PostgreSQL tables.
    """
    import psycopg
    from psycopg import sql

    src = sqlite3.connect(f"file:{Path(sqlite_path)}?mode=ro", uri=True)
    try:
        with psycopg.connect(dsn) as pg:
            with pg.cursor() as cur:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                if replace:
                    for table in reversed(SALES_TABLES):
                        cur.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
                cur.execute(sales_ddl("postgres"))
                for table, spec in SALES_TABLES.items():
                    cols = [c for c, *_ in spec]
                    stage = f"_stage_{table}"
                    cur.execute(
                        sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(
                            sql.Identifier(stage), sql.Identifier(table)
                        )
                    )
                    ident_cols = sql.SQL(", ").join(map(sql.Identifier, cols))
                    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(stage), ident_cols)) as cp:
                        rows = src.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {cols[0]}")  # noqa: S608
                        while batch := rows.fetchmany(10_000):
                            for row in batch:
                                cp.write_row(row)
                    updates = sql.SQL(", ").join(
                        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in cols[1:]
                    )
                    cur.execute(
                        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO UPDATE SET {}").format(
                            sql.Identifier(table),
                            ident_cols,
                            ident_cols,
                            sql.Identifier(stage),
                            sql.Identifier(cols[0]),
                            updates,
                        )
                    )
                counts = {}
                for table in SALES_TABLES:
                    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                    counts[table] = cur.fetchone()[0]
            pg.commit()
    finally:
        src.close()
    return counts
