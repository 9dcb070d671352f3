"""Files connector: CSV (encodings, header names, malformed lines), JSON lines, JSON documents, Parquet."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from support.configs import counts, ledger_balanced, make_config, query, scalar

from customer360.core.config import ConfigError
from customer360.ingest import ingest, normalise_name

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HEADER = "Kontakt-ID;Anrede;Vorname;Nachname;E-Mail;Straße;PLZ;Ort;Letzte Änderung\r\n"


def contacts_config(tmp_path: Path, **csv):
    return make_config(
        tmp_path,
        {
            "marketing": {
                "connector": "files",
                "tables": {
                    "contacts": {
                        "path": "silos/contacts/*.csv",
                        "format": "csv",
                        "csv": {"delimiter": ";", **csv},
                        "primary_key": "kontakt_id",
                    },
                    "events": {"path": "silos/events/*.jsonl", "format": "jsonl"},
                },
            }
        },
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def run(config, run_id: str = "r1", **kwargs):
    return ingest(config, run_id=run_id, loaded_at=T0, **kwargs)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Letzte Änderung", "letzte_aenderung"),
        ("E-Mail", "e_mail"),
        ("Straße", "strasse"),
        ("  Kontakt-ID ", "kontakt_id"),
        ("ÖFFNUNGS-Zeit (Ü)", "oeffnungs_zeit_ue"),
        ("Café", "cafe"),
        ("1. Wahl", "col_1_wahl"),
    ],
)
def test_header_names_are_normalised(header, column):
    assert normalise_name(header) == column


def test_cp1252_semicolon_csv_round_trips_umlauts_and_normalises_headers(tmp_path):
    config = contacts_config(tmp_path)
    rows = (
        "NL-000001;Herr;Jürgen;Müller;j.mueller@example.de;Hauptstraße 12;20095;Hamburg;01.03.2024 14:22\r\n"
        'NL-000002;Frau;Anna;"Groß; Weiß";anna@example.de;;;;02.03.2024 09:00\r\n'
        "NL-000003;;Zoë;Öztürk;;Königsallee 1;40212;Düsseldorf;03.03.2024 10:00\r\n"
    )
    write(tmp_path / "silos/contacts/newsletter_contacts_2024-03-01.csv", HEADER + rows, "cp1252")

    report = run(config)

    assert report.ok and report.exit_code == 0
    result = report.result("marketing", "contacts")
    assert (result.status, result.rows_delivered, result.rows_loaded, result.rows_rejected) == (
        "loaded",
        3,
        3,
        0,
    )
    assert any("Windows-1252" in m.text for m in result.messages)
    columns = [r[0] for r in query(config, "select column_name from (describe raw_marketing.contacts)")]
    assert columns == [
        "_c360_batch_id",
        "_c360_loaded_at",
        "_c360_source",
        "_c360_row_number",
        "_c360_row_hash",
        "kontakt_id",
        "anrede",
        "vorname",
        "nachname",
        "e_mail",
        "strasse",
        "plz",
        "ort",
        "letzte_aenderung",
    ]
    got = query(
        config,
        "select _c360_row_number, vorname, nachname, strasse, ort, letzte_aenderung, _c360_source, "
        "_c360_loaded_at from raw_marketing.contacts order by _c360_row_number",
    )
    assert [g[:6] for g in got] == [
        (2, "Jürgen", "Müller", "Hauptstraße 12", "Hamburg", "01.03.2024 14:22"),
        (3, "Anna", "Groß; Weiß", None, None, "02.03.2024 09:00"),
        (4, "Zoë", "Öztürk", "Königsallee 1", "Düsseldorf", "03.03.2024 10:00"),
    ]
    assert got[0][6].endswith("newsletter_contacts_2024-03-01.csv")
    assert got[0][7] == T0
    assert all(
        t == "VARCHAR"
        for (t,) in query(
            config,
            "select column_type from (describe raw_marketing.contacts) where column_name not like '_c360_%'",
        )
    )
    batch = query(
        config, "select batch_id, status, rows_delivered, rows_loaded, content_hash, run_id from meta.batches"
    )
    assert len(batch) == 1 and batch[0][1:4] == ("loaded", 3, 3) and len(batch[0][4]) == 64 and batch[0][5] == "r1"
    assert scalar(config, "select count(distinct _c360_batch_id) from raw_marketing.contacts") == 1
    assert scalar(config, "select min(_c360_batch_id) from raw_marketing.contacts") == batch[0][0]


def test_utf8_with_bom_and_quoted_line_breaks(tmp_path):
    config = contacts_config(tmp_path)
    text = '\ufeffKontakt-ID;Notiz\nNL-1;"zwei\nZeilen"\nNL-2;"Anführungs""zeichen"""\n'
    write(tmp_path / "silos/contacts/c.csv", text)
    run(config)
    assert query(config, "select kontakt_id, notiz from raw_marketing.contacts order by 1") == [
        ("NL-1", "zwei\nZeilen"),
        ("NL-2", 'Anführungs"zeichen"'),
    ]


