"""Quality-gate test support: a small three-silo configuration on inline files, deliveries, and the row sets
staging would read (the c360_valid_rows macro, in Python), so tests can prove that no row is lost.

    config = quality_config(tmp_path)
    deliver(tmp_path, "silos/contacts/c1.csv", contacts_csv([contact(1), contact(2, e_mail="kaputt")]))
    ingest_report, report = gate(config)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from customer360.core.config import Config
from customer360.ingest import ingest
from expectations.report import QualityReport
from expectations.runner import validate
from expectations.settings import QualitySettings
from support.configs import make_config

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = QualitySettings()
DEMO_PROJECT = Path(__file__).resolve().parents[2] / "examples" / "kaufhaus-nord"
QUALITY_KEYS = ("columns", "freshness", "volume", "suite")


def demo_rules(source: str, table: str) -> dict[str, Any]:
    """The quality rules the demo project (examples/kaufhaus-nord/customer360.yml) gives a table: its `columns`,
    `freshness`, `volume` and `suite` (as an absolute path), to merge into a test table's configuration."""
    data = yaml.safe_load((DEMO_PROJECT / "customer360.yml").read_text(encoding="utf-8"))
    body = data["sources"][source]["tables"][table]
    rules = {key: body[key] for key in QUALITY_KEYS if key in body}
    rules["columns"] = {name: value or {} for name, value in (rules.get("columns") or {}).items()}
    if "suite" in rules:
        rules["suite"] = str(DEMO_PROJECT / rules["suite"])
    return rules


CONTACT_COLUMNS = {
    "Kontakt-ID": "kontakt_id",
    "Anrede": "anrede",
    "Titel": "titel",
    "Vorname": "vorname",
    "Nachname": "nachname",
    "E-Mail": "e_mail",
    "Telefon": "telefon",
    "Geburtsdatum": "geburtsdatum",
    "Straße": "strasse",
    "PLZ": "plz",
    "Ort": "ort",
    "Newsletter": "newsletter",
    "Angemeldet am": "angemeldet_am",
    "Abgemeldet am": "abgemeldet_am",
    "Letzte Änderung": "letzte_aenderung",
}


def contact(i: int, **values: Any) -> dict[str, Any]:
    """A plausible newsletter contact; keyword arguments (raw column names) override or, with None, blank."""
    row = {
        "kontakt_id": f"NL-{i:06d}",
        "anrede": "Frau",
        "titel": "",
        "vorname": "Anna",
        "nachname": f"Müller{i}",
        "e_mail": f"anna.mueller{i}@example.de",
        "telefon": "0151/2345678",
        "geburtsdatum": "24.12.1985",
        "strasse": "Hauptstraße 12",
        "plz": "20095",
        "ort": "Hamburg",
        "newsletter": "ja",
        "angemeldet_am": "01.03.2024 14:22",
        "abgemeldet_am": "",
        "letzte_aenderung": "01.02.2026 09:00",
    }
    row.update({k: ("" if v is None else v) for k, v in values.items()})
    return row


def contacts_csv(rows: list[dict[str, Any]], drop: tuple[str, ...] = (), extra: dict[str, str] | None = None) -> str:
    """The newsletter tool's export (German headers, ';', CRLF); `drop` omits columns, `extra` adds some."""
    headers = [h for h, c in CONTACT_COLUMNS.items() if c not in drop] + list(extra or {})
    lines = [";".join(headers)]
    for row in rows:
        values = [str(row[c]) for h, c in CONTACT_COLUMNS.items() if c not in drop]
        values += [str(row.get(column, "")) for column in (extra or {}).values()]
        lines.append(";".join(values))
    return "\r\n".join(lines) + "\r\n"


CUSTOMERS_HEADER = (
    "customer_id,customer_number,salutation,title,first_name,last_name,email,phone,mobile,birth_date,street,"
    "postcode,city,country_code,created_at,updated_at,is_active"
)


def customer(i: int, **values: Any) -> str:
    row = {
        "customer_id": str(i),
        "customer_number": f"K-{100000 + i}",
        "salutation": "Herr",
        "title": "",
        "first_name": "Jan",
        "last_name": f"Schmidt{i}",
        "email": f"jan{i}@example.de",
        "phone": "040 1234567",
        "mobile": "0171 2345678",
        "birth_date": "1980-05-17",
        "street": "Am Markt 5",
        "postcode": "20095",
        "city": "Hamburg",
        "country_code": "DE",
        "created_at": "2024-01-01T10:00:00Z",
        "updated_at": "2025-06-01T10:00:00Z",
        "is_active": "1",
    }
    row.update({k: ("" if v is None else str(v)) for k, v in values.items()})
    return ",".join(row.values())


ORDERS_HEADER = (
    "order_id,order_number,customer_id,ordered_at,channel,status,total_amount,currency,payment_method,updated_at"
)


def order(i: int, customer_id: int, **values: Any) -> str:
    row = {
        "order_id": str(i),
        "order_number": f"KN-{10000000 + i}",
        "customer_id": str(customer_id),
        "ordered_at": "2025-06-02T10:00:00Z",
        "channel": "online",
        "status": "completed",
        "total_amount": "49.95",
        "currency": "EUR",
        "payment_method": "paypal",
        "updated_at": "2025-06-02T10:30:00Z",
    }
    row.update({k: ("" if v is None else str(v)) for k, v in values.items()})
    return ",".join(row.values())


