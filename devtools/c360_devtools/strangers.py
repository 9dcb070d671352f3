"""Silos of a company the product has never seen, and the projects a user would write for them (issues 13, 14).

Gipfelwerk AG sells bikes and outdoor gear in Switzerland and Austria. Nothing here comes from the demo
generator (c360_devtools.demo): other names, other shapes, other mistakes, other code.

    world = generate(Path("silos"), people=240, seed=7)   # silos + labels.csv + truth.json + kinds.csv + households.csv
    config_file = write_project(tmp_path / "project", "three_silos")  # silos, labels and customer360.yml
    world = generate(Path("silos"), people=20_000, seed=3, variety=Variety())  # an accuracy data set (issue 14)

The silos (paths relative to the folder passed to `generate`):

- `loyalty/mitglieder.csv` — the loyalty club's member export: `;`-separated, Windows-1252, German headers,
  dd.mm.yyyy dates, decimal commas ("1.234,50"); web sign-ups have only a first name and an e-mail address.
- `loyalty/kassenbons_<year>.csv` — till receipts scanned with a member card (UTF-8 with BOM, decimal commas).
- `loyalty/mailings.jsonl` — the mailing tool's events (sent/opened/clicked/bounced/unsubscribed) keyed by
  member number, naive local times; one line is truncated (a broken export).
- `shop/gipfelwerk.sqlite` — the web shop: `kundenkonten` (an integer primary key *and* a separate customer
  number), `bestellungen` (orders quoting the customer *number*, German date-times as text). One order has an
  impossible date, one quotes a customer number that does not exist.
- `supportdesk/export.json` — a helpdesk dump: `{"export": {...}, "data": {"cases": [...]}}`, the person who raised
  a case as a nested object `raised_by`, satisfaction as 0..10 stars, ISO times in UTC.
- `webshop/clicks.jsonl` — the web shop's click stream (camelCase keys) keyed by e-mail address, epoch seconds.

Noise: case and whitespace in e-mail addresses, name typos and umlaut spellings, phone numbers in every Swiss
and Austrian format, the same person twice within a silo and across silos, two people called Lukas Meier, and a
household (the Grubers: one family e-mail, one landline, one address) that must stay two customers.

With `variety=Variety()` (off by default, so the scenarios of tests/test_strangers.py stay as they were) the world
also holds households, twins and family e-mail addresses at every size, people with names from abroad and double
first names, and records with the kinds of variation of issue 14: initials, a wrong first letter, "Last First" in
the helpdesk's one name string, other spellings, double names written another way, Swiss nicknames, addresses whose
local part carries no name, and helpdesk contacts writing from an address nobody else knows.

`labels.csv` (source_system, source_record_id, entity_id) says which records are one person; `truth.json` holds
the facts per identity record and per person, how many rows each stream delivers, and the special people;
`kinds.csv` (source_system, source_record_id, kinds) each record's kinds of variation (`;`-separated) and
`households.csv` (entity_id, household_id, is_twin) who shares a home — the ground truth of an accuracy report.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import sqlite3
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PEOPLE = 240
SEED = 7
# the silos as the generator names them; scenario (d) gives the same silos other source names
SILOS = ("marketing", "sales", "service")
ZONES = {"CH": ZoneInfo("Europe/Zurich"), "AT": ZoneInfo("Europe/Vienna")}
OPEN_STATES = ("Neu", "In Bearbeitung", "Wartet auf Kunde")
FIRST = datetime(2023, 1, 9, 8, 0)
LAST = datetime(2025, 6, 27, 18, 0)


def _words(text: str) -> list[str]:
    return text.split()


FEMALE = _words(
    "Anna Laura Sophie Mia Lena Lea Sara Nina Julia Chiara Elena Andrea Daniela Corinne Franziska Ursula Martina "
    "Petra Manuela Sandra Claudia Karin Isabelle Céline Valentina Alessia Seraina Nadja Katharina Theresa Verena "
    "Johanna Magdalena Michaela Barbara Regula Brigitte Mirjam Noemi Livia Flurina"
)
MALE = _words(
    "Lukas Jonas Noah Leon Elias Luca Nico Matteo Reto Urs Beat Marco Bernhard Wolfgang Florian Stefan Thomas "
    "Christian Michael Simon Fabian Dominik Patrick Andreas Gian Linus Samuel Tobias Matthias Roland Herbert "
    "Markus Jürg Kurt Hannes Valentin Raphael Severin Damian Elia"
)
LAST_NAMES = _words(
    "Müller Meier Schmid Keller Weber Huber Schneider Steiner Fischer Gerber Brunner Baumann Frei Zimmermann "
    "Moser Widmer Wyss Graf Roth Bachmann Suter Wagner Pichler Hofer Bauer Eder Mayr Lehner Egger Berger Fuchs "
    "Leitner Aigner Wallner Ebner Haas Koller Lang Bühler Kälin Lüthi Zürcher Nussbaumer Ammann Flückiger Rüegg "
    "Hürlimann Aebischer Rochat Favre Bernasconi Rossi Tschanz Gasser Hauser Walser Strässle Oberholzer Jäggi"
)
PLACES = {
    "CH": [
        ("8001", "Zürich", "044"),
        ("8050", "Zürich", "044"),
        ("3011", "Bern", "031"),
        ("4051", "Basel", "061"),
        ("6003", "Luzern", "041"),
        ("9000", "St. Gallen", "071"),
        ("8400", "Winterthur", "052"),
        ("7000", "Chur", "081"),
        ("3600", "Thun", "033"),
    ],
    "AT": [
        ("1070", "Wien", "01"),
        ("1180", "Wien", "01"),
        ("5020", "Salzburg", "0662"),
        ("6020", "Innsbruck", "0512"),
        ("8010", "Graz", "0316"),
        ("4020", "Linz", "0732"),
        ("6900", "Bregenz", "05574"),
    ],
}
STREETS = {
    "CH": ["Bahnhofstrasse", "Seestrasse", "Dorfstrasse", "Kirchweg", "Bergstrasse", "Schulhausstrasse", "Alpenweg"],
    "AT": ["Hauptstraße", "Landstraße", "Herrengasse", "Kirchengasse", "Bergweg", "Mariahilfer Straße", "Lindenweg"],
}
DOMAINS = {
    "CH": ["bluewin.ch", "gmx.ch", "sunrise.ch", "gmail.com", "hispeed.ch"],
    "AT": ["aon.at", "gmx.at", "a1.net", "gmail.com", "chello.at"],
}
MOBILE_PREFIXES = {"CH": ["76", "77", "78", "79"], "AT": ["650", "660", "664", "676", "699"]}
SHOPS = {"CH": ["Zürich Oerlikon", "Bern Wankdorf", "Chur", "Luzern"], "AT": ["Innsbruck", "Wien Mariahilf", "Graz"]}
CAMPAIGNS = [
    ("Frühlingstour 2024", datetime(2024, 3, 12, 9, 0)),
    ("E-Bike Wochen", datetime(2024, 5, 7, 9, 30)),
    ("Sommer-Sale", datetime(2024, 7, 2, 10, 0)),
    ("Herbstservice", datetime(2024, 9, 17, 9, 0)),
    ("Skitouren-Special", datetime(2024, 11, 19, 8, 30)),
    ("Winterpflege", datetime(2025, 1, 14, 9, 0)),
    ("Saisonstart 2025", datetime(2025, 3, 11, 9, 0)),
    ("Velo-Check", datetime(2025, 5, 20, 9, 0)),
]
TOPICS = {
    "Reklamation": ["Schaltung defekt nach 2 Wochen", "Rahmen zerkratzt geliefert", "Falsche Grösse geliefert"],
    "Reparatur": ["Service-Termin E-Bike", "Bremsen quietschen", "Akku lädt nicht mehr"],
    "Frage": ["Frage zur Rechnung", "Lieferzeit Zelt?", "Gutschein einlösen"],
    "Lieferung": ["Paket nicht angekommen", "Lieferadresse ändern", "Teillieferung fehlt"],
}
MEMBER_HEADER = [
    "Mitgliedsnummer",
    "Vorname",
    "Name",
    "E-Mail",
    "Mobil",
    "Geburtstag",
    "Strasse",
    "PLZ",
    "Ort",
    "Land",
    "Punkte",
    "Umsatz Vorjahr",
    "Newsletter",
    "Eingetragen am",
    "Geändert am",
]
RECEIPT_HEADER = ["Bon-Nr", "Mitgliedsnummer", "Datum", "Filiale", "Betrag", "Währung"]

# -- what the variety adds (issue 14) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Variety:
    """The harder shapes of Gipfelwerk's data. Rates per person drawn, per household or per record, as noted."""

    households: float = 0.12  # per person drawn: starts a household of 2-4 (partner, children) at one address
    family_email: float = 0.5  # per household: a family address (familie.gruber@…) its members often give
    twins: float = 0.25  # per household with two or more children: two of them are twins
    foreign_names: float = 0.12  # per person: a name from abroad with other spellings (Natasza, João, Öztürk)
    double_first_name: float = 0.06  # per person: Hans-Peter, Anna-Lena, Marie-Claire
    initial: float = 0.03  # per record: the first name as its initial ("I. Meier")
    first_letter_typo: float = 0.01  # per record: the first letter of a name wrong, in lower case ("iohl")
    swapped_full_name: float = 0.04  # per helpdesk contact: "Last First" in the one name string ("Kolanko Natasza")
    transliteration: float = 0.04  # per record: another spelling (Natascha, Joao, Oeztuerk, Zuercher)
    compound_variant: float = 0.35  # per record of a double-named person: Hans Peter, Hans, H.-P., Hanspeter
    nickname: float = 0.04  # per record: a (Swiss) nickname (Christian → Chrigu, Andreas → Res)
    opaque_email: float = 0.08  # per person: the personal address does not carry the name (bergfex77@…)
    fresh_email: float = 0.06  # per helpdesk contact: from an address nobody else has (work, new), no phone

    @classmethod
    def none(cls) -> Variety:
        return cls(**{f.name: 0.0 for f in fields(cls)})