def test_malformed_lines_go_to_quarantine_with_their_line_numbers(tmp_path):
    config = contacts_config(tmp_path)
    lines = [
        "NL-1;Herr;A;B;a@x.de;S 1;1;X;01.03.2024 10:00",  # line 2
        "NL-2;Frau;C;D;c@x.de;S 2;2;Y;01.03.2024 10:00;extra",  # line 3: too many columns
        "NL-3;Frau;E",  # line 4: too few
        "NL-4;Herr;G;H;g@x.de;S 4;4;Z;01.03.2024 10:00",  # line 5
        'NL-5;Herr;"unterminated;H;g@x.de;S 4;4;Z;01.03.2024',  # line 6: bad quote
    ]
    path = write(tmp_path / "silos/contacts/c.csv", HEADER + "\r\n".join(lines) + "\r\n")
    path_after = write(tmp_path / "silos/contacts/d.csv", HEADER + "NL-9;Herr;I;J;i@x.de;S;9;Q;01.03.2024 11:00\r\n")

    report = run(config)

    result = report.result("marketing", "contacts")
    assert report.ok  # quarantined rows are not a failure
    assert (result.rows_delivered, result.rows_loaded, result.rows_rejected) == (6, 3, 3)
    assert any("3 line(s)" in w and str(path) in w for w in result.warnings)
    loaded = query(
        config,
        f"select _c360_row_number, kontakt_id from raw_marketing.contacts where _c360_source = '{path}' order by 1",
    )
    assert loaded == [(2, "NL-1"), (5, "NL-4")]
    bad = query(
        config,
        "select _c360_row_number, _c360_stage, _c360_rule, _c360_reason, _c360_record, _c360_source "
        "from quarantine.marketing__contacts order by 1",
    )
    assert [b[0] for b in bad] == [3, 4, 6]
    assert all(b[1] == "ingest" and b[2] == "parse_error" and b[5] == str(path) for b in bad)
    assert bad[0][3].startswith(f"line 3 of {path} ") and "too many columns" in bad[0][3]
    assert "line 4" in bad[1][3] and "missing columns" in bad[1][3]
    assert bad[0][4] == "NL-2;Frau;C;D;c@x.de;S 2;2;Y;01.03.2024 10:00;extra"
    assert bad[1][4] == "NL-3;Frau;E"
    # (batch, row number) identifies a delivered row across raw and quarantine
    assert (
        scalar(
            config,
            "select count(*) from raw_marketing.contacts r join quarantine.marketing__contacts q "
            "using (_c360_batch_id, _c360_row_number)",
        )
        == 0
    )
    assert query(config, f"select kontakt_id from raw_marketing.contacts where _c360_source = '{path_after}'") == [
        ("NL-9",)
    ]
    assert ledger_balanced(config)
    assert query(
        config,
        "select rows_delivered, rows_loaded, rows_duplicate, rows_rejected from meta.batches "
        f"where location = '{path}'",
    ) == [(5, 2, 0, 3)]


def _contact(number: int, first_name: str = "Jürgen") -> str:
    return f"NL-{number};Herr;{first_name};Weiß;j{number}@x.de;Straße {number};5000{number % 10};Köln;01.03.2024 10:00"


