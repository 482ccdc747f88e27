"""The ApplicationInformation PUT parser: what a third party may change, and hostile bodies."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from opencustodian.protocols.espi.application_update import (
    ApplicationInformationUpdate,
    parse_application_information_update,
)
from opencustodian.protocols.espi.documents import EspiDocumentError
from opencustodian.protocols.espi.entries import application_information_entry
from tests.samples import SAMPLES
from tests.unit.protocols.espi_oauth_examples import FULL_APPLICATION, MINIMAL_APPLICATION, head

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
NS = {"a": ATOM, "e": ESPI}
SAMPLE = SAMPLES / "ApplicationInformation-Entry-Anonymized.xml"
CUSTODIAN_FIELDS = ("dataCustodianId", "client_id", "client_secret", "registration_access_token")


def bare(children: str, *, namespace: str = ESPI) -> bytes:
    """A bare ApplicationInformation document with ``children`` (prefix ``espi``)."""
    return (
        f'<espi:ApplicationInformation xmlns:espi="{namespace}">{children}'
        "</espi:ApplicationInformation>"
    ).encode()


def entry(children: str) -> bytes:
    return (
        f'<entry xmlns="{ATOM}" xmlns:espi="{ESPI}"><id>urn:uuid:1</id><title/>'
        f"<content>{bare(children).decode()}</content></entry>"
    ).encode()


# -- round trip and samples ------------------------------------------------------------------


def test_a_written_entry_reads_back_as_the_same_changeable_fields():
    document = application_information_entry(FULL_APPLICATION, head("ApplicationInformation"))
    update = parse_application_information_update(document)
    assert update == ApplicationInformationUpdate(
        client_name=FULL_APPLICATION.client_name,
        third_party_application_description=FULL_APPLICATION.third_party_application_description,
        client_uri=FULL_APPLICATION.client_uri,
        logo_uri=FULL_APPLICATION.logo_uri,
        redirect_uris=FULL_APPLICATION.redirect_uris,
        third_party_notify_uri=FULL_APPLICATION.third_party_notify_uri,
        third_party_scope_selection_screen_uri=FULL_APPLICATION.third_party_scope_selection_screen_uri,
        contacts=FULL_APPLICATION.contacts,
        scopes=FULL_APPLICATION.scopes,
        third_party_phone=FULL_APPLICATION.third_party_phone,
        tos_uri=FULL_APPLICATION.tos_uri,
        policy_uri=FULL_APPLICATION.policy_uri,
        ignored_fields=update.ignored_fields,
    )
    # Every custodian-owned element is reported, once, in document order, and nothing else.
    assert update.ignored_fields[:2] == ("dataCustodianId", "dataCustodianApplicationStatus")
    assert set(CUSTODIAN_FIELDS) <= set(update.ignored_fields)
    assert "grant_types" in update.ignored_fields
    assert "client_name" not in update.ignored_fields
    assert len(update.ignored_fields) == len(set(update.ignored_fields)) == 24


def test_a_minimal_entry_leaves_the_absent_optional_fields_unchanged():
    document = application_information_entry(MINIMAL_APPLICATION, head("ApplicationInformation"))
    update = parse_application_information_update(document)
    assert update.client_name == "Solar Helper"
    assert update.redirect_uris == MINIMAL_APPLICATION.redirect_uris
    assert update.logo_uri is None
    assert update.contacts is None
    assert update.third_party_phone is None


def test_the_gba_sample_reads_as_an_update():
    update = parse_application_information_update(SAMPLE.read_bytes())
    # Expected values read independently from the sample with XPath.
    resource = etree.parse(str(SAMPLE)).find("a:content/e:ApplicationInformation", NS)
    assert resource is not None

    def text(name: str) -> str:
        return str(resource.findtext(f"e:{name}", namespaces=NS))

    assert update.client_name == text("client_name") == "Test Client"
    assert update.third_party_application_description == text("thirdPartyApplicationDescription")
    assert update.redirect_uris == (text("redirect_uri"),)
    assert update.third_party_notify_uri == text("thirdPartyNotifyUri")
    assert update.third_party_scope_selection_screen_uri == text(
        "thirdPartyScopeSelectionScreenURI"
    )
    assert update.logo_uri == text("logo_uri")
    assert update.client_uri == text("client_uri")
    assert update.scopes == (text("scope"),)
    assert update.contacts is None
    assert update.tos_uri is None
    assert set(CUSTODIAN_FIELDS) <= set(update.ignored_fields)


def test_a_bare_application_information_root_is_accepted():
    update = parse_application_information_update(
        bare("<espi:client_name> Renamed </espi:client_name><espi:client_id>x</espi:client_id>")
    )
    assert update == ApplicationInformationUpdate(
        client_name="Renamed", ignored_fields=("client_id",)
    )


# -- field semantics -------------------------------------------------------------------------


def test_an_empty_optional_element_clears_and_empty_contacts_clear_the_list():
    update = parse_application_information_update(
        entry("<espi:logo_uri/><espi:thirdPartyPhone> </espi:thirdPartyPhone><espi:contacts/>")
    )
    assert update.logo_uri == ""
    assert update.third_party_phone == ""
    assert update.contacts == ()
    assert update.client_name is None


def test_scope_elements_may_hold_space_separated_scopes():
    update = parse_application_information_update(
        entry(
            "<espi:scope>FB=1_3;IntervalDuration=900 FB=4_5</espi:scope>"
            "<espi:scope>FB=13</espi:scope>"
        )
    )
    assert update.scopes == ("FB=1_3;IntervalDuration=900", "FB=4_5", "FB=13")


def test_extensions_in_other_namespaces_are_ignored_and_reported():
    update = parse_application_information_update(
        entry(
            '<x:colour xmlns:x="urn:example">blue</x:colour><espi:extension/>'
            "<espi:client_name>A</espi:client_name>"
        )
    )
    assert update.client_name == "A"
    assert update.ignored_fields == ("{urn:example}colour", "extension")


@pytest.mark.parametrize(
    ("children", "message"),
    [
        (
            "<espi:client_name>A</espi:client_name><espi:client_name>B</espi:client_name>",
            "client_name is given 2 times",
        ),
        ("<espi:client_name>  </espi:client_name>", "client_name may not be empty"),
        (f"<espi:client_name>{'n' * 257}</espi:client_name>", "client_name is 257 characters long"),
        (f"<espi:thirdPartyPhone>{'1' * 33}</espi:thirdPartyPhone>", "thirdPartyPhone is 33"),
        ("<espi:redirect_uri/>", "redirect_uri needs at least one"),
        ("<espi:scope>FB=????</espi:scope>", re.escape("scope 'FB=????' is not an ESPI scope")),
        ("<espi:scope>garbage</espi:scope>", "not an ESPI scope"),
        ("<espi:thirdPartyNotifyUri/>", "thirdPartyNotifyUri may not be empty"),
        ("<espi:logo_uri>ftp://tp.example.com/logo.png</espi:logo_uri>", "logo_uri"),
        (
            "<client_name>unqualified</client_name>",
            "<client_name> in namespace http://www.w3.org/2005/Atom",
        ),
    ],
)
def test_invalid_values_are_refused_with_the_element_named(children, message):
    with pytest.raises(EspiDocumentError, match=message):
        parse_application_information_update(entry(children))


@pytest.mark.parametrize(
    "uri",
    [
        "not a uri",
        "callback",
        "/relative/callback",
        "javascript:alert(1)",
        "https://",
        "http://tp.example.com/callback",  # plain http off loopback
        "https://tp.example.com/callback#fragment",
        "https://*.example.com/callback",
        "https://tp.example.com:99999/callback",
        "https://tp.example.com/call\u00a0back",
        "https://[::1/callback",
    ],
)
def test_a_bad_redirect_uri_is_refused(uri):
    document = entry(
        f"<espi:redirect_uri>https://tp.example.com/ok</espi:redirect_uri><espi:redirect_uri>{uri}</espi:redirect_uri>"
    )
    with pytest.raises(EspiDocumentError, match="redirect_uri"):
        parse_application_information_update(document)


def test_an_unqualified_field_is_refused_rather_than_silently_ignored():
    with pytest.raises(
        EspiDocumentError, match="<client_name> in no namespace must be in the ESPI"
    ):
        parse_application_information_update(bare("<client_name>A</client_name>"))


def test_loopback_http_redirect_uris_are_accepted():
    update = parse_application_information_update(
        entry("<espi:redirect_uri>http://127.0.0.1:8765/cb</espi:redirect_uri>")
    )
    assert update.redirect_uris == ("http://127.0.0.1:8765/cb",)


# -- hostile and wrong documents -------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ApplicationInformation xmlns="http://naesb.org/espi"><client_name>&lol3;</client_name>
</ApplicationInformation>"""

