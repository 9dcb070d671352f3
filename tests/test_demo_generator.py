"""The demo silos generator and the stand-in helpdesk API (docs/demo-silos.md)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from c360_devtools.demo.generator import (
    MARKETING_CONTACT_COLUMNS,
    GenerationResult,
    generate_silos,
    load_sales_into_postgres,
)
from c360_devtools.demo.helpdesk_api import HelpdeskAPI

PEOPLE = 500
SEED = 7


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def contact_files(root: Path) -> list[Path]:
    return sorted((root / "marketing" / "contacts").glob("newsletter_contacts_*.csv"))


def read_contacts(root: Path) -> pd.DataFrame:
    frames = []
    for i, f in enumerate(contact_files(root)):
        df = pd.read_csv(f, sep=";", dtype=str, keep_default_na=False, encoding="cp1252" if i == 0 else "utf-8")
        frames.append(df.assign(_delivery=i + 1))
    return pd.concat(frames, ignore_index=True)


def read_table(root: Path, table: str) -> pd.DataFrame:
    with sqlite3.connect(root / "sales" / "shop.sqlite") as con:
        return pd.read_sql(f"SELECT * FROM {table}", con)  # noqa: S608


def norm(s: pd.Series) -> pd.Series:
    s = s.fillna("").str.strip().str.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("str.", "strasse")):
        s = s.str.replace(a, b, regex=False)
    return s


def iso_birth(s: pd.Series) -> pd.Series:
    s = s.fillna("")
    german = s.str.match(r"^\d\d\.\d\d\.\d{4}$")
    return s.where(~german, s.str[6:10] + "-" + s.str[3:5] + "-" + s.str[0:2])


@pytest.fixture(scope="module")
def silos(tmp_path_factory) -> GenerationResult:
    return generate_silos(tmp_path_factory.mktemp("silos") / "out", people=PEOPLE, seed=SEED)


@pytest.fixture(scope="module")
def labels(silos) -> pd.DataFrame:
    return pd.read_csv(silos.labels_path, dtype=str)


@pytest.fixture(scope="module")
def identity(silos, labels) -> pd.DataFrame:
    """Sales and marketing records with their true entity, normalised a little (for hard-case checks)."""
    c = read_table(silos.out_dir, "customers")
    c["source_record_id"] = c["customer_id"].astype(str)
    c = c.merge(labels[labels.source_system == "sales"], on="source_record_id")
    m = read_contacts(silos.out_dir).drop_duplicates("Kontakt-ID", keep="last")
    m = m.merge(labels[labels.source_system == "marketing"], left_on="Kontakt-ID", right_on="source_record_id")
    cols = ["entity_id", "first", "last", "birth", "street", "postcode", "city", "source_system"]
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "entity_id": c.entity_id,
                    "first": norm(c.first_name),
                    "last": norm(c.last_name),
                    "birth": iso_birth(c.birth_date),
                    "street": norm(c.street),
                    "postcode": c.postcode.fillna(""),
                    "city": norm(c.city),
                    "source_system": "sales",
                }
            ),
            pd.DataFrame(
                {
                    "entity_id": m.entity_id,
                    "first": norm(m.Vorname),
                    "last": norm(m.Nachname),
                    "birth": iso_birth(m.Geburtsdatum),
                    "street": norm(m["Straße"]),
                    "postcode": m.PLZ,
                    "city": norm(m.Ort),
                    "source_system": "marketing",
                }
            ),
        ]
    )[cols]


# ----------------------------------------------------------------------------------------------------
# files, determinism, deliveries
# ----------------------------------------------------------------------------------------------------


def test_files_and_manifest(silos):
    root = silos.out_dir
    dates = silos.delivery_dates
    assert dates == {1: "2026-10-01", 2: "2026-11-01"}
    for d in dates.values():
        assert (root / "marketing" / "contacts" / f"newsletter_contacts_{d}.csv").is_file()
        assert (root / "marketing" / "events" / f"campaign_events_{d}.jsonl").is_file()
    for rel in (
        "sales/shop.sqlite",
        "sales/schema_postgres.sql",
        "service/tickets.json",
        "service/ticket_comments.json",
        "labels.csv",
        "manifest.json",
    ):
        assert (root / rel).is_file(), rel
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["people"] == PEOPLE and manifest["seed"] == SEED
    assert manifest["deliveries"] == 2 and manifest["upto"] == 2
    assert manifest["generator_version"]
    assert manifest["row_counts"] == silos.row_counts
    assert silos.deliveries_written == [1, 2]
    for key in (
        "marketing.contacts",
        "marketing.campaign_events",
        "sales.customers",
        "sales.orders",
        "sales.order_lines",
        "service.tickets",
        "service.ticket_comments",
        "service.requesters",
    ):
        assert silos.row_counts[key] > 0, key
    assert silos.row_counts["sales.customers"] == len(read_table(root, "customers"))
    ddl = (root / "sales" / "schema_postgres.sql").read_text()
    for table in ("customers", "orders", "order_lines"):
        assert f"CREATE TABLE IF NOT EXISTS {table}" in ddl


def test_same_arguments_give_identical_bytes(tmp_path):
    a = generate_silos(tmp_path / "a", people=300, seed=11)
    b = generate_silos(tmp_path / "b", people=300, seed=11)
    assert digest(a.out_dir) == digest(b.out_dir)
    c = generate_silos(tmp_path / "c", people=300, seed=12)
    assert digest(c.out_dir)["labels.csv"] != digest(a.out_dir)["labels.csv"]


def test_upto_one_then_two_equals_direct_two(tmp_path):
    direct = generate_silos(tmp_path / "direct", people=300, seed=5, deliveries=2)
    step = tmp_path / "step"
    first = generate_silos(step, people=300, seed=5, deliveries=2, upto=1)
    assert first.deliveries_written == [1]
    assert not list((step / "marketing" / "contacts").glob("*2026-11-01*"))
    labels_1 = pd.read_csv(first.labels_path, dtype=str)
    second = generate_silos(step, people=300, seed=5, deliveries=2, upto=2)
    assert second.deliveries_added == [2]
    assert digest(step) == digest(direct.out_dir)
    # delivery 1 holds most records; delivery 2 adds some
    labels_2 = pd.read_csv(second.labels_path, dtype=str)
    share = len(labels_1) / len(labels_2)
    assert 0.75 < share < 0.95, share
    assert set(map(tuple, labels_1.values)) <= set(map(tuple, labels_2.values))


def test_rerun_with_other_world_starts_over(tmp_path):
    generate_silos(tmp_path, people=120, seed=1, upto=2)
    r = generate_silos(tmp_path, people=150, seed=1, upto=1)
    assert r.deliveries_added == [1]
    assert len(contact_files(tmp_path)) == 1
    assert json.loads((tmp_path / "manifest.json").read_text())["people"] == 150
    with pytest.raises(ValueError):
        generate_silos(tmp_path, people=10, upto=3, deliveries=2)


def test_delivery_one_is_windows_1252_later_ones_utf8(silos):
    first, second = contact_files(silos.out_dir)
    raw = first.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    header = text.split("\r\n", 1)[0]
    assert header.split(";") == MARKETING_CONTACT_COLUMNS
    body = text.split("\r\n", 1)[1]
    assert re.search("[äöüß]", body), "no umlauts in the data rows"
    assert "Straße" in header and "Letzte Änderung" in header
    text2 = second.read_bytes().decode("utf-8")
    assert text2.split("\n", 1)[0].split(";") == MARKETING_CONTACT_COLUMNS


def test_marketing_contacts_look_like_a_newsletter_export(silos):
    m = read_contacts(silos.out_dir)
    assert m["Kontakt-ID"].str.fullmatch(r"NL-\d{6}").all()
    assert set(m["Newsletter"]) <= {"ja", "nein"}
    assert set(m["Anrede"]) <= {"Herr", "Frau", ""}
    dated = m["Geburtsdatum"][m["Geburtsdatum"] != ""]
    assert dated.str.fullmatch(r"\d\d\.\d\d\.\d{4}").all()
    assert m["Letzte Änderung"].str.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d").all()
    email = m["E-Mail"]
    assert (email != email.str.strip()).any(), "no e-mail with stray whitespace"
    assert (email.str.strip() != email.str.strip().str.lower()).any(), "no e-mail in mixed case"
    assert (
        email.str.strip()
        .str.lower()
        .isin(
            [
                "test@test.de",
                "keine@angabe.de",
                "kein@email.de",
                "n/a",
                "-",
                "unbekannt",
                "no@mail.de",
                "a@b.de",
                "xxx@xxx.de",
                "noreply@kaufhaus-nord.de",
            ]
        )
        .any()
    )
    # later deliveries update existing contacts under the same id with a later "Letzte Änderung"
    d1 = m[m._delivery == 1].set_index("Kontakt-ID")
    d2 = m[m._delivery == 2].set_index("Kontakt-ID")
    updated = d2.index.intersection(d1.index)
    assert len(updated) > 0
    assert len(d2.index.difference(d1.index)) > 0


def test_sales_crm_has_duplicates_and_mixed_formats(silos, labels):
    c = read_table(silos.out_dir, "customers")
    assert c["customer_number"].str.fullmatch(r"K-\d+").all()
    assert set(c["country_code"]) >= {"DE"} and set(c["country_code"]) <= {"DE", "AT", "CH"}
    birth = c["birth_date"].dropna()
    assert birth.str.fullmatch(r"\d{4}-\d\d-\d\d").mean() > 0.7
    assert birth.str.fullmatch(r"\d\d\.\d\d\.\d{4}").any()
    assert c["updated_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert set(c["is_active"]) <= {0, 1}
    phones = pd.concat([c["phone"], c["mobile"]]).dropna()
    assert phones.str.startswith("+49").any() and phones.str.startswith("0049").any()
    assert phones.str.contains("/").any() and phones.str.startswith("(0").any()
    sales = labels[labels.source_system == "sales"]
    per_entity = sales.groupby("entity_id").size()
    share = (per_entity > 1).mean()
    assert 0.01 < share < 0.1, share
    # changed in delivery 2: created long before, updated after delivery 1
    changed = c[(c.updated_at >= "2026-10-01") & (c.created_at < "2026-09-01")]
    assert len(changed) > 0


def test_labels_cover_every_identity_record_exactly_once(silos, labels):
    root = silos.out_dir
    assert list(labels.columns) == ["source_system", "source_record_id", "entity_id"]
    assert not labels.duplicated(["source_system", "source_record_id"]).any()
    contacts = set(read_contacts(root)["Kontakt-ID"])
    customers = set(read_table(root, "customers")["customer_id"].astype(str))
    tickets = json.loads((root / "service" / "tickets.json").read_text())
    requesters = {str(t["requester"]["id"]) for t in tickets}
    by_system = {s: set(g.source_record_id) for s, g in labels.groupby("source_system")}
    assert by_system == {"marketing": contacts, "sales": customers, "service": requesters}
    # a realistic mix: most people have one to three records, some more
    per_entity = labels.groupby("entity_id").size()
    assert {1, 2, 3} <= set(per_entity)
    assert per_entity.max() >= 4
    assert labels.entity_id.nunique() <= PEOPLE


def test_households_twins_and_namesakes_are_present(identity):
    rows = identity[(identity.street != "") & (identity.last != "")]
    # households: different people sharing address and last name
    households = (
        rows.drop_duplicates(["entity_id", "last", "street", "postcode"])
        .groupby(["last", "street", "postcode"])
        .entity_id.nunique()
    )
    assert (households > 1).sum() >= 5
    # twins: same last name, birth date and address, different people
    dated = rows[rows.birth != ""]
    twins = (
        dated.drop_duplicates(["entity_id", "last", "birth", "street", "postcode"])
        .groupby(["last", "birth", "street", "postcode"])
        .entity_id.nunique()
    )
    assert (twins > 1).sum() >= 1
    # namesakes: same first and last name, different people in different cities
    named = identity.drop_duplicates(["entity_id", "first", "last"])
    same_name = named.groupby(["first", "last"]).entity_id.nunique()
    assert (same_name > 1).sum() >= 3


def test_orders_and_lines_are_consistent(silos):
    root = silos.out_dir
    o = read_table(root, "orders")
    ln = read_table(root, "order_lines")
    assert set(o.status) <= {"completed", "cancelled", "returned", "partially_returned"}
    assert {"completed", "returned", "cancelled"} <= set(o.status)
    assert set(o.channel) <= {"online", "store", "phone"}
    assert (o.currency == "EUR").all()
    assert set(ln.category) <= {"Mode", "Schuhe", "Haushalt", "Elektronik", "Spielwaren", "Beauty", "Sport"}
    per_order = ln.groupby("order_id").size()
    assert per_order.between(1, 5).all() and set(per_order.index) == set(o.order_id)
    gross = (ln.quantity * ln.unit_price - ln.discount_amount).groupby(ln.order_id).sum().round(2)
    assert (gross.reindex(o.order_id).to_numpy() - o.total_amount.to_numpy()).__abs__().max() < 0.011
    returned = ln.merge(o[["order_id", "status"]], on="order_id")
    assert (
        returned[returned.status == "returned"].returned_quantity == returned[returned.status == "returned"].quantity
    ).all()
    assert (returned[returned.status == "completed"].returned_quantity == 0).all()
    assert set(o.customer_id) <= set(read_table(root, "customers").customer_id)
    assert o.ordered_at.min() >= "2023-10" and o.ordered_at.max() < "2026-11-01"


def test_campaign_events(silos):
    root = silos.out_dir
    contacts = set(read_contacts(root)["Kontakt-ID"])
    events = []
    for f in sorted((root / "marketing" / "events").glob("*.jsonl")):
        events += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
    ev = pd.DataFrame(events)
    assert list(ev.columns) == [
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
    assert ev.event_id.is_unique
    assert set(ev.event_type) == {"sent", "open", "click", "unsubscribe", "bounce"}
    assert set(ev.contact_id) <= contacts
    assert ev.url.notna().eq(ev.event_type == "click").all()
    assert ev.occurred_at.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00").all()
    counts = ev.event_type.value_counts()
    assert counts["sent"] > counts["open"] > counts["click"]


def test_tickets_and_comments(silos):
    root = silos.out_dir
    tickets = json.loads((root / "service" / "tickets.json").read_text(encoding="utf-8"))
    comments = json.loads((root / "service" / "ticket_comments.json").read_text(encoding="utf-8"))
    t = pd.DataFrame(tickets)
    assert set(t.status) <= {"new", "open", "pending", "solved", "closed"}
    assert (t.status.isin(["new", "open", "pending"])).any()
    assert set(t.type) == {"question", "complaint", "return", "delivery", "payment"}
    assert set(t.channel) <= {"phone", "email", "chat"}
    keys = list(zip(t.updated_at, t.id, strict=True))
    assert keys == sorted(keys)
    orders = set(read_table(root, "orders").order_number)
    linked = t.order_number.dropna()
    assert len(linked) > 0 and set(linked) <= orders
    rated = t[t.satisfaction_rating.notna()]
    assert rated.status.isin(["solved", "closed"]).all()
    score = rated.satisfaction_rating.map(lambda r: r["score"])
    assert score.between(1, 5).all()
    assert score[rated.type == "complaint"].mean() < score[rated.type == "question"].mean()
    assert t[~t.status.isin(["solved", "closed"])].solved_at.isna().all()
    names = t.requester.map(lambda r: r["name"])
    assert names.str.contains(", ").any() and names.str.match(r"^[A-ZÄÖÜ]\. ").any()
    c = pd.DataFrame(comments)
    per_ticket = c.groupby("ticket_id").size()
    assert per_ticket.between(1, 6).all() and set(per_ticket.index) == set(t.id)
    assert set(c.author_role) == {"agent", "end_user"}
    assert (~c.public).any()


# ----------------------------------------------------------------------------------------------------
# helpdesk API
# ----------------------------------------------------------------------------------------------------

TOKEN = "test-token"


@pytest.fixture(scope="module")
def api(silos):
    with HelpdeskAPI(silos.out_dir / "service", token=TOKEN) as server:
        yield server


def get(api, path: str, token: str | None = TOKEN, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = path if path.startswith("http") else f"{api.base_url}/{path}"
    return httpx.get(url, params=params or None, headers=headers, timeout=5)


def test_api_paginates_in_updated_order(api, silos):
    stored = json.loads((silos.out_dir / "service" / "tickets.json").read_text(encoding="utf-8"))
    r = get(api, "tickets", per_page=40)
    assert r.status_code == 200
    body = r.json()
    total = body["count"]
    assert total == len(stored)
    seen = list(body["tickets"])
    pages = 1
    while body["next_page"]:
        assert body["next_page"].startswith(api.base_url + "/tickets?")
        body = get(api, body["next_page"]).json()
        assert body["count"] == total
        seen += body["tickets"]
        pages += 1
    assert body["next_page"] is None
    assert pages == -(-total // 40)
    assert len(seen) == total and [x["id"] for x in seen] == [x["id"] for x in stored]
    comments = get(api, "ticket_comments", per_page=1000).json()
    assert comments["count"] == len(comments["comments"]) > 0 and comments["next_page"] is None


def test_api_filters_by_updated_since(api, silos):
    stored = json.loads((silos.out_dir / "service" / "tickets.json").read_text(encoding="utf-8"))
    since = "2026-10-01T00:00:00Z"
    expected = [x["id"] for x in stored if x["updated_at"] >= since]
    body = get(api, "tickets", updated_since=since, per_page=1000).json()
    assert 0 < body["count"] == len(expected) < len(stored)
    assert [x["id"] for x in body["tickets"]] == expected
    # the same instant written with an offset
    assert get(api, "tickets", updated_since="2026-10-01T02:00:00+02:00").json()["count"] == len(expected)
    assert get(api, "tickets", updated_since="not a date").status_code == 400
    assert get(api, "tickets", per_page=0).status_code == 400


def test_api_requires_the_token(api):
    r = get(api, "tickets", token=None)
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers
    assert get(api, "tickets", token="wrong").status_code == 401
    assert get(api, "nothing-here").status_code == 404


def test_api_fault_injection(api):
    api.inject(path_prefix="/api/v2/tickets", statuses=[429, 500], retry_after=0)
    first = get(api, "tickets", per_page=1)
    assert first.status_code == 429 and first.headers["Retry-After"] == "0"
    assert get(api, "ticket_comments", per_page=1).status_code == 200  # other paths are not affected
    assert get(api, "tickets", per_page=1).status_code == 500
    assert get(api, "tickets", per_page=1).status_code == 200
    assert api.faults.pending == 0
    api.inject(path_prefix="/api/v2/tickets", delay_seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{api.base_url}/tickets", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=0.2)
    assert get(api, "tickets", per_page=1).status_code == 200
    statuses = [r["status"] for r in api.requests if r["path"].startswith("/api/v2/tickets")]
    assert "429,500,200" in ",".join(map(str, statuses))


def test_api_sees_later_deliveries_without_restart(tmp_path):
    generate_silos(tmp_path, people=200, seed=3, upto=1)
    with HelpdeskAPI(tmp_path / "service") as server:
        before = get(server, "tickets", token="demo-token").json()["count"]
        time.sleep(0.01)
        generate_silos(tmp_path, people=200, seed=3, upto=2)
        after = get(server, "tickets", token="demo-token").json()["count"]
    assert after > before > 0


# ----------------------------------------------------------------------------------------------------
# PostgreSQL copy of the shop database
# ----------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_dsn():
    """C360_TEST_POSTGRES_DSN, or a throw-away server (initdb/pg_ctl; as root it runs as user postgres)."""
    if os.environ.get("C360_TEST_POSTGRES_DSN"):
        yield os.environ["C360_TEST_POSTGRES_DSN"]
        return
    initdb = shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb"
    pg_ctl = shutil.which("pg_ctl") or "/usr/lib/postgresql/15/bin/pg_ctl"
    if not Path(initdb).exists():
        pytest.skip("no PostgreSQL server binaries")
    prefix: list[str] = []
    root = tempfile.mkdtemp(prefix="c360-pg-", dir="/tmp")
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    port = _free_port()
    data = f"{root}/data"
    try:
        subprocess.run([*prefix, initdb, "-D", data, "-A", "trust", "-U", "c360"], check=True, capture_output=True)
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                data,
                "-l",
                f"{root}/log",
                "-w",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"host=127.0.0.1 port={port} user=c360 dbname=postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
def test_load_sales_into_postgres(tmp_path, postgres_dsn):
    import psycopg

    first = generate_silos(tmp_path, people=200, seed=9, upto=1)
    sqlite_path = tmp_path / "sales" / "shop.sqlite"
    counts_1 = load_sales_into_postgres(sqlite_path, postgres_dsn, schema="shop")
    assert counts_1["customers"] == first.row_counts["sales.customers"]
    second = generate_silos(tmp_path, people=200, seed=9, upto=2)
    counts_2 = load_sales_into_postgres(sqlite_path, postgres_dsn, schema="shop")
    assert counts_2 == {
        "customers": second.row_counts["sales.customers"],
        "orders": second.row_counts["sales.orders"],
        "order_lines": second.row_counts["sales.order_lines"],
    }
    with psycopg.connect(postgres_dsn) as con:
        total = con.execute("SELECT sum(total_amount) FROM shop.orders").fetchone()[0]
        late = con.execute("SELECT count(*) FROM shop.customers WHERE updated_at >= '2026-10-01'").fetchone()[0]
    with sqlite3.connect(sqlite_path) as s:
        assert float(total) == pytest.approx(s.execute("SELECT sum(total_amount) FROM orders").fetchone()[0])
    assert late > 0


# ----------------------------------------------------------------------------------------------------
# variety (issue 14): every kind of variation occurs at roughly its rate and is recorded in kinds.csv
# ----------------------------------------------------------------------------------------------------

VARIETY_PEOPLE = 2000
# knob → the kind it adds. A knob's observed rate is (tagged at default - tagged at 0) / (tagged at 1 - tagged at 0):
# the share of the records (people) that can carry the variation which do, whatever the baseline adds.
KNOB_KINDS = {
    "initial": "initial",
    "first_letter_typo": "first_letter_typo",
    "first_name_only": "name_part_missing",
    "fresh_email": "fresh_email",
    "swapped_full_name": "swapped",
    "transliteration": "transliteration",
    "nickname": "nickname",
    "compound_variant": "compound_name",
    "opaque_email": "opaque_email",
}


def _kind_counts(root: Path) -> dict[str, int]:
    kinds = pd.read_csv(root / "kinds.csv", dtype=str)
    return kinds["kinds"].str.split(";").explode().value_counts().to_dict()


def _hyphenated(root: Path, column: str) -> int:
    """People (entities) with a hyphen in the first or last name of their shop account."""
    customers = read_table(root, "customers")
    labels = pd.read_csv(root / "labels.csv", dtype=str)
    customers["source_record_id"] = customers["customer_id"].astype(str)
    merged = customers.merge(labels[labels.source_system == "sales"], on="source_record_id")
    return merged.loc[merged[column].fillna("").str.contains("-"), "entity_id"].nunique()


@pytest.fixture(scope="module")
def varied(tmp_path_factory) -> GenerationResult:
    return generate_silos(tmp_path_factory.mktemp("varied") / "out", people=VARIETY_PEOPLE, seed=SEED)


@pytest.mark.parametrize("knob", sorted(KNOB_KINDS))
def test_each_kind_of_variation_occurs_at_roughly_its_rate(tmp_path, varied, knob):
    from c360_devtools.demo.variety import Variety

    rate = getattr(Variety(), knob)
    kind = KNOB_KINDS[knob]
    at = {
        value: _kind_counts(
            generate_silos(
                tmp_path / str(value), people=VARIETY_PEOPLE, seed=SEED, variety=Variety().with_rates({knob: value})
            ).out_dir
        ).get(kind, 0)
        for value in (0.0, 1.0)
    }
    default = _kind_counts(varied.out_dir).get(kind, 0)
    assert at[1.0] > default > at[0.0], (knob, at, default)
    observed = (default - at[0.0]) / (at[1.0] - at[0.0])
    assert 0.6 * rate <= observed <= 1.4 * rate, (knob, rate, observed, at, default)


@pytest.mark.parametrize(("knob", "column"), [("double_first_name", "first_name"), ("double_last_name", "last_name")])
def test_double_names_occur_at_roughly_their_rate(tmp_path, varied, knob, column):
    from c360_devtools.demo.variety import Variety

    rate = getattr(Variety(), knob)
    at = {
        value: _hyphenated(
            generate_silos(
                tmp_path / str(value),
                people=VARIETY_PEOPLE,
                seed=SEED,
                variety=Variety().with_rates({knob: value, "compound_variant": 0.0}),
            ).out_dir,
            column,
        )
        for value in (0.0, 1.0)
    }
    default = _hyphenated(
        generate_silos(
            tmp_path / "default",
            people=VARIETY_PEOPLE,
            seed=SEED,
            variety=Variety().with_rates({"compound_variant": 0.0}),
        ).out_dir,
        column,
    )
    observed = (default - at[0.0]) / (at[1.0] - at[0.0])
    assert 0.6 * rate <= observed <= 1.4 * rate, (knob, rate, observed, at, default)


def test_the_variations_show_in_the_files_as_recorded(varied):
    root = varied.out_dir
    kinds = pd.read_csv(root / "kinds.csv", dtype=str).set_index(["source_system", "source_record_id"])["kinds"]
    contacts = read_contacts(root).drop_duplicates("Kontakt-ID", keep="last").set_index("Kontakt-ID")
    customers = read_table(root, "customers").assign(customer_id=lambda c: c.customer_id.astype(str))
    customers = customers.set_index("customer_id")

    def tagged(system: str, kind: str) -> list[str]:
        found = kinds[kinds.str.split(";").map(lambda k: kind in k)]
        return [record for s, record in found.index if s == system]

    # "I. Patberg": the first name is one letter, perhaps with a dot (in the last-name field when swapped)
    def initial(*names: str | None) -> bool:
        return any(re.fullmatch(r"[A-ZÄÖÜ]\.?", name or "", re.IGNORECASE) for name in names)

    assert tagged("marketing", "initial") and tagged("sales", "initial")
    assert all(initial(*contacts.loc[r, ["Vorname", "Nachname"]]) for r in tagged("marketing", "initial"))
    assert all(initial(*customers.loc[r, ["first_name", "last_name"]]) for r in tagged("sales", "initial"))
    # a web sign-up: a first name and an e-mail address, nothing else
    signups = contacts.loc[tagged("marketing", "name_part_missing")]
    assert len(signups) > 0
    assert (signups["Nachname"] == "").all() and (signups["Telefon"] == "").all()
    assert (signups["Straße"] == "").all() and (signups["Geburtsdatum"] == "").all()
    # "ntefanie", "iohl": a name starts with a wrong lower-case letter
    typos = [contacts.loc[r, ["Vorname", "Nachname"]] for r in tagged("marketing", "first_letter_typo")]
    assert typos and sum(any(v[:1].islower() for v in row if v) for row in typos) >= 0.8 * len(typos)
    # helpdesk users with a new address: no phone, an address no other record of the person has
    tickets = json.loads((root / "service" / "tickets.json").read_text(encoding="utf-8"))
    requesters = {str(t["requester"]["id"]): t["requester"] for t in tickets}
    fresh = tagged("service", "fresh_email")
    assert fresh and all(requesters[r]["phone"] is None and requesters[r]["email"] for r in fresh)
    addresses = set(contacts["E-Mail"].str.strip().str.lower()) | set(
        customers["email"].dropna().str.strip().str.lower()
    )
    assert not {requesters[r]["email"] for r in fresh} & addresses
    # "Kolanko Natasza": one string, last name first, no comma
    swapped = [requesters[r]["name"] for r in tagged("service", "swapped")]
    assert swapped and all("," not in name and " " in name for name in swapped)


def test_without_variety_only_the_baseline_kinds_occur(tmp_path):
    from c360_devtools.demo.variety import Variety

    plain = generate_silos(tmp_path, people=VARIETY_PEOPLE, seed=SEED, variety=Variety.none())
    counts = _kind_counts(plain.out_dir)
    assert not {"first_letter_typo", "fresh_email", "compound_name", "opaque_email"} & set(counts), counts
    kinds = pd.read_csv(plain.out_dir / "kinds.csv", dtype=str)
    outside_helpdesk = kinds[kinds.source_system != "service"]["kinds"].str.split(";").explode()
    assert not {"initial", "name_part_missing"} & set(outside_helpdesk)  # the helpdesk's "A. Müller" is baseline
    assert json.loads((plain.out_dir / "manifest.json").read_text())["variety"] == Variety.none().as_dict()


def test_ground_truth_files_describe_the_labelled_records(varied, labels):
    root = varied.out_dir
    from c360_devtools.demo.variety import KINDS

    kinds = pd.read_csv(root / "kinds.csv", dtype=str)
    varied_labels = pd.read_csv(varied.labels_path, dtype=str)
    keys = set(zip(varied_labels.source_system, varied_labels.source_record_id, strict=True))
    assert set(zip(kinds.source_system, kinds.source_record_id, strict=True)) <= keys
    assert set(kinds["kinds"].str.split(";").explode()) <= set(KINDS)
    households = pd.read_csv(root / "households.csv", dtype=str)
    assert households.entity_id.is_unique
    assert (households.groupby("household_id").size() >= 2).all()
    assert (households.is_twin == "1").sum() >= 2
    assert set(households.entity_id) <= {str(i) for i in range(1, VARIETY_PEOPLE + 1)}


def test_variety_settings_are_checked():
    from c360_devtools.demo.variety import Variety

    assert Variety().with_rates(["initial=0.1", "nickname=0"]).initial == 0.1
    with pytest.raises(ValueError, match="unknown variety knob"):
        Variety().with_rates(["initials=0.1"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        Variety().with_rates({"initial": 2.0})
    with pytest.raises(ValueError, match="KNOB=RATE"):
        Variety().with_rates(["initial"])
    assert set(Variety.describe()) == set(Variety.knobs())