def test_an_unclosed_quote_quarantines_its_record_alone_and_reading_goes_on(tmp_path):
    """The fault as reported: a 30-row `;`/cp1252 file with a broken quote in row 5 loaded 4 rows and folded rows
    5-30 into one quarantined "line". Now only the broken records are held; a quoted line break stays valid."""
    config = contacts_config(tmp_path)
    rows = [_contact(n) for n in range(1, 31)]
    rows[4] = _contact(5, '"Jürgen')  # row 5 (line 6): the quote is never closed
    rows[9] = _contact(10, '"Jürgen\r\nPaul"')  # row 10: a valid value over two lines
    rows[19] = _contact(20) + ";extra"  # row 20: one column too many
    rows[24] = _contact(25, '"Jürgen')  # row 25: another quote never closed
    path = write(tmp_path / "silos/contacts/c.csv", HEADER + "\r\n".join(rows) + "\r\n", "cp1252")

    report = run(config)

    result = report.result("marketing", "contacts")
    assert report.ok
    assert (result.rows_delivered, result.rows_loaded, result.rows_rejected) == (30, 27, 3)
    held = query(
        config, "select _c360_row_number, _c360_rule, _c360_reason, _c360_record from quarantine.marketing__contacts"
    )
    by_rule = {rule: sorted(number for number, r, _, _ in held if r == rule) for _, rule, _, _ in held}
    assert by_rule == {"unclosed_quote": [6, 26], "parse_error": [21]}
    unclosed = [h for h in held if h[1] == "unclosed_quote"]
    assert all(h[3].startswith(f'NL-{h[0] - 1};Herr;"Jürgen;') and "\n" not in h[3] for h in unclosed)
    assert all(f"line {h[0]} of {path}" in h[2] and "never closed" in h[2] for h in unclosed)
    loaded = query(config, "select _c360_row_number, kontakt_id, vorname from raw_marketing.contacts order by 1")
    assert [kontakt_id for _, kontakt_id, _ in loaded] == [f"NL-{n}" for n in range(1, 31) if n not in (5, 20, 25)]
    assert ("NL-10", "Jürgen\r\nPaul") in [(k, v) for _, k, v in loaded]
    # every record keeps its own number: raw and quarantine together are lines 2..31, each once
    numbers = sorted([n for n, _, _ in loaded] + [h[0] for h in held])
    assert numbers == list(range(2, 32))
    assert ledger_balanced(config)


def test_a_file_with_many_unclosed_quotes_is_rejected_whole_with_the_reason(tmp_path):
    config = contacts_config(tmp_path)
    rows = [_contact(n, '"Jürgen' if n % 2 else "Jürgen") for n in range(1, 60)]
    path = write(tmp_path / "silos/contacts/c.csv", HEADER + "\r\n".join(rows) + "\r\n")

    report = run(config)

    result = report.result("marketing", "contacts")
    assert result.status == "failed" and result.rows_loaded == 0
    assert any(str(path) in e and "never closed" in e and "csv.quote" in e for e in result.errors)
    assert query(config, f"select status from meta.batches where location = '{path}'") == [("failed",)]


