"""Initiating agreements on the form (seed 003 pages 1–2): FR 1, 2, 4, 5, 12, BR 10, refusals."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from opencustodian.domain.agreements import PAIR_NOT_VALID
from opencustodian.storage.db import session_factory
from opencustodian.storage.models import EnergyDataAgreement, RetailCustomer
from tests.agreements import ONE_TIME, UNREGISTERED, customer_email, meters_of, unregistered_form
from tests.custodian import form_value
from tests.functional.partner.helpers import agreement_count, csrf_of, initiate

NEW = "/partner/agreements/new"


def form_data(portal, **overrides: str) -> dict[str, str]:
    """A complete form for ``customer0010`` (not registered, residential), one-time, meter 1."""
    esiid, meter = meters_of(portal.engine, UNREGISTERED)[0]
    return {
        "kind": "one_time",
        "registered": "no",
        "customer_class": "residential",
        "first_name": "Chika",
        "middle_initial": "",
        "last_name": "Akin",
        "title": "",
        "language": "",
        "company_name": "",
        "street": "400 N Olive Street",
        "city": "Sunnyville",
        "state": "TX",
        "zip_code": "75012",
        "phone": "555-0123",
        "email": "chika@example.net",
        "esiid_1": esiid,
        "meter_1": meter,
        "report_type": "daily",
        "report_duration": "3m",
        "comments": "Solar sizing",
        "contact_name": "Jamie Rivera",
        "contact_phone": "555-0100",
        "contact_email": "jamie@sunny.example",
        "attest": "yes",
        **overrides,
    }


def submit(browser, data: dict[str, str]):
    csrf = csrf_of(browser, f"{NEW}?kind={data.get('kind', 'one_time')}")
    return browser.post(NEW, data={"csrf": csrf, **data})


def stored(engine) -> list[EnergyDataAgreement]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(EnergyDataAgreement).order_by(EnergyDataAgreement.id)))


def assert_nothing_written(portal) -> None:
    assert agreement_count(portal.engine) == 0
    assert portal.mailer.sent == []
    assert portal.jobs.emails == 0


def input_value(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, name
    return unescape(match.group(1))


def test_the_form_prefills_the_contact_and_shows_the_company_read_only(portal):
    page = portal.browser("sunny-agent").get(f"{NEW}?kind=one_time")
    assert page.status_code == 200
    # FR 5: contact name, phone and email come from the user's own profile, editable.
    assert input_value(page.text, "contact_name") == "Jamie Rivera Agent"
    assert input_value(page.text, "contact_phone") == "555-0199"
    assert input_value(page.text, "contact_email") == "agent@sunny.example"
    # FR 4: the company name is shown read-only and is not a form field at all.
    company = re.search(r'<input id="party_company"([^>]*)>', page.text)
    assert company is not None
    assert 'value="Sunny Solar"' in company.group(1)
    assert "readonly" in company.group(1)
    assert "name=" not in company.group(1)
    # FR 1: the language field is marked so the script can hide it; FR 2 is said on the form.
    assert "<div data-language>" in page.text
    assert 'name="language"' in page.text
    assert "only the customer's email address is needed" in page.text
    assert "15 minute interval csv" in page.text
    assert 'name="term"' not in page.text
    assert "I attest that I have the customer's authorization" in unescape(page.text)
    ongoing = portal.browser("sunny-agent").get(f"{NEW}?kind=ongoing")
    assert ongoing.status_code == 200
    assert 'name="term"' in ongoing.text
    assert 'name="report_type"' not in ongoing.text
    assert portal.browser("sunny-agent").get(f"{NEW}?kind=forever").status_code == 400


def test_one_agreement_per_meter_and_a_confirmation_listing_each(portal):
    browser = portal.browser("sunny-agent")
    (first, second) = meters_of(portal.engine, UNREGISTERED)
    data = form_data(
        portal,
        esiid_2=second[0],
        meter_2=second[1],
        contact_name="Jo Override",  # FR 5: the prefilled contact may be overwritten
        contact_email="JO@Sunny.Example",
    )
    response = submit(browser, data)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/partner/agreements/created?number=")
    rows = stored(portal.engine)
    assert [(row.esiid, row.meter_number) for row in rows] == [first, second]
    assert {row.status for row in rows} == {"pending"}
    assert {row.contact_name for row in rows} == {"Jo Override"}
    assert {row.contact_email for row in rows} == {"jo@sunny.example"}
    assert {row.application_id for row in rows} == {portal.sunny_id}
    # Each invitation went to the customer; delivery started once, after the commit.
    assert [kind for kind, _view, _token in portal.mailer.sent] == ["EM201", "EM201"]
    assert portal.jobs.emails == 1
    confirmation = browser.get(response.headers["location"])
    assert confirmation.status_code == 200
    for row in rows:
        assert f'<tr data-number="{row.number}">' in confirmation.text
    assert confirmation.text.count("Pending") == 2
    # The confirmation shows this company's agreements only.
    other = portal.browser("other-agent").get(response.headers["location"])
    assert other.status_code == 404


def test_the_company_name_is_never_taken_from_the_form(portal):
    data = form_data(portal, party_company="Evil Corp", company="Evil Corp")
    response = submit(portal.browser("sunny-admin"), data)
    assert response.status_code == 303, response.text
    (row,) = stored(portal.engine)
    assert "Evil Corp" not in repr(vars(row))
    ((_kind, view, _token),) = portal.mailer.sent
    assert view.company_name == "Sunny Solar"
    page = portal.browser("sunny-viewer").get(f"/partner/agreements/{row.number}")
    assert "Sunny Solar" in page.text
    assert "Evil Corp" not in page.text


def test_a_registered_customer_needs_only_the_email(portal):
    """FR 2: whatever else was typed, the customer block comes from the utility's records."""
    pair = meters_of(portal.engine, "customer0002")[0]
    email = customer_email(portal.engine, "customer0002")
    data = form_data(
        portal,
        registered="yes",
        customer_class="residential",
        first_name="Wrong",
        last_name="Person",
        street="",
        city="",
        state="",
        zip_code="",
        language="es",
        email=email.upper(),
        esiid_1=pair[0],
        meter_1=pair[1],
    )
    response = submit(portal.browser("sunny-agent"), data)
    assert response.status_code == 303, response.text
    (row,) = stored(portal.engine)
    with portal.engine.connect() as connection:
        person = connection.execute(
            select(RetailCustomer).where(RetailCustomer.username == "customer0002")
        ).one()
    assert (row.first_name, row.last_name) == (person.first_name, person.last_name)
    assert row.email == person.email
    assert row.customer_registered is True
    assert row.language is None
    # customer0002 is a business customer in the records; the form's "residential" is ignored.
    assert row.customer_class == "business"


