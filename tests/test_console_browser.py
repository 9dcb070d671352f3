"""The agent console in a real browser (headless Chromium from Debian, driven by Playwright) on a real uvicorn.

Log in, find a customer by a misspelled name and by a phone number in another format, open them, see the
timeline (and filter it) and the next best action, say "not the same person" (a decision row appears), switch
to German, see a customer's consent per purpose and channel, and leave screenshots in test-artifacts/ (laptop
and tablet) for a person to look at.
"""

from __future__ import annotations

import pytest
from support.console import ARTIFACTS, ConsoleEnv, consent_of, misspell, other_phone_format, pick_customer

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def page(browser, live_console):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.base = live_console.url
    page.errors = errors
    yield page
    context.close()


def _login(page, env: ConsoleEnv, role: str = "agent") -> None:  # noqa: ANN001
    page.goto(f"{page.base}/login?lang=en")
    username, password = env.logins[role]
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def test_agent_finds_sees_and_separates_a_customer(page, console_env: ConsoleEnv) -> None:  # noqa: ANN001
    from customer360.core.decisions import list_decisions

    customer = pick_customer(console_env)
    ARTIFACTS.mkdir(exist_ok=True)
    _login(page, console_env)

    # 1. a misspelled name (umlaut written out, one letter missing)
    query = f"{customer['first_name']} {misspell(customer['last_name'])}"
    page.fill("main input[name=q]", query)
    page.keyboard.press("Enter")
    page.wait_for_selector("table.hits")
    link = page.locator(f"a.hit-link[href^='/customers/{customer['customer_id']}']")
    assert link.count() == 1, f"{customer['full_name']} not among the results for {query!r}"
    page.screenshot(path=str(ARTIFACTS / "console-search.png"), full_page=True)
    link.click()
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == customer["full_name"]

    # 2. timeline and next best action are there
    assert page.locator("#nba .action").inner_text().strip()
    assert page.locator("#nba .reason").inner_text().strip()
    events = page.locator("#timeline li.event")
    assert events.count() >= 1
    chips = page.locator("#timeline a.chip-link[data-channel]")
    channel = chips.first.get_attribute("data-channel")
    chips.first.click()
    page.wait_for_url(f"**channel={channel}**")
    channels = page.locator("#timeline li.event").evaluate_all("nodes => nodes.map(n => n.dataset.channel)")
    assert channels and set(channels) == {channel}

    # 3. a phone number written another way opens the customer directly
    page.fill("#topq", other_phone_format(customer["phone_e164"]))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{customer['customer_id']}**")
    page.wait_for_selector("#why table.members")
    assert page.locator("h1").inner_text() == customer["full_name"]
    page.screenshot(path=str(ARTIFACTS / "console-customer.png"), full_page=True)
    page.set_viewport_size({"width": 820, "height": 1180})
    page.screenshot(path=str(ARTIFACTS / "console-customer-tablet.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})

    # 4. "not the same person" on the last member record: confirm, and a decision is recorded for the next run
    record = customer["record_keys"][-1]
    page.once("dialog", lambda dialog: dialog.accept())
    row = page.locator("#why table.members tr", has=page.locator(f"td.mono:text-is('{record}')"))
    row.locator("details.not-same summary").click()
    row.locator("input[name=reason]").fill("browser test: different person")
    row.locator("button.danger").click()
    page.wait_for_selector(".notice.success")
    assert record in page.locator(".notice.success").inner_text()
    decisions = [
        d
        for d in list_decisions(console_env.state_dir)
        if record in (d.record_key_l, d.record_key_r) and d.reason == "browser test: different person"
    ]
    assert len(decisions) == customer["records"] - 1
    assert all(d.decision == "different" and d.decided_by == console_env.logins["agent"][0] for d in decisions)

    # 5. German UI
    page.click(".langs a[hreflang=de]")
    page.wait_for_selector("text=Nächste beste Aktion")
    assert page.locator("html").get_attribute("lang") == "de"
    page.screenshot(path=str(ARTIFACTS / "console-customer-de.png"), full_page=True)

    # 6. consent per purpose and channel, with its source: a customer with a "do not call" note
    statements = consent_of(console_env, "purpose = 'any' and consent_channel = 'phone'")
    page.goto(f"{page.base}/customers/{statements[0]['customer_id']}?lang=en")
    rows = page.locator("section.consent table.consent-statements tbody tr[data-purpose]")
    assert rows.evaluate_all("rows => rows.map(r => [r.dataset.purpose, r.dataset.channel, r.dataset.status])") == [
        [s["purpose"], s["consent_channel"], s["consent_status"]] for s in statements
    ]
    assert "service.tickets" in page.locator("tr[data-purpose=any][data-channel=phone] td.src").inner_text()
    page.locator("section.consent").screenshot(path=str(ARTIFACTS / "console-consent.png"))
    assert not page.errors, page.errors


def test_api_docs_render_offline_under_the_csp(page) -> None:  # noqa: ANN001
    page.goto(f"{page.base}/docs")
    page.wait_for_selector("[data-path='/api/v1/search']")
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
