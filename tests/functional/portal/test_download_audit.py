"""Download My Data is a data access: the portal audits it before the first byte goes out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import insert, select, text

from opencustodian.domain.events import EventTag
from opencustodian.storage.models import AuditEvent, RetailCustomer
from tests.functional.portal.helpers import customer_browser, download_form, point_ids

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian

FIRST, LAST = "2026-10-30", "2026-11-01"


def download_events(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditEvent.subject, AuditEvent.actor, AuditEvent.data)
            .where(AuditEvent.tag == EventTag.DATA_DOWNLOADED.value)
            .order_by(AuditEvent.id)
        ).all()
    return [(row.subject, row.actor, row.data) for row in rows]


def customer_uuid(engine: Engine, username: str) -> str:
    with engine.connect() as connection:
        found = connection.scalar(
            select(RetailCustomer.uuid).where(RetailCustomer.username == username)
        )
    return str(found)


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_a_download_is_audited_before_its_body_is_read(server: LiveCustodian, fmt: str) -> None:
    assert EventTag.DATA_DOWNLOADED.value == "portal:data:downloaded"
    mine = point_ids(server.engine, "customer0001")
    customer = customer_uuid(server.engine, "customer0001")
    already = len(download_events(server.engine))
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        form = download_form(page, mine[:1], FIRST, LAST, fmt)
        url = f"{server.base_url}/portal/download"
        with http.stream("POST", url, data=form) as response:
            assert response.status_code == 200
            # Headers are in, the body is not read yet: the event is already committed.
            events = download_events(server.engine)[already:]
            body = b"".join(response.iter_bytes())
    assert body
    assert events == [
        (
            f"customer:{customer}",
            f"customer:{customer}",
            {"service_points": mine[:1], "format": fmt, "from": FIRST, "to": LAST},
        )
    ]


def test_every_chosen_point_is_named_and_refused_downloads_record_nothing(
    server: LiveCustodian,
) -> None:
    mine = point_ids(server.engine, "customer0001")
    theirs = point_ids(server.engine, "customer0002")
    already = len(download_events(server.engine))
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        url = f"{server.base_url}/portal/download"
        refusals = [
            download_form(page, mine, LAST, FIRST, "csv"),  # 'to' before 'from'
            download_form(page, theirs, FIRST, LAST, "csv"),  # another customer's service
            download_form(page, mine, FIRST, LAST, "pdf"),  # no such format
        ]
        for form in refusals:
            assert http.post(url, data=form).status_code == 400
        assert download_events(server.engine)[already:] == []
        response = http.post(
            url, data=download_form(page, list(reversed(mine)), FIRST, LAST, "csv")
        )
    assert response.status_code == 200
    ((_subject, _actor, data),) = download_events(server.engine)[already:]
    assert data["service_points"] == sorted(mine)
    assert len(mine) == 2


def test_the_access_log_query_uses_the_subject_index(engine: Engine) -> None:
    """The access log's lookup (``data_reads``) seeks ``(subject, occurred_at)``: revision 0005.

    With statistics (SQLite after ANALYZE, PostgreSQL's autovacuum) and a log where one tag
    dominates, the planner picks the subject index over scanning every read of the tag.
    """
    with engine.begin() as connection:
        connection.execute(
            insert(AuditEvent),
            [
                {"tag": EventTag.DATA_READ.value, "subject": f"grant:{n % 500}", "data": {}}
                for n in range(5_000)
            ],
        )
        connection.execute(text("ANALYZE"))
    query = (
        "SELECT occurred_at, subject, data FROM audit_events "
        "WHERE tag = 'espi:data:read' AND subject IN ('grant:1', 'grant:2') "
        "ORDER BY occurred_at DESC, id DESC LIMIT 26"
    )
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.execute(text(explain + query)))
    assert "ix_audit_events_subject_occurred_at" in plan
