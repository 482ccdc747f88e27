"""Operator sign-in, CSRF, the list of third parties and the registration form, over HTTP."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from opencustodian.storage.db import session_factory
from opencustodian.storage.models import AuditEvent, ThirdPartyApplication
from tests.custodian import BULK_SCOPE, ELECTRIC_SCOPE
from tests.functional.admin.conftest import ADMIN_USERNAME, csrf_of
from tests.functional.admin.helpers import application, client_token, code_text


def app_count(engine) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(ThirdPartyApplication)) or 0)


def test_every_admin_page_and_action_needs_an_operator_session(custodian):
    tp = custodian.third_party
    base = custodian.base_url
    with httpx.Client(timeout=30) as http:
        for path in ("/admin", "/admin/apps/new", f"/admin/apps/{tp.application_id}"):
            response = http.get(f"{base}{path}")
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/admin/login?next=")
        # A customer session is not an operator session.
        csrf = csrf_of(http, f"{base}/admin/login")
        response = http.post(f"{base}/admin/apps/{tp.application_id}/suspend", data={"csrf": csrf})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login")
    assert application(custodian.engine, tp.client_id).status == "production"


def test_a_wrong_password_is_refused(custodian):
    base = custodian.base_url
    with httpx.Client(timeout=30) as http:
        csrf = csrf_of(http, f"{base}/admin/login")
        response = http.post(
            f"{base}/admin/login",
            data={"csrf": csrf, "username": ADMIN_USERNAME, "password": "not the password"},
        )
        assert response.status_code == 401
        assert "do not match" in response.text
        assert http.get(f"{base}/admin").status_code == 303
        # Signing in without the form's CSRF token is refused too.
        response = http.post(
            f"{base}/admin/login",
            data={"username": ADMIN_USERNAME, "password": "correct horse battery staple"},
        )
        assert response.status_code == 403
        assert http.get(f"{base}/admin").status_code == 303


def test_forms_without_the_session_csrf_token_are_refused(custodian, admin):
    tp = custodian.third_party
    base = custodian.base_url
    for data in ({}, {"csrf": "forged"}):
        response = admin.post(f"{base}/admin/apps/{tp.application_id}/suspend", data=data)
        assert response.status_code == 403
        response = admin.post(f"{base}/admin/apps/{tp.application_id}/rotate-secret", data=data)
        assert response.status_code == 403
    assert application(custodian.engine, tp.client_id).status == "production"
    assert client_token(base, tp.client_id, tp.client_secret).status_code == 200
    before = app_count(custodian.engine)
    response = admin.post(
        f"{base}/admin/apps/new",
        data={"name": "Forged", "redirect_uris": "https://x.example/cb", "scopes": BULK_SCOPE},
    )
    assert response.status_code == 403
    assert app_count(custodian.engine) == before


def test_the_list_shows_each_application(custodian, admin):
    tp = custodian.third_party
    page = admin.get(f"{custodian.base_url}/admin")
    assert page.status_code == 200
    assert "Sunny Solar" in page.text
    assert tp.client_id in page.text
    assert f'data-application="{tp.application_id}"' in page.text
    detail = admin.get(f"{custodian.base_url}/admin/apps/{tp.application_id}")
    assert detail.status_code == 200
    assert "https://tp.example/callback" in detail.text
    assert tp.client_secret not in detail.text


def registration_form(csrf: str, **overrides: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "name": "Heat Pump Helper",
        "description": "Sizes heat pumps.",
        "contacts": "dev@hph.example\nops@hph.example",
        "website": "https://hph.example",
        "logo_uri": "https://hph.example/logo.png",
        "redirect_uris": "https://hph.example/callback\nhttps://hph.example/callback2",
        "scope_selection_uri": "https://hph.example/scopes",
        "notification_uri": "https://hph.example/notify",
        "scopes": f"{ELECTRIC_SCOPE}\n{BULK_SCOPE}",
        "environment": "production",
        **overrides,
    }


def test_registering_through_the_form_yields_working_credentials(custodian, admin):
    base = custodian.base_url
    csrf = csrf_of(admin, f"{base}/admin/apps/new")
    response = admin.post(f"{base}/admin/apps/new", data=registration_form(csrf))
    assert response.status_code == 201, response.text
    assert "Copy these now" in response.text
    client_id = code_text(response.text, "client-id")
    secret = code_text(response.text, "client-secret")
    registration_token = code_text(response.text, "registration-token")
    application_id = code_text(response.text, "application-id")

    stored = application(custodian.engine, client_id)
    assert str(stored.uuid) == application_id
    assert stored.status == "production"
    assert stored.redirect_uris == ["https://hph.example/callback", "https://hph.example/callback2"]
    assert stored.contacts == ["dev@hph.example", "ops@hph.example"]
    assert stored.notification_uri == "https://hph.example/notify"
    assert stored.client_secret_hash not in {None, secret}

    token = client_token(base, client_id, secret)
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]
    info = httpx.get(
        f"{base}/espi/1_1/resource/ApplicationInformation/{application_id}",
        headers={"Authorization": f"Bearer {registration_token}"},
    )
    assert info.status_code == 200, info.text
    assert client_id in info.text

    detail = admin.get(f"{base}/admin/apps/{application_id}")
    assert detail.status_code == 200
    assert secret not in detail.text
    assert registration_token not in detail.text
    with session_factory(custodian.engine)() as session:
        tags = set(session.scalars(select(AuditEvent.tag)))
    assert "registration:application:created" in tags


def test_a_validation_error_reshows_the_form_with_the_message(custodian, admin):
    base = custodian.base_url
    before = app_count(custodian.engine)
    cases = {
        "must use https": {"redirect_uris": "http://hph.example/callback"},
        "scopes:": {"scopes": "FB=banana;"},
        "name:": {"name": "   "},
        "environment:": {"environment": "staging"},
        "at most 500 characters": {"website": "https://hph.example/" + "a" * 600},
    }
    for message, override in cases.items():
        csrf = csrf_of(admin, f"{base}/admin/apps/new")
        response = admin.post(f"{base}/admin/apps/new", data=registration_form(csrf, **override))
        assert response.status_code == 400, (message, response.text)
        assert 'id="registration-error"' in response.text
        assert message in response.text
        # The operator's other answers are kept.
        assert "Sizes heat pumps." in response.text
    assert app_count(custodian.engine) == before


def test_rotating_the_secret_to_show_it_now(custodian, admin):
    tp = custodian.third_party
    base = custodian.base_url
    csrf = csrf_of(admin, f"{base}/admin/apps/{tp.application_id}")
    response = admin.post(
        f"{base}/admin/apps/{tp.application_id}/rotate-secret",
        data={"csrf": csrf, "delivery": "show"},
    )
    assert response.status_code == 200, response.text
    new_secret = code_text(response.text, "client-secret")
    assert new_secret != tp.client_secret
    assert client_token(base, tp.client_id, tp.client_secret).status_code == 401
    assert client_token(base, tp.client_id, new_secret).status_code == 200
    detail = admin.get(f"{base}/admin/apps/{tp.application_id}")
    assert new_secret not in detail.text
