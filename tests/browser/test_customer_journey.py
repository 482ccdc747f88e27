"""The Green Button Connect My Data customer journey in Chromium (seed 001; seed 000 §3.1).

Both entry points are walked click by click through the real custodian and the real demo third
party: started at the third party (select utility → choose data → sign in → consent → back
connected) and started at the utility (Share My Data → the third party's scope selection →
consent → back connected; once picking, once taking the offer as it stands). Then the
customer's other choices: deny, remove a scope on the consent page, and stop sharing later from
"Connected apps" (the third party is notified).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.demo.thirdparty import PREDEFINED_SCOPES
from opencustodian.oauth.clients import parse_scope_list
from opencustodian.protocols.espi.scope import emit_scope
from tests.custodian import BULK_SCOPE, REGISTERED_SCOPES

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import Apps, Shots

pytestmark = pytest.mark.browser

ELECTRIC = "Consumption Electric"
BILLING = "Billing Information With Cost"
RETAIL = "Retail Customer"
#: Registered by the test third party but not one of its predefined sets (FB=35_67).
BULK = "Bulk"
SCOPES = {**{option.name: option.scope for option in PREDEFINED_SCOPES}, BULK: BULK_SCOPE}
#: The plain words the consent page uses for each of those scope sets.
IN_PLAIN_WORDS = {
    ELECTRIC: "Your electricity usage in 5-minute, 15-minute, hourly and monthly intervals",
    BILLING: "Your bills with costs",
    RETAIL: "Your account and billing details, such as account number",
    BULK: "Your usage data sent in bulk, with other customers who agreed",
}
NOTIFICATION_WAIT_SECONDS = 10.0


def canonical_strings(*scopes: str) -> set[str]:
    """Scope strings as the custodian emits them."""
    return {emit_scope(scope) for scope in parse_scope_list("|".join(scopes)) or []}


def canonical(*names: str) -> set[str]:
    """The scope strings of the named scope sets, as the custodian emits them."""
    return canonical_strings(*(SCOPES[name] for name in names))


def granted_scopes(page: Page) -> set[str]:
    """The scopes the third party's connection page says were granted."""
    return canonical_strings(*page.locator("#granted-scopes li code").all_inner_texts())


def sign_in(page: Page, shot: Shots, username: str) -> None:
    """Fill the custodian's username-and-password form and submit it."""
    form = page.locator("form", has=page.get_by_label("Username"))
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(DEMO_PASSWORD)
    shot("sign-in-filled")
    form.get_by_role("button", name="Sign in", exact=True).click()