ENTITY_LOOP = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY a "&b;"><!ENTITY b "&a;">]>
<ApplicationInformation xmlns="http://naesb.org/espi"><client_name>&a;</client_name>
</ApplicationInformation>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ApplicationInformation xmlns="http://naesb.org/espi"><client_name>&xxe;</client_name>
</ApplicationInformation>"""

HARMLESS_DOCTYPE = b"""<!DOCTYPE ApplicationInformation>
<ApplicationInformation xmlns="http://naesb.org/espi"><client_name>A</client_name>
</ApplicationInformation>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, ENTITY_LOOP, EXTERNAL_ENTITY, HARMLESS_DOCTYPE])
def test_documents_with_a_doctype_are_refused(body):
    with pytest.raises(EspiDocumentError, match="DOCTYPE") as caught:
        parse_application_information_update(body)
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd leaks into the message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"   \n", "the body is empty"),
        (b"client_name=Renamed", "not well-formed XML"),
        (b'{"client_name": "Renamed"}', "not well-formed XML"),
        (b"<entry><content>", "not well-formed XML"),
        (b"\xff\xfe<\x00", "not well-formed XML"),
    ],
)
def test_bodies_that_are_not_xml_are_refused(body, message):
    with pytest.raises(EspiDocumentError, match=message):
        parse_application_information_update(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            bare("<client_name>A</client_name>", namespace="urn:wrong"),
            "<ApplicationInformation> in namespace urn:wrong",
        ),
        (
            b"<ApplicationInformation><client_name>A</client_name></ApplicationInformation>",
            "in no namespace",
        ),
        (b"<entry><content/></entry>", "<entry> in no namespace"),
        (f'<feed xmlns="{ATOM}"/>'.encode(), "<feed> in namespace http://www.w3.org/2005/Atom"),
        (
            f'<entry xmlns="{ATOM}"><title/></entry>'.encode(),
            "no content holding an ApplicationInformation",
        ),
        (
            f'<entry xmlns="{ATOM}"><content><espi:Authorization xmlns:espi="{ESPI}"/></content>'
            "</entry>".encode(),
            "content holds <Authorization>",
        ),
        (
            f'<entry xmlns="{ATOM}"><content><ApplicationInformation/></content></entry>'.encode(),
            "content holds <ApplicationInformation> in namespace http://www.w3.org/2005/Atom",
        ),
    ],
)
def test_the_wrong_root_or_namespace_is_refused(body, message):
    with pytest.raises(EspiDocumentError, match=message):
        parse_application_information_update(body)


