"""An accepted ongoing agreement opens the meter to its third party's API calls (issue #6).

While Active, the third party's CDS query token lists the agreement's service point and reads
its usage, and its ESPI client token lists the Authorization; terminating the agreement (by
the customer or the third party) stops both on the very next call. Another third party never
sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from opencustodian.domain.agreements import AgreementKind, AgreementTerms, OngoingTerm
from opencustodian.kit.time import utc_now
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import EnergyDataAgreement, ThirdPartyApplication
from tests.agreements import (
    RecordingMailer,
    customer_email,
    meters_of_on,
    registered_form,
    service,
)
from tests.custodian import live_custodian
from tests.functional.cds.helpers import EVERY_QUERY
from tests.functional.oauth.flows import client_tokens, read, unique_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian, ThirdParty

ONGOING = AgreementTerms(AgreementKind.ONGOING, term=OngoingTerm.ONE_YEAR)
CUSTOMER = "customer0002"


@pytest.fixture
def server(engine: Engine) -> Iterator[LiveCustodian]:
    """A live custodian over a small seeded utility."""
    with live_custodian(engine) as running:
        yield running


def _application_id(engine: Engine, party: ThirdParty) -> int:
    with engine.connect() as connection:
        found = connection.scalar(
            select(ThirdPartyApplication.id).where(
                ThirdPartyApplication.client_id == party.client_id
            )
        )
    assert found is not None
    return int(found)


def _active_agreement(engine: Engine, party: ThirdParty) -> tuple[str, str]:
    """An ongoing agreement for the customer's first meter, accepted; (number, ESIID)."""
    now = utc_now()
    rows = meters_of_on(engine, CUSTOMER, now.date())[:1]
    form = registered_form(rows, customer_email(engine, CUSTOMER), ONGOING)
    with transaction(session_factory(engine)) as session:
        agreements = service(session, RecordingMailer(), now)
        [number] = agreements.initiate(_application_id(engine, party), None, form)
    with transaction(session_factory(engine)) as session:
        customer = session.scalar(
            select(EnergyDataAgreement.retail_customer_id).where(
                EnergyDataAgreement.number == number
            )
        )
        assert customer is not None
        service(session, RecordingMailer(), now).answer_as_customer(customer, number, accept=True)
    return number, rows[0][0]


def _listed_esiids(http: httpx.Client, server: LiveCustodian, token: str) -> set[str]:
    response = http.get(
        f"{server.base_url}/cds/v1/service-points", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return {point["servicepoint_number"] for point in response.json()["service_points"]}


def _usage_count(http: httpx.Client, server: LiveCustodian, token: str) -> int:
    response = http.get(
        f"{server.base_url}/cds/v1/usage-segments", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return len(response.json()["usage_segments"])


def _authorizations(http: httpx.Client, server: LiveCustodian, token: str) -> str:
    response = read(http, f"{server.base_url}/espi/1_1/resource/Authorization", token)
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.parametrize("ended_by", ["third_party", "customer"])
def test_an_active_ongoing_agreement_opens_cds_and_espi_until_terminated(
    server: LiveCustodian, ended_by: str
) -> None:
    party = server.register(unique_name(), scopes=(EVERY_QUERY, "FB=35_67;"))
    stranger = server.register(unique_name(), scopes=(EVERY_QUERY, "FB=35_67;"))
    number, esiid = _active_agreement(server.engine, party)

    with httpx.Client(timeout=30) as http:
        query = client_tokens(http, server, party, EVERY_QUERY)["access_token"]
        bulk = client_tokens(http, server, party)["access_token"]
        strangers = client_tokens(http, server, stranger, EVERY_QUERY)["access_token"]
        assert esiid in _listed_esiids(http, server, query)
        assert _usage_count(http, server, query) > 0
        assert "<espi:Authorization" in _authorizations(http, server, bulk)
        assert esiid not in _listed_esiids(http, server, strangers)

        _terminate(server.engine, party, number, ended_by=ended_by)

        assert esiid not in _listed_esiids(http, server, query)
        assert _usage_count(http, server, query) == 0
    with server.engine.connect() as connection:
        status = connection.scalar(
            select(EnergyDataAgreement.status).where(EnergyDataAgreement.number == number)
        )
    assert status == "terminated"


def _terminate(engine: Engine, party: ThirdParty, number: str, *, ended_by: str) -> None:
    with transaction(session_factory(engine)) as session:
        agreements = service(session, RecordingMailer(), utc_now())
        if ended_by == "third_party":
            agreements.terminate_for_party(_application_id(engine, party), number)
            return
        customer = session.scalar(
            select(EnergyDataAgreement.retail_customer_id).where(
                EnergyDataAgreement.number == number
            )
        )
        assert customer is not None
        agreements.terminate_for_customer(customer, number)
