"""Atom entries and feeds of ApplicationInformation and Authorization: XSD-valid, exact, stable.

Element order is checked against the ``xs:sequence`` read straight from espi.xsd, and every
document is validated against ESPI 4.0 (and 3.3, whose atom.xsd requires ``link/@type``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import pytest
from lxml import etree

from opencustodian.domain.parties import ApplicationStatus
from opencustodian.kit.time import NaiveDatetimeError
from opencustodian.protocols.espi.entries import (
    DataCustodianApplicationStatus,
    FeedHead,
    Period,
    RelatedLink,
    application_information_entry,
    authorization_entry,
    entry_feed,
)
from tests.samples import SAMPLES, XSD
from tests.unit.protocols.espi_oauth_examples import (
    DC,
    FULL_APPLICATION,
    FULL_AUTHORIZATION,
    ISSUED,
    MINIMAL_APPLICATION,
    MINIMAL_AUTHORIZATION,
    head,
)
from tests.xsd import assert_valid, schema_errors

NS = {"a": "http://www.w3.org/2005/Atom", "e": "http://naesb.org/espi"}
XS = "{http://www.w3.org/2001/XMLSchema}"


def xsd_sequence(type_name: str) -> list[str]:
    """The element names of an espi.xsd complex type's sequence, in schema order."""
    schema = etree.parse(str(XSD / "espi-4.0" / "espi.xsd"))
    (complex_type,) = schema.getroot().findall(f"{XS}complexType[@name='{type_name}']")
    return [str(element.get("name")) for element in complex_type.iter(f"{XS}element")]


def resource_of(document: bytes, name: str) -> etree._Element:
    (element,) = etree.fromstring(document).findall(f"a:content/e:{name}", NS)
    return element


def child_names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def texts(element: etree._Element, name: str) -> list[str | None]:
    return [child.text for child in element.findall(f"e:{name}", NS)]


# -- schema validity -------------------------------------------------------------------------

DOCUMENTS = {
    "minimal ApplicationInformation": lambda: application_information_entry(
        MINIMAL_APPLICATION, head("ApplicationInformation")
    ),
    "full ApplicationInformation": lambda: application_information_entry(
        FULL_APPLICATION,
        head("ApplicationInformation", related=(RelatedLink(f"{DC}/cert", "text/xml"),)),
    ),
    "minimal Authorization": lambda: authorization_entry(
        MINIMAL_AUTHORIZATION, head("Authorization")
    ),
    "full Authorization": lambda: authorization_entry(FULL_AUTHORIZATION, head("Authorization")),
    "Authorization feed": lambda: entry_feed(
        FeedHead(uuid.uuid4(), "Authorizations", f"{DC}/espi/1_1/resource/Authorization", ISSUED),
        [
            (head("Authorization", 1), MINIMAL_AUTHORIZATION),
            (head("Authorization", 2), FULL_AUTHORIZATION),
        ],
    ),
    "empty feed": lambda: entry_feed(
        FeedHead(uuid.uuid4(), "Authorizations", f"{DC}/espi/1_1/resource/Authorization", ISSUED),
        [],
    ),
}


@pytest.mark.parametrize("version", ["4.0", "3.3"])
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_validates_against_the_espi_schema(name, version):
    assert_valid(DOCUMENTS[name](), version)


@pytest.mark.parametrize(
    "sample", ["ApplicationInformation-Entry-Anonymized.xml", "Authorization-Entry-Anonymized.xml"]
)
def test_the_schema_helper_rejects_what_the_schema_forbids(sample):
    """The validator is live: the GBA sample passes, the sample without a required element fails."""
    document = (SAMPLES / sample).read_bytes()
    assert schema_errors(document) == []
    root = etree.fromstring(document)
    (resource,) = root.findall("a:content/*", NS)
    resource.remove(resource.find("e:scope", NS))  # type: ignore[arg-type]  # the sample has one
    assert any("scope" in error for error in schema_errors(etree.tostring(root)))


# -- ApplicationInformation ------------------------------------------------------------------


def test_full_application_information_has_every_schema_element_in_schema_order():
    document = application_information_entry(FULL_APPLICATION, head("ApplicationInformation"))
    names = child_names(resource_of(document, "ApplicationInformation"))
    assert list(dict.fromkeys(names)) == xsd_sequence("ApplicationInformation")
    assert names.count("redirect_uri") == 2
    assert names.count("contacts") == 2
    assert names.count("scope") == 2