def choose_data_at_third_party(page: Page, apps: Apps, shot: Shots, *names: str) -> None:
    """From the third party's landing page to its "Continue to the utility" button."""
    page.goto(f"{apps.thirdparty}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(apps.thirdparty_name)
    shot("thirdparty-landing")

    page.get_by_role("link", name="Connect your utility data").click()
    expect(page).to_have_url(f"{apps.thirdparty}/connect")
    expect(page.get_by_role("heading", level=1)).to_have_text("Select your utility")
    shot("select-utility")

    page.get_by_role("button", name=apps.custodian_name).click()
    expect(page).to_have_url(re.compile(re.escape(f"{apps.thirdparty}/connect/data")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose what to share")
    shot("choose-data")

    for name in names:
        page.get_by_label(name, exact=True).check()
    shot("choose-data-ticked")
    page.get_by_role("button", name=f"Continue to {apps.custodian_name}").click()


def expect_consent_page(page: Page, apps: Apps, *names: str) -> None:
    """The consent page names the third party and says in plain words what it asks for."""
    expect(page).to_have_url(re.compile(re.escape(f"{apps.custodian}/oauth/authorize?")))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Share your energy data with {apps.thirdparty_name}?"
    )
    expect(page.locator("#third-party")).to_contain_text(apps.thirdparty_name)
    requested = page.get_by_role("group", name=re.compile(f"What {apps.thirdparty_name} asks"))
    expect(requested.get_by_role("checkbox")).to_have_count(len(names))
    for name in names:
        expect(requested.get_by_label(IN_PLAIN_WORDS[name], exact=True)).to_be_checked()
    # The wire strings stay behind "Technical scope", never in the customer's way.
    expect(requested.locator("code").first).to_be_hidden()


def expect_connected(page: Page, apps: Apps, *names: str) -> str:
    """The third party's connection page shows the grant; returns its authorizationURI."""
    expect(page).to_have_url(re.compile(re.escape(f"{apps.thirdparty}/connections/") + r"\d+$"))
    expect(page.locator("#connection-status")).to_have_text("active")
    assert granted_scopes(page) == canonical(*names)
    resource_uri = page.locator("#resource-uri").inner_text()
    assert resource_uri.startswith(apps.custodian), resource_uri
    assert "/Batch/Subscription/" in resource_uri, resource_uri
    authorization_uri = page.locator("#authorization-uri").inner_text()
    assert authorization_uri.startswith(f"{apps.custodian}/"), authorization_uri
    assert "/Authorization/" in authorization_uri, authorization_uri
    return authorization_uri


def open_connected_apps(page: Page, apps: Apps, shot: Shots) -> None:
    """The custodian's Connected apps page (the customer is signed in)."""
    page.goto(f"{apps.custodian}/portal/connected-apps")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connected apps")
    shot("connected-apps")


def test_journey_started_at_the_third_party(page: Page, apps: Apps, shot: Shots) -> None:
    choose_data_at_third_party(page, apps, shot, ELECTRIC, BILLING)

    expect(page).to_have_url(re.compile(re.escape(f"{apps.custodian}/oauth/authorize?")))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in to {apps.custodian_name}")
    shot("custodian-sign-in")
    sign_in(page, shot, "customer0001")

    expect_consent_page(page, apps, ELECTRIC, BILLING)
    expect(page.get_by_role("group", name="Which of your services to share")).to_contain_text(
        "Account"
    )
    shot("consent")
    page.get_by_role("button", name="Allow sharing").click()

    expect_connected(page, apps, ELECTRIC, BILLING)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Connection 1 with {apps.custodian_name}"
    )
    shot("thirdparty-connection")


def test_journey_started_at_the_utility(page: Page, apps: Apps, shot: Shots) -> None:
    page.goto(f"{apps.custodian}/login")
    shot("custodian-sign-in")
    sign_in(page, shot, "customer0002")
    expect(page).to_have_url(f"{apps.custodian}/portal")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    shot("portal")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Share My Data").click()
    expect(page).to_have_url(f"{apps.custodian}/portal/share")
    expect(page.get_by_role("heading", level=1)).to_have_text("Share My Data")
    listed = page.locator("#third-parties > li")
    expect(listed).to_have_count(1)
    expect(listed.get_by_role("heading")).to_have_text(apps.thirdparty_name)
    shot("share-my-data")

    listed.get_by_role("link", name=f"Share with {apps.thirdparty_name}").click()
    expect(page).to_have_url(re.compile(re.escape(f"{apps.thirdparty}/scope-selection?")))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{apps.custodian_name} sent you here: choose what to share"
    )
    offered = page.locator("#scope-form").get_by_role("checkbox")
    # Every scope the third party registered is offered, ticked.
    expect(offered).to_have_count(len(REGISTERED_SCOPES))
    for box in offered.all():
        expect(box).to_be_checked()
    shot("thirdparty-scope-selection")

    for box in offered.all():
        box.uncheck()
    page.get_by_label(ELECTRIC, exact=True).check()
    page.get_by_label(RETAIL, exact=True).check()
    shot("thirdparty-scope-selection-picked")
    page.get_by_role("button", name=f"Continue to {apps.custodian_name}").click()

    # Already signed in at the utility: straight to the consent page.
    expect_consent_page(page, apps, ELECTRIC, RETAIL)
    expect(page.get_by_label("Password")).to_have_count(0)
    shot("consent")
    page.get_by_role("button", name="Allow sharing").click()

    expect_connected(page, apps, ELECTRIC, RETAIL)
    shot("thirdparty-connection")

    open_connected_apps(page, apps, shot)
    rows = page.locator("#connected-apps tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td").first).to_have_text(apps.thirdparty_name)
    expect(rows.locator("td").nth(1)).to_contain_text(IN_PLAIN_WORDS[ELECTRIC])
    expect(rows.locator("td").nth(1)).to_contain_text(IN_PLAIN_WORDS[RETAIL])
    expect(rows.locator("td").nth(3)).to_have_text("active")
    expect(
        rows.get_by_role("button", name=f"Stop sharing with {apps.thirdparty_name}")
    ).to_be_visible()


def test_the_customer_denies(page: Page, apps: Apps, shot: Shots) -> None:
    choose_data_at_third_party(page, apps, shot, ELECTRIC)
    sign_in(page, shot, "customer0003")
    expect_consent_page(page, apps, ELECTRIC)
    shot("consent")

    page.get_by_role("button", name="Deny").click()
    expect(page).to_have_url(re.compile(re.escape(f"{apps.thirdparty}/callback?")))
    expect(page.locator("#denied")).to_have_text("You chose not to share your data")
    shot("thirdparty-denied")

    page.goto(f"{apps.thirdparty}/connections")
    expect(page.locator("#no-connections")).to_be_visible()
    shot("thirdparty-connections")

    open_connected_apps(page, apps, shot)
    expect(page.locator("#connected-apps tbody")).to_have_text(
        "You are not sharing data with anyone."
    )
    expect(page.get_by_role("button", name=re.compile("Stop sharing"))).to_have_count(0)


