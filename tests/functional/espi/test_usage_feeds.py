"""Batch/Subscription usage feeds over real HTTP: content, conformance, queries and access."""

from __future__ import annotations

import gzip
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
from lxml import etree
from sqlalchemy import case, select, update

from opencustodian.domain.events import EventTag
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AuditEvent,
    Grant,
    GrantServicePoint,
    MeterReading,
    RetailCustomer,
    ServicePoint,
    interval_readings,
)
from tests.conformance.link_rules import certification_problems
from tests.custodian import BILLING_SCOPE
from tests.functional.oauth.flows import client_tokens, customer_tokens, read, revoke
from tests.xsd import schema_errors

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"
COST_SCOPE = "FB=1_3_4_5_12;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;"
HOURLY_SCOPE = "FB=1_3_4_5;IntervalDuration=3600;BlockDuration=Daily;HistoryLength=63072000;"


def text(element: etree._Element, path: str) -> str:
    """The text at ``path`` under ``element``, which must be there."""
    found = element.findtext(path)
    assert found is not None, f"no {path}"
    return found


def other_customer_tokens(server, party, username: str = "customer0002") -> dict[str, str]:
    """Tokens for another customer, signed in on a browser (cookie jar) of their own."""
    with httpx.Client(timeout=30) as browser:
        return customer_tokens(browser, server, party, username=username)


def entries_of(document: bytes, resource: str) -> list[etree._Element]:
    """The entries whose content holds ``resource``."""
    root = etree.fromstring(document)
    return [
        entry
        for entry in root.iter(f"{ATOM}entry")
        if entry.find(f"{ATOM}content/{ESPI}{resource}") is not None
    ]


def readings_of(document: bytes) -> list[tuple[int, int, int, int | None]]:
    """Every IntervalReading as (start, duration, value, cost)."""
    root = etree.fromstring(document)
    found = []
    for reading in root.iter(f"{ESPI}IntervalReading"):
        cost = reading.findtext(f"{ESPI}cost")
        found.append(
            (
                int(text(reading, f"{ESPI}timePeriod/{ESPI}start")),
                int(text(reading, f"{ESPI}timePeriod/{ESPI}duration")),
                int(text(reading, f"{ESPI}value")),
                int(cost) if cost is not None else None,
            )
        )
    return found


def stored_readings(engine, authorization_uri: str) -> list[tuple[int, int, int]]:
    """The readings a plain usage grant serves, as the database holds them.

    That is the net channel of a net-metered (solar) service point and the delivered channel
    of any other electric one (``domain.usage_rights``).
    """
    served_channel = case((ServicePoint.net_metered, "net"), else_="forward")
    with engine.connect() as connection:
        grant_id = connection.scalar(
            select(Grant.id).where(Grant.uuid == grant_uuid_of(authorization_uri))
        )
        points = select(GrantServicePoint.service_point_id).where(
            GrantServicePoint.grant_id == grant_id
        )
        rows = connection.execute(
            select(
                interval_readings.c.start, interval_readings.c.duration, interval_readings.c.value
            )
            .join(MeterReading, MeterReading.id == interval_readings.c.meter_reading_id)
            .join(ServicePoint, ServicePoint.id == MeterReading.service_point_id)
            .where(
                MeterReading.service_point_id.in_(points),
                MeterReading.channel == served_channel,
                ServicePoint.commodity == "electricity",
            )
        ).all()
    return sorted((row.start, row.duration, row.value) for row in rows)


def grant_uuid_of(authorization_uri: str) -> uuid.UUID:
    """The grant id at the end of an ``authorizationURI``."""
    return uuid.UUID(authorization_uri.rsplit("/", 1)[1])