def test_full_application_information_values_are_written_exactly():
    info = resource_of(
        application_information_entry(FULL_APPLICATION, head("ApplicationInformation")),
        "ApplicationInformation",
    )
    assert texts(info, "dataCustodianApplicationStatus") == ["2"]
    assert texts(info, "thirdPartyApplicationStatus") == ["3"]
    assert texts(info, "thirdPartyApplicationUse") == ["1"]
    assert texts(info, "client_name") == ["Solar Helper & Sons <beta>"]
    assert texts(info, "redirect_uri") == list(FULL_APPLICATION.redirect_uris)
    assert texts(info, "contacts") == ["ops@tp.example.com", "dev@tp.example.com"]
    # 2024-12-31 19:00 in New York is 2025-01-01 00:00 UTC.
    assert texts(info, "client_id_issued_at") == ["1735689600"]
    assert texts(info, "client_secret_expires_at") == ["1767225600"]
    assert texts(info, "client_secret") == [FULL_APPLICATION.client_secret]
    assert texts(info, "registration_access_token") == ["reg-token-123456789"]
    assert texts(info, "grant_types") == ["authorization_code", "refresh_token"]


def test_minimal_application_information_omits_optional_elements_and_withholds_secrets():
    info = resource_of(
        application_information_entry(MINIMAL_APPLICATION, head("ApplicationInformation")),
        "ApplicationInformation",
    )
    names = child_names(info)
    for optional in ("thirdPartyApplicationDescription", "logo_uri", "tos_uri", "contacts"):
        assert optional not in names
    # espi.xsd requires both elements; without a value to give they are present and empty.
    assert texts(info, "client_secret") == [None]
    assert texts(info, "registration_access_token") == [None]
    assert texts(info, "client_secret_expires_at") == ["0"]  # "never expires"
    assert texts(info, "grant_types") == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert texts(info, "token_endpoint_auth_method") == ["client_secret_basic"]
    assert texts(info, "response_types") == ["code"]


def test_the_entry_carries_atom_metadata_with_typed_links():
    related = (RelatedLink("https://cert.greenbuttonalliance.org/certificate/1", "text/xml"),)
    document = application_information_entry(
        MINIMAL_APPLICATION, head("ApplicationInformation", 7, related=related)
    )
    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    entry = etree.fromstring(document)
    assert entry.nsmap == {None: NS["a"], "espi": NS["e"]}
    expected_id = uuid.uuid5(uuid.NAMESPACE_URL, "ApplicationInformation/7").urn
    assert entry.findtext("a:id", namespaces=NS) == expected_id
    links = [
        (link.get("rel"), link.get("href"), link.get("type"))
        for link in entry.findall("a:link", NS)
    ]
    assert links == [
        (
            "self",
            f"{DC}/espi/1_1/resource/ApplicationInformation/7",
            "espi-entry/ApplicationInformation",
        ),
        (
            "up",
            f"{DC}/espi/1_1/resource/ApplicationInformation",
            "espi-feed/ApplicationInformation",
        ),
        ("related", related[0].href, "text/xml"),
    ]
    assert entry.findtext("a:title", namespaces=NS) == "ApplicationInformation 7"
    assert entry.findtext("a:published", namespaces=NS) == "2025-01-01T00:00:00Z"
    # 08:30 EDT is 12:30 UTC.
    assert entry.findtext("a:updated", namespaces=NS) == "2025-06-01T12:30:00Z"


def test_output_is_deterministic():
    first = application_information_entry(FULL_APPLICATION, head("ApplicationInformation"))
    again = application_information_entry(replace(FULL_APPLICATION), head("ApplicationInformation"))
    assert first == again


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_name": "x" * 257}, "client_name is 257 characters long"),
        ({"client_id": "c" * 65}, "client_id is 65 characters long"),
        ({"grant_types": ("authorization_code",)}, "grant_types needs at least 2"),
        ({"grant_types": ("authorization_code", "password")}, "'password' is not one of"),
        ({"redirect_uris": ()}, "redirect_uri needs at least 1"),
        ({"scopes": ()}, "scope needs at least 1"),
        ({"third_party_notify_uri": " "}, "thirdPartyNotifyUri is required"),
        ({"response_types": "token"}, "response_types 'token'"),
    ],
)
def test_values_the_schema_would_refuse_are_refused_before_writing(change, message):
    with pytest.raises(ValueError, match=message):
        application_information_entry(
            replace(MINIMAL_APPLICATION, **change), head("ApplicationInformation")
        )


