"""View & Edit Customer Agreement: the blocks, the buttons (FR 10, FR 16) and their actions."""

from __future__ import annotations

import re
from html import unescape

from opencustodian.domain.agreements import mask_esiid
from tests.agreements import ONGOING, UNREGISTERED, meters_of
from tests.functional.partner.helpers import (
    answer,
    csrf_of,
    set_report,
    status_of,
    unregistered_agreement,
)

CSV = b"ESIID,Meter Number,Start,End,kWh\r\n104437200000000101,E00000101,a,b,1.5\r\n"


def tag(page: str, element_id: str) -> str | None:
    """The opening tag of the element with ``element_id``."""
    match = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', page)
    return match.group(0) if match else None


def active(page: str, element_id: str) -> bool:
    found = tag(page, element_id)
    assert found is not None, f"no #{element_id}"
    return " disabled" not in found


def reason(page: str, element_id: str) -> str:
    match = re.search(rf'<li id="{re.escape(element_id)}-why">([^<]*)</li>', page)
    assert match, f"no reason for #{element_id}"
    _label, _, why = unescape(match.group(1)).partition(": ")
    return why


def post(browser, number: str, action: str, **data: str):
    csrf = csrf_of(browser, "/partner/agreements")
    return browser.post(f"/partner/agreements/{number}/{action}", data={"csrf": csrf, **data})


def test_the_page_shows_the_seeds_blocks(portal):
    number = unregistered_agreement(portal)
    esiid, meter = meters_of(portal.engine, UNREGISTERED)[0]
    page = portal.browser("sunny-viewer").get(f"/partner/agreements/{number}")
    assert page.status_code == 200
    text = unescape(page.text)
    for heading in ("Customer Information", "3rd Party Information", "Meter Data"):
        assert heading in text
    assert '<dd id="number">' + number in text
    assert f'<dd id="esiid">{esiid}</dd>' in text
    assert mask_esiid(esiid) not in text
    assert f'<dd id="meter-number">{meter}</dd>' in text
    assert '<dd id="kind">One-Time Energy Data</dd>' in text
    assert "Pending</dd>" in text
    assert '<dd id="start-date">N/A</dd>' in text
    assert '<dd id="end-date">N/A</dd>' in text
    assert '<dd id="report-type">Daily csv</dd>' in text
    assert '<dd id="report-duration">1 month</dd>' in text
    assert '<dd id="comments">Solar sizing</dd>' in text
    assert "400 N Olive Street, Sunnyville, TX 75012" in text
    assert "Jamie Rivera" in text  # the contact the agreement was initiated with
    assert re.search(r'<dd id="invitation-expiry">\d\d/\d\d/\d{4} \d\d:\d\d E[SD]T</dd>', text)


def test_another_companys_agreement_is_not_found(portal):
    number = unregistered_agreement(portal)
    browser = portal.browser("other-admin")
    assert browser.get(f"/partner/agreements/{number}").status_code == 404
    assert browser.get(f"/partner/agreements/{number}/report.csv").status_code == 404
    for action in ("resend", "terminate", "extend"):
        assert post(browser, number, action, term="12").status_code == 404
    for bogus in ("12345", "abcdefghijkl", "0000000000000"):
        assert browser.get(f"/partner/agreements/{bogus}").status_code == 404
    assert portal.mailer.sent[-1][0] == "EM201"  # no resend happened
    assert status_of(portal.engine, number) == "pending"


def test_resend_email_is_active_only_while_pending(portal):
    """FR 16, and EM202 sent after the commit."""
    number = unregistered_agreement(portal)
    browser = portal.browser("sunny-agent")
    page = browser.get(f"/partner/agreements/{number}").text
    assert active(page, "action-resend")
    response = post(browser, number, "resend")
    assert response.status_code == 303
    assert response.headers["location"] == f"/partner/agreements/{number}?done=resent"
    assert [kind for kind, _view, _token in portal.mailer.sent] == ["EM201", "EM202"]
    assert portal.jobs.emails == 1
    assert (
        "The invitation email was sent to the customer again."
        in browser.get(response.headers["location"]).text
    )
    answer(portal, accept=False)  # the customer rejects: no longer Pending
    page = browser.get(f"/partner/agreements/{number}").text
    assert not active(page, "action-resend")
    assert reason(page, "action-resend") == (
        "Resend Email is active only while the agreement is Pending (FR 16)."
    )
    refused = post(browser, number, "resend")
    assert refused.status_code == 403
    assert "only while the agreement is Pending (FR 16)" in refused.text
    assert [kind for kind, _view, _token in portal.mailer.sent].count("EM202") == 1
    assert portal.jobs.emails == 1


