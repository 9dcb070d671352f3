"""Products, campaigns and helpdesk texts for the demo generator (Kaufhaus Nord GmbH)."""

from __future__ import annotations

# category -> (SKU prefix, share of order lines, [(product name, typical price in EUR), ...])
CATEGORIES: dict[str, tuple[str, float, list[tuple[str, float]]]] = {
    "Mode": (
        "MOD",
        0.30,
        [
            ("Damen-Jeans Slim Fit", 59.95),
            ("Herren-Jeans Regular Fit", 69.95),
            ("Herren-Hemd Business", 39.95),
            ("Damen-Bluse Viskose", 34.99),
            ("Strickpullover Merino", 79.00),
            ("Winterjacke Damen", 149.00),
            ("Steppjacke Herren", 129.00),
            ("T-Shirt Basic 2er-Pack", 19.99),
            ("Sommerkleid geblümt", 49.95),
            ("Blazer Damen", 99.00),
            ("Chino Herren", 59.99),
            ("Schal Wolle", 24.95),
            ("Regenjacke Friesennerz", 89.95),
            ("Kapuzenpullover Unisex", 44.95),
            ("Socken 5er-Pack", 12.99),
            ("Gürtel Leder", 29.95),
            ("Anzug Herren Slim", 249.00),
            ("Strumpfhose 3er-Pack", 14.99),
            ("Pyjama Baumwolle", 39.99),
            ("Kinder-Matschhose", 29.99),
        ],
    ),
    "Schuhe": (
        "SHO",
        0.12,
        [
            ("Sneaker Weiß", 79.95),
            ("Lederstiefel Damen", 159.00),
            ("Chelsea Boots Herren", 129.95),
            ("Gummistiefel", 34.95),
            ("Ballerinas", 49.95),
            ("Hausschuhe Filz", 29.99),
            ("Pumps Schwarz", 69.95),
            ("Wanderschuhe wasserdicht", 139.00),
            ("Kinder-Sneaker blinkend", 39.99),
            ("Sandalen Leder", 59.95),
            ("Schnürschuhe Business", 119.00),
        ],
    ),
    "Haushalt": (
        "HAU",
        0.18,
        [
            ("Kaffeemaschine Filter", 49.99),
            ("Kaffeevollautomat", 499.00),
            ("Bettwäsche-Set Satin", 69.95),
            ("Topfset Edelstahl 5-tlg.", 129.00),
            ("Pfanne Gusseisen 28 cm", 59.95),
            ("Handtuch-Set 4-tlg.", 34.95),
            ("Messerblock 6-tlg.", 89.00),
            ("Wasserkocher Glas", 39.99),
            ("Geschirr-Set 18-tlg.", 79.95),
            ("Kopfkissen 80x80", 29.95),
            ("Daunendecke", 149.00),
            ("Staubsauger beutellos", 199.00),
            ("Gläser-Set Weißwein 6 Stk.", 24.99),
            ("Tischdecke Leinen", 39.95),
            ("Duftkerze Meeresbrise", 14.95),
            ("Bügeleisen Dampf", 49.95),
        ],
    ),
    "Elektronik": (
        "ELE",
        0.12,
        [
            ("Bluetooth-Kopfhörer", 129.00),
            ("Smartphone-Hülle", 19.99),
            ("USB-C Ladegerät 65 W", 39.99),
            ("Fernseher 55 Zoll 4K", 699.00),
            ("Powerbank 20000 mAh", 34.99),
            ("Tablet 10 Zoll", 279.00),
            ("Smartwatch", 199.00),
            ("Bluetooth-Lautsprecher", 79.95),
            ("Elektrische Zahnbürste", 89.99),
            ("Haartrockner", 49.95),
            ("E-Book-Reader", 129.99),
            ("HDMI-Kabel 2 m", 12.99),
        ],
    ),
    "Spielwaren": (
        "SPI",
        0.10,
        [
            ("Klemmbaustein-Set Feuerwache", 59.99),
            ("Plüschbär 40 cm", 24.95),
            ("Puppe mit Zubehör", 34.99),
            ("Brettspiel Familienklassiker", 29.99),
            ("Puzzle 1000 Teile", 14.99),
            ("Holzeisenbahn Starter-Set", 49.95),
            ("Ferngesteuertes Auto", 44.95),
            ("Malset 60-tlg.", 19.99),
            ("Kartenspiel", 9.99),
            ("Experimentierkasten", 39.95),
        ],
    ),
    "Beauty": (
        "BEA",
        0.10,
        [
            ("Gesichtscreme 50 ml", 24.95),
            ("Parfüm Eau de Toilette 50 ml", 59.00),
            ("Lippenstift", 19.95),
            ("Shampoo Repair 250 ml", 8.95),
            ("Handcreme 75 ml", 6.95),
            ("Mascara", 14.95),
            ("Rasierer 5-Klingen", 12.99),
            ("Bodylotion 400 ml", 9.99),
            ("Nagellack", 7.95),
            ("Duschgel 3er-Set", 11.99),
            ("Eau de Parfum 100 ml", 89.00),
        ],
    ),
    "Sport": (
        "SPO",
        0.08,
        [
            ("Laufschuhe Herren", 119.95),
            ("Laufschuhe Damen", 119.95),
            ("Yogamatte", 29.95),
            ("Fahrradhelm", 59.95),
            ("Funktionsshirt", 29.99),
            ("Trainingshose", 39.99),
            ("Trinkflasche Edelstahl", 19.95),
            ("Kurzhantel-Set", 49.99),
            ("Rucksack 25 l", 69.95),
            ("Schwimmbrille", 14.99),
            ("Tennisschläger", 89.00),
        ],
    ),
}
CATEGORY_SLUGS = {
    "Mode": "mode",
    "Schuhe": "schuhe",
    "Haushalt": "haushalt",
    "Elektronik": "elektronik",
    "Spielwaren": "spielwaren",
    "Beauty": "beauty",
    "Sport": "sport",
}

