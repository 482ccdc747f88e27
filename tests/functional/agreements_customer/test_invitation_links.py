"""The emailed Accept and Reject links (seed 003 P2.1; BR 8, FR 6, FR 13, FR 14).

A GET shows the agreement and one button and changes nothing (mail scanners prefetch links);
the POST answers once, then the confirmation page follows the customer's registration (FR 6).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from opencustodian.domain.agreements import (
    AgreementStatus,
    CustomerClass,
    InvitationOutcome,
    mask_esiid,
)
from opencustodian.kit.time import utc_now
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import ThirdPartyApplication
from tests.agreements import (
    ONGOING,
    UNREGISTERED,
    RecordingMailer,
    customer_email,
    meters_of,
    registered_form,
    service,
    unregistered_form,
)
from tests.functional.agreements_customer.helpers import (
    agreement_id,
    customer_of,
    expire_invitation,
    initiate,
    invitations_used,
    link_href,
    page_csrf,
    status_of,
    text_of,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.functional.agreements_customer.helpers import Invited, Portal


def _registered(portal: Portal, username: str = "customer0002") -> Invited:
    email = customer_email(portal.engine, username)
    form = registered_form(meters_of(portal.engine, username)[:1], email)
    [invited] = initiate(portal.engine, portal.party, form)
    return invited


def _unregistered(portal: Portal, customer_class: CustomerClass | None = None) -> Invited:
    rows = meters_of(portal.engine, UNREGISTERED)[:1]
    form = (
        unregistered_form(rows)
        if customer_class is None
        else unregistered_form(rows, customer_class=customer_class)
    )
    [invited] = initiate(portal.engine, portal.party, form)
    return invited


def _answer(portal: Portal, url: str) -> tuple[int, str]:
    """Open the link, press its button; the POST's status and where it sent the browser."""
    response = portal.client.post(url, data={"csrf": page_csrf(portal.client, url)})
    return response.status_code, response.headers.get("location", "")


def test_opening_the_accept_link_shows_the_agreement_and_changes_nothing(portal: Portal) -> None:
    invited = _registered(portal)
    [(esiid, meter)] = meters_of(portal.engine, "customer0002")[:1]

    for _ in range(2):  # a mail scanner's prefetch, then the customer
        page = portal.client.get(invited.accept_url)
        assert page.status_code == 200, page.text
    body = page.text

    assert text_of(body, "company") == "Sunny Solar"
    assert text_of(body, "agreement-number") == invited.number
    assert "Daily usage data for the last 1 month" in text_of(body, "description")
    assert text_of(body, "esiid") == mask_esiid(esiid)
    assert esiid not in body
    assert text_of(body, "meter") == meter
    assert text_of(body, "privacy-policy") == "The Privacy Policy has not been provided."
    assert "You have until" in text_of(body, "expiry")
    assert "Accept agreement" in body
    assert "Reject agreement" not in body
    assert f'action="{invited.accept_url}"' in body
    assert status_of(portal.engine, invited.number) is AgreementStatus.PENDING
    assert invitations_used(portal.engine, invited.number) == [False]
    assert portal.mailer.sent == []
    assert portal.jobs.calls == []


def test_the_reject_link_offers_only_the_reject_button(portal: Portal) -> None:
    invited = _registered(portal)
    page = portal.client.get(invited.reject_url)
    assert page.status_code == 200
    assert "Reject agreement" in page.text
    assert "Accept agreement" not in page.text
    assert status_of(portal.engine, invited.number) is AgreementStatus.PENDING


def test_the_privacy_policy_is_a_link_only_when_it_is_a_web_address(portal: Portal) -> None:
    invited = _registered(portal)
    for uri, linked in (
        ("https://sunny.example/privacy", True),
        ("javascript:alert(1)", False),
    ):
        with transaction(session_factory(portal.engine)) as session:
            session.execute(
                update(ThirdPartyApplication)
                .where(ThirdPartyApplication.id == portal.party)
                .values(privacy_policy_uri=uri)
            )
        page = portal.client.get(invited.accept_url).text
        assert text_of(page, "privacy-policy") == uri
        assert (f'href="{uri}"' in page) is linked