def test_second_run_adds_nothing_and_a_redelivered_file_is_not_loaded_twice(tmp_path):
    config = contacts_config(tmp_path)
    first = write(
        tmp_path / "silos/contacts/a.csv",
        HEADER + "NL-1;Herr;A;B;a@x.de;S;1;X;01.03.2024 10:00\r\nNL-2;bad\r\n",
    )
    run(config, "r1")
    before = counts(config, "marketing", "contacts")
    assert before == (1, 1, 1)

    report = run(config, "r2")
    assert counts(config, "marketing", "contacts") == before
    assert report.result("marketing", "contacts").status == "unchanged"
    assert report.result("marketing", "contacts").messages == []

    shutil.copy(first, tmp_path / "silos/contacts/a_copy_renamed.csv")
    report = run(config, "r3")
    result = report.result("marketing", "contacts")
    assert result.rows_loaded == 0 and result.status == "unchanged"
    assert any("same content as" in m.text and "a_copy_renamed.csv" in m.text for m in result.messages)
    raw, quarantined, batches = counts(config, "marketing", "contacts")
    assert (raw, quarantined) == (1, 1)
    assert query(config, "select status from meta.batches where location like '%a_copy_renamed.csv'") == [
        ("duplicate",)
    ]
    # ... and reported once only
    assert run(config, "r4").result("marketing", "contacts").messages == []
    assert counts(config, "marketing", "contacts") == (raw, quarantined, batches)

    # a changed file is a new delivery
    with first.open("ab") as handle:
        handle.write(b"NL-3;Frau;C;D;c@x.de;S;3;Y;02.03.2024 10:00\r\n")
    report = run(config, "r5")
    assert report.result("marketing", "contacts").rows_loaded == 2
    assert ledger_balanced(config)


def test_a_file_read_with_the_wrong_settings_is_read_again_on_request(tmp_path):
    """Loaded once with the wrong delimiter, a file would never be read again (same bytes): `--reload` reads it
    under the fixed configuration and supersedes what it delivered before; nothing leaves raw."""
    config = contacts_config(tmp_path, delimiter=",")
    path = write(tmp_path / "silos/contacts/a.csv", HEADER + _contact(1) + "\r\nNL-2,Frau;E\r\n")
    duplicate = tmp_path / "silos/contacts/b.csv"
    shutil.copy(path, duplicate)
    run(config, "r1")
    assert query(config, "select count(*) from information_schema.columns where table_name = 'contacts'") == [(6,)]
    assert counts(config, "marketing", "contacts") == (1, 1, 2)  # one row, one broken line; b.csv a duplicate

    fixed = contacts_config(tmp_path)  # delimiter ";"
    assert run(fixed, "r2").result("marketing", "contacts").status == "unchanged"  # same bytes: not read again
    with pytest.raises(ConfigError, match="no table named marketing.kontakte"):
        run(fixed, "r3", reload=["marketing.kontakte"])

    report = run(fixed, "r3", reload=["marketing.contacts"])

    result = report.result("marketing", "contacts")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert any("2 earlier batch(es) superseded" in m.text for m in result.messages)
    assert query(config, "select run_id, status, location from meta.batches order by run_id, location") == [
        ("r1", "superseded", str(path)),
        ("r1", "superseded", str(duplicate)),
        ("r3", "loaded", str(path)),
        ("r3", "duplicate", str(duplicate)),
    ]
    assert query(config, "select vorname from raw_marketing.contacts where vorname is not null") == [("Jürgen",)]
    assert scalar(config, "select count(*) from raw_marketing.contacts") == 2  # the first reading stays in raw
    # the first reading's broken line is no longer held; the new reading holds its own
    assert query(
        config,
        "select b.run_id, q._c360_released_at is not null from quarantine.marketing__contacts q "
        "join meta.batches b on b.batch_id = q._c360_batch_id order by 1",
    ) == [("r1", True), ("r3", False)]
    assert run(fixed, "r4").result("marketing", "contacts").status == "unchanged"
    assert ledger_balanced(config)


def test_empty_and_header_only_files_are_warned_about_once(tmp_path):
    config = contacts_config(tmp_path)
    empty = write(tmp_path / "silos/contacts/empty.csv", "")
    header_only = write(tmp_path / "silos/contacts/header_only.csv", HEADER)

    report = run(config)

    result = report.result("marketing", "contacts")
    assert report.ok and result.status == "empty"
    assert any(str(empty) in w and "empty" in w for w in result.warnings)
    assert any(str(header_only) in w and "no data rows" in w for w in result.warnings)
    assert query(config, "select location, status, rows_delivered from meta.batches order by location") == [
        (str(empty), "empty", 0),
        (str(header_only), "empty", 0),
    ]
    again = run(config, "r2").result("marketing", "contacts")
    assert again.warnings == [] and again.batches == []