def ticket(i: int, **values: Any) -> dict[str, Any]:
    return {
        "id": i,
        "subject": f"Frage {i}",
        "description": "…",
        "status": "open",
        "priority": "normal",
        "type": "question",
        "channel": "email",
        "requester": {
            "id": 35000000 + i,
            "name": "Anna Müller",
            "email": f"anna{i}@example.de",
            "phone": None,
        },
        "order_number": None,
        "created_at": "2025-06-01T10:00:00Z",
        "updated_at": "2025-06-02T10:00:00Z",
        "solved_at": None,
        "satisfaction_rating": None,
        "tags": ["frage"],
        **values,
    }


def quality_config(root: Path) -> Config:
    """marketing (contacts CSV ';', events JSONL), sales (customers, orders as CSV), from root/silos, with the
    demo project's quality rules (configuration and its suite modules)."""
    return make_config(root, quality_sources())


def quality_sources() -> dict[str, Any]:
    """The `sources:` of quality_config (as make_config takes them, and as YAML writes them)."""
    return {
        "marketing": {
            "connector": "files",
            "tables": {
                "contacts": {
                    "path": "silos/contacts/*.csv",
                    "format": "csv",
                    "csv": {"delimiter": ";"},
                    "primary_key": "kontakt_id",
                    **demo_rules("marketing", "contacts"),
                },
                "campaign_events": {
                    "path": "silos/events/*.jsonl",
                    "format": "jsonl",
                    "primary_key": "event_id",
                    **demo_rules("marketing", "campaign_events"),
                },
            },
        },
        "sales": {
            "connector": "files",
            "tables": {
                "customers": {
                    "path": "silos/customers/*.csv",
                    "format": "csv",
                    "primary_key": "customer_id",
                    **demo_rules("sales", "customers"),
                },
                "orders": {
                    "path": "silos/orders/*.csv",
                    "format": "csv",
                    "primary_key": "order_id",
                    **demo_rules("sales", "orders"),
                },
            },
        },
    }


def deliver(root: Path, relative: str, text: str, encoding: str = "utf-8") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def gate(
    config: Config,
    run_id: str = "r1",
    at: datetime = T0,
    settings: QualitySettings | None = None,
    **changes: Any,
) -> tuple[Any, QualityReport]:
    """Ingest what was delivered, then run the quality gate, both as of `at`."""
    loaded = ingest(config, run_id=run_id, loaded_at=at)
    report = validate(config, run_id, as_of=at, settings=replace(settings or SETTINGS, **changes))
    assert not [m for b in report.batches for m in b.mismatches], "GX and the SQL predicates disagree"
    return loaded, report


def query(config: Config, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def quarantined(config: Config, source: str, table: str, stage: str | None = "quality") -> list[dict[str, Any]]:
    """Held rows of quarantine.<source>__<table> (all stages when stage is None)."""
    from customer360.core import quarantine

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        rows = quarantine.rows(con, source, table, limit=None)
    return [r for r in rows if stage is None or r["_c360_stage"] == stage]


def identities(config: Config, sql: str) -> set[tuple[str, int]]:
    return {(str(b), int(r)) for b, r in query(config, sql)}


def raw_rows(config: Config, source: str, table: str) -> set[tuple[str, int]]:
    return identities(config, f'select _c360_batch_id, _c360_row_number from raw_{source}."{table}"')


def valid_rows(config: Config, source: str, table: str) -> set[tuple[str, int]]:
    """What staging reads (dbt macro c360_valid_rows): raw minus held quarantine minus rejected batches."""
    return identities(
        config,
        f"""select r._c360_batch_id, r._c360_row_number from raw_{source}."{table}" as r
        anti join (select _c360_batch_id, _c360_row_number from quarantine."{source}__{table}"
                   where _c360_released_at is null) as q using (_c360_batch_id, _c360_row_number)
        where r._c360_batch_id not in (select batch_id from meta.batches where status = 'rejected')""",
    )


def held_rows(config: Config, source: str, table: str, stage: str = "quality") -> set[tuple[str, int]]:
    return identities(
        config,
        f"""select distinct _c360_batch_id, _c360_row_number from quarantine."{source}__{table}"
        where _c360_released_at is null and _c360_stage = '{stage}'""",
    )


def rejected_rows(config: Config, source: str, table: str) -> set[tuple[str, int]]:
    return identities(
        config,
        f"""select _c360_batch_id, _c360_row_number from raw_{source}."{table}"
        where _c360_batch_id in (select batch_id from meta.batches where status = 'rejected')""",
    )


def batch_status(config: Config, batch_id: str) -> tuple[str, Any]:
    return query(config, "select status, validated_at from meta.batches where batch_id = ?", [batch_id])[0]


@pytest.fixture
def quality_setup(tmp_path: Path) -> tuple[Config, Path]:
    """(config, root): the three-silo configuration in a temp dir; deliver files under root/silos."""
    return quality_config(tmp_path), tmp_path
