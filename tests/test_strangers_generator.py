"""Gipfelwerk AG's generator (c360_devtools.strangers) as an accuracy data set (issue 14): at any size, with the
kinds of variation of issue 14 where its silos can carry them, and with exact ground truth (labels, kinds,
households). The pipeline runs on it in tests/test_strangers.py and tests/test_accuracy.py."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from support.strangers import Variety, generate

PEOPLE = 3000
SEED = 3
# the kinds the variety adds, and the baseline ones Gipfelwerk always has
VARIETY_KINDS = {
    "initial",
    "first_letter_typo",
    "swapped",
    "transliteration",
    "compound_name",
    "nickname",
    "opaque_email",
    "fresh_email",
    "family_email",
}
BASELINE_KINDS = {"typo", "transliteration", "name_part_missing", "other_email", "family_email"}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def kind_counts(folder: Path) -> Counter[str]:
    return Counter(kind for row in rows(folder / "kinds.csv") for kind in row["kinds"].split(";"))


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory):
    return generate(tmp_path_factory.mktemp("gipfelwerk") / "silos", people=PEOPLE, seed=SEED, variety=Variety())


def test_labels_kinds_and_households_are_exact(varied) -> None:
    labels = rows(varied.labels_path)
    keys = [(row["source_system"], row["source_record_id"]) for row in labels]
    assert len(keys) == len(set(keys)) == sum(varied.truth["identity_records"].values())
    assert len({row["entity_id"] for row in labels}) == PEOPLE
    assert {
        key for key in ((r["source_system"], r["source_record_id"]) for r in rows(varied.folder / "kinds.csv"))
    } <= set(keys)
    # the silos hold exactly the labelled records
    members = {row["Mitgliedsnummer"] for row in csv.DictReader(
        (varied.folder / "loyalty" / "mitglieder.csv").read_text(encoding="cp1252").splitlines(), delimiter=";")}  # fmt: skip
    with sqlite3.connect(varied.folder / "shop" / "gipfelwerk.sqlite") as con:
        accounts = {str(konto) for (konto,) in con.execute("select konto from kundenkonten")}
    cases = json.loads((varied.folder / "supportdesk" / "export.json").read_text(encoding="utf-8"))["data"]["cases"]
    contacts = {case["raised_by"]["contact_ref"] for case in cases}
    by_silo = {silo: {record for s, record in keys if s == silo} for silo in ("marketing", "sales", "service")}
    assert by_silo == {"marketing": members, "sales": accounts, "service": contacts}


def test_every_kind_of_issue_14_occurs(varied) -> None:
    counts = kind_counts(varied.folder)
    records = sum(varied.truth["identity_records"].values())
    for kind in VARIETY_KINDS | BASELINE_KINDS:
        assert counts[kind] >= 0.003 * records, (kind, counts)
    # roughly at their rates (per record; initials and first-letter typos can land on any record)
    assert 0.5 * Variety().initial <= counts["initial"] / records <= 1.5 * Variety().initial
    assert (
        0.4 * Variety().first_letter_typo <= counts["first_letter_typo"] / records <= 1.6 * Variety().first_letter_typo
    )
    service = varied.truth["identity_records"]["service"]
    assert 0.5 * Variety().fresh_email <= counts["fresh_email"] / service <= 1.5 * Variety().fresh_email


def test_households_twins_and_family_addresses(varied) -> None:
    households = rows(varied.folder / "households.csv")
    sizes = Counter(row["household_id"] for row in households)
    assert len(sizes) >= 0.05 * PEOPLE / 2 and min(sizes.values()) >= 2
    assert sum(row["is_twin"] == "1" for row in households) >= 4
    entities = varied.truth["entities"]
    assert entities["E0002"]["email"] == entities["E0003"]["email"] == "familie.gruber@aon.at"  # issue 13's Grubers
    # family addresses are given by more than one person of a household
    person_of = {(silo, record): entity for silo, record, entity in varied.labels}
    givers: dict[str, set[str]] = {}
    for row in rows(varied.folder / "kinds.csv"):
        if "family_email" in row["kinds"]:
            entity = person_of[(row["source_system"], row["source_record_id"])]
            givers.setdefault(entities[entity]["last_name"], set()).add(entity)
    assert sum(len(people) >= 2 for people in givers.values()) >= 10


def test_fresh_addresses_belong_to_one_contact_and_come_without_phone(varied) -> None:
    fresh = {row["source_record_id"] for row in rows(varied.folder / "kinds.csv") if "fresh_email" in row["kinds"]}
    cases = json.loads((varied.folder / "supportdesk" / "export.json").read_text(encoding="utf-8"))["data"]["cases"]
    raised = [case["raised_by"] for case in cases if case["raised_by"]["contact_ref"] in fresh]
    assert raised and all(by["phone"] is None for by in raised)
    addresses = Counter(by["mail"].strip().lower() for by in (case["raised_by"] for case in cases))
    owners = {by["mail"].strip().lower(): by["contact_ref"] for by in raised}
    elsewhere = (varied.folder / "loyalty" / "mitglieder.csv").read_text(encoding="cp1252").lower()
    assert all(address not in elsewhere for address in owners)
    assert all(
        addresses[address] == sum(1 for by in raised if by["contact_ref"] == ref) for address, ref in owners.items()
    )


def test_the_same_arguments_give_the_same_world(tmp_path: Path, varied) -> None:
    again = generate(tmp_path / "again", people=PEOPLE, seed=SEED, variety=Variety())
    for name in ("labels.csv", "kinds.csv", "households.csv", "loyalty/mitglieder.csv", "supportdesk/export.json"):
        assert (again.folder / name).read_bytes() == (varied.folder / name).read_bytes(), name


def test_without_variety_the_world_of_issue_13_keeps_its_shape(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain")
    assert set(kind_counts(plain.folder)) <= BASELINE_KINDS
    assert [row["entity_id"] for row in rows(plain.folder / "households.csv")] == ["E0002", "E0003"]


@pytest.mark.slow
def test_it_generates_any_size(tmp_path: Path) -> None:
    """Record numbers, account keys and case references grow with the world (15,000 people: more shop accounts
    than the 9,000 keys of issue 13)."""
    world = generate(tmp_path / "large", people=15_000, seed=1, variety=Variety())
    assert len(world.labels) == sum(world.truth["identity_records"].values())
    assert world.truth["identity_records"]["sales"] > 9_000