def test_a_viewer_sees_inactive_buttons_and_is_refused(portal):
    """FR 10: only actions the user's role permits are active; the server refuses the rest."""
    number = unregistered_agreement(portal)
    browser = portal.browser("sunny-viewer")
    page = browser.get(f"/partner/agreements/{number}").text
    assert not active(page, "action-resend")
    assert reason(page, "action-resend") == "Your role (Viewer) does not allow this (FR 10)."
    refused = post(browser, number, "resend")
    assert refused.status_code == 403
    assert "Your role (Viewer) does not allow this (FR 10)." in unescape(refused.text)
    assert [kind for kind, _view, _token in portal.mailer.sent] == ["EM201"]
    assert portal.jobs.emails == 0


def test_terminate_an_active_ongoing_agreement(portal):
    number = unregistered_agreement(portal, ONGOING)
    answer(portal, accept=True)
    assert status_of(portal.engine, number) == "active"
    agent = portal.browser("sunny-agent")
    page = agent.get(f"/partner/agreements/{number}").text
    assert not active(page, "action-terminate")
    assert not active(page, "action-resend")
    assert reason(page, "action-terminate") == "Your role (Agent) does not allow this (FR 10)."
    assert post(agent, number, "terminate").status_code == 403
    assert status_of(portal.engine, number) == "active"
    admin = portal.browser("sunny-admin")
    page = admin.get(f"/partner/agreements/{number}").text
    assert active(page, "action-terminate")
    assert 'data-confirm="Terminate agreement' in page
    response = post(admin, number, "terminate")
    assert response.status_code == 303
    assert status_of(portal.engine, number) == "terminated"
    # The agreement's grant ended: its BatchList notification is sent after the commit.
    assert portal.jobs.notifications == 1
    page = admin.get(response.headers["location"]).text
    assert "Terminated</dd>" in page
    assert not active(page, "action-terminate")
    again = post(admin, number, "terminate")
    assert again.status_code == 403
    assert "Only an Active agreement can be terminated." in again.text


def test_ask_the_customer_to_extend(portal):
    number = unregistered_agreement(portal, ONGOING)
    answer(portal, accept=True)
    admin = portal.browser("sunny-admin")
    assert active(admin.get(f"/partner/agreements/{number}").text, "action-extend")
    bad = post(admin, number, "extend", term="7")
    assert bad.status_code == 400
    assert "Choose how long to extend the agreement by." in bad.text
    assert status_of(portal.engine, number) == "active"
    assert post(portal.browser("sunny-agent"), number, "extend", term="12").status_code == 403
    sent = len(portal.mailer.sent)
    response = post(admin, number, "extend", term="12")
    assert response.status_code == 303
    assert status_of(portal.engine, number) == "extension_pending"
    assert len(portal.mailer.sent) == sent + 1  # a new invitation, for the extension
    page = admin.get(f"/partner/agreements/{number}").text
    assert "Extension Pending</dd>" in page
    assert 'id="proposed-end-date"' in page


def test_the_report_downloads_once_it_is_built(portal):
    number = unregistered_agreement(portal)
    browser = portal.browser("sunny-viewer")
    # Pending: nothing to download yet.
    assert not active(browser.get(f"/partner/agreements/{number}").text, "action-download-report")
    assert browser.get(f"/partner/agreements/{number}/report.csv").status_code == 403
    answer(portal, accept=True)
    assert status_of(portal.engine, number) == "complete"
    page = browser.get(f"/partner/agreements/{number}").text
    assert not active(page, "action-download-report")
    assert reason(page, "action-download-report") == (
        "The report is being prepared; it will be ready shortly."
    )
    waiting = browser.get(f"/partner/agreements/{number}/report.csv")
    assert waiting.status_code == 409
    assert "being prepared" in waiting.text
    set_report(portal.engine, number, "ready", CSV)
    page = browser.get(f"/partner/agreements/{number}").text
    assert active(page, "action-download-report")
    download = browser.get(f"/partner/agreements/{number}/report.csv")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="agreement-{number}-daily.csv"'
    )
    assert download.content == CSV
    set_report(portal.engine, number, "failed")
    failed = browser.get(f"/partner/agreements/{number}/report.csv")
    assert failed.status_code == 409
    assert "could not be built" in failed.text


def test_actions_need_the_forms_csrf_token(portal):
    number = unregistered_agreement(portal)
    browser = portal.browser("sunny-admin")
    for data in ({}, {"csrf": "forged"}):
        response = browser.post(f"/partner/agreements/{number}/resend", data=data)
        assert response.status_code == 403
    assert [kind for kind, _view, _token in portal.mailer.sent] == ["EM201"]
