"""The customer's "3rd Party Agreements" list and View & Edit page (seed 003, FR 13, FR 14)."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from opencustodian.domain.agreements import AgreementStatus, mask_esiid
from opencustodian.kit.time import utc_now
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import Account, EnergyDataAgreement, Grant
from tests.agreements import (
    ONGOING,
    UNREGISTERED,
    customer_email,
    meters_of,
    registered_form,
    unregistered_form,
)
from tests.custodian import form_value
from tests.functional.agreements_customer.helpers import (
    customer_of,
    expire_invitation,
    initiate,
    page_csrf,
    sign_in,
    status_of,
    text_of,
)

if TYPE_CHECKING:
    from opencustodian.domain.agreements import AgreementTerms
    from tests.functional.agreements_customer.helpers import Portal

LIST = "/portal/agreements"


def _for(portal: Portal, username: str, terms: AgreementTerms | None = None) -> str:
    """A new agreement for a registered customer's first meter; its number."""
    email = customer_email(portal.engine, username)
    rows = meters_of(portal.engine, username)[:1]
    form = registered_form(rows, email) if terms is None else registered_form(rows, email, terms)
    [invited] = initiate(portal.engine, portal.party, form)
    return invited.number


def _act(portal: Portal, number: str, action: str, **extra: str) -> tuple[int, str, str]:
    """Press a View & Edit button; the status, the redirect target and the page's text."""
    csrf = page_csrf(portal.client, f"{LIST}/{number}")
    response = portal.client.post(f"{LIST}/{number}/{action}", data={"csrf": csrf, **extra})
    return response.status_code, response.headers.get("location", ""), response.text


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-agreement="(\d+)">', page)


def test_the_pages_need_a_signed_in_customer(portal: Portal) -> None:
    for path in (LIST, f"{LIST}/123456789012"):
        response = portal.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path.replace('/', '%2F')}"


def test_the_portal_links_to_3rd_party_agreements(portal: Portal) -> None:
    sign_in(portal.client, "customer0002")
    page = portal.client.get("/portal").text
    assert page.count('href="/portal/agreements"') == 2  # the navigation and the home page
    assert "3rd Party Agreements" in page


def test_the_list_shows_every_agreement_naming_the_customer_newest_first(
    portal: Portal,
) -> None:
    now = utc_now()
    email = customer_email(portal.engine, "customer0001")
    rows = meters_of(portal.engine, "customer0001")
    older = initiate(
        portal.engine, portal.party, registered_form(rows[:1], email), now - timedelta(days=2)
    )
    newer = initiate(portal.engine, portal.party, registered_form(rows[1:2], email, ONGOING), now)
    someone_else = _for(portal, "customer0003")
    sign_in(portal.client, "customer0001")

    page = portal.client.get(LIST)

    assert page.status_code == 200
    assert _rows(page.text) == [newer[0].number, older[0].number]
    assert someone_else not in page.text
    row = re.search(rf'<tr data-agreement="{newer[0].number}">(.*?)</tr>', page.text, re.DOTALL)
    assert row is not None
    cells = [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in row.group(1).split("</td>")]
    assert cells[:6] == [
        "Sunny Solar",
        newer[0].number,
        "Ongoing Energy Data",
        "Pending",
        rows[1][1],
        mask_esiid(rows[1][0]),
    ]
    assert rows[1][0] not in page.text  # the list masks ESIIDs


def test_the_view_and_edit_page_shows_the_seed_blocks_and_pending_buttons(
    portal: Portal,
) -> None:
    number = _for(portal, "customer0002")
    [(esiid, meter)] = meters_of(portal.engine, "customer0002")[:1]
    sign_in(portal.client, "customer0002")

    page = portal.client.get(f"{LIST}/{number}")

    assert page.status_code == 200
    for block in ("3rd Party Information", "Customer Information", "Meter Data"):
        assert block in page.text
    assert text_of(page.text, "agreement-number") == number
    assert text_of(page.text, "status") == "Pending"
    assert text_of(page.text, "esiid") == esiid
    assert text_of(page.text, "meter") == meter
    assert 'id="accept"' in page.text
    assert 'id="reject"' in page.text
    assert 'id="terminate"' not in page.text