def test_a_registered_customer_accepts_and_sees_congratulations_with_optional_sign_in(
    portal: Portal,
) -> None:
    invited = _registered(portal)

    status, location = _answer(portal, invited.accept_url)

    assert (status, location) == (303, "/agreements/invitation/answered")
    assert invited.token not in location
    assert status_of(portal.engine, invited.number) is AgreementStatus.COMPLETE
    confirmation = portal.client.get(location)
    assert confirmation.status_code == 200
    assert "Congratulations" in confirmation.text
    assert text_of(confirmation.text, "status") == "Complete"
    assert link_href(confirmation.text, "sign-in-link") == "/login?next=/portal/agreements"
    assert 'id="register-link"' not in confirmation.text
    # EM203 went to the mailer in the same transaction; mail and report jobs only after it.
    assert [kind for kind, _, _ in portal.mailer.sent] == ["EM203"]
    assert portal.jobs.calls == [
        ("emails", None),
        ("report", agreement_id(portal.engine, invited.number)),
    ]


@pytest.mark.parametrize("business", [False, True])
def test_an_unregistered_customer_accepts_and_is_sent_to_the_right_registration_page(
    portal: Portal, *, business: bool
) -> None:
    customer_class = CustomerClass.BUSINESS if business else CustomerClass.RESIDENTIAL
    invited = _unregistered(portal, customer_class)

    status, location = _answer(portal, invited.accept_url)

    assert status == 303
    assert status_of(portal.engine, invited.number) is AgreementStatus.COMPLETE
    page = portal.client.get(location).text
    assert "Congratulations" in page
    assert link_href(page, "register-link") == f"/register/{customer_class.value}"  # FR 6
    assert 'id="sign-in-link"' not in page
    assert invited.number not in link_href(page, "register-link")


def test_a_registered_customer_rejects(portal: Portal) -> None:
    invited = _registered(portal)

    status, location = _answer(portal, invited.reject_url)

    assert status == 303
    assert status_of(portal.engine, invited.number) is AgreementStatus.REJECTED
    page = portal.client.get(location).text
    assert "Agreement rejected" in page
    assert "Congratulations" not in page
    assert text_of(page, "status") == "Rejected"
    assert link_href(page, "sign-in-link") == "/login?next=/portal/agreements"
    assert [kind for kind, _, _ in portal.mailer.sent] == ["EM205"]
    assert portal.jobs.names() == ["emails"]  # no report for a rejection


def test_an_unregistered_customer_rejects_and_is_prompted_to_register(portal: Portal) -> None:
    invited = _unregistered(portal)

    status, location = _answer(portal, invited.reject_url)

    assert status == 303
    assert status_of(portal.engine, invited.number) is AgreementStatus.REJECTED
    page = portal.client.get(location).text
    assert "Agreement rejected" in page
    assert link_href(page, "register-link") == "/register/residential"


def test_a_post_without_the_session_csrf_token_changes_nothing(portal: Portal) -> None:
    invited = _registered(portal)
    portal.client.get(invited.accept_url)

    for data in ({}, {"csrf": "forged"}):
        refused = portal.client.post(invited.accept_url, data=data)
        assert refused.status_code == 403
    assert status_of(portal.engine, invited.number) is AgreementStatus.PENDING
    assert invitations_used(portal.engine, invited.number) == [False]


def _assert_closed(page: str, outcome: InvitationOutcome) -> None:
    assert text_of(page, "invitation-message") == outcome.message
    assert link_href(page, "agreements-link") == "/portal/agreements"


