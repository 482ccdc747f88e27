"""The consent form never grants more than was asked for or more than is the customer's."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from opencustodian.storage.db import session_factory
from opencustodian.storage.models import Grant, ServicePoint
from tests.custodian import (
    BILLING_SCOPE,
    ELECTRIC_SCOPE,
    checkbox_values,
    form_value,
    live_custodian,
    sign_in,
)


@pytest.fixture
def custodian(engine):
    with live_custodian(engine) as running:
        yield running


def consent_form(http: httpx.Client, custodian) -> dict[str, str | list[str]]:
    """Sign in on an authorize request for the electric scope; the form it would submit."""
    tp = custodian.third_party
    query = {
        "response_type": "code",
        "client_id": tp.client_id,
        "redirect_uri": tp.redirect_uri,
        "scope": ELECTRIC_SCOPE,
        "state": "s",
    }
    first = http.get(f"{custodian.base_url}/oauth/authorize", params=query)
    page = sign_in(http, custodian.base_url, first.text)
    return {
        "csrf": form_value(page, "csrf"),
        "request_query": form_value(page, "request_query"),
        "decision": "accept",
        "duration": "365",
        "scope": checkbox_values(page, "scope"),
        "service_point": checkbox_values(page, "service_point"),
    }


def grants(custodian) -> int:
    with session_factory(custodian.engine)() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


def someone_elses_service_point(custodian, mine: list[str]) -> str:
    with session_factory(custodian.engine)() as session:
        ids = session.scalars(select(ServicePoint.id).where(ServicePoint.id.not_in(map(int, mine))))
        return str(next(iter(ids)))


@pytest.mark.parametrize("tamper", ["added scope", "other service point", "duration", "none"])
def test_a_tampered_consent_form_grants_nothing(custodian, tamper):
    with httpx.Client() as http:
        data = consent_form(http, custodian)
        mine = list(data["service_point"])
        if tamper == "added scope":
            data["scope"] = [*data["scope"], BILLING_SCOPE]
        elif tamper == "other service point":
            data["service_point"] = [*mine, someone_elses_service_point(custodian, mine)]
        elif tamper == "duration":
            data["duration"] = "99999"
        else:
            data["scope"] = []
        response = http.post(f"{custodian.base_url}/oauth/authorize", data=data)
    assert response.status_code == 400, response.text
    assert "invalid_choice" in response.text
    assert grants(custodian) == 0


def test_the_untouched_form_is_accepted(custodian):
    with httpx.Client() as http:
        data = consent_form(http, custodian)
        response = http.post(f"{custodian.base_url}/oauth/authorize", data=data)
    assert response.status_code == 302
    assert "code=" in response.headers["location"]
    assert grants(custodian) == 1