FOREIGN_FEMALE = _words("Natasza Jelena Özlem Gül Blerta Aylin Milica Ana Conceição Tamara")
FOREIGN_MALE = _words("João Gonçalo José Hüseyin Arbër Aleksandar Sergej Dmitri Yusuf Nikola")
FOREIGN_LAST = _words(
    "Kolanko Nowak Wójcik Krasniqi Berisha Gashi Iwanow Kusnezow Gonçalves Conceição Öztürk Çelik Sivakumar Ferreira"
)
SPELLINGS = {
    "Natasza": ["Natascha", "Natasha"],
    "Jelena": ["Elena", "Yelena"],
    "Özlem": ["Oezlem", "Ozlem"],
    "Gül": ["Guel", "Gul"],
    "Milica": ["Militza"],
    "João": ["Joao"],
    "Gonçalo": ["Goncalo"],
    "José": ["Jose"],
    "Hüseyin": ["Hueseyin", "Huseyin"],
    "Arbër": ["Arber"],
    "Aleksandar": ["Aleksander", "Alexandar"],
    "Sergej": ["Sergei", "Sergey"],
    "Dmitri": ["Dmitrij", "Dmitry"],
    "Yusuf": ["Jusuf", "Yussuf"],
    "Wójcik": ["Wojcik"],
    "Iwanow": ["Ivanov"],
    "Kusnezow": ["Kuznetsov", "Kusnetsow"],
    "Gonçalves": ["Goncalves"],
    "Conceição": ["Conceicao"],
    "Öztürk": ["Oeztuerk", "Ozturk"],
    "Çelik": ["Celik"],
    "Krasniqi": ["Krasniki"],
    "Céline": ["Celine"],
    "Jürg": ["Juerg", "Jurg"],
}
DOUBLE_FEMALE = _words("Anna-Lena Marie-Claire Eva-Maria Anne-Sophie Lea-Sophie Marie-Louise")
DOUBLE_MALE = _words("Hans-Peter Hans-Ulrich Hans-Rudolf Jean-Pierre Karl-Heinz Jan-Erik")
NICKNAMES = {
    "Hans-Ulrich": ["Hansueli", "Ueli"],
    "Hans-Rudolf": ["Ruedi", "Hansruedi"],
    "Hans-Peter": ["Hanspeter", "HP"],
    "Christian": ["Chrigu", "Chris"],
    "Andreas": ["Res", "Andi"],
    "Katharina": ["Käthi", "Kathrin"],
    "Thomas": ["Tom", "Tömu"],
    "Lukas": ["Luki"],
    "Matthias": ["Mättu", "Mathis"],
    "Barbara": ["Babs", "Bärbel"],
    "Verena": ["Vreni"],
    "Theresa": ["Resi"],
    "Magdalena": ["Leni", "Lena"],
    "Florian": ["Flo"],
    "Dominik": ["Domi"],
    "Patrick": ["Pädi"],
    "Samuel": ["Sämi", "Sam"],
    "Tobias": ["Tobi"],
    "Franziska": ["Franzi", "Fränzi"],
    "Daniela": ["Dani"],
    "Michael": ["Michi"],
    "Stefan": ["Steff"],
    "Johanna": ["Hanna"],
    "Isabelle": ["Isa"],
    "Raphael": ["Raffi"],
    "Wolfgang": ["Wolfi"],
    "Manuela": ["Manu"],
    "Martina": ["Tina"],
    "Sandra": ["Sandy"],
    "Aleksandar": ["Aleks", "Sascha"],
}
OPAQUE_WORDS = _words("bergfex velofan alpenrose gipfelstuermer murmeli edelweiss skihase seebueb wanderlust enzian")
FRESH_DOMAINS = ["bluemail.ch", "protonmail.ch", "spital-chur.ch", "stadt-bern.ch", "tirol-kliniken.at", "post.at"]


# -- the people --------------------------------------------------------------------------------------------------


@dataclass
class Person:
    entity_id: str
    first: str
    last: str
    female: bool
    born: date
    country: str
    postcode: str
    city: str
    street: str
    email: str
    mobile: str  # national significant number, digits only (79 123 45 67 → "791234567")
    landline: str | None = None  # as the family writes it
    # which silos know the person, and how many records each holds
    members: int = 0
    web_signup: bool = False  # a newsletter sign-up only: first name and e-mail
    accounts: int = 0
    contacts: int = 0
    newsletter: bool = True
    # with a variety (issue 14)
    household: str | None = None  # people sharing a home have the same id
    twin: bool = False
    family_email: str | None = None  # the household's address, given instead of the own one now and then
    opaque: bool = False  # the personal address does not carry the name
    fresh_email: str | None = None  # an address only the helpdesk sees (work, new), for a fresh contact


def ascii_fold(text: str) -> str:
    """Müller → mueller, Céline → celine (how people type their name into an e-mail address)."""
    text = text.lower()
    for umlaut, folded in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, folded)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in text if ch.isalnum() or ch in ".-")


