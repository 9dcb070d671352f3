"""Small pieces of ingestion: the quarantine module, the report, cursors, names, encodings."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest
from rich.console import Console

from customer360.core import quarantine
from customer360.ingest import IngestReport, TableResult
from customer360.ingest.encoding import choose_encoding, scan, to_utf8
from customer360.ingest.loader import json_structure, later_text, text_lower_bound, unique_names

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_quarantine_table_insert_and_count():
    con = duckdb.connect()
    assert quarantine.count(con, "crm", "people") == 0
    name = quarantine.ensure_table(con, "crm", "people")
    assert name == 'quarantine."crm__people"'
    quarantine.ensure_table(con, "crm", "people")  # idempotent
    written = quarantine.insert(
        con,
        "crm",
        "people",
        "select 'b1' as _c360_batch_id, 7 as _c360_row_number, 'file.csv' as _c360_source, "
        "'email_valid' as _c360_rule, 'e-mail address is not valid' as _c360_reason, "
        "to_json({'email': 'x'}) as _c360_record",
        stage=quarantine.STAGE_QUALITY,
        quarantined_at=T0,
    )
    assert written == 1
    row = con.execute(f"select * from {name}").fetchone()
    assert row[:7] == (
        "b1",
        7,
        "file.csv",
        "quality",
        "email_valid",
        "e-mail address is not valid",
        '{"email":"x"}',
    )
    assert row[7] == T0 and row[8] is None
    assert [c[0] for c in con.execute(f"describe {name}").fetchall()] == list(quarantine.COLUMNS)
    con.execute(f"update {name} set _c360_released_at = now()")
    assert quarantine.count(con, "crm", "people") == 0
    assert quarantine.count(con, "crm", "people", include_released=True) == 1
    with pytest.raises(ValueError, match="stage"):
        quarantine.insert(con, "crm", "people", "select 1", stage="other", quarantined_at=T0)


def test_report_exit_codes_and_render():
    ok = TableResult("a", "t", "files", status="loaded", rows_delivered=2, rows_loaded=2)
    failed = TableResult("b", "t", "rest")
    failed.fail("b.t: GET http://x/t failed after 5 attempt(s), last: HTTP 500")
    report = IngestReport("run-1", T0, [ok, failed])
    assert (report.ok, report.failed_sources, report.exit_code) == (False, ["b"], 3)
    assert IngestReport("run-2", T0, [failed]).exit_code == 1
    assert IngestReport("run-3", T0, [ok]).exit_code == 0
    console = Console(record=True, width=200)
    console.print(report.render())
    text = console.export_text()
    assert "a.t" in text and "failed" in text and "HTTP 500" in text and "1 source(s) failed: b" in text


@pytest.mark.parametrize(
    ("value", "seconds", "expected"),
    [
        ("2024-01-05T08:00:00Z", 3600, "2024-01-05T07:00:00Z"),
        ("2024-01-05 08:00:00.123+00:00", 86400, "2024-01-04 08:00:00+00:00"),
        ("2024-01-05T08:00:00", 60, "2024-01-05T07:59:00"),
        ("2024-01-05T08:00:00Z", 0, "2024-01-05T08:00:00Z"),
        ("12345", 60, "12345"),
        ("not a time", 60, "not a time"),
    ],
)
def test_text_lower_bound(value, seconds, expected):
    assert text_lower_bound(value, seconds) == expected
    assert text_lower_bound(value, seconds) <= value


def test_later_text_compares_numbers_as_numbers():
    assert later_text("9", "10") == "10"
    assert later_text("2024-01-02", "2024-01-01") == "2024-01-02"
    assert later_text(None, "x") == "x" and later_text("x", None) == "x"


def test_json_structure_merges_every_shape_like_json_group_structure():
    """Keys present in few rows, types that change, nested lists: merging one object per shape is lossless."""
    con = duckdb.connect()
    con.execute(
        """
        create table records as select rec::json as rec from (values
            ('{"id": 1, "name": "Anna"}'), ('{"id": 2, "name": "Ben"}'), ('{"id": "x3", "url": "https://a.de"}'),
            ('{"id": 4, "tags": [{"k": 1}]}'), ('{"id": 5, "tags": [{"v": "y"}], "name": null}'),
            ('{"id": 6, "address": {"city": "Köln", "zip": "50667"}}')
        ) as t(rec)
        """
    )
    expected = json.loads(con.execute("select json_group_structure(rec) from records").fetchone()[0])
    assert json_structure(con, "records") == expected
    assert set(expected) == {"id", "name", "url", "tags", "address"}


def test_unique_names():
    assert unique_names(["id", "ID", "", "name", "_c360_source"]) == [
        "id",
        "ID_2",
        "column_3",
        "name",
        "src_c360_source",
    ]


def test_encoding_detection_and_transcoding(tmp_path):
    text = "Name;Straße\nJürgen;Königstraße 1 – €\n"
    utf8 = tmp_path / "u.csv"
    utf8.write_text(text, encoding="utf-8")
    latin = tmp_path / "w.csv"
    latin.write_bytes(text.encode("cp1252") + b"\x81\n")  # 0x81 is undefined in Windows-1252

    assert scan(utf8).utf8_error is None and choose_encoding(scan(utf8), "auto", "x") == "utf-8"
    result = scan(latin)
    assert result.utf8_error == "line 1, byte offset 9 (0xdf)" and len(result.sha256) == 64
    assert choose_encoding(result, "auto", "x") == "cp1252"
    out = to_utf8(latin, "cp1252", tmp_path / "out.csv")
    assert out.read_text(encoding="utf-8") == text + "\x81\n"
    from customer360.ingest.encoding import EncodingProblem

    with pytest.raises(EncodingProblem, match=r"not valid UTF-8 \(line 1, .*encoding: cp1252"):
        choose_encoding(result, "utf-8", "m.t")