def test_a_registered_customers_email_must_match(portal):
    pair = meters_of(portal.engine, "customer0001")[0]
    data = form_data(
        portal,
        registered="yes",
        email="someone.else@example.com",
        esiid_1=pair[0],
        meter_1=pair[1],
    )
    response = submit(portal.browser("sunny-agent"), data)
    assert response.status_code == 422
    assert "The ESIID/Meter #/Email combination specified is not valid" in response.text
    assert_nothing_written(portal)


def test_language_only_for_a_non_registered_residential_customer(portal):
    """FR 1: with scripts off the field is still posted; the server refuses it for a business."""
    browser = portal.browser("sunny-agent")
    refused = submit(browser, form_data(portal, customer_class="business", language="es"))
    assert refused.status_code == 422
    assert "Language Preference is asked only of residential customers (FR 1)" in refused.text
    assert_nothing_written(portal)
    unknown = submit(browser, form_data(portal, language="fr"))
    assert unknown.status_code == 400
    assert "Language Preference: choose one of the options." in unknown.text
    assert_nothing_written(portal)
    accepted = submit(browser, form_data(portal, language="es"))
    assert accepted.status_code == 303, accepted.text
    (row,) = stored(portal.engine)
    assert row.language == "es"


def test_a_bad_pair_shows_the_seeds_reasons_and_keeps_what_was_typed(portal):
    browser = portal.browser("sunny-agent")
    data = form_data(portal, meter_1="E99999999", comments="Call after 5pm", title="Dr")
    response = submit(browser, data)
    assert response.status_code == 422
    assert PAIR_NOT_VALID[0] in unescape(response.text)
    reasons = re.search(r'<ul id="form-reasons">(.*?)</ul>', response.text, re.DOTALL)
    assert reasons is not None
    for reason in PAIR_NOT_VALID[1:]:
        assert f"<li>{reason}</li>" in unescape(reasons.group(1))
    page = response.text
    assert form_value(page, "street") == "400 N Olive Street"
    assert form_value(page, "meter_1") == "E99999999"
    assert form_value(page, "title") == "Dr"
    assert form_value(page, "contact_name") == "Jamie Rivera"
    assert "Call after 5pm</textarea>" in page
    assert 'value="residential" checked' in page
    assert 'value="daily" checked' in page
    assert 'id="attest" checked' in page
    assert_nothing_written(portal)