def _people(rng: random.Random, count: int, variety: Variety | None = None) -> list[Person]:
    used_emails: set[str] = set()
    used_mobiles: set[str] = set()
    landlines: set[str] = set()  # only the household shares one

    def mobile(country: str) -> str:
        while True:
            number = rng.choice(MOBILE_PREFIXES[country]) + "".join(str(rng.randint(0, 9)) for _ in range(7))
            if number not in used_mobiles:
                used_mobiles.add(number)
                return number

    def email(first: str, last: str, country: str, born: date) -> str:
        patterns = [
            f"{ascii_fold(first)}.{ascii_fold(last)}",
            f"{ascii_fold(first)[0]}.{ascii_fold(last)}",
            f"{ascii_fold(last)}.{ascii_fold(first)}",
            f"{ascii_fold(first)}{born.year % 100:02d}",
            f"{ascii_fold(first)}.{ascii_fold(last)}{born.year}",
        ]
        for local in [rng.choice(patterns), *patterns]:
            address = f"{local}@{rng.choice(DOMAINS[country])}"
            if address not in used_emails:
                used_emails.add(address)
                return address
        address = f"{ascii_fold(first)}.{ascii_fold(last)}.{len(used_emails)}@{DOMAINS[country][0]}"
        used_emails.add(address)
        return address

    def person(number: int, first: str, last: str, female: bool, country: str, **fixed: Any) -> Person:
        postcode, city, _ = fixed.pop("place", None) or rng.choice(PLACES[country])
        born = fixed.pop("born", None) or date(rng.randint(1948, 2004), rng.randint(1, 12), rng.randint(1, 28))
        street = fixed.pop("street", None) or f"{rng.choice(STREETS[country])} {rng.randint(1, 120)}"
        return Person(
            entity_id=f"E{number:04d}",
            first=first,
            last=last,
            female=female,
            born=born,
            country=country,
            postcode=postcode,
            city=city,
            street=street,
            email=fixed.pop("email", None) or email(first, last, country, born),
            mobile=mobile(country),
            **fixed,
        )

    people = [
        # the known person: clean data in every silo
        person(
            1,
            "Seraina",
            "Caflisch",
            True,
            "CH",
            place=PLACES["CH"][7],
            born=date(1986, 4, 23),
            email="seraina.caflisch@bluewin.ch",
            members=1,
            accounts=1,
            contacts=1,
        ),  # fmt: skip
    ]
    # the household: one family address, one landline, one family e-mail; two people
    innsbruck = PLACES["AT"][3]
    for number, first, female, born in (
        (2, "Martin", False, date(1971, 2, 3)),
        (3, "Claudia", True, date(1974, 9, 30)),
    ):
        people.append(
            person(
                number,
                first,
                "Gruber",
                female,
                "AT",
                place=innsbruck,
                born=born,
                street="Anichstraße 12",
                email="familie.gruber@aon.at",
                landline="0512 58 44 10",
                members=1,
                accounts=1,
            )  # fmt: skip
        )
    used_emails.add("familie.gruber@aon.at")
    for gruber in people[1:3]:
        gruber.household, gruber.family_email = "H0002", "familie.gruber@aon.at"
    people[2].contacts = 1  # Claudia writes to the helpdesk from the family address
    # namesakes: two men called Lukas Meier in Zürich, born years apart
    for number, born in ((4, date(1990, 6, 14)), (5, date(1963, 11, 2))):
        people.append(person(number, "Lukas", "Meier", False, "CH", place=PLACES["CH"][0], born=born,
                             members=1, accounts=1))  # fmt: skip

    def landline(country: str) -> str | None:
        number = f"{PLACES[country][0][2]} {rng.randint(200, 999)} {rng.randint(10, 99)} 00"
        fresh = number not in landlines
        landlines.add(number)
        return number if fresh else None

    def join_silos(candidate: Person) -> None:
        candidate.members = (1 if rng.random() < 0.7 else 0) + (1 if rng.random() < 0.08 else 0)
        candidate.web_signup = candidate.members == 1 and rng.random() < 0.15
        candidate.accounts = (1 if rng.random() < 0.6 else 0) + (1 if rng.random() < 0.07 else 0)
        candidate.contacts = (1 if rng.random() < (0.4 if candidate.accounts else 0.15) else 0) + (
            1 if rng.random() < 0.04 else 0
        )
        if not (candidate.members or candidate.accounts or candidate.contacts):
            candidate.members = 1
        candidate.newsletter = candidate.web_signup or rng.random() < 0.7

    def unique(local: str, domain: str) -> str:
        address, n = f"{local}@{domain}", 1
        while address in used_emails:
            n += 1
            address = f"{local}{n}@{domain}"
        used_emails.add(address)
        return address

    def names(female: bool, first: str, v: Variety) -> tuple[str, str]:
        if rng.random() < v.foreign_names:
            first = rng.choice(FOREIGN_FEMALE if female else FOREIGN_MALE)
            last = rng.choice(FOREIGN_LAST) if rng.random() < 0.8 else rng.choice(LAST_NAMES)
        else:
            last = rng.choice(LAST_NAMES)
        if rng.random() < v.double_first_name:
            first = rng.choice(DOUBLE_FEMALE if female else DOUBLE_MALE)
        return first, last

    def addresses(candidate: Person, v: Variety) -> None:
        """An opaque personal address for some; the address only the helpdesk will see, for everyone."""
        if rng.random() < v.opaque_email:
            used_emails.discard(candidate.email)
            candidate.email = unique(
                f"{rng.choice(OPAQUE_WORDS)}{rng.randint(1, 99)}", rng.choice(DOMAINS[candidate.country])
            )
            candidate.opaque = True
        local = rng.choice([f"{ascii_fold(candidate.first)}.{ascii_fold(candidate.last)}",
                            f"{ascii_fold(candidate.first)[0]}{ascii_fold(candidate.last)}"])  # fmt: skip
        candidate.fresh_email = unique(local, rng.choice(FRESH_DOMAINS))

    def household(number: int, size: int, v: Variety) -> list[Person]:
        """A couple (or a parent) and children at one address, with one landline and perhaps a family address."""
        country = "CH" if rng.random() < 0.6 else "AT"
        place = rng.choice(PLACES[country])
        street = f"{rng.choice(STREETS[country])} {rng.randint(1, 120)}"
        family = names(rng.random() < 0.5, "", v)[1]
        phone = landline(country) if rng.random() < 0.7 else None
        family_email = None
        if rng.random() < v.family_email:
            local = rng.choice([f"familie.{ascii_fold(family)}", f"fam.{ascii_fold(family)}", f"{ascii_fold(family)}s"])
            family_email = unique(local, rng.choice(DOMAINS[country]))
        adults = 1 if size == 1 else 2 if size > 2 or rng.random() < 0.8 else 1
        first_female = rng.random() < 0.5
        year = rng.randint(1950, 1985)
        births = [date(year, rng.randint(1, 12), rng.randint(1, 28))]
        if adults == 2:
            births.append(date(year + rng.randint(-4, 4), rng.randint(1, 12), rng.randint(1, 28)))
        children = size - adults
        twins = children >= 2 and rng.random() < v.twins
        for child in range(children):
            born = date(min(year + rng.randint(24, 38), 2006), rng.randint(1, 12), rng.randint(1, 28))
            births.append(births[-1] if twins and child == 1 else born)
        group: list[Person] = []
        used_first: set[str] = set()
        for i, born in enumerate(births):
            female = first_female if i == 0 else (not first_female if i == 1 and adults == 2 else rng.random() < 0.5)
            first = ""
            while not first or first in used_first:
                first = names(female, rng.choice(FEMALE if female else MALE), v)[0]
            used_first.add(first)
            last = family if i != 1 or adults == 1 or rng.random() < 0.8 else names(female, first, v)[1]
            member = person(number + i, first, last, female, country, place=place, street=street, born=born,
                            landline=phone, household=f"H{number:05d}", family_email=family_email,
                            twin=twins and i in (adults, adults + 1))  # fmt: skip
            join_silos(member)
            addresses(member, v)
            group.append(member)
        return group

    number = len(people) + 1
    while number <= count:
        if variety is not None and variety.households and rng.random() < variety.households:
            group = household(number, min(rng.choice((2, 2, 2, 3, 3, 4)), count - number + 1), variety)
            people.extend(group)
            number += len(group)
            continue
        female = rng.random() < 0.5
        country = "CH" if rng.random() < 0.6 else "AT"
        first = rng.choice(FEMALE if female else MALE)
        if variety is None:  # the draws of the original generator, in their order
            candidate = person(number, first, rng.choice(LAST_NAMES), female, country)
        else:
            candidate = person(number, *names(female, first, variety), female, country)
        if rng.random() < 0.25:
            candidate.landline = landline(country)
        join_silos(candidate)
        if variety is not None:
            addresses(candidate, variety)
        people.append(candidate)
        number += 1
    return people


# -- noise ---------------------------------------------------------------------------------------------------