def test_accepting_on_the_page_completes_a_one_time_agreement(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    sign_in(portal.client, "customer0002")

    status, location, _ = _act(portal, number, "accept")

    assert (status, location) == (303, f"{LIST}/{number}?done=accept")
    assert status_of(portal.engine, number) is AgreementStatus.COMPLETE
    page = portal.client.get(location).text
    assert text_of(page, "agreement-done") == "You accepted the agreement."
    assert text_of(page, "status") == "Complete"
    assert 'id="accept"' not in page
    assert 'id="terminate"' not in page
    assert [kind for kind, _, _ in portal.mailer.sent] == ["EM203"]
    assert portal.jobs.names() == ["emails", "report"]


def test_rejecting_on_the_page(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    sign_in(portal.client, "customer0002")

    status, _, _ = _act(portal, number, "reject")

    assert status == 303
    assert status_of(portal.engine, number) is AgreementStatus.REJECTED
    assert [kind for kind, _, _ in portal.mailer.sent] == ["EM205"]


def test_terminating_an_active_agreement_needs_confirmation_and_ends_the_grant(
    portal: Portal,
) -> None:
    number = _for(portal, "customer0002", ONGOING)
    sign_in(portal.client, "customer0002")
    assert _act(portal, number, "accept")[0] == 303
    assert status_of(portal.engine, number) is AgreementStatus.ACTIVE
    page = portal.client.get(f"{LIST}/{number}").text
    assert 'id="terminate"' in page
    assert 'id="accept"' not in page

    status, _, body = _act(portal, number, "terminate")
    assert status == 400
    assert "Yes, end this agreement now" in text_of(body, "agreement-error")
    assert status_of(portal.engine, number) is AgreementStatus.ACTIVE

    status, location, _ = _act(portal, number, "terminate", confirm="yes")
    assert (status, location) == (303, f"{LIST}/{number}?done=terminate")
    assert status_of(portal.engine, number) is AgreementStatus.TERMINATED
    with portal.engine.connect() as connection:
        grant = connection.execute(
            select(Grant.status, Grant.end_reason)
            .join(EnergyDataAgreement, EnergyDataAgreement.grant_id == Grant.id)
            .where(EnergyDataAgreement.number == number)
        ).one()
    assert tuple(grant) == ("revoked", "customer_revoked")
    assert "notifications" in portal.jobs.names()  # the third party hears of the ended grant


def test_a_refused_action_is_a_409_message_and_changes_nothing(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    sign_in(portal.client, "customer0002")
    assert _act(portal, number, "accept")[0] == 303
    sent = len(portal.mailer.sent)

    for action, extra in (("reject", {}), ("terminate", {"confirm": "yes"})):
        status, _, body = _act(portal, number, action, **extra)
        assert status == 409
        assert "Complete" in text_of(body, "agreement-error")
        assert 'id="agreement-done"' not in body
    assert status_of(portal.engine, number) is AgreementStatus.COMPLETE
    assert len(portal.mailer.sent) == sent


def test_fr13_an_expired_invitation_cannot_be_answered_on_the_page(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    expire_invitation(portal.engine, number, utc_now() - timedelta(seconds=1))
    sign_in(portal.client, "customer0002")

    status, _, body = _act(portal, number, "accept")

    assert status == 409
    assert "expired" in text_of(body, "agreement-error")
    assert status_of(portal.engine, number) is AgreementStatus.PENDING


def test_another_customers_agreement_is_not_found(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    sign_in(portal.client, "customer0003")
    csrf = page_csrf(portal.client, LIST)

    assert portal.client.get(f"{LIST}/{number}").status_code == 404
    for action in ("accept", "reject", "terminate"):
        response = portal.client.post(
            f"{LIST}/{number}/{action}", data={"csrf": csrf, "confirm": "yes"}
        )
        assert response.status_code == 404
        assert "Agreement not found" in response.text
    assert number not in portal.client.get(LIST).text
    assert status_of(portal.engine, number) is AgreementStatus.PENDING


def test_malformed_numbers_and_actions_are_not_found(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    sign_in(portal.client, "customer0002")
    csrf = page_csrf(portal.client, LIST)

    for path in (f"{LIST}/abc", f"{LIST}/{'9' * 30}", f"{LIST}/999999999999"):
        assert portal.client.get(path).status_code == 404
    for path in (f"{LIST}/{number}/extend", f"{LIST}/x'--/accept"):
        assert portal.client.post(path, data={"csrf": csrf}).status_code == 404
    assert status_of(portal.engine, number) is AgreementStatus.PENDING


def test_actions_need_the_session_csrf_token(portal: Portal) -> None:
    number = _for(portal, "customer0002")
    sign_in(portal.client, "customer0002")
    response = portal.client.post(f"{LIST}/{number}/accept", data={"csrf": "forged"})
    assert response.status_code == 403
    assert status_of(portal.engine, number) is AgreementStatus.PENDING


def test_an_unregistered_customer_signed_in_by_account_sees_their_agreements(
    portal: Portal,
) -> None:
    rows = meters_of(portal.engine, UNREGISTERED)[:1]
    [invited] = initiate(portal.engine, portal.party, unregistered_form(rows))
    account_number, zip_code = _account_of(portal, invited.number)
    login = page_csrf(portal.client, "/login")
    signed_in = portal.client.post(
        "/login",
        data={"csrf": login, "next": LIST, "account_number": account_number, "zip": zip_code},
    )
    assert signed_in.headers["location"] == LIST

    assert _rows(portal.client.get(LIST).text) == [invited.number]
    assert _act(portal, invited.number, "accept")[0] == 303
    assert status_of(portal.engine, invited.number) is AgreementStatus.COMPLETE


def test_a_session_verified_for_one_account_sees_only_that_accounts_agreements(
    portal: Portal,
) -> None:
    first = _for(portal, "customer0002")
    second = _for(portal, "customer0002", ONGOING)
    customer = customer_of(portal.engine, second)
    with transaction(session_factory(portal.engine)) as session:
        other = Account(
            uuid=uuid.uuid4(),
            account_number="4999999999",
            customer_id=customer,
            account_class="commercial",
            billing_zip="12750",
            opened_on=date(2020, 1, 1),
        )
        session.add(other)
        session.flush()
        # The second agreement was initiated against the customer's other account.
        session.execute(
            update(EnergyDataAgreement)
            .where(EnergyDataAgreement.number == second)
            .values(account_id=other.id)
        )
    account_number, zip_code = _account_of(portal, first)
    login = page_csrf(portal.client, "/login")
    portal.client.post(
        "/login",
        data={"csrf": login, "next": LIST, "account_number": account_number, "zip": zip_code},
    )

    assert _rows(portal.client.get(LIST).text) == [first]
    assert portal.client.get(f"{LIST}/{second}").status_code == 404
    csrf = form_value(portal.client.get(LIST).text, "csrf")
    refused = portal.client.post(f"{LIST}/{second}/accept", data={"csrf": csrf})
    assert refused.status_code == 404
    assert status_of(portal.engine, second) is AgreementStatus.PENDING


def _account_of(portal: Portal, number: str) -> tuple[str, str]:
    """The account number and billing ZIP of the account an agreement was initiated against."""
    with portal.engine.connect() as connection:
        row = connection.execute(
            select(Account.account_number, Account.billing_zip)
            .join(EnergyDataAgreement, EnergyDataAgreement.account_id == Account.id)
            .where(EnergyDataAgreement.number == number)
        ).one()
    return str(row[0]), str(row[1])
