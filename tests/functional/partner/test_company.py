"""Manage Users (Permission.MANAGE_USERS) and Company Profile (FR 4; EM201's privacy link)."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from opencustodian.storage.models import ThirdPartyApplication, ThirdPartyUser
from tests.functional.partner.helpers import csrf_of, sign_in

NEW_USER = {
    "username": "sunny-newbie",
    "name": "Nia Newbie",
    "email": "Nia@Sunny.Example",
    "phone": "555-0142",
    "role": "viewer",
    "password": "a long enough password",
    "password_again": "a long enough password",
}


def users_of(engine, company: int) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ThirdPartyUser.username, ThirdPartyUser.role).where(
                ThirdPartyUser.application_id == company
            )
        )
        return {str(username): str(role) for username, role in rows.all()}


def policy_of(engine, company: int) -> str | None:
    with engine.connect() as connection:
        policy = connection.scalar(
            select(ThirdPartyApplication.privacy_policy_uri).where(
                ThirdPartyApplication.id == company
            )
        )
    return None if policy is None else str(policy)


def add(browser, **overrides: str):
    csrf = csrf_of(browser, "/partner/agreements")
    return browser.post("/partner/users", data={"csrf": csrf, **NEW_USER, **overrides})


def test_an_administrator_lists_and_adds_users(portal):
    browser = portal.browser("sunny-admin")
    page = browser.get("/partner/users")
    assert page.status_code == 200
    listed = re.findall(r'<tr data-username="([^"]+)">', page.text)
    assert listed == ["sunny-admin", "sunny-agent", "sunny-viewer"]  # never another company's
    response = add(browser)
    assert response.status_code == 303
    assert "User sunny-newbie was added." in browser.get(response.headers["location"]).text
    assert users_of(portal.engine, portal.sunny_id)["sunny-newbie"] == "viewer"
    newcomer = portal.browser()
    sign_in(newcomer, "sunny-newbie", NEW_USER["password"])
    page = newcomer.get("/partner/profile").text
    assert "nia@sunny.example" in page
    assert "Sunny Solar" in page


def test_a_refused_user_keeps_the_values_and_writes_nothing(portal):
    browser = portal.browser("sunny-admin")
    cases = (
        ({"username": "other-agent"}, "username: 'other-agent' is taken"),
        ({"password_again": "something else"}, "password: the two passwords differ"),
        ({"password": "short", "password_again": "short"}, "password: at least 8 characters"),
        ({"email": "nope"}, "email: 'nope' is not an email address."),
        ({"role": "owner"}, "role: choose administrator, agent or viewer"),
        ({"name": ""}, "name: 1 to 100 characters"),
    )
    for overrides, message in cases:
        response = add(browser, **overrides)
        assert response.status_code == 400, overrides
        assert message in unescape(response.text), overrides
        assert 'value="Nia Newbie"' in response.text or overrides.get("name") == ""
    assert set(users_of(portal.engine, portal.sunny_id)) == {
        "sunny-admin",
        "sunny-agent",
        "sunny-viewer",
    }


def test_only_administrators_manage_users(portal):
    for username in ("sunny-agent", "sunny-viewer"):
        browser = portal.browser(username)
        assert browser.get("/partner/users").status_code == 403
        assert add(browser).status_code == 403
        nav = browser.get("/partner/agreements").text
        assert 'href="/partner/users"' not in nav
    assert "sunny-newbie" not in users_of(portal.engine, portal.sunny_id)
    assert 'href="/partner/users"' in portal.browser("sunny-admin").get("/partner/profile").text


def save_policy(browser, uri: str):
    csrf = csrf_of(browser, "/partner/profile")
    return browser.post("/partner/profile", data={"csrf": csrf, "privacy_policy_uri": uri})


def test_the_company_profile_shows_the_name_and_the_privacy_policy(portal):
    browser = portal.browser("sunny-admin")
    page = browser.get("/partner/profile").text
    assert '<dd id="company-name">Sunny Solar</dd>' in page
    assert "The Privacy Policy has not been provided." in page
    response = save_policy(browser, "https://sunny.example/privacy")
    assert response.status_code == 303
    assert policy_of(portal.engine, portal.sunny_id) == "https://sunny.example/privacy"
    page = browser.get(response.headers["location"]).text
    assert 'href="https://sunny.example/privacy"' in page
    assert policy_of(portal.engine, portal.other_id) is None
    # Emptied: "not provided" again.
    assert save_policy(browser, "  ").status_code == 303
    assert policy_of(portal.engine, portal.sunny_id) is None


def test_a_privacy_link_must_be_https(portal):
    browser = portal.browser("sunny-admin")
    for uri in (
        "http://sunny.example/privacy",
        "javascript:alert(1)",
        "ftp://sunny.example/privacy",
        "https://sunny.example/privacy#top",
        "https://" + "a" * 600 + ".example/",
    ):
        response = save_policy(browser, uri)
        assert response.status_code == 400, uri
        assert "Privacy policy URL" in response.text
    assert policy_of(portal.engine, portal.sunny_id) is None
    # Plain http only on loopback (a local demo third party), as for redirect URIs.
    assert save_policy(browser, "http://127.0.0.1:8001/privacy").status_code == 303


def test_only_administrators_change_the_profile(portal):
    browser = portal.browser("sunny-agent")
    page = browser.get("/partner/profile").text
    assert 'name="privacy_policy_uri"' not in page
    response = save_policy(browser, "https://evil.example/privacy")
    assert response.status_code == 403
    assert policy_of(portal.engine, portal.sunny_id) is None
