"""``GET``/``PUT /espi/1_1/resource/ApplicationInformation/{id}`` with the registration token."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from lxml import etree
from sqlalchemy import select

from opencustodian.profile import load_profile
from opencustodian.protocols.espi.names import ESPI_NS
from opencustodian.storage.admins import create_admin
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import AuditEvent, ThirdPartyApplication
from tests.custodian import BULK_SCOPE, ELECTRIC_SCOPE, form_value, live_custodian
from tests.xsd import assert_valid

ADMIN = ("operator", "a long operator password")
ATOM_NS = "http://www.w3.org/2005/Atom"


@pytest.fixture
def custodian(engine):
    with transaction(session_factory(engine)) as session:
        create_admin(session, *ADMIN)
    with live_custodian(engine) as running:
        yield running


def info_url(custodian, application_id: str) -> str:
    return f"{custodian.base_url}/espi/1_1/resource/ApplicationInformation/{application_id}"


def get_info(custodian, party, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or party.registration_token}"}
    return httpx.get(info_url(custodian, party.application_id), headers=headers, timeout=30)


def put_info(custodian, party, body: bytes, token: str | None = None) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {token or party.registration_token}",
        "Content-Type": "application/atom+xml",
    }
    return httpx.put(
        info_url(custodian, party.application_id), content=body, headers=headers, timeout=30
    )


def fields(body: bytes) -> dict[str, list[str]]:
    """Every espi element of the ApplicationInformation, by local name, texts in order."""
    root = etree.fromstring(body)
    info = root.find(f"{{{ATOM_NS}}}content/{{{ESPI_NS}}}ApplicationInformation")
    assert info is not None
    found: dict[str, list[str]] = {}
    for child in info:
        found.setdefault(etree.QName(child).localname, []).append(child.text or "")
    return found


def stored(custodian, client_id: str) -> ThirdPartyApplication:
    with session_factory(custodian.engine)() as session:
        row = session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == client_id)
        )
    assert row is not None
    return row


def client_token_status(custodian, client_id: str, secret: str) -> int:
    response = httpx.post(
        f"{custodian.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": BULK_SCOPE},
        auth=(client_id, secret),
        timeout=30,
    )
    return response.status_code


def test_get_returns_a_valid_entry_with_every_known_field(custodian):
    party = custodian.register(
        "Heat Pump Helper",
        notification_uri="https://hph.example/notify",
        contacts=("dev@hph.example",),
        website="https://hph.example",
        logo_uri="https://hph.example/logo.png",
        redirect_uris=("https://hph.example/cb", "https://hph.example/cb2"),
    )
    response = get_info(custodian, party)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert response.headers["cache-control"] == "no-store"
    assert_valid(response.content)
    got = fields(response.content)
    base = custodian.base_url
    assert got["client_id"] == [party.client_id]
    assert got["client_name"] == ["Heat Pump Helper"]
    assert got["redirect_uri"] == ["https://hph.example/cb", "https://hph.example/cb2"]
    assert got["scope"] == stored(custodian, party.client_id).scopes
    assert got["thirdPartyNotifyUri"] == ["https://hph.example/notify"]
    assert got["contacts"] == ["dev@hph.example"]
    assert got["client_uri"] == ["https://hph.example"]
    assert got["logo_uri"] == ["https://hph.example/logo.png"]
    assert got["thirdPartyScopeSelectionScreenURI"] == ["https://tp.example/scope-selection"]
    assert got["authorizationServerAuthorizationEndpoint"] == [f"{base}/oauth/authorize"]
    assert got["authorizationServerTokenEndpoint"] == [f"{base}/oauth/token"]
    assert got["dataCustodianResourceEndpoint"] == [f"{base}/espi/1_1/resource"]
    assert got["dataCustodianBulkRequestURI"][0].startswith(f"{base}/espi/1_1/resource/Batch/Bulk/")
    assert got["registration_client_uri"] == [info_url(custodian, party.application_id)]
    assert got["dataCustodianId"] == [load_profile().short_name]
    assert got["dataCustodianApplicationStatus"] == ["2"]  # production
    # The secret was handed over at registration; it is never shown again.
    assert got["client_secret"] == [""]
    assert got["registration_access_token"] == [""]
    assert party.client_secret not in response.text


def test_an_entry_without_a_notification_uri_still_validates(custodian):
    party = custodian.third_party  # registered without a notification URI, in production
    response = get_info(custodian, party)
    assert response.status_code == 200, response.text
    assert_valid(response.content)
    assert fields(response.content)["thirdPartyNotifyUri"] == [
        info_url(custodian, party.application_id)
    ]


def test_wrong_missing_or_foreign_tokens_are_refused(custodian):
    party = custodian.third_party
    other = custodian.register("Other Party")
    url = info_url(custodian, party.application_id)
    missing = httpx.get(url, timeout=30)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.get(url, headers={"Authorization": "Bearer ocreg_not-a-real-token"}, timeout=30)
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    # A client secret or access token is not a registration token.
    assert get_info(custodian, party, token=party.client_secret).status_code == 401
    foreign = get_info(custodian, party, token=other.registration_token)
    assert foreign.status_code == 403
    assert "Other Party" not in foreign.text
    assert put_info(custodian, party, b"<x/>", token=other.registration_token).status_code == 403
    assert put_info(custodian, party, b"<x/>", token="ocreg_wrong-wrong").status_code == 401
    headers = {"Authorization": f"Bearer {party.registration_token}"}
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = httpx.get(info_url(custodian, unknown), headers=headers, timeout=30)
        assert response.status_code == 404


def sign_in_admin(custodian, http: httpx.Client) -> None:
    page = http.get(f"{custodian.base_url}/admin/login")
    response = http.post(
        f"{custodian.base_url}/admin/login",
        data={
            "csrf": form_value(page.text, "csrf"),
            "username": ADMIN[0],
            "password": ADMIN[1],
        },
    )
    assert response.status_code == 303, response.text


def rotate_for_api_delivery(custodian, party) -> None:
    with httpx.Client(timeout=30) as http:
        sign_in_admin(custodian, http)
        url = f"{custodian.base_url}/admin/apps/{party.application_id}"
        csrf = form_value(http.get(url).text, "csrf")
        response = http.post(f"{url}/rotate-secret", data={"csrf": csrf, "delivery": "api"})
        assert response.status_code == 200, response.text
        assert 'id="api-delivery"' in response.text
        assert 'id="secret-awaiting"' in http.get(url).text


def delivered_events(custodian) -> int:
    with session_factory(custodian.engine)() as session:
        return len(
            list(
                session.scalars(
                    select(AuditEvent.id).where(AuditEvent.tag == "registration:secret:delivered")
                )
            )
        )


def test_a_secret_withheld_for_the_api_is_delivered_exactly_once(custodian):
    party = custodian.third_party
    assert client_token_status(custodian, party.client_id, party.client_secret) == 200
    rotate_for_api_delivery(custodian, party)
    # The old secret stops at once.
    assert client_token_status(custodian, party.client_id, party.client_secret) == 401
    assert stored(custodian, party.client_id).client_secret_hash is None

    first = get_info(custodian, party)
    assert first.status_code == 200, first.text
    assert_valid(first.content)
    (secret,) = fields(first.content)["client_secret"]
    assert secret.startswith("ocsec_")
    second = get_info(custodian, party)
    assert second.status_code == 200
    assert fields(second.content)["client_secret"] == [""]
    assert secret not in second.text
    assert client_token_status(custodian, party.client_id, secret) == 200
    assert delivered_events(custodian) == 1


def test_concurrent_reads_deliver_the_secret_to_only_one(custodian):
    party = custodian.third_party
    rotate_for_api_delivery(custodian, party)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: get_info(custodian, party), range(6)))
    assert all(response.status_code == 200 for response in responses)
    secrets = [fields(r.content)["client_secret"][0] for r in responses]
    delivered = [secret for secret in secrets if secret]
    assert len(delivered) == 1, secrets
    assert client_token_status(custodian, party.client_id, delivered[0]) == 200
    assert delivered_events(custodian) == 1


def authorize_status(custodian, party, redirect_uri: str) -> int:
    response = httpx.get(
        f"{custodian.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": party.client_id,
            "redirect_uri": redirect_uri,
            "scope": ELECTRIC_SCOPE,
            "state": "s",
        },
        timeout=30,
    )
    return response.status_code


def test_put_changes_the_redirect_uris(custodian):
    party = custodian.third_party
    old = party.redirect_uri
    assert authorize_status(custodian, party, old) == 200
    # A third party's usual round trip: GET, change one element, PUT it all back.
    entry = etree.fromstring(get_info(custodian, party).content)
    redirect = entry.find(f".//{{{ESPI_NS}}}redirect_uri")
    assert redirect is not None
    redirect.text = "https://tp.example/new-callback"
    response = put_info(custodian, party, etree.tostring(entry))
    assert response.status_code == 200, response.text
    assert_valid(response.content)
    assert fields(response.content)["redirect_uri"] == ["https://tp.example/new-callback"]
    row = stored(custodian, party.client_id)
    assert row.redirect_uris == ["https://tp.example/new-callback"]
    # Sending back the stand-in notify URI did not register it; nothing else changed.
    assert row.notification_uri is None
    assert row.name == "Sunny Solar"
    assert authorize_status(custodian, party, old) == 400
    assert authorize_status(custodian, party, "https://tp.example/new-callback") == 200
    with session_factory(custodian.engine)() as session:
        updates = list(
            session.scalars(
                select(AuditEvent.data).where(AuditEvent.tag == "registration:application:updated")
            )
        )
    assert [update["changed"] for update in updates] == [["redirect_uris"]]


def bare(*elements: str) -> bytes:
    inner = "".join(elements)
    return (
        f'<entry xmlns="{ATOM_NS}"><content>'
        f'<ApplicationInformation xmlns="{ESPI_NS}">{inner}</ApplicationInformation>'
        "</content></entry>"
    ).encode()


def test_put_of_scopes_and_names_is_canonicalised(custodian):
    party = custodian.third_party
    body = bare(
        "<client_name>Sunny Solar Plus</client_name>",
        "<scope>FB=4_5_1_3;IntervalDuration=3600;</scope>",
        "<client_id>hijack</client_id>",
    )
    response = put_info(custodian, party, body)
    assert response.status_code == 200, response.text
    row = stored(custodian, party.client_id)
    assert row.name == "Sunny Solar Plus"
    assert row.scopes == ["FB=1_3_4_5;IntervalDuration=3600;"]
    assert row.client_id == party.client_id


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<entry xmlns="http://www.w3.org/2005/Atom"><title>&lol2;</title></entry>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<ApplicationInformation xmlns="http://naesb.org/espi"><client_name>&x;</client_name>
</ApplicationInformation>"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"not xml at all", "well-formed"),
        (b"<entry", "well-formed"),
        (BILLION_LAUGHS, "DOCTYPE"),
        (EXTERNAL_ENTITY, "DOCTYPE"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "root element"),
        (bare("<redirect_uri>http://evil.example/cb</redirect_uri>"), "https"),
        (bare("<redirect_uri>https://tp.example/cb#frag</redirect_uri>"), "fragment"),
        (bare("<scope>FB=banana;</scope>"), "scope"),
        (bare("<client_name></client_name>"), "client_name"),
        (bare("<client_name>a</client_name><client_name>b</client_name>"), "2 times"),
        (bare("<logo_uri>javascript:alert(1)</logo_uri>"), "logo_uri"),
    ],
)
def test_malformed_or_hostile_bodies_are_400(custodian, body, message):
    party = custodian.third_party
    before = stored(custodian, party.client_id)
    response = put_info(custodian, party, body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error_description"]
    after = stored(custodian, party.client_id)
    assert (after.name, after.redirect_uris, after.scopes) == (
        before.name,
        before.redirect_uris,
        before.scopes,
    )


def test_a_body_over_256_kib_is_413(custodian):
    party = custodian.third_party
    padding = "<!--" + "x" * (256 * 1024) + "-->"
    response = put_info(custodian, party, bare(padding))
    assert response.status_code == 413

    def chunks():
        yield bare("")[:20]
        yield b" " * (300 * 1024)

    streamed = httpx.put(
        info_url(custodian, party.application_id),
        content=chunks(),
        headers={"Authorization": f"Bearer {party.registration_token}"},
        timeout=30,
    )
    assert streamed.status_code == 413
    assert stored(custodian, party.client_id).name == "Sunny Solar"