# month -> campaign themes (the newsletter goes out twice a month, plus a few big sales events)
CAMPAIGN_THEMES: dict[int, list[str]] = {
    1: ["Neujahrs-Sale", "Winterschlussverkauf"],
    2: ["Valentinstag", "Faschingskostüme"],
    3: ["Frühjahrskollektion", "Osterdeko"],
    4: ["Oster-Angebote", "Gartenzeit"],
    5: ["Muttertag", "Sommerschuhe"],
    6: ["Vatertag & Grillsaison", "Sommermode"],
    7: ["Sommerschlussverkauf", "Urlaubsbegleiter"],
    8: ["Back to School", "Spätsommer-Sale"],
    9: ["Herbstmode", "Gemütliches Zuhause"],
    10: ["Herbstferien-Angebote", "Halloween"],
    11: ["Black Week", "Adventskalender"],
    12: ["Weihnachtsgeschenke", "Last-Minute-Geschenke"],
}

TICKET_TEXTS: dict[str, list[tuple[str, str]]] = {
    "question": [
        ("Frage zur Größe", "Hallo, fällt die Jacke normal aus oder eher klein? Ich trage sonst M."),
        ("Öffnungszeiten Filiale", "Guten Tag, hat die Filiale am Samstag vor Weihnachten länger geöffnet?"),
        ("Gutschein einlösen", "Wie kann ich meinen Geschenkgutschein im Onlineshop einlösen?"),
        ("Artikel wieder verfügbar?", "Wann ist der Artikel wieder lieferbar? Ich würde ihn gern bestellen."),
        ("Kundenkonto", "Ich komme nicht mehr in mein Kundenkonto, das Passwort wird nicht akzeptiert."),
        ("Newsletter abbestellen", "Bitte tragen Sie mich aus dem Newsletter aus, danke."),
    ],
    "complaint": [
        (
            "Ware beschädigt",
            "Guten Tag, meine Bestellung {order} kam beschädigt an. Der Karton war eingedrückt.",
        ),
        (
            "Falscher Artikel geliefert",
            "Ich habe in Bestellung {order} einen anderen Artikel bekommen als bestellt.",
        ),
        (
            "Reklamation",
            "Der Reißverschluss ist nach zwei Wochen kaputt (Bestellung {order}). So geht das nicht.",
        ),
        (
            "Beschwerde Filiale",
            "Ich bin in der Filiale sehr unfreundlich behandelt worden und möchte mich beschweren.",
        ),
        ("Qualitätsmangel", "Das Gerät aus Bestellung {order} funktioniert nicht mehr. Ich möchte Ersatz."),
    ],
    "return": [
        (
            "Rücksendung",
            "Ich möchte Artikel aus Bestellung {order} zurückschicken. Bitte schicken Sie mir ein Label.",
        ),
        (
            "Retoure nicht erstattet",
            "Meine Rücksendung zu {order} ist seit drei Wochen bei Ihnen, das Geld fehlt noch.",
        ),
        ("Umtausch", "Kann ich die Schuhe aus {order} gegen eine Nummer größer umtauschen?"),
    ],
    "delivery": [
        (
            "Wo bleibt meine Bestellung?",
            "Meine Bestellung {order} ist noch nicht angekommen. Können Sie nachsehen?",
        ),
        (
            "Paket nicht erhalten",
            "Laut Sendungsverfolgung wurde {order} zugestellt, ich habe aber nichts bekommen.",
        ),
        ("Lieferadresse ändern", "Bitte liefern Sie Bestellung {order} an meine neue Adresse."),
    ],
    "payment": [
        ("Doppelte Abbuchung", "Der Betrag für Bestellung {order} wurde zweimal abgebucht."),
        (
            "Mahnung erhalten",
            "Ich habe eine Mahnung bekommen, obwohl ich die Rechnung zu {order} bezahlt habe.",
        ),
        ("Rechnung benötigt", "Können Sie mir die Rechnung zu {order} noch einmal schicken?"),
        ("Zahlungsart ändern", "Ich möchte von Rechnung auf Lastschrift umstellen."),
    ],
}
AGENT_REPLIES_GENERAL = [
    "Vielen Dank für Ihre Nachricht. Wir kümmern uns darum und melden uns in Kürze.",
    "Wir haben Ihr Anliegen an die zuständige Abteilung weitergeleitet.",
]
AGENT_REPLIES = {
    "question": [
        "Der Artikel fällt normal aus, wir empfehlen Ihre gewohnte Größe.",
        "Den Gutschein können Sie im Warenkorb unter 'Gutscheincode' einlösen.",
        "Wir haben Ihnen einen Link zum Zurücksetzen des Passworts geschickt.",
    ],
    "complaint": [
        "Das tut uns sehr leid. Können Sie uns bitte ein Foto des Artikels schicken?",
        "Wir haben eine Ersatzlieferung auf den Weg gebracht.",
        "Als Entschuldigung haben wir Ihnen einen Gutschein über 10 Euro gutgeschrieben.",
    ],
    "return": [
        "Ihr Retourenlabel finden Sie im Anhang.",
        "Die Gutschrift wurde veranlasst und sollte in 3-5 Werktagen auf Ihrem Konto sein.",
    ],
    "delivery": [
        "Wir haben einen Nachforschungsauftrag beim Versanddienstleister gestellt.",
        "Laut Sendungsverfolgung ist Ihr Paket heute in Zustellung.",
    ],
    "payment": [
        "Die doppelte Abbuchung haben wir storniert, der Betrag wird erstattet.",
        "Die Rechnung haben wir Ihnen erneut per E-Mail geschickt.",
    ],
}
AGENT_CLOSING = "Ihr Anliegen ist damit gelöst. Bei Fragen sind wir gern für Sie da."
INTERNAL_NOTES = [
    "Kunde bereits zum dritten Mal wegen derselben Sache, bitte Kulanz prüfen.",
    "Rückfrage bei Logistik gestellt.",
    "Gutschrift freigegeben (Teamleitung).",
    "Dublette im CRM? Bitte prüfen.",
]
CUSTOMER_REPLIES = [
    "Danke für die schnelle Antwort!",
    "Das Foto habe ich angehängt.",
    "Leider ist immer noch nichts passiert.",
    "Wann bekomme ich mein Geld zurück?",
    "Alles klar, vielen Dank.",
    "Das ist jetzt schon das zweite Mal!",
]
CSAT_COMMENTS = {
    1: ["Katastrophaler Service.", "Niemand hat sich gekümmert.", None],
    2: ["Hat viel zu lange gedauert.", "Nicht zufrieden.", None],
    3: ["Ging so.", None],
    4: ["Gut, danke.", None, None],
    5: ["Sehr schnelle Hilfe, danke!", "Super freundlich!", "Top Service!", None, None],
}
TICKET_TAGS = {
    "question": ["frage"],
    "complaint": ["reklamation"],
    "return": ["retoure"],
    "delivery": ["versand"],
    "payment": ["zahlung"],
}