def test_the_subscription_feed_is_valid_conformant_and_holds_every_granted_reading(
    server, party, http
):
    tokens = customer_tokens(http, server, party)
    response = read(http, tokens["resourceURI"], tokens["access_token"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    document = response.content
    assert schema_errors(document) == []
    assert certification_problems(document) == []
    assert entries_of(document, "UsagePoint")
    assert entries_of(document, "LocalTimeParameters")
    served = sorted(reading[:3] for reading in readings_of(document))
    assert served == stored_readings(server.engine, tokens["authorizationURI"])
    assert all(cost is None for *_, cost in readings_of(document))  # no FB 12: no costs


def test_every_read_is_audited_with_the_usage_points_it_returned(server, party, http):
    tokens = customer_tokens(http, server, party)
    read(http, tokens["resourceURI"], tokens["access_token"])
    grant = tokens["authorizationURI"].rsplit("/", 1)[1]
    with server.engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.data, AuditEvent.actor).where(
                AuditEvent.tag == EventTag.DATA_READ.value,
                AuditEvent.subject == f"grant:{grant}",
            )
        ).all()
    assert len(events) == 1
    assert events[0].actor == f"client:{party.client_id}"
    assert events[0].data["usage_points"]


def test_gzip_on_request_gives_the_same_document(server, party, http):
    tokens = customer_tokens(http, server, party)
    plain = read(http, tokens["resourceURI"], tokens["access_token"]).content
    with http.stream(
        "GET",
        tokens["resourceURI"],
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept-Encoding": "gzip"},
    ) as response:
        assert response.headers["content-encoding"] == "gzip"
        compressed = b"".join(response.iter_raw())
    assert gzip.decompress(compressed) == plain


def test_one_usage_point_subtree_and_unknown_ones(server, party, http):
    tokens = customer_tokens(http, server, party)
    whole = read(http, tokens["resourceURI"], tokens["access_token"]).content
    point = text(entries_of(whole, "UsagePoint")[0], f"{ATOM}id").removeprefix("urn:uuid:")
    one = read(http, f"{tokens['resourceURI']}/UsagePoint/{point}", tokens["access_token"])
    assert one.status_code == 200
    assert [e.findtext(f"{ATOM}id") for e in entries_of(one.content, "UsagePoint")] == [
        f"urn:uuid:{point}"
    ]
    assert schema_errors(one.content) == []
    other = other_customer_tokens(server, party)
    other_feed = read(http, other["resourceURI"], other["access_token"]).content
    foreign = text(entries_of(other_feed, "UsagePoint")[0], f"{ATOM}id").removeprefix("urn:uuid:")
    crossing = read(http, f"{tokens['resourceURI']}/UsagePoint/{foreign}", tokens["access_token"])
    assert crossing.status_code == 404
    assert foreign.encode() not in crossing.content
    malformed = read(http, f"{tokens['resourceURI']}/UsagePoint/not-a-uuid", tokens["access_token"])
    assert malformed.status_code == 404


def test_cost_only_with_fb12_and_coarser_intervals_are_summed(server, http):
    party = server.register("Priced Party", scopes=(COST_SCOPE, HOURLY_SCOPE))
    priced = customer_tokens(http, server, party, COST_SCOPE)
    priced_readings = readings_of(read(http, priced["resourceURI"], priced["access_token"]).content)
    assert priced_readings
    assert all(cost is not None for *_, cost in priced_readings)
    fine = sorted(reading[:3] for reading in priced_readings)
    hourly = customer_tokens(http, server, party, HOURLY_SCOPE)
    document = read(http, hourly["resourceURI"], hourly["access_token"]).content
    assert schema_errors(document) == []
    assert certification_problems(document) == []
    coarse = readings_of(document)
    assert {duration for _, duration, _, _ in coarse} == {3600}
    assert sum(value for _, _, value, _ in coarse) == sum(value for _, _, value in fine)


def test_without_interval_blocks_a_billing_grant_gets_summaries_only(server, party, http):
    tokens = customer_tokens(http, server, party, BILLING_SCOPE)
    document = read(http, tokens["resourceURI"], tokens["access_token"]).content
    assert schema_errors(document) == []
    assert entries_of(document, "MeterReading") == []
    assert entries_of(document, "IntervalBlock") == []
    assert entries_of(document, "UsagePoint")