def test_an_incomplete_form_is_a_400_and_writes_nothing(portal):
    browser = portal.browser("sunny-agent")
    cases = (
        ({"attest": ""}, "Confirm the attestation"),
        ({"registered": ""}, "Is customer already registered?"),
        ({"customer_class": ""}, "Is customer a residential or business customer?"),
        ({"report_type": ""}, "Choose the Report Type and the Report Duration."),
        ({"report_duration": "7y"}, "Report Duration: choose one of the options."),
        ({"comments": "x" * 1001}, "Comments: at most 1000 characters."),
    )
    for overrides, message in cases:
        response = submit(browser, form_data(portal, **overrides))
        assert response.status_code == 400, overrides
        assert message in unescape(response.text), overrides
    assert_nothing_written(portal)


def test_rule_refusals_are_a_422_never_a_500(portal):
    browser = portal.browser("sunny-agent")
    cases = (
        ({"first_name": "x" * 5000}, "First Name: at most 100 characters."),
        ({"state": "Texas"}, "State: the two-letter code, such as TX."),
        ({"esiid_1": "", "meter_1": ""}, "Give at least one ESIID and meter number (Meter 1)."),
        ({"esiid_2": "104437200000000102"}, "Meter 2: give both the ESIID and the meter number."),
        ({"contact_email": "not-an-email"}, "Contact Email"),
        ({"email": "nobody"}, "Email Address"),
    )
    for overrides, message in cases:
        response = submit(browser, form_data(portal, **overrides))
        assert response.status_code == 422, overrides
        assert message in unescape(response.text), overrides
    assert_nothing_written(portal)


def test_the_fourth_one_time_agreement_in_a_year_is_refused(portal):
    """BR 10: three one-time agreements per ESIID per year per third party."""
    pair = meters_of(portal.engine, UNREGISTERED)[0]
    for _ in range(3):
        initiate(portal, unregistered_form([pair], ONE_TIME))
    portal.mailer.sent.clear()
    response = submit(portal.browser("sunny-agent"), form_data(portal))
    assert response.status_code == 422
    assert "up to three One-Time Energy Data agreements per ESIID per year" in response.text
    assert agreement_count(portal.engine) == 3
    assert portal.mailer.sent == []
    # Another company has its own three.
    other = submit(portal.browser("other-agent"), form_data(portal))
    assert other.status_code == 303, other.text


def test_an_ongoing_agreement_takes_a_term(portal):
    browser = portal.browser("sunny-agent")
    missing = submit(browser, form_data(portal, kind="ongoing", term=""))
    assert missing.status_code == 400
    assert "Choose how long the ongoing agreement lasts." in missing.text
    response = submit(browser, form_data(portal, kind="ongoing", term="12"))
    assert response.status_code == 303, response.text
    (row,) = stored(portal.engine)
    assert (row.kind, row.term_months, row.report_type) == ("ongoing", 12, None)


def test_a_viewer_may_not_initiate(portal):
    """FR 10: the viewer's role has no Initiate permission: the form and its POST are 403."""
    browser = portal.browser("sunny-viewer")
    page = browser.get(f"{NEW}?kind=one_time")
    assert page.status_code == 403
    assert "Your role (Viewer) does not allow this action" in page.text
    csrf = csrf_of(browser, "/partner/agreements")
    response = browser.post(NEW, data={"csrf": csrf, **form_data(portal)})
    assert response.status_code == 403
    assert_nothing_written(portal)


def test_the_form_needs_its_csrf_token(portal):
    browser = portal.browser("sunny-agent")
    response = browser.post(NEW, data=form_data(portal))
    assert response.status_code == 403
    assert_nothing_written(portal)