def test_missing_glob_is_a_warning_not_a_failure(tmp_path):
    config = contacts_config(tmp_path)
    report = run(config)
    assert report.ok
    warning = report.result("marketing", "contacts").warnings[0]
    assert "no files match" in warning and "silos/contacts/*.csv" in warning


def test_new_and_missing_columns_in_a_later_delivery(tmp_path):
    config = contacts_config(tmp_path)
    write(tmp_path / "silos/contacts/2024-03-01.csv", "Kontakt-ID;Vorname;Titel\nNL-1;Anna;Dr.\n")
    run(config, "r1")
    later = write(tmp_path / "silos/contacts/2024-03-02.csv", "Kontakt-ID;Vorname;Land;Mobil-Nr.\nNL-2;Ben;AT;0151\n")

    report = run(config, "r2")

    warnings = report.result("marketing", "contacts").warnings
    assert any("new column(s) land, mobil_nr" in w and str(later) in w for w in warnings)
    assert any("column(s) titel missing" in w and str(later) in w for w in warnings)
    assert query(
        config, "select kontakt_id, vorname, titel, land, mobil_nr from raw_marketing.contacts order by 1"
    ) == [
        ("NL-1", "Anna", "Dr.", None, None),
        ("NL-2", "Ben", None, "AT", "0151"),
    ]


def test_declared_utf8_with_invalid_bytes_names_file_and_line(tmp_path):
    config = contacts_config(tmp_path, encoding="utf-8")
    path = write(tmp_path / "silos/contacts/c.csv", "Kontakt-ID;Name\nNL-1;Anna\nNL-2;Jürgen\n", "cp1252")
    good_events = write(tmp_path / "silos/events/e.jsonl", '{"event_id": "1"}\n')

    report = run(config)

    result = report.result("marketing", "contacts")
    assert result.status == "failed" and report.failed_sources == ["marketing"]
    (error,) = result.errors
    assert str(path) in error and "line 3" in error and "cp1252" in error
    assert report.result("marketing", "events").rows_loaded == 1  # the other table still loads
    assert query(config, "select status from meta.batches where location = ?", [str(path)]) == [("failed",)]
    assert query(config, "select location from meta.batches where status = 'loaded'") == [(str(good_events),)]


def test_exact_duplicate_rows_inside_one_file_are_all_kept(tmp_path):
    config = contacts_config(tmp_path)
    write(tmp_path / "silos/contacts/c.csv", "Kontakt-ID;Name\nNL-1;Anna\nNL-1;Anna\n")
    result = run(config).result("marketing", "contacts")
    assert (result.rows_loaded, result.rows_duplicate) == (2, 0)
    rows = query(config, "select _c360_row_number, _c360_row_hash from raw_marketing.contacts order by 1")
    assert [r[0] for r in rows] == [2, 3] and rows[0][1] == rows[1][1]


def test_jsonl_with_broken_lines(tmp_path):
    config = contacts_config(tmp_path)
    path = write(
        tmp_path / "silos/events/campaign_events_2024-03-01.jsonl",
        '{"event_id": "E1", "contact_id": "NL-1", "event_type": "open", "occurred_at": "2024-03-01T10:00"}\n'
        '{"event_id": "E2", "contact_id": "NL-2", "event_type": "click", "url": "https://x.de/a", "n": 3}\n'
        '{"event_id": "E3", "contact_id": \n'
        "\n"
        '["not", "an", "object"]\n'
        '{"event_id": "E4", "meta": {"device": "mobile"}, "tags": ["a", "b"], "url": null}\n',
    )

    report = run(config)

    result = report.result("marketing", "events")
    assert (result.rows_delivered, result.rows_loaded, result.rows_rejected) == (5, 3, 2)
    rows = query(config, "select _c360_row_number, event_id, url, n, meta, tags from raw_marketing.events order by 1")
    assert rows == [
        (1, "E1", None, None, None, None),
        (2, "E2", "https://x.de/a", "3", None, None),
        (6, "E4", None, None, '{"device":"mobile"}', '["a","b"]'),
    ]
    types = dict(query(config, "select column_name, column_type from (describe raw_marketing.events)"))
    assert types["n"] == "VARCHAR" and types["meta"] == "JSON" and types["tags"] == "JSON"
    bad = query(
        config,
        "select _c360_row_number, _c360_rule, _c360_reason, _c360_record from quarantine.marketing__events order by 1",
    )
    assert bad[0][:2] == (3, "parse_error") and bad[0][2] == f"line 3 of {path} is not valid JSON"
    assert bad[0][3] == '{"event_id": "E3", "contact_id": '
    assert bad[1][:2] == (5, "not_an_object") and "is a JSON array" in bad[1][2]
    assert ledger_balanced(config)
    assert run(config, "r2").result("marketing", "events").rows_loaded == 0
    assert counts(config, "marketing", "events") == (3, 2, 1)