def test_published_window_keeps_whole_blocks_inside_it(server, party, http):
    tokens = customer_tokens(http, server, party)
    whole = read(http, tokens["resourceURI"], tokens["access_token"]).content
    blocks = entries_of(whole, "IntervalBlock")
    assert len(blocks) >= 2
    starts = sorted(
        int(text(block, f"{ATOM}content/{ESPI}IntervalBlock/{ESPI}interval/{ESPI}start"))
        for block in blocks
    )
    low = datetime.fromtimestamp(starts[1], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = http.get(
        tokens["resourceURI"],
        params={"published-min": low},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 200
    kept = entries_of(response.content, "IntervalBlock")
    assert 0 < len(kept) < len(blocks)
    assert all(
        int(text(b, f"{ATOM}content/{ESPI}IntervalBlock/{ESPI}interval/{ESPI}start")) >= starts[1]
        for b in kept
    )


def test_malformed_query_parameters_are_400(server, party, http):
    tokens = customer_tokens(http, server, party)
    for name, value in [("published-min", "All"), ("max-results", "All"), ("depth", "x")]:
        response = http.get(
            tokens["resourceURI"],
            params={name: value},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert response.status_code == 400
        assert name in response.json()["error_description"]


def test_max_results_pages_blocks_without_cutting_the_tree(server, party, http):
    tokens = customer_tokens(http, server, party)
    whole = read(http, tokens["resourceURI"], tokens["access_token"]).content
    total = len(entries_of(whole, "IntervalBlock"))
    response = http.get(
        tokens["resourceURI"],
        params={"max-results": "1"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    page = response.content
    assert len(entries_of(page, "IntervalBlock")) == 1
    assert certification_problems(page) == []
    assert schema_errors(page) == []
    assert total > 1, "the seeded history must span several blocks for paging to show"
    next_links = [
        link.get("href", "")
        for link in etree.fromstring(page).findall(f"{ATOM}link")
        if link.get("rel") == "next"
    ]
    assert len(next_links) == 1
    assert "start-index=2" in next_links[0]
    whole_links = etree.fromstring(whole).findall(f"{ATOM}link")
    assert all(link.get("rel") != "next" for link in whole_links)  # an uncut feed has no next


def test_access_is_refused_across_subscriptions_token_kinds_and_endings(server, party, http):
    tokens = customer_tokens(http, server, party)
    other = other_customer_tokens(server, party)
    assert read(http, other["resourceURI"], tokens["access_token"]).status_code == 403
    client = client_tokens(http, server, party)
    assert read(http, tokens["resourceURI"], client["access_token"]).status_code == 403
    assert http.get(tokens["resourceURI"]).status_code == 401
    assert read(http, tokens["resourceURI"], party.registration_token).status_code == 401
    outsider = server.register("Other Party")
    stranger = other_customer_tokens(server, outsider, username="customer0001")
    assert read(http, tokens["resourceURI"], stranger["access_token"]).status_code == 403
    assert revoke(http, server, party, tokens["refresh_token"]).status_code == 200
    refused = read(http, tokens["resourceURI"], tokens["access_token"])
    assert refused.status_code == 401
    assert b"IntervalReading" not in refused.content
    counts = Counter(
        read(http, other["resourceURI"], other["access_token"]).status_code for _ in range(2)
    )
    assert counts == {200: 2}  # the other grant is untouched


def test_readings_from_before_the_customers_move_in_are_never_served(server, party):
    """The previous occupant's readings are not the new customer's to share."""
    moved_in = date(2026, 10, 31)
    with server.engine.begin() as connection:
        account_id = connection.scalar(
            select(Account.id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(RetailCustomer.username == "customer0003")
        )
        connection.execute(
            update(AccountServicePoint)
            .where(AccountServicePoint.account_id == account_id)
            .values(move_in=moved_in)
        )
    tokens = other_customer_tokens(server, party, username="customer0003")
    with httpx.Client(timeout=30) as http:
        document = read(http, tokens["resourceURI"], tokens["access_token"]).content
    starts = [start for start, *_ in readings_of(document)]
    assert starts
    zone = ZoneInfo("America/New_York")  # the bundled profile's territory
    first_day = datetime(moved_in.year, moved_in.month, moved_in.day, tzinfo=zone)
    assert min(starts) == int(first_day.timestamp())
    assert schema_errors(document) == []
    assert certification_problems(document) == []