def _messy_email(rng: random.Random, address: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        local, domain = address.split("@")
        return f"{local.title()}@{domain.capitalize()}"
    if roll < 0.25:
        return f" {address.upper()} "
    if roll < 0.32:
        return address + " "
    return address


def _typo(rng: random.Random, name: str) -> str:
    """One realistic slip: umlaut written out or dropped, two letters swapped, a letter doubled or lost."""
    for umlaut, plain in (("ü", "ue"), ("ä", "ae"), ("ö", "oe")):
        if umlaut in name:
            return name.replace(umlaut, rng.choice([plain, plain[0]]))
    if len(name) < 5:
        return name
    i = rng.randint(1, len(name) - 3)
    kind = rng.randint(0, 2)
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == 1:
        return name[:i] + name[i] + name[i:]
    return name[:i] + name[i + 1 :]


def _slip(original: str, written: str) -> str | None:
    """The kind of variation `_typo` made: an umlaut written out or dropped is another spelling, not a typo."""
    if written == original:
        return None
    for umlaut, plain in (("ü", "ue"), ("ä", "ae"), ("ö", "oe")):
        if umlaut in original and written in (original.replace(umlaut, plain), original.replace(umlaut, plain[0])):
            return "transliteration"
    return "typo"


def _spelling(rng: random.Random, name: str) -> str:
    """Another spelling of a name: a known one (Natasza → Natascha), else umlauts written out or dropped."""
    if name in SPELLINGS:
        return rng.choice(SPELLINGS[name])
    for umlaut, plain in (("ü", "ue"), ("ä", "ae"), ("ö", "oe"), ("Ü", "Ue"), ("Ä", "Ae"), ("Ö", "Oe")):
        if umlaut in name:
            return name.replace(umlaut, rng.choice([plain, plain[0]]))
    return name


def _vary(
    rng: random.Random,
    variety: Variety | None,
    person: Person,
    names: tuple[str, str],
    kinds: tuple[set[str], set[str]],
) -> tuple[str, str]:
    """The variations of issue 14 on one record's (first, last) names (nothing without a variety); the kinds of
    each part's variations go to its set in `kinds`."""
    first, last = names
    first_kinds, last_kinds = kinds
    if variety is None:
        return first, last
    if "-" in person.first and rng.random() < variety.compound_variant:
        a, b = person.first.split("-", 1)
        first = rng.choice([f"{a} {b}", a, f"{a[0]}.-{b[0]}.", a + b.lower()])
        first_kinds.add("compound_name")
    elif person.first in NICKNAMES and rng.random() < variety.nickname:
        first = rng.choice(NICKNAMES[person.first])
        first_kinds.add("nickname")
    if rng.random() < variety.transliteration:
        spelt = _spelling(rng, first)
        if spelt != first:
            first = spelt
            first_kinds.add("transliteration")
        elif (spelt := _spelling(rng, last)) != last:
            last = spelt
            last_kinds.add("transliteration")
    if rng.random() < variety.first_letter_typo:
        letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
        if rng.random() < 0.5:
            first = letter + first[1:]
            first_kinds.add("first_letter_typo")
        else:
            last = letter + last[1:]
            last_kinds.add("first_letter_typo")
    if rng.random() < variety.initial and len(first) > 1:
        first = first[0].upper() + rng.choice([".", ""])
        first_kinds.clear()
        first_kinds.add("initial")
    return first, last


def _name_kinds(person: Person, first: str, last: str) -> tuple[set[str], set[str]]:
    """The kinds of the baseline slips (`_typo`) in a record's first and last name."""
    return {_slip(person.first, first)} - {None}, {_slip(person.last, last)} - {None}  # type: ignore[return-value]


def _email_kinds(person: Person, address: str | None, kinds: set[str]) -> None:
    """Whose address a record gives: the family's, one only the helpdesk sees, another one, or an opaque own one."""
    if address is None:
        return
    address = address.strip().lower()
    if address == person.family_email:
        kinds.add("family_email")
    elif address == person.fresh_email:
        kinds.add("fresh_email")
    elif address != person.email:
        kinds.add("other_email")
    elif person.opaque:
        kinds.add("opaque_email")


def _phone(rng: random.Random, country: str, number: str) -> str:
    """The same mobile number as people write it: 079 123 45 67, +41 79 123 45 67, 0043 664 1234567 …"""
    code = "41" if country == "CH" else "43"
    if country == "CH":
        grouped = f"{number[:2]} {number[2:5]} {number[5:7]} {number[7:]}"
        forms = [f"0{grouped}", f"+41 {grouped}", f"0041{number}", f"+41{number}", f"0{number}"]
    else:
        split = 3 if len(number) == 10 else 2
        forms = [
            f"0{number[:split]} {number[split:]}",
            f"+43 {number[:split]} {number[split:]}",
            f"0043 {number[:split]} {number[split:]}",
            f"0{number[:split]}/{number[split:]}",
            f"+{code}{number}",
        ]
    return rng.choice(forms)


def _german_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _german_time(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y %H:%M")


def _decimal_comma(amount: float) -> str:
    """1234.5 → 1.234,50 (Austrian/German number format)."""
    whole, cents = f"{amount:,.2f}".split(".")
    return whole.replace(",", ".") + "," + cents


def _moment(rng: random.Random, start: datetime = FIRST, end: datetime = LAST) -> datetime:
    seconds = int((end - start).total_seconds())
    moment = start + timedelta(seconds=rng.randint(0, seconds))
    return moment.replace(second=0, minute=moment.minute - moment.minute % 5)


def _utc(moment: datetime, country: str) -> datetime:
    return moment.replace(tzinfo=ZONES[country]).astimezone(UTC)


def _another_address(rng: random.Random, taken: set[str], local: str) -> str:
    """A second address of someone (`local` with {} for a number), at gmail.com, nobody else's."""
    while True:
        address = local.format(rng.randint(1, 99)) + "@gmail.com"
        if address not in taken:
            taken.add(address)
            return address


# -- the world ---------------------------------------------------------------------------------------------------


@dataclass
class World:
    """What `generate` wrote, and the truth tests compare the pipeline's outputs with."""

    folder: Path
    truth: dict[str, Any]
    labels: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def labels_path(self) -> Path:
        return self.folder / "labels.csv"


class _Facts:
    """Counters per identity record (`<silo>:<record id>`) and the stream row counts."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, float]] = {}
        self.streams: dict[str, dict[str, Any]] = {}
        self.consent: dict[str, list[tuple[str, str]]] = {}  # record → [(UTC ISO time, status)]
        self.kinds: dict[str, set[str]] = {}  # record → its kinds of variation (kinds.csv)

    def vary(self, record: str, kinds: set[str]) -> None:
        if kinds:
            self.kinds.setdefault(record, set()).update(kinds)

    def add(self, record: str, measure: str, value: float = 1) -> None:
        counters = self.records.setdefault(record, {})
        counters[measure] = round(counters.get(measure, 0) + value, 2)

    def stream(self, name: str, silo: str, kind: str, **counts: int) -> None:
        self.streams[name] = {"silo": silo, "kind": kind, **counts}

    def state(self, record: str, moment: datetime, status: str) -> None:
        self.consent.setdefault(record, []).append((moment.astimezone(UTC).isoformat(), status))


def generate(folder: Path, people: int = PEOPLE, seed: int = SEED, variety: Variety | None = None) -> World:
    """Write the silos, labels.csv, kinds.csv, households.csv and truth.json of `people` persons into `folder`
    (always the same files). Without a `variety` the world is the one of issue 13 (tests/test_strangers.py)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    persons = _people(rng, people, variety)
    facts = _Facts()
    labels: list[tuple[str, str, str]] = []

    # second addresses never belong to someone else
    taken = {address for person in persons for address in (person.email, person.family_email, person.fresh_email)}
    taken.discard(None)  # type: ignore[arg-type]
    members = _write_loyalty(folder / "loyalty", rng, persons, facts, labels, taken, variety)
    accounts, order_numbers = _write_shop(folder / "shop", rng, persons, facts, labels, variety)
    _write_supportdesk(folder / "supportdesk", rng, persons, facts, labels, order_numbers, taken, variety)
    _write_clicks(folder / "webshop", rng, persons, accounts, facts)

    with (folder / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_system", "source_record_id", "entity_id"])
        writer.writerows(labels)
    _write_kinds(folder, labels, facts.kinds)
    _write_households(folder, persons)

    records_of: dict[str, list[str]] = {}
    for silo, record_id, entity in labels:
        records_of.setdefault(entity, []).append(f"{silo}:{record_id}")
    entities = {}
    for person in persons:
        keys = records_of.get(person.entity_id, [])
        statements = sorted(
            (moment, status == "opted_out", status) for key in keys for moment, status in facts.consent.get(key, [])
        )
        totals: dict[str, float] = {}
        for key in keys:
            for measure, value in facts.records.get(key, {}).items():
                totals[measure] = round(totals.get(measure, 0) + value, 2)
        entities[person.entity_id] = {
            "first_name": person.first,
            "last_name": person.last,
            "email": person.email,
            "mobile": person.mobile,
            "country": person.country,
            "records": sorted(keys),
            "facts": totals,
            # the latest statement wins; at the same moment an opt-out wins (it sorts last)
            "newsletter": statements[-1][2] if statements else None,
        }
    truth = {
        "seed": seed,
        "people": people,
        "identity_records": {
            silo: len({record for s, record, _ in labels if s == silo}) for silo in ("marketing", "sales", "service")
        },
        "streams": facts.streams,
        "records": facts.records,
        "entities": entities,
        "known_person": "E0001",
        "household": ["E0002", "E0003"],
        "namesakes": ["E0004", "E0005"],
        "member_count": len(members),
        # newsletter statements per marketing record: [(UTC time, opted_in | opted_out)]
        "consent": facts.consent,
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
    return World(folder, truth, labels)


# the order kinds are listed in (the demo generator's vocabulary, so that reports compare)
KIND_ORDER = _words(
    "initial first_letter_typo typo name_part_missing swapped transliteration compound_name nickname "
    "name_from_email maiden_name moved other_email fresh_email family_email opaque_email junk_value"
)


def _write_kinds(folder: Path, labels: list[tuple[str, str, str]], kinds: dict[str, set[str]]) -> None:
    """kinds.csv: source_system, source_record_id, kinds (`;`-separated); records without any are left out."""
    with (folder / "kinds.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source_system", "source_record_id", "kinds"])
        for silo, record_id, _ in labels:
            found = kinds.get(f"{silo}:{record_id}")
            if found:
                ordered = [kind for kind in KIND_ORDER if kind in found] + sorted(found - set(KIND_ORDER))
                writer.writerow([silo, record_id, ";".join(ordered)])


def _write_households(folder: Path, persons: list[Person]) -> None:
    """households.csv: entity_id, household_id, is_twin of everyone who shares a home."""
    with (folder / "households.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["entity_id", "household_id", "is_twin"])
        writer.writerows(
            (person.entity_id, person.household, int(person.twin)) for person in persons if person.household
        )


def _write_loyalty(
    folder: Path,
    rng: random.Random,
    persons: list[Person],
    facts: _Facts,
    labels: list[tuple[str, str, str]],
    taken: set[str],
    variety: Variety | None = None,
) -> list[dict[str, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    receipts: list[list[str]] = []
    events: list[dict[str, Any]] = []
    wanted = sum(p.members for p in persons)
    numbers = rng.sample(range(10_000, max(99_999, 10_000 + 4 * wanted)), k=wanted)
    for person in persons:
        for copy in range(person.members):
            number = numbers.pop()
            record_id = f"{'W' if person.web_signup else 'GR'}-{number}"
            key = f"marketing:{record_id}"
            labels.append(("marketing", record_id, person.entity_id))
            joined = _moment(rng, FIRST, datetime(2025, 2, 1))
            changed = joined + timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 10))
            clean = person.entity_id == "E0001"
            first = person.first if clean or copy == 0 or rng.random() < 0.5 else _typo(rng, person.first)
            last = person.last if clean or copy == 0 and rng.random() < 0.8 else _typo(rng, person.last)
            first_kinds, last_kinds = _name_kinds(person, first, last)
            if not clean:
                first, last = _vary(rng, variety, person, (first, last), (first_kinds, last_kinds))
            address = person.email
            if copy == 1 and rng.random() < 0.5:  # signed up again with another address
                address = _another_address(rng, taken, f"{ascii_fold(person.first)}.{ascii_fold(person.last)}.{{}}")
            elif variety is not None and person.family_email and rng.random() < 0.6:
                address = person.family_email
            # a web sign-up shows the first name only
            kinds = first_kinds | ({"name_part_missing"} if person.web_signup else last_kinds)
            _email_kinds(person, address, kinds)
            facts.vary(key, kinds)
            row = dict.fromkeys(MEMBER_HEADER, "")
            row.update(
                {
                    "Mitgliedsnummer": record_id,
                    "Vorname": first,
                    "E-Mail": address if clean else _messy_email(rng, address),
                }
            )
            subscribed = person.newsletter
            if not person.web_signup:
                if person.entity_id in ("E0002", "E0003"):  # the household gives the family landline
                    mobil = person.landline or ""
                elif clean or rng.random() < 0.85:
                    mobil = _phone(rng, person.country, person.mobile)
                else:
                    mobil = ""
                row.update(
                    {
                        "Name": last,
                        "Mobil": mobil,
                        "Geburtstag": _german_date(person.born) if clean or rng.random() < 0.8 else "",
                        "Strasse": person.street,
                        "PLZ": person.postcode,
                        "Ort": person.city if rng.random() < 0.8 or clean else person.city.upper(),
                        "Land": person.country,
                        "Punkte": str(rng.randint(0, 4000)),
                        "Umsatz Vorjahr": _decimal_comma(rng.randint(0, 350_000) / 100),
                    }
                )  # fmt: skip
            if subscribed:
                row["Eingetragen am"] = _german_date(joined.date())
                facts.state(key, joined.replace(hour=0, minute=0, tzinfo=ZONES[person.country]), "opted_in")
            # the mailings this member received (after signing up), ending with an unsubscribe for some
            unsubscribed_at = None
            if subscribed:
                for name, sent in CAMPAIGNS:
                    if sent < joined:
                        continue
                    event_rows = [("sent", sent)]
                    roll = rng.random()
                    if roll < 0.03:
                        event_rows.append(("bounced", sent + timedelta(minutes=2)))
                    elif roll < 0.45:
                        opened = sent + timedelta(hours=rng.randint(1, 48))
                        event_rows.append(("opened", opened))
                        if rng.random() < 0.35:
                            event_rows.append(("clicked", opened + timedelta(minutes=rng.randint(1, 30))))
                        if rng.random() < 0.06 and person.entity_id != "E0001":
                            unsubscribed_at = opened + timedelta(minutes=rng.randint(31, 90))
                            event_rows.append(("unsubscribed", unsubscribed_at))
                    for action, moment in event_rows:
                        events.append(
                            {
                                "id": f"mx-{len(events) + 1:06d}",
                                "member": record_id,
                                "address": address.lower(),
                                "action": action,
                                "mailing": name,
                                "at": moment.strftime("%Y-%m-%d %H:%M:%S"),
                                "_key": key,
                                "_country": person.country,
                            }
                        )
                    if unsubscribed_at:
                        break
            if unsubscribed_at:
                changed = unsubscribed_at + timedelta(minutes=1)
                subscribed = False
            row["Newsletter"] = "ja" if subscribed else "nein"
            row["Geändert am"] = _german_time(max(changed, joined))
            facts.state(
                key,
                max(changed, joined).replace(tzinfo=ZONES[person.country]),
                "opted_in" if subscribed else "opted_out",
            )
            rows.append(row)
            # till receipts scanned with the member card
            if not person.web_signup:
                for _ in range(3 if person.entity_id == "E0001" else rng.choice((0, 0, 1, 1, 2, 3))):
                    moment = _moment(rng, datetime(2024, 1, 2, 9, 0))
                    amount = rng.choice((rng.randint(990, 9990), rng.randint(10000, 189000))) / 100
                    receipts.append(
                        [
                            f"F{rng.randint(1, 9):02d}-{moment.year}-{len(receipts) + 1:05d}",
                            record_id,
                            _german_time(moment),
                            rng.choice(SHOPS[person.country]),
                            _decimal_comma(amount),
                            "CHF" if person.country == "CH" else "EUR",
                        ]
                    )
                    facts.add(key, "kassenbons")
                    facts.add(key, "kassenbons_revenue", amount)
    rng.shuffle(rows)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=MEMBER_HEADER, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "mitglieder.csv").write_bytes(buffer.getvalue().encode("cp1252"))

    for year in (2024, 2025):
        buffer = io.StringIO(newline="")
        writer_ = csv.writer(buffer, delimiter=";", lineterminator="\n")
        writer_.writerow(RECEIPT_HEADER)
        writer_.writerows(r for r in receipts if r[0].split("-")[1] == str(year))
        (folder / f"kassenbons_{year}.csv").write_text(buffer.getvalue(), encoding="utf-8-sig")
    facts.stream("kassenbons", "marketing", "order", rows=len(receipts))

    events.sort(key=lambda e: (e["at"], e["id"]))
    lines = []
    for event in events:
        facts.add(event.pop("_key"), "mailings")
        event.pop("_country")
        lines.append(json.dumps(event, ensure_ascii=False))
    lines.insert(9, lines[9][: len(lines[9]) // 2])  # a line the export cut off: quarantined, not an event
    (folder / "mailings.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    facts.stream("mailings", "marketing", "marketing_event", rows=len(events), broken_lines=1)
    return rows


def _write_shop(
    folder: Path,
    rng: random.Random,
    persons: list[Person],
    facts: _Facts,
    labels: list[tuple[str, str, str]],
    variety: Variety | None = None,
) -> tuple[dict[str, list[tuple[int, str]]], dict[str, list[str]]]:
    """The shop's SQLite database. Returns {entity: [(account key, e-mail as stored)]} and {entity: [order numbers]}."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gipfelwerk.sqlite"
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.executescript(
        """
        create table kundenkonten (
            konto integer primary key, kundennummer text not null unique, anrede text, vorname text,
            nachname text, email text, telefon text, mobil text, geb_datum text, strasse text, hausnr text,
            plz text, ort text, land text, angelegt text, geaendert text
        );
        create table bestellungen (
            bestell_pk integer primary key, belegnummer text not null, kundennummer text, bestellt_am text,
            kanal text, status text, betrag real, waehrung text, geaendert text
        );
        """
    )
    accounts: dict[str, list[tuple[int, str]]] = {}
    order_numbers: dict[str, list[str]] = {}
    wanted = sum(p.accounts for p in persons)
    keys = rng.sample(range(1, max(9_000, 4 * wanted)), k=wanted)
    numbers = rng.sample(range(400_000, max(499_999, 400_000 + 4 * wanted)), k=len(keys))
    account_rows, order_rows = [], []
    statuses = ["abgeschlossen"] * 13 + ["versandt"] * 2 + ["storniert"] * 2 + ["retourniert"] * 3
    for person in persons:
        for copy in range(person.accounts):
            konto, kundennummer = keys.pop(), str(numbers.pop())
            labels.append(("sales", str(konto), person.entity_id))
            clean = person.entity_id == "E0001"
            created = _moment(rng, FIRST, datetime(2024, 6, 1))
            email = person.email if clean or copy == 0 else rng.choice([person.email.upper(), person.email])
            if copy == 1 and rng.random() < 0.3:
                email = None  # the second account was opened in a shop, without an address
            street, number = person.street.rsplit(" ", 1)
            land = {"CH": ["CH", "Schweiz", "CH"], "AT": ["AT", "Österreich", "AT"]}[person.country]
            born = person.born
            birth = (
                _german_date(born)
                if clean or rng.random() < 0.75
                else rng.choice([born.isoformat(), born.strftime("%d.%m.%y"), ""])
            )
            first = person.first if clean or rng.random() < 0.9 else _typo(rng, person.first)
            last = person.last if clean or rng.random() < 0.85 else _typo(rng, person.last)
            first_kinds, last_kinds = _name_kinds(person, first, last)
            if not clean:
                first, last = _vary(rng, variety, person, (first, last), (first_kinds, last_kinds))
                if variety is not None and email is not None and person.family_email and rng.random() < 0.5:
                    email = person.family_email
            kinds = first_kinds | last_kinds
            _email_kinds(person, email, kinds)
            facts.vary(f"sales:{konto}", kinds)
            account_rows.append(
                (
                    konto,
                    kundennummer,
                    "Frau" if person.female else "Herr",
                    first,
                    last,
                    email if clean or email is None else _messy_email(rng, email),
                    person.landline,
                    _phone(rng, person.country, person.mobile) if clean or rng.random() < 0.8 else None,
                    birth or None,
                    street if clean or rng.random() < 0.9 else street.replace("strasse", "str.").replace("straße", "str."),
                    number,
                    person.postcode if clean or rng.random() < 0.85 else f"{person.country}-{person.postcode}",
                    person.city,
                    land[0] if clean else rng.choice(land),
                    _german_time(created),
                    _german_time(created + timedelta(days=rng.randint(0, 200))),
                )
            )  # fmt: skip
            if email is not None:
                accounts.setdefault(person.entity_id, []).append((konto, email))
            key = f"sales:{konto}"
            count = 4 if clean else rng.choice((0, 1, 1, 2, 2, 3, 4))
            for i in range(count):
                ordered = _moment(rng, max(created, datetime(2023, 3, 1)))
                status = (
                    ("abgeschlossen", "storniert", "retourniert", "abgeschlossen")[i] if clean else rng.choice(statuses)
                )
                amount = rng.choice((rng.randint(1990, 19990), rng.randint(20000, 649000))) / 100
                belegnummer = f"B-{ordered.year % 100}-{len(order_rows) + 100_001:06d}"
                order_rows.append(
                    (
                        len(order_rows) + 1,
                        belegnummer,
                        kundennummer,
                        _german_time(ordered),
                        rng.choice(["Online", "Online", "Filiale", "Telefon"]),
                        status,
                        amount,
                        "CHF" if person.country == "CH" else "EUR",
                        _german_time(ordered + timedelta(days=rng.randint(0, 20))),
                    )
                )  # fmt: skip
                order_numbers.setdefault(person.entity_id, []).append(belegnummer)
                facts.add(key, "bestellungen")
                if status == "storniert":
                    facts.add(key, "bestellungen_cancelled")
                if status == "retourniert":
                    facts.add(key, "bestellungen_returned")
                if status not in ("storniert", "retourniert"):
                    facts.add(key, "bestellungen_revenue", amount)
    valid_orders = len(order_rows)
    # two orders the quality gate must stop: an impossible date, and a customer number nobody has
    someone = account_rows[len(account_rows) // 2][1]  # a customer number that exists (not the known person's)
    order_rows.append(
        (len(order_rows) + 1, "B-24-900001", someone, "31.02.2024 10:15", "Online", "abgeschlossen",
         129.0, "CHF", "31.02.2024 10:15")
    )  # fmt: skip
    order_rows.append(
        (len(order_rows) + 1, "B-24-900002", "999999", "03.04.2024 16:40", "Telefon", "abgeschlossen", 59.9, "CHF",
         "03.04.2024 16:40")
    )  # fmt: skip
    rng.shuffle(account_rows)
    con.executemany(f"insert into kundenkonten values ({', '.join('?' * 16)})", account_rows)
    con.executemany(f"insert into bestellungen values ({', '.join('?' * 9)})", order_rows)
    con.commit()
    con.close()
    facts.stream("bestellungen", "sales", "order", rows=valid_orders, quarantined=2)
    return accounts, order_numbers


def _write_supportdesk(
    folder: Path,
    rng: random.Random,
    persons: list[Person],
    facts: _Facts,
    labels: list[tuple[str, str, str]],
    order_numbers: dict[str, list[str]],
    taken: set[str],
    variety: Variety | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    wanted = sum(p.contacts for p in persons)
    refs = rng.sample(range(100, max(9_999, 4 * wanted)), k=wanted)
    for person in persons:
        for copy in range(person.contacts):
            ref = f"c-{refs.pop():05d}"
            key = f"service:{ref}"
            labels.append(("service", ref, person.entity_id))
            clean = person.entity_id == "E0001"
            mail = person.email if copy == 0 else _another_address(rng, taken, f"{ascii_fold(person.first)}{{}}")
            # a contact shows its name (and address) the same way on all its cases
            display, fresh, kinds = None, False, set()
            if variety is not None and not clean:
                first_kinds: set[str] = set()
                last_kinds: set[str] = set()
                first, last = _vary(rng, variety, person, (person.first, person.last), (first_kinds, last_kinds))
                kinds = first_kinds | last_kinds
                if rng.random() < variety.fresh_email:  # a new helpdesk user: an address nobody else has, no phone
                    mail, fresh = person.fresh_email or mail, True
                elif copy == 0 and person.family_email and rng.random() < 0.5:
                    mail = person.family_email
                if rng.random() < variety.swapped_full_name:
                    display = f"{last} {first}"  # "Kolanko Natasza"
                    kinds.add("swapped")
                elif (first, last) != (person.first, person.last):
                    display = rng.choice([f"{first} {last}", f"{last}, {first}"])
            _email_kinds(person, mail, kinds)
            facts.vary(key, kinds)
            count = 2 if clean else rng.choice((1, 1, 1, 2, 3))
            for i in range(count):
                opened = _moment(rng, datetime(2023, 6, 1))
                category = rng.choice(list(TOPICS))
                state = ("Wartet auf Kunde", "Gelöst")[i] if clean else rng.choice(
                    ["Neu", "In Bearbeitung", "Wartet auf Kunde", "Gelöst", "Gelöst", "Geschlossen", "Geschlossen"]
                )  # fmt: skip
                closed = state in ("Gelöst", "Geschlossen")
                last_change = opened + timedelta(hours=rng.randint(1, 400))
                name = rng.choice(
                    [f"{person.first} {person.last}", f"{person.last}, {person.first}", f"{person.first} {person.last}"]
                )
                if clean:
                    name = f"{person.first} {person.last}"
                name = display or name
                quoted = order_numbers.get(person.entity_id) if rng.random() < 0.5 or clean else None
                cases.append(
                    {
                        "case_no": f"HD-{len(cases) + 5001}",
                        "subject": rng.choice(TOPICS[category]),
                        "category": category,
                        "state": state,
                        "channel": rng.choice(["E-Mail", "Telefon", "Laden", "E-Mail"]),
                        "opened": _utc(opened, person.country).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "last_change": _utc(last_change, person.country).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "raised_by": {
                            "contact_ref": ref,
                            "display_name": name,
                            "mail": mail if clean else _messy_email(rng, mail),
                            "phone": (
                                person.landline
                                if person.entity_id == "E0003"
                                else _phone(rng, person.country, person.mobile) if rng.random() < 0.6 or clean else None
                            ) if not fresh else None,
                        },
                        "order_ref": rng.choice(quoted) if quoted else None,
                        "rating": {"stars": rng.randint(0, 10), "comment": None} if closed and rng.random() < 0.6 else None,
                    }
                )  # fmt: skip
                facts.add(key, "cases")
                if not closed:
                    facts.add(key, "cases_open")
    rng.shuffle(cases)
    dump = {
        "export": {"system": "SupportDesk 7", "created": "2025-06-30T04:00:00Z", "count": len(cases)},
        "data": {"cases": cases},
    }
    (folder / "export.json").write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
    facts.stream("cases", "service", "ticket", rows=len(cases))


def _write_clicks(
    folder: Path, rng: random.Random, persons: list[Person], accounts: dict[str, list[tuple[int, str]]], facts: _Facts
) -> None:
    """The web shop's click stream, keyed by the e-mail address a visitor logged in with (epoch seconds). Only
    addresses that belong to one shop account get clicks, plus a few visitors the shop does not know."""
    folder.mkdir(parents=True, exist_ok=True)
    owners: dict[str, set[int]] = {}
    for entity_accounts in accounts.values():
        for konto, email in entity_accounts:
            owners.setdefault(email.strip().lower(), set()).add(konto)
    clicks = []
    by_id = {person.entity_id: person for person in persons}
    for entity, entity_accounts in sorted(accounts.items()):
        for konto, email in entity_accounts:
            if len(owners[email.strip().lower()]) != 1:
                continue
            for _ in range(2 if entity == "E0001" else rng.choice((0, 1, 2, 3))):
                moment = _utc(_moment(rng, datetime(2024, 1, 1)), by_id[entity].country)
                clicks.append(
                    {
                        "eventId": f"{rng.getrandbits(64):016x}",
                        "userEmail": rng.choice([email, email.upper(), f" {email}"]),
                        "eventType": rng.choice(["page_view", "page_view", "add_to_cart", "wishlist"]),
                        "page": rng.choice(["/velos/e-bikes", "/outdoor/zelte", "/ski/touren", "/service"]),
                        "ts": int(moment.timestamp()),
                    }
                )
                facts.add(f"sales:{konto}", "clicks")
    matched = len(clicks)
    for i in range(5):
        clicks.append(
            {
                "eventId": f"{rng.getrandbits(64):016x}",
                "userEmail": f"gast{i}@example.org",
                "eventType": "page_view",
                "page": "/",
                "ts": int(datetime(2025, 2, 1 + i, 12, tzinfo=UTC).timestamp()),
            }
        )
    clicks.sort(key=lambda c: (c["ts"], c["eventId"]))
    (folder / "clicks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clicks), encoding="utf-8")
    facts.stream("clicks", "webshop", "web_visit", rows=matched, unmatched=5)


# -- projects: what a user writes into customer360.yml ------------------------------------------------------------

SCENARIOS = ("three_silos", "identity_only", "facts_only_source", "other_names")


@dataclass(frozen=True)
class Scenario:
    """Which silos a project reads, under which source names, and which streams feed its marts."""

    name: str
    systems: dict[str, str]  # generator silo → source name (source_system) in this project
    streams: tuple[str, ...]  # touchpoint streams of truth["streams"] the project configures
    time_zone: str = "Europe/Zurich"
    helpdesk_over_rest: bool = False

    def source(self, silo: str) -> str:
        return self.systems[silo]


def scenario(name: str) -> Scenario:
    if name == "three_silos":  # (a) the user's three silos named marketing, sales, service
        return Scenario(
            name,
            {"marketing": "marketing", "sales": "sales", "service": "service"},
            ("kassenbons", "mailings", "bestellungen", "cases"),
        )
    if name == "identity_only":  # (b) one source, identity only, no facts at all
        return Scenario(name, {"sales": "kundenstamm"}, ())
    if name == "facts_only_source":  # (c) a source of touchpoints only, belonging to the shop's identity
        return Scenario(name, {"sales": "shop", "webshop": "webshop_events"}, ("bestellungen", "clicks"))
    if name == "other_names":  # (d) the three silos under other names; the helpdesk served over HTTP
        return Scenario(
            name,
            {"marketing": "newsletter", "sales": "crm", "service": "helpdesk"},
            ("kassenbons", "mailings", "bestellungen", "cases"),
            time_zone="Europe/Vienna",
            helpdesk_over_rest=True,
        )
    raise ValueError(f"unknown scenario {name!r}; scenarios are {SCENARIOS}")


def write_project(
    root: Path, name: str, people: int = PEOPLE, seed: int = SEED, variety: Variety | None = None
) -> Path:
    """A fresh project folder: silos/ (generated), labels.csv and kinds.csv (this project's source names),
    households.csv and customer360.yml.

    Returns the configuration file. With `helpdesk_over_rest` the helpdesk block reads ${SUPPORTDESK_URL} and
    ${SUPPORTDESK_TOKEN}: serve `helpdesk_pages(...)` and set both before loading the configuration.
    """
    chosen = scenario(name)
    root.mkdir(parents=True, exist_ok=True)
    silos = root / "silos"
    if silos.exists():
        shutil.rmtree(silos)
    world = generate(silos, people=people, seed=seed, variety=variety)
    with (root / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_system", "source_record_id", "entity_id"])
        writer.writerows(
            (chosen.systems[silo], record_id, entity)
            for silo, record_id, entity in world.labels
            if silo in chosen.systems
        )
    with (silos / "kinds.csv").open(encoding="utf-8", newline="") as handle:
        kinds = {(row["source_system"], row["source_record_id"]): row["kinds"] for row in csv.DictReader(handle)}
    with (root / "kinds.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source_system", "source_record_id", "kinds"])
        writer.writerows(
            (chosen.systems[silo], record_id, found)
            for (silo, record_id), found in kinds.items()
            if silo in chosen.systems
        )
    shutil.copy2(silos / "households.csv", root / "households.csv")
    blocks = [_HEADER.format(project=name.replace("_", "-"), time_zone=chosen.time_zone)]
    s = chosen.systems
    if "marketing" in s:
        blocks.append(_LOYALTY.format(source=s["marketing"]))
    if "sales" in s:
        reference_numbers = _SHOP_REFERENCES.format(source=s["sales"]) if "service" in s else ""
        blocks.append(_SHOP.format(source=s["sales"], reference_numbers=reference_numbers))
        if "bestellungen" in chosen.streams:
            blocks.append(_SHOP_ORDERS)
    if "service" in s:
        blocks.append(
            (_SUPPORTDESK_REST if chosen.helpdesk_over_rest else _SUPPORTDESK_FILE).format(source=s["service"])
        )
        blocks.append(_SUPPORTDESK_MAPPING)
    if "webshop" in s:
        blocks.append(_WEBSHOP.format(source=s["webshop"], shop=s["sales"]))
    config = root / "customer360.yml"
    config.write_text("".join(blocks), encoding="utf-8")
    return config


def load_world(root: Path) -> World:
    """The world a project folder was generated with (its silos' truth.json and the project's labels)."""
    silos = root / "silos"
    return World(silos, json.loads((silos / "truth.json").read_text(encoding="utf-8")))


def helpdesk_pages(root: Path, page_size: int = 40) -> dict[int, dict[str, Any]]:
    """The helpdesk dump as the pages of an API (`?page=N&per_page=…`): {"data": {"cases": [...]}} each."""
    cases = json.loads((root / "silos" / "supportdesk" / "export.json").read_text(encoding="utf-8"))["data"]["cases"]
    pages = {
        number + 1: {"data": {"cases": cases[start : start + page_size]}}
        for number, start in enumerate(range(0, len(cases), page_size))
    }
    if len(cases) % page_size == 0:  # a full last page makes the client ask for one more
        pages[len(pages) + 1] = {"data": {"cases": []}}
    return pages


_HEADER = """\
# Gipfelwerk AG — bikes and outdoor gear in Switzerland and Austria. Written from docs/configuration.md.
version: 1
project: {project}
time_zone: {time_zone}

warehouse:
  path: data/warehouse/customer360.duckdb
  memory_limit: 2GB
  threads: 2

data_dir: data

sources:
"""

_LOYALTY = """\
  {source}:
    description: Loyalty club (member export, till receipts) and the mailing tool
    connector: files
    tables:
      mitglieder:
        description: Member export of the loyalty club; web sign-ups have a first name and an e-mail only.
        path: silos/loyalty/mitglieder.csv
        format: csv
        csv: {{ delimiter: ";", encoding: auto }}
        primary_key: mitgliedsnummer
        columns:
          mitgliedsnummer: {{ required: true, pattern: "^(?:GR|W)-[0-9]+$" }}
          vorname: {{ required: true }}
          name:
          e_mail: {{ type: email, on_fail: warn }}
          mobil:
          geburtstag: {{ type: date, formats: ["%d.%m.%Y"], on_fail: warn }}
          strasse:
          plz:
          ort:
          land: {{ allowed: [CH, AT] }}
          punkte:
          umsatz_vorjahr: {{ description: "Decimal comma: 1.234,50" }}
          newsletter: {{ allowed: [ja, nein] }}
          eingetragen_am:
          geaendert_am:
      kassenbons:
        description: Till receipts scanned with a member card (one file per year).
        path: silos/loyalty/kassenbons_*.csv
        format: csv
        csv: {{ delimiter: ";" }}
        primary_key: bon_nr
        columns:
          bon_nr: {{ required: true }}
          mitgliedsnummer: {{ required: true, references: mitglieder.mitgliedsnummer }}
          datum: {{ type: timestamp, formats: ["%d.%m.%Y %H:%M"] }}
          filiale:
          betrag: {{ required: true, pattern: "^-?[0-9.]+,[0-9]{{2}}$" }}
          waehrung: {{ allowed: [CHF, EUR] }}
      mailings:
        description: Mailing tool events, keyed by member number; naive local times.
        path: silos/loyalty/mailings.jsonl
        format: jsonl
        primary_key: id
        columns:
          id:
          member: {{ required: true }}
          address:
          action: {{ allowed: [sent, opened, clicked, bounced, unsubscribed] }}
          mailing:
          at: {{ type: timestamp, formats: ["%Y-%m-%d %H:%M:%S"] }}
    identity:
      - table: mitglieder
        source_record_id: mitgliedsnummer
        first_name: vorname
        last_name: name
        email: e_mail
        phone: mobil
        date_of_birth: geburtstag
        date_formats: ["%d.%m.%Y"]
        street: strasse
        postcode: plz
        city: ort
        country: land
        created_at: eingetragen_am
        updated_at: geaendert_am
        timestamp_formats: ["%d.%m.%Y %H:%M", "%d.%m.%Y"]
    touchpoints:
      kassenbons:
        kind: order
        record: mitgliedsnummer
        occurred_at: datum
        timestamp_formats: ["%d.%m.%Y %H:%M"]
        channel: "'store'"
        title: "'Einkauf ' || filiale"
        amount: cast(replace(replace(betrag, '.', ''), ',', '.') as decimal(12, 2))
        currency: waehrung
        reference: bon_nr
        kpis:
          revenue: cast(replace(replace(betrag, '.', ''), ',', '.') as decimal(12, 2))
          is_cancelled: "false"
        attributes:
          filiale: filiale
      mailings:
        kind: marketing_event
        record: member
        occurred_at: '"at"'                      # `at` is an SQL keyword: quoted
        channel: "'email'"
        title: mailing
        status: action
        kpis:
          engagement: >
            case action when 'sent' then 'sent' when 'opened' then 'open' when 'clicked' then 'click'
            when 'bounced' then 'bounce' when 'unsubscribed' then 'unsubscribe' end
          recipient: lower(trim(address))
        attributes:
          mailing: mailing
    consent:
      newsletter_signup:
        table: mitglieder
        purpose: newsletter
        channel: email
        record: mitgliedsnummer
        status: "'opted_in'"
        at: eingetragen_am
        timestamp_formats: ["%d.%m.%Y"]
        where: nullif(trim(eingetragen_am), '') is not null
      newsletter_flag:
        table: mitglieder
        purpose: newsletter
        channel: email
        record: mitgliedsnummer
        status: "case newsletter when 'ja' then 'opted_in' when 'nein' then 'opted_out' end"
        at: geaendert_am
        timestamp_formats: ["%d.%m.%Y %H:%M"]
      unsubscribes:
        table: mailings
        purpose: newsletter
        channel: email
        record: member
        id: id
        status: "'opted_out'"
        at: '"at"'
        where: action = 'unsubscribed'

"""

_SHOP = """\
  {source}:
    description: Web shop database (SQLite) — customer accounts and orders
    connector: sqlite
    path: silos/shop/gipfelwerk.sqlite
    tables:
      kundenkonten:
        description: Shop accounts. `konto` is the key; orders quote the customer number `kundennummer`.
        primary_key: konto
        columns:
          konto: {{ required: true }}
          kundennummer: {{ required: true, unique: true }}
          anrede:
          vorname:
          nachname:
          email: {{ type: email, on_fail: warn }}
          telefon:
          mobil:
          geb_datum: {{ description: "Mostly 24.12.1985, some ISO, some 24.12.85." }}
          strasse:
          hausnr:
          plz:
          ort:
          land: {{ description: "CH, AT, Schweiz, Österreich." }}
          angelegt: {{ type: timestamp, formats: ["%d.%m.%Y %H:%M"] }}
          geaendert: {{ type: timestamp, formats: ["%d.%m.%Y %H:%M"] }}
      bestellungen:
        description: Orders; `kundennummer` is the customer number, not the account key.
        primary_key: bestell_pk
        columns:
          bestell_pk:
          belegnummer: {{ required: true }}
          kundennummer: {{ required: true, references: kundenkonten.kundennummer }}
          bestellt_am: {{ required: true, type: timestamp, formats: ["%d.%m.%Y %H:%M"] }}
          kanal:
          status: {{ allowed: [abgeschlossen, versandt, storniert, retourniert] }}
          betrag: {{ type: number, min: 0 }}
          waehrung:
          geaendert:
    identity:
      - table: kundenkonten
        source_record_id: konto
        first_name: vorname
        last_name: nachname
        email: email
        phone: coalesce(mobil, telefon)
        date_of_birth: geb_datum
        street: concat_ws(' ', strasse, hausnr)
        postcode: plz
        city: ort
        country: land
        created_at: angelegt
        updated_at: geaendert
{reference_numbers}
"""

_SHOP_REFERENCES = """\
        reference_numbers: >
          (select list(b.belegnummer) from raw_{source}.bestellungen as b
           where b.kundennummer = source_rows.kundennummer)
"""

_SHOP_ORDERS = """\
    touchpoints:
      bestellungen:
        kind: order
        record: kundennummer
        record_key: kundennummer
        occurred_at: bestellt_am
        updated_at: geaendert
        timestamp_formats: ["%d.%m.%Y %H:%M"]
        channel: lower(kanal)
        title: "'Bestellung ' || belegnummer"
        status: status
        amount: cast(betrag as decimal(12, 2))
        currency: waehrung
        reference: belegnummer
        kpis:
          revenue: >
            case when status in ('storniert', 'retourniert') then 0 else cast(betrag as decimal(12, 2)) end
          is_cancelled: status = 'storniert'
          is_returned: status = 'retourniert'

"""

_SUPPORTDESK_FILE = """\
  {source}:
    description: SupportDesk 7 — a nightly JSON dump of every case
    connector: files
    tables:
      cases:
        path: silos/supportdesk/export.json
        format: json
        records_field: data.cases
        primary_key: case_no
        columns:
          case_no: {{ required: true }}
          subject:
          category:
          state: {{ allowed: [Neu, In Bearbeitung, Wartet auf Kunde, Gelöst, Geschlossen] }}
          channel:
          opened: {{ type: timestamp }}
          last_change: {{ type: timestamp }}
          raised_by: {{ type: json, required: true }}
          order_ref:
          rating: {{ type: json }}
"""

_SUPPORTDESK_REST = """\
  {source}:
    description: SupportDesk 7 — its REST API
    connector: rest
    base_url: ${{SUPPORTDESK_URL}}
    token: ${{SUPPORTDESK_TOKEN}}
    timeout_seconds: 10
    tables:
      cases:
        endpoint: /cases
        records_field: data.cases
        pagination: {{ type: page_number, page_param: page, size_param: per_page, page_size: 40 }}
        primary_key: case_no
        columns:
          case_no: {{ required: true }}
          subject:
          category:
          state: {{ allowed: [Neu, In Bearbeitung, Wartet auf Kunde, Gelöst, Geschlossen] }}
          channel:
          opened: {{ type: timestamp }}
          last_change: {{ type: timestamp }}
          raised_by: {{ type: json, required: true }}
          order_ref:
          rating: {{ type: json }}
"""

_SUPPORTDESK_MAPPING = """\
    identity:
      - table: cases
        source_record_id: raised_by ->> 'contact_ref'
        full_name: raised_by ->> 'display_name'
        email: raised_by ->> 'mail'
        phone: raised_by ->> 'phone'
        updated_at: last_change
        reference_numbers: "[order_ref]"
    touchpoints:
      cases:
        kind: ticket
        record: raised_by ->> 'contact_ref'
        occurred_at: opened
        updated_at: last_change
        channel: "case channel when 'E-Mail' then 'email' when 'Telefon' then 'phone' else 'store' end"
        title: subject
        status: state
        reference: order_ref
        kpis:
          is_open: state in ('Neu', 'In Bearbeitung', 'Wartet auf Kunde')
          is_complaint: category = 'Reklamation'
          satisfaction: cast(rating ->> 'stars' as double)
          satisfaction_scale: [0, 10]
        attributes:
          category: category

"""

_WEBSHOP = """\
  {source}:
    description: The web shop's click stream (JSON lines), keyed by the e-mail address a visitor logged in with
    connector: files
    tables:
      clicks:
        path: silos/webshop/clicks.jsonl
        format: jsonl
        primary_key: eventId                     # a JavaScript tracker: camelCase keys
    touchpoints:
      clicks:
        kind: web_visit
        identity: {shop}
        record: lower(trim(userEmail))
        record_key: lower(trim(email))
        occurred_at: to_timestamp(cast(ts as bigint))
        channel: "'web'"
        title: eventType || ' ' || page
        attributes:
          page: page

"""
