"""The "Customer Agreements" page: a list up to 25 agreements, a search view above (seed 003)."""

from __future__ import annotations

import re

from opencustodian.kit.time import utc_now
from opencustodian.storage.db import session_factory, transaction
from tests.agreements import (
    ONGOING,
    UNREGISTERED,
    customer_email,
    meters_of,
    registered_form,
    service,
    unregistered_form,
)
from tests.functional.partner.helpers import unregistered_agreement


def listed_numbers(page: str) -> list[str]:
    """The agreement numbers in the page's table rows."""
    return re.findall(r'<tr data-number="(\d{12})">', page)


def many_agreements(portal, count: int) -> list[str]:
    """``count`` ongoing agreements of Sunny Solar (no yearly limit), various customers."""
    pair = meters_of(portal.engine, UNREGISTERED)[0]
    registered = meters_of(portal.engine, "customer0002")[0]
    email = customer_email(portal.engine, "customer0002")
    numbers: list[str] = []
    with transaction(session_factory(portal.engine)) as session:
        agreements = service(session, portal.mailer, utc_now())
        numbers += agreements.initiate(
            portal.sunny_id, None, registered_form([registered], email, ONGOING)
        )
        for index in range(count - 1):
            form = unregistered_form([pair], ONGOING, last_name=f"Akin{index:02d}")
            numbers += agreements.initiate(portal.sunny_id, None, form)
    return numbers


def search(browser, criterion: str, items: str):
    return browser.get("/partner/agreements", params={"criterion": criterion, "items": items})


def test_up_to_25_agreements_are_listed_with_the_whole_esiid(portal):
    mine = [unregistered_agreement(portal), unregistered_agreement(portal, ONGOING)]
    theirs = unregistered_agreement(portal, company=portal.other_id)
    esiid, meter = meters_of(portal.engine, UNREGISTERED)[0]
    page = portal.browser("sunny-viewer").get("/partner/agreements")
    assert page.status_code == 200
    assert sorted(listed_numbers(page.text)) == sorted(mine)
    assert theirs not in page.text
    assert 'id="search"' not in page.text
    row = page.text[page.text.index(f'data-number="{mine[0]}"') :]
    row = row[: row.index("</tr>")]
    # The third party typed the ESIID: it sees it whole, never masked.
    assert f"<td>{esiid}</td>" in row
    assert f"<td>{meter}</td>" in row
    assert "Chika Akin" in row
    assert "One-Time Energy Data" in row
    assert "Pending" in row


def test_create_buttons_only_for_users_who_may_initiate(portal):
    agent = portal.browser("sunny-agent").get("/partner/agreements").text
    assert 'href="/partner/agreements/new?kind=one_time"' in agent
    assert 'href="/partner/agreements/new?kind=ongoing"' in agent
    viewer = portal.browser("sunny-viewer").get("/partner/agreements").text
    assert "/partner/agreements/new" not in viewer


def test_more_than_25_agreements_open_the_search_view(portal):
    numbers = many_agreements(portal, 26)
    browser = portal.browser("sunny-agent")
    page = browser.get("/partner/agreements")
    assert page.status_code == 200
    assert 'id="search"' in page.text
    assert "more than 25" in page.text
    assert listed_numbers(page.text) == []  # nothing listed before a search
    for label in ("Agreement Number(s)", "Customer Last Name", "ESIID(s)", "Meter Number(s)"):
        assert label in page.text
    assert "HAN Device MAC Address" in page.text
    found = search(browser, "agreement_number", numbers[5])
    assert found.status_code == 200
    assert listed_numbers(found.text) == [numbers[5]]


def test_search_items_exact_and_with_a_trailing_wildcard(portal):
    numbers = many_agreements(portal, 26)
    theirs = unregistered_agreement(portal, company=portal.other_id)
    browser = portal.browser("sunny-agent")
    prefix = numbers[3][:2]
    wildcard = search(browser, "agreement_number", f"{prefix}*")
    expected = sorted(number for number in numbers if number.startswith(prefix))
    assert sorted(listed_numbers(wildcard.text)) == expected
    # Several items, comma-separated; last names compare case-blind.
    names = search(browser, "last_name", "akin03, AKIN07 ,Nobody")
    assert sorted(listed_numbers(names.text)) == sorted([numbers[4], numbers[8]])
    # A wildcard ESIID search finds every agreement on that ESIID, never another company's.
    esiid = meters_of(portal.engine, UNREGISTERED)[0][0]
    by_esiid = search(browser, "esiid", f"{esiid[:-1]}*")
    assert sorted(listed_numbers(by_esiid.text)) == sorted(numbers[1:])
    assert theirs not in by_esiid.text
    anything = search(browser, "agreement_number", ",".join(f"{digit}*" for digit in range(1, 10)))
    assert sorted(listed_numbers(anything.text)) == sorted(numbers)
    meter = meters_of(portal.engine, "customer0002")[0][1]
    assert listed_numbers(search(browser, "meter_number", meter.lower()).text) == [numbers[0]]
    # HAN devices are not agreement subjects here: the search finds nothing, and says so.
    han = search(browser, "han_mac", "00:11:22*".replace(":", ""))
    assert han.status_code == 200
    assert listed_numbers(han.text) == []
    assert "No agreement matches." in han.text


def test_search_takes_up_to_100_items(portal):
    numbers = many_agreements(portal, 26)
    browser = portal.browser("sunny-agent")
    hundred = [f"{900000000000 + index}" for index in range(99)] + [numbers[2]]
    found = search(browser, "agreement_number", ",".join(hundred))
    assert found.status_code == 200
    assert listed_numbers(found.text) == [numbers[2]]
    too_many = search(browser, "agreement_number", ",".join([*hundred, numbers[3]]))
    assert too_many.status_code == 400
    assert "At most 100 search items (got 101)" in too_many.text
    assert listed_numbers(too_many.text) == []


def test_a_refused_search_says_why_with_400(portal):
    many_agreements(portal, 26)
    browser = portal.browser("sunny-agent")
    cases = (
        ("nonsense", "1*", "Select the type of agreement search criteria."),
        ("agreement_number", " , ", "Type one or more search items"),
        ("last_name", "Ak%n", "a search item is letters, digits and an optional trailing *"),
        ("agreement_number", "1*2", "a search item is letters, digits and an optional trailing *"),
    )
    for criterion, items, message in cases:
        response = search(browser, criterion, items)
        assert response.status_code == 400, (criterion, items)
        assert message in response.text
        # What was typed stays in the box.
        assert 'id="items"' in response.text
