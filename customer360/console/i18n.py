"""German and English UI text. Which language: ?lang=de|en (remembered), the user's setting, the language cookie,
the browser's Accept-Language, then German (the demo retailer is German)."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"

TEXT: dict[str, dict[str, str]] = {
    # frame
    "app.title": {"en": "Customer 360 — agent console", "de": "Kunde 360 — Service-Konsole"},
    "app.brand": {"en": "Customer 360", "de": "Kunde 360"},
    "nav.search": {"en": "Search", "de": "Suche"},
    "nav.audit": {"en": "Audit log", "de": "Protokoll"},
    "nav.users": {"en": "Users", "de": "Benutzer"},
    "nav.review": {"en": "Review", "de": "Prüfen"},
    "nav.privacy": {"en": "Privacy", "de": "Datenschutz"},
    "privacy.title": {"en": "Privacy requests", "de": "Datenschutzanfragen"},
    "privacy.erase": {"en": "Erase this customer", "de": "Diese Person löschen"},
    "privacy.what": {
        "en": "Removes all {records} source record(s) and everything derived from them from the warehouse, every"
        " snapshot, the Parquet exports and the search index, and keeps the same records from coming back (GDPR"
        " Art. 17). This cannot be undone.",
        "de": "Entfernt alle {records} Quelldatensätze und alles daraus Abgeleitete aus dem Warehouse, jedem Snapshot,"
        " den Parquet-Exporten und dem Suchindex und verhindert, dass dieselben Datensätze zurückkommen (Art. 17"
        " DSGVO). Das lässt sich nicht rückgängig machen.",
    },
    "privacy.reason": {"en": "Reason (request, reference)", "de": "Grund (Anfrage, Aktenzeichen)"},
    "privacy.confirm": {"en": "Type {id} to confirm", "de": "Zur Bestätigung {id} eingeben"},
    "privacy.started": {"en": "The erasure has started.", "de": "Die Löschung wurde gestartet."},
    "privacy.running": {"en": "An erasure is running …", "de": "Eine Löschung läuft …"},
    "privacy.done": {"en": "The last erasure has finished.", "de": "Die letzte Löschung ist abgeschlossen."},
    "privacy.failed": {
        "en": "The last erasure failed; start it again once the cause is fixed:",
        "de": "Die letzte Löschung ist fehlgeschlagen; nach Behebung der Ursache erneut starten:",
    },
    "privacy.log": {"en": "Erasure log", "de": "Löschprotokoll"},
    "privacy.subject": {"en": "Subject (pseudonym)", "de": "Betroffene Person (Pseudonym)"},
    "privacy.removed": {"en": "Removed", "de": "Entfernt"},
    "privacy.records": {"en": "records", "de": "Datensätze"},
    "privacy.tombstones": {"en": "tombstones", "de": "Sperrvermerke"},
    "privacy.unknown": {"en": "Unknown customer ID.", "de": "Unbekannte Kundennummer."},
    "privacy.no_reason": {"en": "Give the reason for the erasure.", "de": "Bitte den Grund der Löschung angeben."},
    "privacy.not_confirmed": {
        "en": "The customer ID typed does not match: nothing was erased.",
        "de": "Die eingegebene Kundennummer stimmt nicht überein: nichts wurde gelöscht.",
    },
    "privacy.busy": {
        "en": "Another erasure is still running: wait until it has finished.",
        "de": "Eine andere Löschung läuft noch: bitte warten, bis sie abgeschlossen ist.",
    },
    "nav.api": {"en": "API", "de": "API"},
    "nav.logout": {"en": "Log out", "de": "Abmelden"},
    "nav.language": {"en": "Language", "de": "Sprache"},
    "nav.signed_in_as": {"en": "Signed in as", "de": "Angemeldet als"},
    "snapshot.label": {"en": "Data as of", "de": "Datenstand"},
    "skip": {"en": "Skip to content", "de": "Zum Inhalt springen"},
    # login
    "login.title": {"en": "Sign in", "de": "Anmelden"},
    "login.username": {"en": "Username", "de": "Benutzername"},
    "login.password": {"en": "Password", "de": "Passwort"},
    "login.submit": {"en": "Sign in", "de": "Anmelden"},
    "login.failed": {"en": "Wrong username or password.", "de": "Benutzername oder Passwort falsch."},
    "login.throttled": {
        "en": "Too many failed attempts. Please wait {seconds} seconds and try again.",
        "de": "Zu viele Fehlversuche. Bitte {seconds} Sekunden warten und erneut versuchen.",
    },
    "login.logged_out": {"en": "You are logged out.", "de": "Sie sind abgemeldet."},
    "login.expired": {"en": "Please sign in.", "de": "Bitte melden Sie sich an."},
    # search
    "search.placeholder": {
        "en": "Name, e-mail, phone, customer or record ID, order number",
        "de": "Name, E-Mail, Telefon, Kunden- oder Datensatz-ID, Bestellnummer",
    },
    "search.button": {"en": "Search", "de": "Suchen"},
    "search.hint": {
        "en": "Typos and spellings are fine: Müller = Mueller = Muller; phone numbers in any format.",
        "de": "Tippfehler und Schreibweisen sind kein Problem: Müller = Mueller = Muller; Telefon in jedem Format.",
    },
    "search.results": {"en": "{count} results for “{query}”", "de": "{count} Treffer für „{query}“"},
    "search.none": {"en": "No customer found for “{query}”.", "de": "Kein Kunde gefunden für „{query}“."},
    "search.truncated": {
        "en": "More customers match. Add a first name, town, postcode or birth year.",
        "de": "Es passen weitere Kunden. Vorname, Ort, PLZ oder Geburtsjahr ergänzen.",
    },
    "search.took": {"en": "{ms} ms", "de": "{ms} ms"},
    "search.score": {"en": "Match", "de": "Treffer"},
    "search.matched_on": {"en": "Found by", "de": "Gefunden über"},
    "match.name": {"en": "name", "de": "Name"},
    "match.email": {"en": "e-mail", "de": "E-Mail"},
    "match.phone": {"en": "phone", "de": "Telefon"},
    "match.customer_id": {"en": "customer ID", "de": "Kunden-ID"},
    "match.record_id": {"en": "source record ID", "de": "Quell-ID"},
    "match.reference": {"en": "reference (e.g. order number)", "de": "Referenz (z. B. Bestellnummer)"},
    # customer page
    "customer.merged_notice": {
        "en": "Customer ID {requested} was merged into {current}: showing {current}.",
        "de": "Die Kunden-ID {requested} wurde mit {current} zusammengeführt: Anzeige von {current}.",
    },
    "customer.not_found": {
        "en": "No customer {id} in the current data.",
        "de": "Kein Kunde {id} im aktuellen Datenstand.",
    },
    "customer.records": {"en": "{count} source records", "de": "{count} Quelldatensätze"},
    "customer.golden": {"en": "Contact data", "de": "Kontaktdaten"},
    "customer.golden_hint": {
        "en": "The best value of every source; the source is shown beside it.",
        "de": "Der beste Wert aller Quellen; die Quelle steht daneben.",
    },
    "customer.source": {"en": "source", "de": "Quelle"},
    "customer.nba": {"en": "Next best action", "de": "Nächste beste Aktion"},
    "customer.nba_none": {"en": "No recommendation.", "de": "Keine Empfehlung."},
    "customer.reason": {"en": "Why", "de": "Warum"},
    "customer.priority": {"en": "Priority", "de": "Priorität"},
    "customer.risks": {"en": "Risk flags", "de": "Warnhinweise"},
    "customer.no_risks": {"en": "No risk flags.", "de": "Keine Warnhinweise."},
    "customer.kpis": {"en": "At a glance", "de": "Auf einen Blick"},
    "customer.consent": {"en": "Consent", "de": "Einwilligung"},
    "customer.timeline": {"en": "Timeline", "de": "Verlauf"},
    "customer.timeline_all": {"en": "All channels", "de": "Alle Kanäle"},
    "customer.timeline_empty": {"en": "No touchpoints.", "de": "Keine Kontaktpunkte."},
    "customer.newer": {"en": "Newer", "de": "Neuere"},
    "customer.older": {"en": "Older", "de": "Ältere"},
    "customer.page_of": {"en": "{first}–{last} of {total}", "de": "{first}–{last} von {total}"},
    "customer.orders": {"en": "Orders", "de": "Bestellungen"},
    "customer.tickets": {"en": "Tickets", "de": "Tickets"},
    "customer.campaigns": {"en": "Campaigns", "de": "Kampagnen"},
    "customer.none": {"en": "None.", "de": "Keine."},
    "customer.latest_of": {"en": "latest {shown} of {total}", "de": "neueste {shown} von {total}"},
    "customer.why": {
        "en": "Why are these records one customer?",
        "de": "Warum sind diese Datensätze ein Kunde?",
    },
    "customer.why_single": {
        "en": "A single source record: nothing links it to another record.",
        "de": "Ein einzelner Quelldatensatz: nichts verbindet ihn mit einem anderen.",
    },
    "customer.link": {"en": "Link", "de": "Verknüpfung"},
    "customer.weight": {"en": "weight", "de": "Gewicht"},
    "customer.probability": {"en": "probability", "de": "Wahrscheinlichkeit"},
    "customer.record": {"en": "Record", "de": "Datensatz"},
    "customer.not_same": {"en": "Not the same person…", "de": "Nicht dieselbe Person…"},
    "customer.not_same_confirm": {"en": "Separate this record", "de": "Datensatz abtrennen"},
    "customer.not_same_reason": {"en": "Reason (optional)", "de": "Grund (optional)"},
    "customer.not_same_help": {
        "en": "Records that this record is not the same person as the other records of this customer, and "
        "separates it.",
        "de": "Hält fest, dass dieser Datensatz nicht dieselbe Person ist wie die anderen Datensätze dieses Kunden, "
        "und trennt ihn ab.",
    },
    "customer.decision_decided": {
        "en": "Recorded: {record} is not the same person as the other {count} record(s).",
        "de": "Gespeichert: {record} ist nicht dieselbe Person wie die anderen {count} Datensätze.",
    },
    "customer.decision_joined": {
        "en": "Recorded: this customer and {other} are the same person.",
        "de": "Gespeichert: dieser Kunde und {other} sind dieselbe Person.",
    },
    "customer.decision_undone": {
        "en": "Withdrew {count} decision(s): the records are linked as the model sees them again.",
        "de": "{count} Entscheidung(en) zurückgenommen: die Datensätze werden wieder so verknüpft, wie das Modell sie sieht.",
    },
    "customer.decision_applying": {
        "en": "Publishing the change now: this page shows it in a few seconds.",
        "de": "Die Änderung wird jetzt veröffentlicht: diese Seite zeigt sie in wenigen Sekunden.",
    },
    "customer.decision_next_run": {
        "en": "It takes effect in the next pipeline run.",
        "de": "Sie wird mit dem nächsten Pipeline-Lauf wirksam.",
    },
    "customer.applying": {
        "en": "Publishing a decision… this page reloads by itself.",
        "de": "Eine Entscheidung wird veröffentlicht… diese Seite lädt sich selbst neu.",
    },
    "customer.apply_failed": {
        "en": "Publishing the last decision failed; the next pipeline run applies it:",
        "de": "Die letzte Entscheidung konnte nicht veröffentlicht werden; der nächste Pipeline-Lauf wendet sie an:",
    },
    "customer.undo": {"en": "undo", "de": "zurücknehmen"},
    "customer.same": {"en": "Same person as another customer…", "de": "Dieselbe Person wie ein anderer Kunde…"},
    "customer.same_help": {
        "en": "Records that this customer and the other one are the same person, and joins them; the ID of the "
        "customer with more records stays, the other one leads to it.",
        "de": "Hält fest, dass dieser und der andere Kunde dieselbe Person sind, und führt sie zusammen; die "
        "Kundennummer mit mehr Datensätzen bleibt, die andere führt zu ihr.",
    },
    "customer.same_other": {"en": "Other customer ID", "de": "Andere Kundennummer"},
    "customer.same_confirm": {"en": "Join the customers", "de": "Kunden zusammenführen"},
    "customer.decisions": {"en": "Recorded decisions", "de": "Erfasste Entscheidungen"},
    "customer.pending": {"en": "not published yet", "de": "noch nicht veröffentlicht"},
    "customer.applied": {"en": "applied", "de": "angewendet"},
    "customer.missing": {
        "en": "Not in this snapshot yet: {tables}.",
        "de": "In diesem Datenstand noch nicht vorhanden: {tables}.",
    },
    "customer.back": {"en": "Back to search", "de": "Zurück zur Suche"},
    # field labels
    "field.customer_id": {"en": "Customer ID", "de": "Kunden-ID"},
    "field.full_name": {"en": "Name", "de": "Name"},
    "field.first_name": {"en": "First name", "de": "Vorname"},
    "field.last_name": {"en": "Last name", "de": "Nachname"},
    "field.email": {"en": "E-mail", "de": "E-Mail"},
    "field.phone_e164": {"en": "Phone", "de": "Telefon"},
    "field.date_of_birth": {"en": "Date of birth", "de": "Geburtsdatum"},
    "field.street": {"en": "Street", "de": "Straße"},
    "field.postcode": {"en": "Postcode", "de": "PLZ"},
    "field.city": {"en": "Town", "de": "Ort"},
    "field.country_code": {"en": "Country", "de": "Land"},
    "field.address": {"en": "Address", "de": "Adresse"},
    "field.source_systems": {"en": "Sources", "de": "Quellen"},
    "field.lifetime_value": {"en": "Lifetime value", "de": "Kundenwert (gesamt)"},
    "field.order_count": {"en": "Orders", "de": "Bestellungen"},
    "field.last_order_date": {"en": "Last order", "de": "Letzte Bestellung"},
    "field.average_order_value": {"en": "Average order", "de": "Ø Bestellwert"},
    "field.open_ticket_count": {"en": "Open tickets", "de": "Offene Tickets"},
    "field.ticket_count": {"en": "Tickets", "de": "Tickets"},
    "field.last_contact_at": {"en": "Last contact", "de": "Letzter Kontakt"},
    "field.last_contact_channel": {"en": "Last channel", "de": "Letzter Kanal"},
    "field.average_csat": {"en": "Ø satisfaction (1–5)", "de": "Ø Zufriedenheit (1–5)"},
    "field.email_opens_90d": {"en": "E-mail opens (90 d)", "de": "E-Mail-Öffnungen (90 T.)"},
    "field.email_clicks_90d": {"en": "E-mail clicks (90 d)", "de": "E-Mail-Klicks (90 T.)"},
    "field.source_record_count": {"en": "Source records", "de": "Quelldatensätze"},
    "field.is_newsletter_subscribed": {"en": "Newsletter", "de": "Newsletter"},
    "field.newsletter_consent_status": {"en": "Newsletter consent", "de": "Newsletter-Einwilligung"},
    "field.newsletter_consent_changed_at": {"en": "Consent changed", "de": "Einwilligung geändert"},
    "field.occurred_at": {"en": "When", "de": "Wann"},
    "field.channel": {"en": "Channel", "de": "Kanal"},
    "field.touchpoint_type": {"en": "Type", "de": "Art"},
    "field.summary": {"en": "What", "de": "Was"},
    "field.outcome": {"en": "Outcome", "de": "Ergebnis"},
    "field.sentiment": {"en": "Sentiment", "de": "Stimmung"},
    "field.order_number": {"en": "Order", "de": "Bestellung"},
    "field.ordered_at": {"en": "Ordered", "de": "Bestellt"},
    "field.status": {"en": "Status", "de": "Status"},
    "field.total_amount": {"en": "Total", "de": "Summe"},
    "field.subject": {"en": "Subject", "de": "Betreff"},
    "field.created_at": {"en": "Opened", "de": "Eröffnet"},
    "field.priority": {"en": "Priority", "de": "Priorität"},
    "field.csat_score": {"en": "Rating", "de": "Bewertung"},
    "field.campaign_name": {"en": "Campaign", "de": "Kampagne"},
    "field.event_type": {"en": "Event", "de": "Ereignis"},
    "field.best_match_probability": {"en": "Best link", "de": "Beste Verknüpfung"},
    "field.record_key": {"en": "Record", "de": "Datensatz"},
    # flags and values
    "risk.has_open_complaint": {"en": "Open complaint", "de": "Offene Reklamation"},
    "risk.is_value_dropping": {"en": "Value dropping", "de": "Umsatz rückläufig"},
    "risk.has_recent_bad_experience": {"en": "Recent bad experience", "de": "Kürzlich schlechte Erfahrung"},
    "value.yes": {"en": "yes", "de": "ja"},
    "value.no": {"en": "no", "de": "nein"},
    "value.subscribed": {"en": "subscribed", "de": "abonniert"},
    "value.not_subscribed": {"en": "not subscribed", "de": "nicht abonniert"},
    "value.open": {"en": "open", "de": "offen"},
    "value.complaint": {"en": "complaint", "de": "Reklamation"},
    "value.returned": {"en": "returned", "de": "retourniert"},
    # next best actions by action_code (the marts carry the English text; German here)
    "nba.no_action": {"en": "No action needed", "de": "Keine Aktion nötig"},
    "nba.ask_for_newsletter_consent": {
        "en": "Ask for newsletter consent at the next contact",
        "de": "Beim nächsten Kontakt um die Newsletter-Einwilligung bitten",
    },
    "nba.ask_for_email": {
        "en": "Ask for an e-mail address at the next contact",
        "de": "Beim nächsten Kontakt nach der E-Mail-Adresse fragen",
    },
    "nba.recover_bad_experience": {
        "en": "Call to make good a recent bad experience",
        "de": "Anrufen und eine kürzliche schlechte Erfahrung wiedergutmachen",
    },
    "nba.thank_loyal_customer": {
        "en": "Thank a loyal customer with a personal note",
        "de": "Treuen Kunden mit einer persönlichen Nachricht danken",
    },
    "nba.win_back_valuable_customer": {
        "en": "Offer a personal win-back incentive",
        "de": "Persönliches Rückgewinnungsangebot machen",
    },
    "nba.counter_value_drop": {
        "en": "Send a personal offer matched to past purchases",
        "de": "Persönliches Angebot passend zu früheren Käufen senden",
    },
    "nba.follow_up_open_ticket": {
        "en": "Follow up on the open service ticket",
        "de": "Beim offenen Service-Ticket nachfassen",
    },
    "nba.welcome_new_customer": {"en": "Welcome the new customer", "de": "Neukunden begrüßen"},
    "nba.resolve_open_complaint": {
        "en": "Resolve the open complaint before anything else",
        "de": "Zuerst die offene Reklamation lösen",
    },
    "risk.is_email_bouncing": {"en": "E-mail bounces", "de": "E-Mail unzustellbar"},
    "field.is_promotion_allowed": {"en": "Contact policy allows promotions", "de": "Kontaktregel erlaubt Werbung"},
    "field.newsletter_consent_source": {"en": "Consent source", "de": "Quelle der Einwilligung"},
    "field.complaint_count": {"en": "Complaints", "de": "Reklamationen"},
    "field.returned_order_count": {"en": "Returned orders", "de": "Retournierte Bestellungen"},
    "consent.purpose": {"en": "Purpose", "de": "Zweck"},
    "consent.channel": {"en": "Channel", "de": "Kanal"},
    "consent.status": {"en": "Status", "de": "Status"},
    "consent.source": {"en": "Source", "de": "Quelle"},
    "consent.conflict": {"en": "other records say otherwise", "de": "andere Datensätze sagen anderes"},
    "consent.any": {"en": "all", "de": "alle"},
    "consent.marketing": {"en": "advertising", "de": "Werbung"},
    "consent.profiling": {"en": "profiling", "de": "Profilbildung"},
    "consent.phone": {"en": "phone", "de": "Telefon"},
    "consent.email": {"en": "e-mail", "de": "E-Mail"},
    "consent.post": {"en": "post", "de": "Post"},
    "value.opted_in": {"en": "opted in", "de": "eingewilligt"},
    "value.opted_out": {"en": "opted out", "de": "widersprochen"},
    "value.none": {"en": "never asked", "de": "nie gefragt"},
    # admin
    "audit.title": {"en": "Audit log", "de": "Protokoll"},
    "audit.when": {"en": "When", "de": "Wann"},
    "audit.who": {"en": "Who", "de": "Wer"},
    "audit.action": {"en": "Action", "de": "Aktion"},
    "audit.customer": {"en": "Customer", "de": "Kunde"},
    "audit.detail": {"en": "Detail", "de": "Detail"},
    "audit.channel": {"en": "Channel", "de": "Kanal"},
    "audit.filter": {"en": "Filter", "de": "Filtern"},
    "audit.total": {"en": "{total} entries", "de": "{total} Einträge"},
    "users.title": {"en": "Users", "de": "Benutzer"},
    "users.role": {"en": "Role", "de": "Rolle"},
    "users.active": {"en": "Active", "de": "Aktiv"},
    "users.created": {"en": "Created", "de": "Angelegt"},
    "users.add": {"en": "Add user", "de": "Benutzer anlegen"},
    "users.display_name": {"en": "Display name", "de": "Anzeigename"},
    "users.save_role": {"en": "Change role", "de": "Rolle ändern"},
    "users.deactivate": {"en": "Deactivate", "de": "Deaktivieren"},
    "users.activate": {"en": "Activate", "de": "Aktivieren"},
    "users.reset_password": {"en": "Set password", "de": "Passwort setzen"},
    "users.saved": {"en": "Saved.", "de": "Gespeichert."},
    "role.agent": {"en": "agent", "de": "Service-Mitarbeiter"},
    "role.analyst": {"en": "analyst", "de": "Analyst"},
    "role.admin": {"en": "admin", "de": "Administrator"},
    "role.steward": {"en": "data steward", "de": "Datenverantwortlicher"},
    # review page (data stewards)
    "review.title": {"en": "Review record pairs", "de": "Datensatzpaare prüfen"},
    "review.intro": {
        "en": "Are these two records the same person? Your answer is kept as a decision every pipeline run obeys, "
        "and as a label that shows how well the matching works at each score.",
        "de": "Sind diese beiden Datensätze dieselbe Person? Ihre Antwort gilt als Entscheidung, die jeder "
        "Pipeline-Lauf befolgt, und als Beispiel, das zeigt, wie gut der Abgleich bei jedem Score funktioniert.",
    },
    "review.band": {"en": "Score band", "de": "Score-Bereich"},
    "review.progress": {"en": "{answered} of {total} answered", "de": "{answered} von {total} beantwortet"},
    "review.guard_rail": {"en": "Guard rail", "de": "Schutzregel"},
    "review.guard_rail_hint": {
        "en": "This rule keeps the records apart whatever the score.",
        "de": "Diese Regel hält die Datensätze getrennt, egal wie hoch der Score ist.",
    },
    "review.vetoed": {"en": "vetoed", "de": "blockiert"},
    "review.evidence": {"en": "Evidence per comparison", "de": "Hinweise je Vergleich"},
    "review.same": {"en": "Same person", "de": "Dieselbe Person"},
    "review.different": {"en": "Different people", "de": "Verschiedene Personen"},
    "review.unsure": {"en": "Not sure", "de": "Unsicher"},
    "review.answer_help": {
        "en": "Same person: the records are merged from the next run on. Different people: they are kept apart. "
        "Not sure: nothing changes, the pair leaves the queue.",
        "de": "Dieselbe Person: Die Datensätze werden ab dem nächsten Lauf zusammengeführt. Verschiedene Personen: "
        "Sie bleiben getrennt. Unsicher: Nichts ändert sich, das Paar verlässt die Warteschlange.",
    },
    "review.saved_same": {
        "en": "Saved: same person (applies from the next pipeline run).",
        "de": "Gespeichert: dieselbe Person (gilt ab dem nächsten Pipeline-Lauf).",
    },
    "review.saved_different": {
        "en": "Saved: different people (applies from the next pipeline run).",
        "de": "Gespeichert: verschiedene Personen (gilt ab dem nächsten Pipeline-Lauf).",
    },
    "review.saved_same_now": {
        "en": "Saved: same person. Publishing it now: the two customers become one in a few moments.",
        "de": "Gespeichert: dieselbe Person. Wird jetzt veröffentlicht: die beiden Kunden werden gleich zu einem.",
    },
    "review.saved_different_now": {
        "en": "Saved: different people. Publishing it now: the records part in a few moments.",
        "de": "Gespeichert: verschiedene Personen. Wird jetzt veröffentlicht: die Datensätze werden gleich getrennt.",
    },
    "review.saved_unsure": {
        "en": "Saved: not sure. Nothing changes.",
        "de": "Gespeichert: unsicher. Nichts ändert sich.",
    },
    "review.done": {
        "en": "Every pair of the current data is answered ({answered} answers). New pairs come with the next run.",
        "de": "Alle Paare des aktuellen Datenstands sind beantwortet ({answered} Antworten). Neue Paare kommen mit dem "
        "nächsten Lauf.",
    },
    "review.no_candidates": {
        "en": "The current data has no pairs to review yet. Run the pipeline (c360 run).",
        "de": "Der aktuelle Datenstand enthält noch keine Paare zum Prüfen. Pipeline ausführen (c360 run).",
    },
    "review.not_candidate": {
        "en": "This pair is not among the pairs to review in the current data.",
        "de": "Dieses Paar gehört im aktuellen Datenstand nicht zu den zu prüfenden Paaren.",
    },
    "review.strata": {"en": "Answers per score band", "de": "Antworten je Score-Bereich"},
    "review.strata_help": {
        "en": "Pairs come from every score band in turn, so that the answers show how precise the matching is at "
        "every threshold.",
        "de": "Die Paare kommen der Reihe nach aus jedem Score-Bereich, damit die Antworten zeigen, wie genau der "
        "Abgleich bei jedem Schwellenwert ist.",
    },
    "review.candidates": {"en": "Pairs", "de": "Paare"},
    "review.answered": {"en": "Answered", "de": "Beantwortet"},
    "review.field.source_system": {"en": "Source", "de": "Quelle"},
    # errors
    "error.title": {"en": "Something is not right", "de": "Da stimmt etwas nicht"},
    "error.forbidden": {
        "en": "Your role may not do this.",
        "de": "Ihre Rolle darf das nicht.",
    },
    "error.csrf": {
        "en": "The form has expired. Please reload the page and try again.",
        "de": "Das Formular ist abgelaufen. Bitte Seite neu laden und erneut versuchen.",
    },
    "error.no_snapshot": {
        "en": "No data has been published yet. Run the pipeline (c360 demo or c360 run).",
        "de": "Es wurden noch keine Daten veröffentlicht. Pipeline ausführen (c360 demo oder c360 run).",
    },
    "error.not_found": {"en": "Not found.", "de": "Nicht gefunden."},
    "error.rate_limited": {
        "en": "Too many requests. Please slow down.",
        "de": "Zu viele Anfragen. Bitte langsamer.",
    },
}


def translate(lang: str, key: str, **values: Any) -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**values) if values else text


def has_text(key: str) -> bool:
    return key in TEXT


def negotiate(accept_language: str | None) -> str | None:
    """The first supported language of an Accept-Language header (weights respected), or None."""
    if not accept_language:
        return None
    choices = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()[:2]
        weight = 1.0
        for piece in pieces[1:]:
            if piece.strip().startswith("q="):
                try:
                    weight = float(piece.strip()[2:])
                except ValueError:
                    weight = 0.0
        choices.append((-weight, index, tag))
    for _, _, tag in sorted(choices):
        if tag in LANGUAGES:
            return tag
    return None