def test_an_oversize_body_is_refused_before_parsing():
    body = entry("<espi:client_name>A</espi:client_name>" + "<!-- padding -->" * 100)
    assert parse_application_information_update(body, max_bytes=len(body)).client_name == "A"
    with pytest.raises(EspiDocumentError, match="larger than the limit"):
        parse_application_information_update(body, max_bytes=len(body) - 1)


def test_the_error_is_a_value_error():
    assert issubclass(EspiDocumentError, ValueError)


# -- properties ------------------------------------------------------------------------------

xml_text = (
    st.text(
        st.characters(
            blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufffe\uffff"
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=100, deadline=None)
@given(
    name=xml_text,
    description=xml_text,
    contacts=st.lists(xml_text, max_size=4).map(tuple),
    paths=st.lists(st.from_regex(r"/[a-z0-9_.~-]{0,12}", fullmatch=True), min_size=1, max_size=4),
)
def test_written_changeable_fields_always_read_back(name, description, contacts, paths):
    application = replace(
        FULL_APPLICATION,
        client_name=name,
        third_party_application_description=description,
        contacts=contacts,
        redirect_uris=tuple(f"https://tp.example.com{path}" for path in paths),
    )
    document = application_information_entry(application, head("ApplicationInformation"))
    update = parse_application_information_update(document)
    assert update.client_name == name
    assert update.third_party_application_description == description
    assert update.contacts == (contacts or None)
    assert update.redirect_uris == application.redirect_uris


VALID = application_information_entry(FULL_APPLICATION, head("ApplicationInformation"))


@st.composite
def corrupted(draw: st.DrawFn) -> bytes:
    """The valid document with one slice replaced by arbitrary bytes."""
    start = draw(st.integers(0, len(VALID)))
    end = draw(st.integers(start, min(len(VALID), start + 40)))
    return VALID[:start] + draw(st.binary(max_size=20)) + VALID[end:]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode) | corrupted())
def test_arbitrary_bytes_never_raise_anything_but_the_document_error(body):
    try:
        update = parse_application_information_update(body)
    except EspiDocumentError as error:
        message = str(error)
    else:
        message = ""
        assert isinstance(update, ApplicationInformationUpdate)
    assert "Traceback" not in message
