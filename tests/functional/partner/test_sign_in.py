"""Sign-in to the third-party portal: credentials, CSRF, sessions, a suspended company."""

from __future__ import annotations

from sqlalchemy import update

from opencustodian.storage.models import ThirdPartyApplication
from tests.functional.partner.helpers import PASSWORD, csrf_of, sign_in

PAGES = (
    "/partner/agreements",
    "/partner/agreements/new?kind=one_time",
    "/partner/users",
    "/partner/profile",
)


def test_every_page_needs_a_signed_in_third_party_user(portal):
    browser = portal.browser()
    for path in PAGES:
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/partner/login?next=%2Fpartner%2F")


def test_the_right_password_signs_in_and_returns_to_the_page_asked_for(portal):
    browser = portal.browser()
    response = browser.post(
        "/partner/login",
        data={
            "csrf": csrf_of(browser, "/partner/login?next=/partner/profile"),
            "username": "sunny-agent",
            "password": PASSWORD,
            "next": "/partner/profile",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/partner/profile"
    page = browser.get("/partner/profile")
    assert page.status_code == 200
    assert "Sunny Solar" in page.text
    assert "Jamie Rivera Agent" in page.text


def test_a_wrong_password_gets_401_and_a_clear_message(portal):
    browser = portal.browser()
    response = browser.post(
        "/partner/login",
        data={
            "csrf": csrf_of(browser, "/partner/login"),
            "username": "sunny-agent",
            "password": "not the password",
        },
    )
    assert response.status_code == 401
    assert "That username and password do not match" in response.text
    assert 'value="sunny-agent"' in response.text  # the username is kept
    assert browser.get("/partner/agreements").status_code == 303


def test_signing_in_needs_the_forms_csrf_token(portal):
    browser = portal.browser()
    response = browser.post(
        "/partner/login", data={"username": "sunny-agent", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert browser.get("/partner/agreements").status_code == 303


def test_an_offsite_next_is_ignored(portal):
    browser = portal.browser()
    response = browser.post(
        "/partner/login",
        data={
            "csrf": csrf_of(browser, "/partner/login"),
            "username": "sunny-agent",
            "password": PASSWORD,
            "next": "//evil.example/steal",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/partner/agreements"


def test_signing_out_ends_the_session(portal):
    browser = portal.browser("sunny-agent")
    assert browser.get("/partner/agreements").status_code == 200
    csrf = csrf_of(browser, "/partner/agreements")
    response = browser.post("/partner/logout", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/partner/login"
    assert browser.get("/partner/agreements").status_code == 303


def test_a_suspended_company_is_signed_out_and_cannot_sign_in(portal):
    browser = portal.browser("sunny-agent")
    assert browser.get("/partner/agreements").status_code == 200
    for status in ("suspended", "revoked"):
        with portal.engine.begin() as connection:
            connection.execute(
                update(ThirdPartyApplication)
                .where(ThirdPartyApplication.id == portal.sunny_id)
                .values(status=status)
            )
        response = browser.get("/partner/agreements")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/partner/login")
        fresh = portal.browser()
        response = fresh.post(
            "/partner/login",
            data={
                "csrf": csrf_of(fresh, "/partner/login"),
                "username": "sunny-agent",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 401
        assert "suspended" in response.text
    # The other company is not affected.
    assert portal.browser("other-agent").get("/partner/agreements").status_code == 200


def test_a_customer_session_is_not_a_third_party_session(portal):
    browser = portal.browser()
    response = browser.post(
        "/login",
        data={
            "csrf": csrf_of(browser, "/login"),
            "username": "customer0001",
            "password": "demo-password",
        },
    )
    assert response.status_code == 303
    assert browser.get("/partner/agreements").status_code == 303


def test_sign_in_helper_lands_on_customer_agreements(portal):
    browser = portal.browser()
    sign_in(browser, "other-viewer")
    page = browser.get("/partner/agreements")
    assert page.status_code == 200
    assert "Other Energy" in page.text
    assert "Customer Agreements" in page.text
