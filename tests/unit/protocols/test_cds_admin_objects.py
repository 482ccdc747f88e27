"""CDS Grant and Client objects (protocols.cds.admin_objects): statuses, members, schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opencustodian.domain.consent import EndReason, GrantStatus
from opencustodian.domain.parties import ApplicationStatus
from opencustodian.protocols.cds.admin_objects import (
    ClientView,
    GrantView,
    client_object,
    grant_object,
    grant_status,
)
from tests.cds_schemas import assert_valid

BASE = "https://dc.example"
CREATED = datetime(2026, 9, 1, 14, tzinfo=UTC)
CONSENT = ("cds_accounts", "cds_usage")
METADATA_URL = f"{BASE}/.well-known/cds-server-metadata.json"

_A = GrantStatus.ACTIVE
_R = GrantStatus.REVOKED
_OK = ApplicationStatus.PRODUCTION

STATUS_TABLE = [
    # (stored, end reason, application, past end, points held) -> CDS status
    ("active", _A, None, _OK, False, True, "active"),
    ("sandbox-active", _A, None, ApplicationStatus.TEST, False, True, "active"),
    ("suspended-party", _A, None, ApplicationStatus.SUSPENDED, False, True, "suspended"),
    ("revoked-party", _A, None, ApplicationStatus.REVOKED, False, True, "disabled"),
    ("past-end", _A, None, _OK, True, True, "expired"),
    ("moved-out", _A, None, _OK, False, False, "disabled"),
    ("closed-by-client", _R, EndReason.THIRD_PARTY_REVOKED, _OK, False, True, "closed"),
    ("revoked-by-customer", _R, EndReason.CUSTOMER_REVOKED, _OK, False, True, "revoked"),
    ("revoked-by-utility", _R, EndReason.ADMIN_REVOKED, _OK, False, True, "disabled"),
    ("code-replayed", _R, EndReason.CODE_REUSED, _OK, False, True, "disabled"),
    ("refresh-replayed", _R, EndReason.REFRESH_TOKEN_REUSED, _OK, False, True, "disabled"),
    ("expired", GrantStatus.EXPIRED, EndReason.EXPIRED, _OK, True, True, "expired"),
    ("ended-move-out", GrantStatus.ENDED, EndReason.MOVE_OUT, _OK, False, False, "disabled"),
    ("ended-closure", GrantStatus.ENDED, EndReason.ACCOUNT_CLOSED, _OK, False, False, "disabled"),
    (
        "ended-suspended",
        _R,
        EndReason.CUSTOMER_REVOKED,
        ApplicationStatus.SUSPENDED,
        False,
        True,
        "revoked",
    ),
]


@pytest.mark.parametrize("row", STATUS_TABLE, ids=[row[0] for row in STATUS_TABLE])
def test_grant_status(row):
    _, stored, reason, application, past_end, held, expected = row
    status = grant_status(
        stored, reason, application=application, past_end=past_end, points_held=held
    )
    assert status == expected


def view(**changes: object) -> GrantView:
    values: dict[str, object] = {
        "grant_id": "5d1c2f4e-8f0a-4c55-9a57-1f3f8c1e2b10",
        "client_id": "tp-123",
        "status": "active",
        "scope": "cds_accounts cds_usage",
        "authorization_details": [
            {
                "type": "cds_usage",
                "account_numbers": ["0001"],
                "servicepoint_numbers": ["SP-1"],
                "expires": "2027-09-01T14:00:00Z",
            }
        ],
        "created": CREATED,
        "modified": CREATED + timedelta(minutes=1),
        "authorized_start": CREATED,
        "authorized_end": CREATED + timedelta(days=365),
    }
    values.update(changes)
    return GrantView(**values)  # type: ignore[arg-type]


def test_a_live_grant_object():
    grant = grant_object(view(), BASE)
    assert_valid("Grant", grant)
    assert grant["uri"] == f"{BASE}/cds/v1/grants/5d1c2f4e-8f0a-4c55-9a57-1f3f8c1e2b10"
    assert grant["not_before"] is None  # access starts at approval
    assert grant["not_after"] == grant["expires"] == "2027-09-01T14:00:00Z"
    assert grant["enabled_scope"] == grant["scope"]
    assert grant["enabled_authorization_details"] == grant["authorization_details"]
    assert grant["modified"] == "2026-09-01T14:01:00Z"


@pytest.mark.parametrize("status", ["closed", "revoked", "expired", "disabled", "suspended"])
def test_an_ended_grant_enables_nothing(status):
    grant = grant_object(view(status=status), BASE)
    assert_valid("Grant", grant)
    assert grant["status"] == status
    assert grant["enabled_scope"] == ""
    assert grant["enabled_authorization_details"] == []
    assert grant["authorization_details"]  # what was granted stays on record


def test_an_espi_grant_has_no_authorization_details_and_no_end():
    grant = grant_object(
        view(
            scope="FB=1_3_4_5;IntervalDuration=900;", authorization_details=[], authorized_end=None
        ),
        BASE,
    )
    assert_valid("Grant", grant)
    assert grant["authorization_details"] == []
    assert grant["expires"] is None
    assert grant["not_after"] is None


def test_a_period_starting_later_sets_not_before():
    later = CREATED + timedelta(days=3)
    assert grant_object(view(authorized_start=later), BASE)["not_before"] == "2026-09-04T14:00:00Z"


def test_scope_items_read_either_language_and_the_detail_types():
    assert view().scope_items == {"cds_accounts", "cds_usage"}
    espi = view(scope="FB=1_3;IntervalDuration=900;|FB=4_5;", authorization_details=[])
    assert espi.scope_items == {"FB=1_3;IntervalDuration=900;", "FB=4_5;"}
    merged = view(scope="cds_accounts", authorization_details=[{"type": "cds_usage"}])
    assert merged.scope_items == {"cds_accounts", "cds_usage"}


def client(**changes: object) -> ClientView:
    values: dict[str, object] = {
        "client_id": "tp-123",
        "name": "SunSpot Solar",
        "issued_at": CREATED,
        "modified": CREATED + timedelta(days=1),
        "status": ApplicationStatus.PRODUCTION,
        "scopes": ("cds_accounts", "cds_usage", "cds_query_accounts"),
        "espi_scopes": ("FB=1_3_4_5;IntervalDuration=900;",),
        "redirect_uris": ("https://sunspot.example/cb",),
        "auth_method": "client_secret_basic",
        "contacts": ("dev@sunspot.example",),
        "website": "https://sunspot.example",
    }
    values.update(changes)
    return ClientView(**values)  # type: ignore[arg-type]


def test_a_confidential_client_administers_itself():
    body = client_object(client(), BASE, CONSENT, METADATA_URL)
    assert_valid("Client", body)
    assert body["scope"] == "cds_accounts cds_usage cds_query_accounts cds_client_admin"
    assert body["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert body["authorization_details_types"] == ["cds_accounts", "cds_usage"]
    assert body["cds_default_scope"] == "cds_accounts cds_usage"
    assert body["cds_status"] == "production"
    assert body["cds_status_options"] == ["production"]
    assert body["client_id_issued_at"] == int(CREATED.timestamp())
    assert body["oc_espi_scopes"] == ["FB=1_3_4_5;IntervalDuration=900;"]
    assert "client_secret" not in body


def test_a_public_client_may_be_disabled_and_has_no_client_credentials():
    body = client_object(client(auth_method="none"), BASE, CONSENT, METADATA_URL)
    assert_valid("Client", body)
    assert "cds_client_admin" not in body["scope"]  # type: ignore[operator]
    assert "client_credentials" not in body["grant_types"]  # type: ignore[operator]
    assert body["cds_status_options"] == ["disabled", "production"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ApplicationStatus.TEST, "sandbox"),
        (ApplicationStatus.PRODUCTION, "production"),
        (ApplicationStatus.SUSPENDED, "disabled"),
        (ApplicationStatus.REVOKED, "disabled"),
    ],
)
def test_client_statuses(status, expected):
    body = client_object(client(status=status), BASE, CONSENT, METADATA_URL)
    assert_valid("Client", body)
    assert body["cds_status"] == expected
