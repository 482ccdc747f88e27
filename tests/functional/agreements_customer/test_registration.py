"""Registering for the portal (seed 003 FR 6, FR 15): residential and business pages.

The form proves the registrant holds the account (ESIID + meter held today by an open account
whose billing ZIP matches), attaches the login to that customer of record and signs them in.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from opencustodian.domain.agreements import CustomerClass, Language
from opencustodian.kit.passwords import verify_password
from opencustodian.storage.models import RetailCustomer
from tests.agreements import UNREGISTERED, meters_of, unregistered_form
from tests.custodian import form_value
from tests.functional.agreements_customer.helpers import (
    billing_zip,
    customer_of,
    customer_row,
    initiate,
    link_href,
    page_csrf,
    sign_in,
    text_of,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.functional.agreements_customer.helpers import Invited, Portal

PASSWORD = "a long new password"


def _answered(
    portal: Portal,
    customer_class: CustomerClass = CustomerClass.RESIDENTIAL,
    language: Language | None = None,
) -> Invited:
    """customer0010 (not registered) invited and accepting by the emailed link."""
    rows = meters_of(portal.engine, UNREGISTERED)[:1]
    form = unregistered_form(rows, customer_class=customer_class, language=language)
    [invited] = initiate(portal.engine, portal.party, form)
    csrf = page_csrf(portal.client, invited.accept_url)
    answered = portal.client.post(invited.accept_url, data={"csrf": csrf})
    assert answered.status_code == 303
    assert invited.number not in answered.headers["location"]
    return invited


def _fields(engine: Engine, **overrides: str) -> dict[str, str]:
    """A complete, valid residential registration of customer0010."""
    [(esiid, meter)] = meters_of(engine, UNREGISTERED)[:1]
    values = {
        "first_name": "Chika",
        "middle_initial": "",
        "last_name": "Akin",
        "suffix": "",
        "phone": "555-0123",
        "email": "chika@example.net",
        "email_again": "chika@example.net",
        "language": "",
        "username": "chika",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "esiid": esiid,
        "meter_number": meter,
        "billing_zip": billing_zip(engine, esiid),
    }
    values.update(overrides)
    return values


def _submit(portal: Portal, kind: str, fields: dict[str, str]) -> tuple[int, str, str]:
    csrf = page_csrf(portal.client, f"/register/{kind}")
    response = portal.client.post(f"/register/{kind}", data={"csrf": csrf, **fields})
    return response.status_code, response.headers.get("location", ""), response.text


def _registered_count(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.scalar(
            select(func.count())
            .select_from(RetailCustomer)
            .where(RetailCustomer.username.is_not(None))
        )
    return int(count or 0)


def _selected_language(page: str) -> str | None:
    match = re.search(r'<option value="([^"]*)" selected>', page)
    return match.group(1) if match else None


def test_register_offers_the_residential_and_business_pages(portal: Portal) -> None:
    page = portal.client.get("/register")
    assert page.status_code == 200
    assert link_href(page.text, "register-residential") == "/register/residential"
    assert link_href(page.text, "register-business") == "/register/business"
    assert portal.client.get("/register/industrial").status_code == 404


def test_fr15_after_answering_the_form_is_prefilled_from_the_agreement(portal: Portal) -> None:
    _answered(portal, language=Language.SPANISH)
    [(esiid, meter)] = meters_of(portal.engine, UNREGISTERED)[:1]
    confirmation = portal.client.get("/agreements/invitation/answered").text
    register_url = link_href(confirmation, "register-link")
    assert register_url == "/register/residential"

    page = portal.client.get(register_url).text

    assert "Sunny Solar" in text_of(page, "prefilled")
    prefilled = {
        name: form_value(page, name)
        for name in ("first_name", "last_name", "phone", "email", "email_again", "esiid")
    }
    assert prefilled == {
        "first_name": "Chika",
        "last_name": "Akin",
        "phone": "555-0123",
        "email": "chika@example.net",
        "email_again": "chika@example.net",
        "esiid": esiid,
    }
    assert form_value(page, "meter_number") == meter
    assert form_value(page, "billing_zip") == ""  # the proof is the registrant's to give
    assert _selected_language(page) == Language.SPANISH.value


def test_fr1_the_business_page_has_no_language_preference(portal: Portal) -> None:
    _answered(portal, CustomerClass.BUSINESS)
    confirmation = portal.client.get("/agreements/invitation/answered").text
    assert link_href(confirmation, "register-link") == "/register/business"

    page = portal.client.get("/register/business").text

    assert "Create a Business Customer Account" in page
    assert form_value(page, "last_name") == "Akin"
    assert 'name="language"' not in page
    assert 'name="language"' in portal.client.get("/register/residential").text


def test_without_an_answered_agreement_the_form_is_empty(portal: Portal) -> None:
    page = portal.client.get("/register/residential")
    assert page.status_code == 200
    assert 'id="prefilled"' not in page.text
    assert form_value(page.text, "first_name") == ""
    assert form_value(page.text, "esiid") == ""


def test_a_valid_registration_sets_the_login_and_signs_the_customer_in(portal: Portal) -> None:
    invited = _answered(portal)
    customer = customer_of(portal.engine, invited.number)

    status, location, _ = _submit(
        portal, "residential", _fields(portal.engine, language="es", email="Chika@Example.net")
    )

    assert (status, location) == (303, "/portal/agreements")
    listing = portal.client.get(location)
    assert listing.status_code == 200
    assert f'data-agreement="{invited.number}"' in listing.text
    person = customer_row(portal.engine, customer)
    assert person.username == "chika"
    assert verify_password(PASSWORD, person.password_hash)
    assert PASSWORD not in str(person.password_hash)
    assert (person.email, person.phone, person.language) == ("chika@example.net", "555-0123", "es")
    # The new login works on the sign-in page too.
    portal.client.cookies.clear()
    sign_in(portal.client, "chika", PASSWORD)
    assert portal.client.get("/portal/agreements").status_code == 200


def test_after_registering_the_confirmation_offers_sign_in(portal: Portal) -> None:
    rows = meters_of(portal.engine, UNREGISTERED)[:1]
    [invited] = initiate(portal.engine, portal.party, unregistered_form(rows))
    assert _submit(portal, "residential", _fields(portal.engine))[0] == 303
    csrf = page_csrf(portal.client, invited.reject_url)
    portal.client.post(invited.reject_url, data={"csrf": csrf})

    page = portal.client.get("/agreements/invitation/answered").text

    # FR 6 follows the customer as they are now, not as they were at initiation.
    assert link_href(page, "sign-in-link") == "/login?next=/portal/agreements"
    assert 'id="register-link"' not in page
    assert 'id="prefilled"' not in portal.client.get("/register/residential").text


def _assert_refused(portal: Portal, response: tuple[int, str, str], status: int) -> str:
    code, _, page = response
    assert code == status, page
    assert _registered_count(portal.engine) == 9  # customers 1-9, as seeded
    assert form_value(page, "first_name") == "Chika"  # what was typed is kept ...
    assert PASSWORD not in page  # ... but never a password
    return text_of(page, "register-error")


def test_a_wrong_billing_zip_is_refused(portal: Portal) -> None:
    message = _assert_refused(
        portal, _submit(portal, "residential", _fields(portal.engine, billing_zip="99999")), 400
    )
    assert "do not match an open account" in message


def test_a_pair_that_is_not_held_is_refused_with_the_same_message(portal: Portal) -> None:
    [(_, other_meter)] = meters_of(portal.engine, "customer0003")[:1]
    message = _assert_refused(
        portal,
        _submit(portal, "residential", _fields(portal.engine, meter_number=other_meter)),
        400,
    )
    assert "do not match an open account" in message


@pytest.mark.parametrize("username", ["customer0001", "CUSTOMER0001"])
def test_a_taken_user_id_is_refused(portal: Portal, username: str) -> None:
    message = _assert_refused(
        portal, _submit(portal, "residential", _fields(portal.engine, username=username)), 409
    )
    assert "user ID is taken" in message


def test_an_already_registered_customer_is_refused(portal: Portal) -> None:
    [(esiid, meter)] = meters_of(portal.engine, "customer0002")[:1]
    fields = _fields(
        portal.engine,
        esiid=esiid,
        meter_number=meter,
        billing_zip=billing_zip(portal.engine, esiid),
    )
    message = _assert_refused(portal, _submit(portal, "business", fields), 409)
    assert "already registered" in message


def test_registering_twice_is_refused_the_second_time(portal: Portal) -> None:
    first, second = _fields(portal.engine), _fields(portal.engine, username="chika2")
    assert _submit(portal, "residential", first)[0] == 303
    portal.client.cookies.clear()
    code, _, page = _submit(portal, "residential", second)
    assert code == 409
    assert "already registered" in text_of(page, "register-error")
    assert _usernames(portal.engine, "chika%") == ["chika"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"email_again": "other@example.net"}, "two email addresses differ"),
        ({"email": "not-an-address", "email_again": "not-an-address"}, "not an email address"),
        ({"password": "short", "password_again": "short"}, "at least 8 characters"),
        ({"password_again": "a different password"}, "two passwords differ"),
        ({"username": "a b"}, "User ID"),
        ({"last_name": ""}, "Last Name is required"),
        ({"billing_zip": "1234"}, "Billing ZIP code"),
        ({"esiid": "1044<script>"}, "ESI ID"),
        ({"language": "xx"}, "Language Preference"),
        ({"middle_initial": "AB"}, "Middle Initial"),
    ],
)
def test_invalid_details_are_refused_with_a_message(
    portal: Portal, overrides: dict[str, str], expected: str
) -> None:
    message = _assert_refused(
        portal, _submit(portal, "residential", _fields(portal.engine, **overrides)), 400
    )
    assert expected in message


def test_a_refused_form_escapes_what_was_typed(portal: Portal) -> None:
    typed = '"><script>alert(1)</script>'
    code, _, page = _submit(
        portal, "residential", _fields(portal.engine, suffix=typed, billing_zip="99999")
    )
    assert code == 400
    assert "<script>alert(1)" not in page
    assert form_value(page, "suffix") == typed  # escaped in the page, intact once parsed


def test_registration_needs_the_session_csrf_token(portal: Portal) -> None:
    response = portal.client.post(
        "/register/residential", data={"csrf": "forged", **_fields(portal.engine)}
    )
    assert response.status_code == 403
    assert _registered_count(portal.engine) == 9


def _usernames(engine: Engine, pattern: str) -> list[str]:
    with engine.connect() as connection:
        found = connection.scalars(
            select(RetailCustomer.username).where(RetailCustomer.username.like(pattern))
        )
        return [str(name) for name in found]
