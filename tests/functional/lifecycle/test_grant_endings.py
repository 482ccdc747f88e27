"""Every way a grant ends cuts access on the very next call and notifies the third party."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select, update

from opencustodian.domain.consent import EndReason
from opencustodian.jobs.work import deliver_notifications, end_expired_grants, lifecycle_for
from opencustodian.kit.time import utc_now
from opencustodian.services.accounts import close_account, record_move_out
from opencustodian.storage.accounts import SqlAccountStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import Account, Grant, Notification, RetailCustomer
from tests.custodian import ELECTRIC_SCOPE, form_value, live_custodian, walk_consent
from tests.live import serving
from tests.receiver import Receiver, running_receiver


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
def custodian(engine, receiver):
    with live_custodian(engine, notification_uri=receiver.url) as running:
        yield running


def authorize(custodian) -> dict[str, str]:
    tp = custodian.third_party
    with httpx.Client() as http:
        redirect = walk_consent(
            http,
            custodian.base_url,
            {
                "response_type": "code",
                "client_id": tp.client_id,
                "redirect_uri": tp.redirect_uri,
                "scope": ELECTRIC_SCOPE,
                "state": "s",
            },
        )
        code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
        token = http.post(
            f"{custodian.base_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": tp.redirect_uri,
            },
            auth=(tp.client_id, tp.client_secret),
        )
    assert token.status_code == 200, token.text
    body: dict[str, str] = token.json()
    return body


def api_status(token: dict[str, str]) -> int:
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return httpx.get(token["authorizationURI"], headers=headers).status_code


def refresh_status(custodian, token: dict[str, str]) -> int:
    tp = custodian.third_party
    response = httpx.post(
        f"{custodian.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(tp.client_id, tp.client_secret),
    )
    return response.status_code


def first_account(custodian) -> str:
    with session_factory(custodian.engine)() as session:
        number = session.scalar(
            select(Account.account_number)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(RetailCustomer.username == "customer0001")
            .order_by(Account.id)
        )
    assert number
    return number


def test_customer_revocation_on_connected_apps(custodian, receiver):
    token = authorize(custodian)
    assert api_status(token) == 200
    with httpx.Client() as http:
        page = http.get(f"{custodian.base_url}/login").text
        http.post(
            f"{custodian.base_url}/login",
            data={
                "csrf": form_value(page, "csrf"),
                "next": "/portal/connected-apps",
                "username": "customer0001",
                "password": "demo-password",
            },
        )
        apps = http.get(f"{custodian.base_url}/portal/connected-apps").text
        grant_id = token["authorizationURI"].rsplit("/", 1)[1]
        assert f'data-grant="{grant_id}"' in apps
        revoked = http.post(
            f"{custodian.base_url}/portal/connected-apps/{grant_id}/revoke",
            data={"csrf": form_value(apps, "csrf")},
        )
        assert revoked.status_code == 303
        assert "customer revoked" in http.get(f"{custodian.base_url}/portal/connected-apps").text
    assert api_status(token) == 401
    assert refresh_status(custodian, token) == 400
    receiver.wait_for(token["authorizationURI"])


def test_expiry_cuts_access_at_once_and_the_sweep_notifies(custodian, receiver):
    token = authorize(custodian)
    with transaction(session_factory(custodian.engine)) as session:
        session.execute(update(Grant).values(authorized_end=utc_now() - timedelta(seconds=1)))
    assert api_status(token) == 401
    assert refresh_status(custodian, token) == 400
    assert end_expired_grants(session_factory(custodian.engine), custodian.base_url) == 1
    sessions = session_factory(custodian.engine)
    outcome = deliver_notifications(sessions)
    assert outcome.delivered == 1
    receiver.wait_for(token["authorizationURI"])
    with sessions() as session:
        assert session.scalar(select(Grant.status)) == "expired"


@pytest.mark.parametrize("change", [record_move_out, close_account], ids=["move-out", "closure"])
def test_move_out_and_account_closure_end_the_grant(custodian, receiver, change):
    token = authorize(custodian)
    assert api_status(token) == 200
    sessions = session_factory(custodian.engine)
    with transaction(sessions) as session:
        ended = change(
            SqlAccountStore(session),
            lifecycle_for(custodian.base_url)(session),
            first_account(custodian),
            day=utc_now().date(),
            now=utc_now(),
        )
    assert len(ended) == 1
    deliver_notifications(sessions)
    assert api_status(token) == 401
    assert refresh_status(custodian, token) == 400
    receiver.wait_for(token["authorizationURI"])


def test_a_failed_notification_is_retried_then_delivered(engine):
    receiver = Receiver()
    calls = {"count": 0}

    async def flaky(request: Request) -> Response:
        calls["count"] += 1
        if calls["count"] == 1:
            return Response(status_code=503)
        return await receiver.receive(request)

    app = FastAPI()
    app.add_api_route("/notify", flaky, methods=["POST"])
    with (
        serving(app) as base,
        live_custodian(engine, notification_uri=f"{base}/notify") as custodian,
    ):
        token = authorize(custodian)
        sessions = session_factory(custodian.engine)
        number = first_account(custodian)
        with transaction(sessions) as session:
            account = session.scalar(select(Account.id).where(Account.account_number == number))
            assert account is not None
            lifecycle_for(custodian.base_url)(session).end_for_accounts(
                [account], EndReason.MOVE_OUT, utc_now(), actor="test"
            )
        first = deliver_notifications(sessions)
        assert first.retrying == 1
        with transaction(sessions) as session:
            session.execute(update(Notification).values(next_attempt_at=utc_now()))
        second = deliver_notifications(sessions)
        assert second.delivered == 1
        receiver.wait_for(token["authorizationURI"])
        with sessions() as session:
            row = session.scalars(select(Notification)).one()
            assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)
