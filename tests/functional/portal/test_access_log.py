"""The portal's access log over real HTTP: a third party's reads, by name, and no one else's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx

from tests.functional.oauth.flows import customer_tokens, read, unique_name
from tests.functional.portal.helpers import customer_browser, point_ids

ROW = re.compile(r"<tr>\s*<td><time datetime=\"([^\"]+)\">.*?</tr>", re.DOTALL)


def log_rows(page: str) -> list[str]:
    """The access log's rows (each a chunk of HTML), in page order."""
    table = page.split('id="access-log"', 1)[1].split("</table>", 1)[0]
    return [match.group(0) for match in ROW.finditer(table)]


def test_a_third_partys_feed_read_is_listed_by_name_in_plain_words(server, http):
    name = unique_name("Solar Reader")
    party = server.register(name)
    tokens = customer_tokens(http, server, party)  # signs customer0001 in on ``http``
    assert read(http, tokens["resourceURI"], tokens["access_token"]).status_code == 200
    page = http.get(f"{server.base_url}/portal/access-log")
    assert page.status_code == 200, page.text
    rows = [row for row in log_rows(page.text) if name in row]
    assert len(rows) == 1
    row = rows[0]
    assert "All the usage data you shared" in row
    assert "Electricity at " in row
    assert party.client_id not in page.text  # a name, never a client id
    assert not any(point in page.text for point in point_ids(server.engine, "customer0001"))
    when = datetime.fromisoformat(re.search(r'datetime="([^"]+)"', row).group(1))  # type: ignore[union-attr]
    assert when.utcoffset() in {timedelta(hours=-4), timedelta(hours=-5)}  # New York local time


def test_another_customers_reads_never_appear(server, http):
    mine, theirs = unique_name("Mine"), unique_name("Theirs")
    my_party, their_party = server.register(mine), server.register(theirs)
    tokens = customer_tokens(http, server, my_party)
    read(http, tokens["resourceURI"], tokens["access_token"])
    with httpx.Client(timeout=30) as other:
        their_tokens = customer_tokens(other, server, their_party, username="customer0002")
        assert (
            read(other, their_tokens["resourceURI"], their_tokens["access_token"]).status_code
            == 200
        )
        their_log = other.get(f"{server.base_url}/portal/access-log").text
    my_log = http.get(f"{server.base_url}/portal/access-log").text
    assert mine in my_log
    assert theirs not in my_log
    assert theirs in their_log
    assert mine not in their_log


def test_the_log_is_paginated_newest_first(server):
    name = unique_name("Frequent Reader")
    party = server.register(name)
    with customer_browser(server, "customer0003", "/portal/access-log") as (http, first_page):
        assert name not in first_page
        tokens = customer_tokens(http, server, party, username="customer0003")
        electric = point_ids(server.engine, "customer0003")[0]
        one_point = f"{tokens['resourceURI']}/UsagePoint/{electric}"
        for _ in range(26):
            assert read(http, one_point, tokens["access_token"]).status_code == 200
        read(http, tokens["resourceURI"], tokens["access_token"])  # the newest read
        page_one = http.get(f"{server.base_url}/portal/access-log").text
        page_two = http.get(f"{server.base_url}/portal/access-log", params={"page": 2}).text
        refused = http.get(f"{server.base_url}/portal/access-log", params={"page": "0"})
    rows_one, rows_two = log_rows(page_one), log_rows(page_two)
    assert len(rows_one) == 25
    assert len(rows_two) == 2
    assert "All the usage data you shared" in rows_one[0]
    assert all("Usage data of one service" in row for row in rows_one[1:] + rows_two)
    assert all(name in row for row in rows_one + rows_two)
    times = [datetime.fromisoformat(ROW.match(row).group(1)) for row in rows_one + rows_two]  # type: ignore[union-attr]
    assert times == sorted(times, reverse=True)
    assert 'href="/portal/access-log?page=2" rel="next"' in page_one
    assert 'href="/portal/access-log?page=1" rel="prev"' in page_two
    assert 'rel="next"' not in page_two
    assert refused.status_code == 400
    assert "is not a page number" in refused.text
