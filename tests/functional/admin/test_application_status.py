"""Suspending, reinstating and revoking a third party: tokens, grants and notifications."""

from __future__ import annotations

from sqlalchemy import select

from opencustodian.protocols.espi.uris import application_information_uri
from opencustodian.storage.db import session_factory
from opencustodian.storage.models import AuditEvent, Grant
from tests.functional.admin.conftest import csrf_of
from tests.functional.admin.helpers import api_status, application, client_token, customer_token


def act(admin, custodian, action: str) -> int:
    tp = custodian.third_party
    url = f"{custodian.base_url}/admin/apps/{tp.application_id}"
    response = admin.post(f"{url}/{action}", data={"csrf": csrf_of(admin, url)})
    status: int = response.status_code
    return status


def status_events(custodian) -> list[dict[str, object]]:
    with session_factory(custodian.engine)() as session:
        return list(
            session.scalars(
                select(AuditEvent.data)
                .where(AuditEvent.tag == "registration:application:status-changed")
                .order_by(AuditEvent.id)
            )
        )


def test_suspension_stops_every_token_at_once_and_reinstating_restores_them(
    custodian, admin, receiver
):
    tp = custodian.third_party
    base = custodian.base_url
    information = application_information_uri(base, tp.application_id)
    token = customer_token(base, tp.client_id, tp.client_secret, tp.redirect_uri)
    assert api_status(token) == 200
    assert client_token(base, tp.client_id, tp.client_secret).status_code == 200

    assert act(admin, custodian, "suspend") == 303
    stored = application(custodian.engine, tp.client_id)
    assert stored.status == "suspended"
    assert api_status(token) == 401
    refused = client_token(base, tp.client_id, tp.client_secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    receiver.wait_for(information)
    page = admin.get(f"{base}/admin/apps/{tp.application_id}")
    assert 'id="status" class="status-suspended"' in page.text

    assert act(admin, custodian, "suspend") == 409  # already suspended
    assert act(admin, custodian, "reinstate") == 303
    reinstated = application(custodian.engine, tp.client_id)
    assert reinstated.status == "production"
    assert reinstated.status_changed_at >= stored.status_changed_at
    assert api_status(token) == 200
    assert client_token(base, tp.client_id, tp.client_secret).status_code == 200
    receiver.wait_for(information, times=2)
    assert [(e["from"], e["to"]) for e in status_events(custodian)] == [
        ("production", "suspended"),
        ("suspended", "production"),
    ]


def test_revocation_ends_every_grant_and_is_final(custodian, admin, receiver):
    tp = custodian.third_party
    base = custodian.base_url
    token = customer_token(base, tp.client_id, tp.client_secret, tp.redirect_uri)
    assert api_status(token) == 200
    listing = admin.get(f"{base}/admin")
    assert '<td class="active-grants">1</td>' in listing.text

    assert act(admin, custodian, "revoke") == 303
    receiver.wait_for(application_information_uri(base, tp.application_id))
    assert application(custodian.engine, tp.client_id).status == "revoked"
    assert api_status(token) == 401
    with session_factory(custodian.engine)() as session:
        grants = list(session.scalars(select(Grant).where(Grant.kind == "customer")))
    assert grants
    assert {(g.status, g.end_reason) for g in grants} == {("revoked", "admin_revoked")}
    receiver.wait_for(token["authorizationURI"])

    assert act(admin, custodian, "reinstate") == 409
    assert act(admin, custodian, "suspend") == 409
    assert application(custodian.engine, tp.client_id).status == "revoked"
    assert api_status(token) == 401
    listing = admin.get(f"{base}/admin")
    assert '<td class="active-grants">0</td>' in listing.text


def test_status_of_an_unknown_application_is_404(custodian, admin):
    base = custodian.base_url
    url = f"{base}/admin/apps/00000000-0000-0000-0000-000000000000"
    assert admin.get(url).status_code == 404
    csrf = csrf_of(admin, f"{base}/admin")
    assert admin.post(f"{url}/suspend", data={"csrf": csrf}).status_code == 404
    assert admin.get(f"{base}/admin/apps/not-a-uuid").status_code == 404