def test_json_document_with_records_field(tmp_path):
    config = make_config(
        tmp_path,
        {
            "crm": {
                "connector": "files",
                "tables": {
                    "people": {"path": "in/*.json", "format": "json", "records_field": "data.people"},
                },
            }
        },
    )
    write(tmp_path / "in/a.json", '{"data": {"people": [{"id": 1, "name": "Anna"}, 7, {"id": 2}]}}')
    write(tmp_path / "in/b.json", '{"data": {"people": null}}')
    write(tmp_path / "in/c.json", "{not json")

    report = ingest(config, run_id="r1", loaded_at=T0)

    result = report.result("crm", "people")
    assert report.ok and (result.rows_loaded, result.rows_rejected) == (2, 3)
    assert query(config, "select id, name from raw_crm.people order by 1") == [("1", "Anna"), ("2", None)]
    rules = query(config, "select _c360_rule, _c360_reason from quarantine.crm__people order by _c360_source")
    assert [r[0] for r in rules] == ["not_an_object", "no_records", "parse_error"]
    assert "field 'data.people' is missing or null" in rules[1][1]
    assert rules[2][1].endswith("c.json is not valid JSON")


def test_parquet_keeps_its_types(tmp_path):
    config = make_config(
        tmp_path,
        {
            "shop": {
                "connector": "files",
                "tables": {
                    "orders": {"path": "in/*.parquet", "format": "parquet"},
                },
            }
        },
    )
    (tmp_path / "in").mkdir()
    with duckdb.connect() as con:
        con.execute(
            f"copy (select i as order_id, i * 1.5 as amount, date '2024-01-01' + i::integer as ordered_on, "
            f"'o' || i as note from range(1, 6) t(i)) to '{tmp_path / 'in/orders.parquet'}' (format parquet)"
        )

    report = ingest(config, run_id="r1", loaded_at=T0)

    assert report.result("shop", "orders").rows_loaded == 5
    types = dict(query(config, "select column_name, column_type from (describe raw_shop.orders)"))
    assert types["order_id"] == "BIGINT" and types["ordered_on"] == "DATE"
    assert query(config, "select min(_c360_row_number), max(_c360_row_number), sum(order_id) from raw_shop.orders") == [
        (1, 5, 15)
    ]


def test_unknown_names_are_configuration_errors(tmp_path):
    from customer360.core.config import ConfigError

    config = contacts_config(tmp_path)
    with pytest.raises(ConfigError, match="no source named 'nope'"):
        ingest(config, sources=["nope"], run_id="r", loaded_at=T0)
    with pytest.raises(ConfigError, match="no table named nope"):
        ingest(config, tables=["nope"], run_id="r", loaded_at=T0)


def test_select_tables_and_render(tmp_path):
    from rich.console import Console

    config = contacts_config(tmp_path)
    write(tmp_path / "silos/contacts/c.csv", "Kontakt-ID\nNL-1\n")
    write(tmp_path / "silos/events/e.jsonl", '{"event_id": "1"}\n')
    report = ingest(config, tables=["marketing.contacts"], run_id="r1", loaded_at=T0, progress=True)
    assert [r.name for r in report.results] == ["marketing.contacts"]
    console = Console(record=True, width=120)
    console.print(report.render())
    text = console.export_text()
    assert "marketing.contacts" in text and "loaded" in text