def test_the_customer_removes_a_scope(page: Page, apps: Apps, shot: Shots) -> None:
    choose_data_at_third_party(page, apps, shot, ELECTRIC, BILLING)
    sign_in(page, shot, "customer0001")
    expect_consent_page(page, apps, ELECTRIC, BILLING)

    page.get_by_label(IN_PLAIN_WORDS[BILLING], exact=True).uncheck()
    expect(page.get_by_label(IN_PLAIN_WORDS[ELECTRIC], exact=True)).to_be_checked()
    shot("consent-billing-unticked")
    page.get_by_role("button", name="Allow sharing").click()

    expect_connected(page, apps, ELECTRIC)
    shot("thirdparty-connection")

    open_connected_apps(page, apps, shot)
    shares = page.locator("#connected-apps tbody tr td").nth(1)
    expect(shares).to_contain_text(IN_PLAIN_WORDS[ELECTRIC])
    expect(shares).not_to_contain_text(IN_PLAIN_WORDS[BILLING])


def stop_sharing_and_await_notice(page: Page, apps: Apps, shot: Shots, username: str) -> str:
    """Connect, stop sharing at the custodian, wait for the notice; returns authorizationURI."""
    choose_data_at_third_party(page, apps, shot, ELECTRIC)
    sign_in(page, shot, username)
    expect_consent_page(page, apps, ELECTRIC)
    shot("consent")
    page.get_by_role("button", name="Allow sharing").click()
    authorization_uri = expect_connected(page, apps, ELECTRIC)
    shot("thirdparty-connection")

    page.goto(f"{apps.thirdparty}/notifications")
    expect(page.locator("#no-notifications")).to_be_visible()
    shot("thirdparty-notifications-before")

    open_connected_apps(page, apps, shot)
    page.get_by_role("button", name=f"Stop sharing with {apps.thirdparty_name}").click()
    expect(page).to_have_url(f"{apps.custodian}/portal/connected-apps")
    status = page.locator("#connected-apps tbody tr td").nth(3)
    expect(status).to_contain_text("revoked")
    expect(status).to_contain_text("The customer revoked")
    expect(page.get_by_role("button", name=re.compile("Stop sharing"))).to_have_count(0)
    shot("connected-apps-revoked")

    # Notifications go out from a background thread: reload until the BatchList has arrived.
    page.goto(f"{apps.thirdparty}/notifications")
    deadline = time.monotonic() + NOTIFICATION_WAIT_SECONDS
    while page.locator("#notifications").count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        page.reload()
    shot("thirdparty-notifications-after")
    return authorization_uri


def test_stop_sharing_notifies_the_third_party(page: Page, apps: Apps, shot: Shots) -> None:
    authorization_uri = stop_sharing_and_await_notice(page, apps, shot, "customer0002")
    notified = page.locator("#notifications tbody tr td code").all_inner_texts()
    assert authorization_uri in notified, notified


def test_the_revocation_notice_names_the_connection(page: Page, apps: Apps, shot: Shots) -> None:
    authorization_uri = stop_sharing_and_await_notice(page, apps, shot, "customer0001")
    row = page.locator("#notifications tbody tr", has_text=authorization_uri)
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="Connection 1")).to_be_visible(timeout=1_000)


def test_the_utility_offer_accepted_as_it_stands(page: Page, apps: Apps, shot: Shots) -> None:
    offer = (ELECTRIC, BILLING, RETAIL, BULK)
    assert canonical(*offer) == canonical_strings(*REGISTERED_SCOPES)
    page.goto(f"{apps.custodian}/login?next=/portal/share")
    sign_in(page, shot, "customer0003")
    expect(page).to_have_url(f"{apps.custodian}/portal/share")
    shot("share-my-data")

    page.get_by_role("link", name=f"Share with {apps.thirdparty_name}").click()
    expect(page).to_have_url(re.compile(re.escape(f"{apps.thirdparty}/scope-selection?")))
    shot("thirdparty-scope-selection")
    page.get_by_role("button", name=f"Continue to {apps.custodian_name}").click()

    expect_consent_page(page, apps, *offer)
    shot("consent")
    page.get_by_role("button", name="Allow sharing").click()

    expect_connected(page, apps, *offer)
    shot("thirdparty-connection")