def test_br8_fr13_an_expired_invitation_says_so_on_get_and_post(portal: Portal) -> None:
    invited = _registered(portal)
    csrf = page_csrf(portal.client, invited.accept_url)
    expire_invitation(portal.engine, invited.number, utc_now() - timedelta(minutes=1))

    for url in (invited.accept_url, invited.reject_url):
        shown = portal.client.get(url)
        assert shown.status_code == 410
        _assert_closed(shown.text, InvitationOutcome.EXPIRED)
        posted = portal.client.post(url, data={"csrf": csrf})
        assert posted.status_code == 410
        _assert_closed(posted.text, InvitationOutcome.EXPIRED)
    assert status_of(portal.engine, invited.number) is AgreementStatus.PENDING
    assert invitations_used(portal.engine, invited.number) == [False]
    assert portal.mailer.sent == []


def test_fr14_a_used_link_cannot_answer_again(portal: Portal) -> None:
    invited = _registered(portal)
    assert _answer(portal, invited.accept_url)[0] == 303
    csrf = page_csrf(portal.client, "/login")

    for url in (invited.reject_url, invited.accept_url):
        shown = portal.client.get(url)
        assert shown.status_code == 410
        _assert_closed(shown.text, InvitationOutcome.STATUS_CHANGED)
        posted = portal.client.post(url, data={"csrf": csrf})
        assert posted.status_code == 410
        _assert_closed(posted.text, InvitationOutcome.STATUS_CHANGED)
    assert status_of(portal.engine, invited.number) is AgreementStatus.COMPLETE
    assert [kind for kind, _, _ in portal.mailer.sent] == ["EM203"]


def test_fr14_a_status_changed_meanwhile_voids_the_links(portal: Portal, engine: Engine) -> None:
    email = customer_email(engine, "customer0002")
    form = registered_form(meters_of(engine, "customer0002")[:1], email, ONGOING)
    [invited] = initiate(engine, portal.party, form)
    csrf = page_csrf(portal.client, invited.accept_url)
    # The customer accepted on the 3rd Party Agreements page in the meantime.
    with transaction(session_factory(engine)) as session:
        service(session, RecordingMailer(), utc_now()).answer_as_customer(
            customer_of(engine, invited.number), invited.number, accept=True
        )

    shown = portal.client.get(invited.reject_url)
    posted = portal.client.post(invited.reject_url, data={"csrf": csrf})

    for response in (shown, posted):
        assert response.status_code == 410
        _assert_closed(response.text, InvitationOutcome.STATUS_CHANGED)
        assert "3rd Party Agreements" in response.text
    assert status_of(engine, invited.number) is AgreementStatus.ACTIVE


@pytest.mark.parametrize(
    "token",
    [
        "kQ2v_9XbT-4mZr7LpN1cWd8eYh3uJs6oAf0gHi5jKl0",  # well-formed (43 chars), never issued
        "A" * 101,  # too long to be one of ours
        "abc$def",
        "abc.def",
        "%00%01",
        "%C3%A9t%C3%A9",
        "x" * 4000,
    ],
)
def test_an_unknown_or_malformed_token_is_404_and_never_500(portal: Portal, token: str) -> None:
    invited = _registered(portal)
    csrf = page_csrf(portal.client, invited.accept_url)

    for decision in ("accept", "reject"):
        url = f"/agreements/invitation/{token}/{decision}"
        shown = portal.client.get(url)
        assert shown.status_code == 404, shown.text
        _assert_closed(shown.text, InvitationOutcome.UNKNOWN)
        posted = portal.client.post(url, data={"csrf": csrf})
        assert posted.status_code == 404
        _assert_closed(posted.text, InvitationOutcome.UNKNOWN)
    assert status_of(portal.engine, invited.number) is AgreementStatus.PENDING


def test_a_real_token_with_an_unknown_decision_is_404(portal: Portal) -> None:
    invited = _registered(portal)
    url = f"/agreements/invitation/{invited.token}/maybe"
    csrf = page_csrf(portal.client, invited.accept_url)
    assert portal.client.get(url).status_code == 404
    assert portal.client.post(url, data={"csrf": csrf}).status_code == 404
    assert status_of(portal.engine, invited.number) is AgreementStatus.PENDING


def test_the_confirmation_page_without_an_answer_goes_to_the_agreements_page(
    portal: Portal,
) -> None:
    response = portal.client.get("/agreements/invitation/answered")
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/agreements"