def test_naive_datetimes_are_refused():
    naive = replace(MINIMAL_APPLICATION, client_id_issued_at=datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError):
        application_information_entry(naive, head("ApplicationInformation"))


def test_domain_statuses_map_to_custodian_status_codes():
    assert [DataCustodianApplicationStatus.of(status) for status in ApplicationStatus] == [
        1,
        2,
        3,
        4,
    ]


# -- Authorization ---------------------------------------------------------------------------


def test_full_authorization_has_every_schema_element_in_schema_order():
    document = authorization_entry(FULL_AUTHORIZATION, head("Authorization"))
    authorization = resource_of(document, "Authorization")
    assert child_names(authorization) == xsd_sequence("Authorization")
    assert texts(authorization, "status") == ["2"]
    assert texts(authorization, "expires_at") == ["1735693200"]
    period = authorization.find("e:authorizedPeriod", NS)
    assert period is not None
    # DateTimeInterval: duration before start; 2024-03-10 00:00 EST is 05:00 UTC.
    assert [(etree.QName(child).localname, child.text) for child in period] == [
        ("duration", "31536000"),
        ("start", "1710046800"),
    ]


def test_minimal_authorization_holds_only_required_elements():
    authorization = resource_of(
        authorization_entry(MINIMAL_AUTHORIZATION, head("Authorization")), "Authorization"
    )
    assert child_names(authorization) == [
        "status",
        "expires_at",
        "scope",
        "token_type",
        "resourceURI",
        "authorizationURI",
    ]
    assert texts(authorization, "token_type") == ["Bearer"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"error": "teapot"}, "error 'teapot' is not one of"),
        ({"grant_type": "implicit"}, "grant_type 'implicit'"),
        ({"published_period": Period(ISSUED, -1)}, "publishedPeriod duration -1"),
        ({"status": 70_000}, "status code 70000 is outside UInt16"),
    ],
)
def test_authorization_values_outside_the_schema_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        authorization_entry(replace(MINIMAL_AUTHORIZATION, **change), head("Authorization"))


# -- feeds -----------------------------------------------------------------------------------


def test_a_feed_lists_entries_in_order_under_its_own_metadata():
    feed_id = uuid.uuid5(uuid.NAMESPACE_URL, "feed")
    document = entry_feed(
        FeedHead(feed_id, "Authorizations", f"{DC}/espi/1_1/resource/Authorization", ISSUED),
        [
            (head("Authorization", 2), FULL_AUTHORIZATION),
            (head("Authorization", 1), MINIMAL_AUTHORIZATION),
        ],
    )
    feed = etree.fromstring(document)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.findtext("a:id", namespaces=NS) == feed_id.urn
    assert feed.findtext("a:updated", namespaces=NS) == "2025-01-01T00:00:00Z"
    (self_link,) = feed.findall("a:link[@rel='self']", NS)
    assert self_link.get("type") == "espi-feed/Authorization"
    hrefs = feed.xpath("a:entry/a:link[@rel='self']/@href", namespaces=NS)
    assert hrefs == [
        f"{DC}/espi/1_1/resource/Authorization/2",
        f"{DC}/espi/1_1/resource/Authorization/1",
    ]
    statuses = feed.xpath("a:entry/a:content/e:Authorization/e:status/text()", namespaces=NS)
    assert statuses == ["2", "1"]
    # Namespaces are declared once, on the feed.
    assert b"xmlns" not in document.split(b"<entry", 1)[1]


def test_a_feed_can_mix_resources_and_types_each_entry_by_its_own():
    document = entry_feed(
        FeedHead(uuid.uuid4(), "Mine", f"{DC}/x", ISSUED, resource="ApplicationInformation"),
        [
            (head("ApplicationInformation"), MINIMAL_APPLICATION),
            (head("Authorization"), MINIMAL_AUTHORIZATION),
        ],
    )
    assert_valid(document)
    feed = etree.fromstring(document)
    types = feed.xpath("a:entry/a:link[@rel='self']/@type", namespaces=NS)
    assert types == ["espi-entry/ApplicationInformation", "espi-entry/Authorization"]
