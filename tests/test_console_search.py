"""Unit tests of the console's building blocks: normalisation, phonetics, the search index (on a small synthetic
snapshot), language negotiation and the console store. Fast: no pipeline run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from customer360.console.i18n import TEXT, negotiate, translate
from customer360.serving import text


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("mueller", "657"),
        ("muller", "657"),
        ("mueler", "657"),
        ("meyer", "67"),
        ("maier", "67"),
        ("schmidt", "862"),
        ("schmitt", "862"),
        ("wikipedia", "3412"),
        ("breschnew", "17863"),
        ("muellerluedenscheidt", "65752682"),
        ("", ""),
    ],
)
def test_cologne_phonetics(word: str, code: str) -> None:
    assert text.cologne(word) == code


def test_name_tokens_fold_loosen_and_drop_titles() -> None:
    assert text.name_tokens("Dr. Jürgen Müller-Lüdenscheidt") == ("jurgen", "muller", "ludenscheidt")
    assert text.name_tokens("MUELLER") == text.name_tokens("Müller") == text.name_tokens("Muller") == ("muller",)
    assert text.name_tokens("Straße") == ("strase",)
    assert text.fold("Zoë Ångström") == "zoe angstroem"  # ö is written oe, as German systems do


@pytest.mark.parametrize(
    "phone",
    [
        "0151/2345678",
        "+49 151 2345678",
        "0049 151 2345678",
        "+49 (0)151 234-5678",
        "0151 234 56 78",
        "1512345678",
    ],
)
def test_phone_numbers_in_any_format(phone: str) -> None:
    assert text.national_number(phone) == "1512345678"
    assert text.looks_like_phone(phone)


def test_phone_edge_cases() -> None:
    assert text.national_number("+43 664 1234567") == "6641234567"
    assert text.national_number("+33 6 12345678") == "33612345678"
    assert not text.looks_like_phone("C000000042")
    assert not text.looks_like_phone("12-34")


def test_jaro_winkler_matches_reference_values() -> None:
    assert text._jaro_winkler_py("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert text._jaro_winkler_py("dixon", "dicksonx") == pytest.approx(0.8133, abs=1e-4)
    assert text._jaro_winkler_py("abc", "abc") == 1.0
    assert text._jaro_winkler_py("abc", "") == 0.0
    assert text.jaro_winkler("muller", "mueller") == pytest.approx(text._jaro_winkler_py("muller", "mueller"))


def test_language_negotiation_and_texts() -> None:
    assert negotiate("en-GB,en;q=0.9,de;q=0.8") == "en"
    assert negotiate("fr-FR, de;q=0.5, en;q=0.4") == "de"
    assert negotiate("fr") is None and negotiate(None) is None
    assert all({"en", "de"} <= set(entry) for entry in TEXT.values()), "every text in both languages"
    assert translate("de", "search.results", count=2, query="x") == "2 Treffer für „x“"
    assert translate("en", "no.such.key") == "no.such.key"


# -- the search index on a small synthetic snapshot ------------------------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    import duckdb
    from c360_devtools.synthetic_snapshot import generate_snapshot

    from customer360.serving.search_index import SearchIndex, build_search_index

    folder = tmp_path_factory.mktemp("search")
    snapshot = folder / "snapshot.duckdb"
    generate_snapshot(snapshot, customers=400)
    target = folder / "snapshot.search.sqlite"
    stats = build_search_index(snapshot, target)
    assert stats.customers == 400 and stats.keys > 400 * 5
    con = duckdb.connect(str(snapshot), read_only=True)
    sample = con.execute(
        "select customer_id, first_name, last_name, email, phone_e164 from marts.dim_customer"
        " where last_name like '%ü%' or last_name like '%ö%' order by customer_id limit 1"
    ).fetchone()
    record = con.execute(
        "select source_record_id, customer_id from marts.customer_identity_map where source_system = 'marketing' limit 1"
    ).fetchone()
    order = con.execute("select order_number, customer_id from marts.fct_orders limit 1").fetchone()
    con.close()
    idx = SearchIndex(target)
    yield idx, sample, record, order
    idx.close()


def _top(idx, query: str, n: int = 5) -> list[str]:  # noqa: ANN001
    return [hit.customer_id for hit in idx.search(query, limit=n).hits]


def test_index_finds_ids_phones_emails_orders(index) -> None:  # noqa: ANN001
    (
        idx,
        (customer_id, _first, _last, email, phone),
        (record_id, record_customer),
        (order_number, order_customer),
    ) = index
    assert _top(idx, customer_id.lower()) == [customer_id]
    assert _top(idx, email.upper()) == [customer_id]
    national = "0" + phone[3:]
    assert _top(idx, f"{national[:4]}/{national[4:]}") == [customer_id]
    assert _top(idx, "+49 " + phone[3:]) == [customer_id]
    assert _top(idx, record_id) == [record_customer]
    assert _top(idx, record_id.replace("-", "")) == [record_customer]
    assert _top(idx, f"marketing:{record_id}") == [record_customer]
    assert _top(idx, order_number) == [order_customer]
    assert idx.search(email[:6] + "", limit=50).hits, "an e-mail prefix finds candidates"


def test_index_tolerates_typos_and_spellings(index) -> None:  # noqa: ANN001
    idx, (customer_id, first, last, _email, _phone), _, _ = index
    folded = text.transliterate(last)
    for variant in (last, folded, text.loosen(folded), folded[:3] + folded[4:], last.upper()):
        assert customer_id in _top(idx, f"{first} {variant}", 10), variant
    hits = idx.search(f"{first} {last}", limit=10).hits
    assert hits[0].score == 1.0 and "name" in hits[0].matched_on
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_index_merged_ids_point_to_the_survivor(index) -> None:  # noqa: ANN001
    idx = index[0]
    # synthetic: customer i (0-based) with i % 100 == 7 has a merged ID C(400 + i + 1)
    assert idx.resolve_id("C000000408") == "C000000008"
    assert _top(idx, "C000000408") == ["C000000008"]


@pytest.mark.parametrize("query", ["", "   ", "' OR 1=1 --", "%", "_", "n:", "ph:%", "x" * 500, "\x00", "ü"])
def test_index_handles_odd_queries(index, query: str) -> None:  # noqa: ANN001
    result = index[0].search(query)
    assert isinstance(result.hits, list)


# -- the console store -----------------------------------------------------------------------------------------


def test_store_users_sessions_tokens_and_throttling(tmp_path: Path) -> None:
    from customer360.console.store import ConsoleStore, StoreError

    store = ConsoleStore(tmp_path / "console.sqlite", session_idle_seconds=3600)
    user = store.add_user("maria", "a-long-password", "agent")
    assert user.can("decide") and not user.can("audit")
    with pytest.raises(StoreError):
        store.add_user("maria", "another-password", "agent")
    with pytest.raises(StoreError):
        store.add_user("bob", "short", "agent")
    with pytest.raises(StoreError):
        store.add_user("bob", "a-long-password", "superuser")
    assert store.verify_password("maria", "a-long-password") is not None
    assert store.verify_password("maria", "wrong-password") is None
    assert store.verify_password("nobody", "a-long-password") is None
    token, csrf = store.create_session(user, "127.0.0.1", "pytest")
    session = store.session(token)
    assert session is not None and session.csrf_token == csrf and session.user.username == "maria"
    api_token = store.create_token("maria", "widget")
    assert store.token_session(api_token).user.role == "agent"
    store.set_role("maria", "analyst")
    assert store.session(token) is None, "a role change ends sessions"
    assert store.token_session(api_token).user.role == "analyst"
    store.set_active("maria", False)
    assert store.token_session(api_token) is None and store.verify_password("maria", "a-long-password") is None
    for _ in range(5):
        assert store.reserve_login_attempt("maria", "10.0.0.1", per_user_ip=5, per_ip=30) == 0
    assert store.reserve_login_attempt("maria", "10.0.0.1", per_user_ip=5, per_ip=30) > 0
    assert store.reserve_login_attempt("maria", "10.0.0.2", per_user_ip=5, per_ip=30) == 0
    store.clear_login_failures("maria", "10.0.0.2")


def test_parallel_login_attempts_are_counted_before_any_is_checked(tmp_path: Path) -> None:
    """Thirty guesses at once from one address: five get a password check, the rest wait (issue 15)."""
    from concurrent.futures import ThreadPoolExecutor

    from customer360.console.store import ConsoleStore

    store = ConsoleStore(tmp_path / "console.sqlite")
    with ThreadPoolExecutor(max_workers=30) as pool:
        waits = list(
            pool.map(lambda _: store.reserve_login_attempt("maria", "10.0.0.1", per_user_ip=5, per_ip=30), range(30))
        )
    assert sum(wait == 0 for wait in waits) == 5
    assert all(wait >= 1 for wait in waits if wait)


def test_demo_logins_are_never_stored_in_clear_text(tmp_path: Path) -> None:
    import sqlite3

    from customer360.console import reset_demo_logins
    from customer360.console.store import ConsoleStore
    from customer360.core.config import load_config

    config_file = tmp_path / "c.yml"
    config_file.write_text(f"version: 1\ndata_dir: {tmp_path / 'data'}\nsources: []\n", encoding="utf-8")
    config = load_config(config_file)
    first = reset_demo_logins(config)
    assert {role for _, _, role in first} == {"agent", "admin"}
    store = ConsoleStore.for_state_dir(config.state_dir)
    assert all(store.verify_password(username, password).role == role for username, password, role in first)
    state = b"".join(path.read_bytes() for path in config.state_dir.rglob("*") if path.is_file())
    assert all(password.encode() not in state for _, password, _ in first)  # hashes only, in every file
    second = reset_demo_logins(config)  # shown once: asking again sets new passwords
    assert [(u, r) for u, _, r in second] == [(u, r) for u, _, r in first]
    assert all(a[1] != b[1] for a, b in zip(first, second, strict=True))
    assert store.verify_password(first[0][0], first[0][1]) is None
    with sqlite3.connect(next(config.state_dir.rglob("console.sqlite"))) as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type = 'table'")}
    assert "demo_logins" not in tables


def test_a_number_two_systems_use_shows_both_and_what_each_is(tmp_path: Path) -> None:
    """A helpdesk ticket number that is also another person's shop customer number: both customers are found,
    each labelled with what the number is for them, and only the system prefix makes the record id unambiguous."""
    import duckdb
    from c360_devtools.synthetic_snapshot import generate_snapshot

    from customer360.console.web import _opens_at_once
    from customer360.serving.search_index import SearchIndex, build_search_index

    snapshot = tmp_path / "snapshot.duckdb"
    generate_snapshot(snapshot, customers=60)
    with duckdb.connect(str(snapshot)) as con:
        number, record_customer = con.execute(
            "select source_record_id, customer_id from marts.customer_identity_map"
            " where source_system = 'sales' order by 1 limit 1"
        ).fetchone()
        ticket_customer = con.execute(
            "update marts.fct_touchpoints set source_id = ?"
            " where touchpoint_id = (select min(touchpoint_id) from marts.fct_touchpoints"
            "                        where kind = 'ticket' and customer_id <> ?)"
            " returning customer_id",
            [number, record_customer],
        ).fetchone()[0]
    build_search_index(snapshot, tmp_path / "search.sqlite")
    index = SearchIndex(tmp_path / "search.sqlite")
    try:
        hits = {hit.customer_id: hit for hit in index.search(number).hits}
        assert set(hits) == {record_customer, ticket_customer}
        assert hits[record_customer].matched_ids == [f"sales record {number}"]
        assert hits[ticket_customer].matched_ids == [f"service ticket {number}"]
        prefixed = index.search(f"sales:{number}").hits
        assert [hit.customer_id for hit in prefixed] == [record_customer]
    finally:
        index.close()
    assert not _opens_at_once(number, ["record_id"])  # a bare number never opens a profile by itself
    assert _opens_at_once(f"sales:{number}", ["record_id"])
    assert _opens_at_once("anna@example.org", ["email"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "198.51.100.7", "", "203.0.113.9"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", "198.51.100.7", "10.0.0.0/8", "198.51.100.7"),  # the proxy says who it serves
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", "10.0.0.0/8", "198.51.100.7"),  # the left part is the client's to write
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", "10.0.0.0/8", "198.51.100.7"),  # two proxies of ours
        ("203.0.113.9", "198.51.100.7", "10.0.0.0/8", "203.0.113.9"),  # an untrusted peer's header is not believed
        ("10.0.0.2", "not-an-address", "10.0.0.0/8", "10.0.0.2"),
    ],
)
def test_the_client_address_behind_a_trusted_proxy(
    peer: str, forwarded: str, trusted: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from starlette.requests import Request

    from customer360.console import auth
    from customer360.console.settings import ConsoleSettings

    monkeypatch.setenv("C360_CONSOLE_TRUSTED_PROXIES", trusted)
    app = SimpleNamespace(state=SimpleNamespace(console=SimpleNamespace(settings=ConsoleSettings())))
    scope = {"type": "http", "client": (peer, 4711), "headers": [(b"x-forwarded-for", forwarded.encode())], "app": app}
    assert auth.client_ip(Request(scope)) == expected


@pytest.mark.parametrize("recorded", [False, True], ids=["compared", "recorded"])
def test_an_index_rewritten_for_the_changed_customers_equals_one_built_anew(tmp_path: Path, recorded: bool) -> None:
    """Publishing a snapshot rewrites only the customers whose rows changed, in a copy of the previous snapshot's
    index: a renamed customer, one retired, one merged into another (its old ID and an ID merged into it earlier
    now lead to the survivor), one new. The result must be the index a full build makes — whether the changed
    customers are found by comparing the snapshots or read from the update that publishing recorded in the new one
    (meta.updated_from, meta.updated_customers)."""
    import shutil
    import sqlite3
    import zlib

    import duckdb
    from c360_devtools.synthetic_snapshot import generate_snapshot

    from customer360.serving.search_index import SearchIndex, build_search_index, sidecar_path

    before, after = tmp_path / "before.duckdb", tmp_path / "after.duckdb"
    generate_snapshot(before, customers=300)
    shutil.copyfile(before, after)
    with duckdb.connect(str(after)) as con:
        customer_tables = [
            row[0]
            for row in con.execute(
                "select distinct table_name from duckdb_columns() where schema_name = 'marts'"
                " and column_name = 'customer_id' and table_name <> 'customer_ids'"
            ).fetchall()
        ]
        # C...08 was merged into by an earlier run (the generator's i % 100 = 7): it now merges into C...09
        renamed, retired, absorbed, survivor = "C000000003", "C000000005", "C000000008", "C000000009"
        con.execute(
            "update marts.dim_customer set last_name = 'Zzyzx', full_name = 'Ida Zzyzx' where customer_id = ?",
            [renamed],
        )
        for table in customer_tables:
            con.execute(f"delete from marts.{table} where customer_id = ?", [retired])
            if table in ("dim_customer", "customer_360", "next_best_action"):  # one row per customer
                con.execute(f"delete from marts.{table} where customer_id = ?", [absorbed])
            else:
                con.execute(f"update marts.{table} set customer_id = ? where customer_id = ?", [survivor, absorbed])
        con.execute("update marts.customer_ids set status = 'retired' where customer_id = ?", [retired])
        con.execute(
            "update marts.customer_ids set status = 'merged', merged_into = ? where customer_id = ?",
            [survivor, absorbed],
        )
        con.execute(
            "insert into marts.dim_customer select * replace ('C000009999' as customer_id, 'Neu' as last_name,"
            " 'Ida Neu' as full_name)"
            " from marts.dim_customer where customer_id = ?",
            [renamed],
        )
        merged_earlier = con.execute(
            "select customer_id from marts.customer_ids where merged_into = ? and status = 'merged'", [absorbed]
        ).fetchone()[0]
        if recorded:  # as publishing's copy-on-write update records it: every customer table rewritten per customer
            con.execute("create schema meta")
            con.execute(
                "create table meta.updated_customers as select unnest(?::varchar[]) as customer_id",
                [[renamed, retired, absorbed, survivor, "C000009999"]],
            )
            con.execute(
                "create table meta.updated_from as select 'before.duckdb' as snapshot, ? as tables_by_customer",
                [json.dumps([*customer_tables, "customer_ids"])],
            )

    build_search_index(before, sidecar_path(before))
    rewritten = build_search_index(after, sidecar_path(after), previous=before)
    anew = build_search_index(after, tmp_path / "anew.search.sqlite")
    assert rewritten.changed is not None and 4 <= rewritten.changed <= 6 and anew.changed is None
    if recorded:
        assert rewritten.changed == 5
    assert (rewritten.customers, rewritten.keys, rewritten.profiles) == (anew.customers, anew.keys, anew.profiles)

    def contents(path: Path) -> dict[str, object]:
        db = sqlite3.connect(path)
        zdict = bytes(db.execute("select zdict from profile_dictionary").fetchone()[0])
        tables = {
            table: db.execute(f"select * from {table} order by 1, 2").fetchall()
            for table in ("customers", "keys", "ids")
        }
        tables["profiles"] = [
            (customer, (zlib.decompressobj(15, zdict) if zdict else zlib.decompressobj(15)).decompress(data))
            for customer, data in db.execute("select customer_id, data from profiles order by 1")
        ]
        db.close()
        return tables

    assert contents(sidecar_path(after)) == contents(tmp_path / "anew.search.sqlite")
    index = SearchIndex(sidecar_path(after))
    try:
        assert index.resolve_id(absorbed) == survivor and index.resolve_id(merged_earlier) == survivor
        assert [hit.customer_id for hit in index.search("Zzyzx").hits] == [renamed]
        assert index.profile(retired) is None and index.profile("C000009999") is not None
    finally:
        index.close()
