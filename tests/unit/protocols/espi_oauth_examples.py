"""ApplicationInformation and Authorization values shared by the ESPI entry tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from opencustodian.protocols.espi.entries import (
    ApplicationInformationEntry,
    AtomHead,
    AuthorizationEntry,
    AuthorizationStatus,
    DataCustodianApplicationStatus,
    Period,
    RelatedLink,
    ThirdPartyApplicationStatus,
    ThirdPartyApplicationType,
    ThirdPartyApplicationUse,
)

DC = "https://dc.example.com/DataCustodian"
TP = "https://tp.example.com"
ISSUED = datetime(2025, 1, 1, tzinfo=UTC)  # epoch 1735689600
EASTERN = ZoneInfo("America/New_York")

MINIMAL_APPLICATION = ApplicationInformationEntry(
    data_custodian_id="opencustodian",
    data_custodian_application_status=DataCustodianApplicationStatus.REVIEW,
    third_party_notify_uri=f"{TP}/espi/1_1/Notification",
    authorization_server_authorization_endpoint=f"{DC}/oauth/authorize",
    authorization_server_token_endpoint=f"{DC}/oauth/token",
    data_custodian_bulk_request_uri=f"{DC}/espi/1_1/resource/Batch/Bulk",
    data_custodian_resource_endpoint=f"{DC}/espi/1_1/resource",
    client_name="Solar Helper",
    redirect_uris=(f"{TP}/callback",),
    client_id="solar-helper",
    software_id="solar-helper",
    software_version="1.0",
    client_id_issued_at=ISSUED,
    scopes=("FB=1_3_4_5_13_14_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",),
    registration_client_uri=f"{DC}/espi/1_1/resource/ApplicationInformation/7",
)

FULL_APPLICATION = ApplicationInformationEntry(
    data_custodian_id="opencustodian",
    data_custodian_application_status=DataCustodianApplicationStatus.PRODUCTION,
    third_party_application_description="Sizes rooftop solar from your usage",
    third_party_application_status=ThirdPartyApplicationStatus.PRODUCTION,
    third_party_application_type=ThirdPartyApplicationType.WEB,
    third_party_application_use=ThirdPartyApplicationUse.ENERGY_MANAGEMENT,
    third_party_phone="+1 800 555 0100",
    authorization_server_uri=DC,
    third_party_notify_uri=f"{TP}/espi/1_1/Notification",
    authorization_server_authorization_endpoint=f"{DC}/oauth/authorize",
    authorization_server_registration_endpoint=f"{DC}/register",
    authorization_server_token_endpoint=f"{DC}/oauth/token",
    data_custodian_bulk_request_uri=f"{DC}/espi/1_1/resource/Batch/Bulk",
    data_custodian_resource_endpoint=f"{DC}/espi/1_1/resource",
    third_party_scope_selection_screen_uri=f"{TP}/scope",
    third_party_user_portal_screen_uri=f"{TP}/home",
    client_secret="s3cr3t-" + "x" * 40,
    logo_uri=f"{TP}/logo.png",
    client_name="Solar Helper & Sons <beta>",
    client_uri=TP,
    redirect_uris=(f"{TP}/callback", "http://127.0.0.1:8765/callback"),
    client_id="solar-helper",
    tos_uri=f"{TP}/terms",
    policy_uri=f"{TP}/privacy",
    software_id="solar-helper",
    software_version="2.4.1",
    client_id_issued_at=datetime(2024, 12, 31, 19, 0, tzinfo=EASTERN),  # = ISSUED
    client_secret_expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    contacts=("ops@tp.example.com", "dev@tp.example.com"),
    scopes=(
        "FB=1_3_4_5_13_14_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",
        "FB=1_3_4_5_13_14_39;IntervalDuration=900;BlockDuration=daily;HistoryLength=13",
    ),
    grant_types=("authorization_code", "refresh_token"),
    registration_client_uri=f"{DC}/espi/1_1/resource/ApplicationInformation/7",
    registration_access_token="reg-token-123456789",
    data_custodian_scope_selection_screen_uri=f"{DC}/RetailCustomer/ScopeSelectionList",
)

MINIMAL_AUTHORIZATION = AuthorizationEntry(
    status=AuthorizationStatus.ACTIVE,
    expires_at=ISSUED,
    scope="FB=1_3_4_5_13_14_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",
    resource_uri=f"{DC}/espi/1_1/resource/Batch/Subscription/5",
    authorization_uri=f"{DC}/espi/1_1/resource/Authorization/9",
)

FULL_AUTHORIZATION = AuthorizationEntry(
    authorized_period=Period(start=datetime(2024, 3, 10, tzinfo=EASTERN), duration=31_536_000),
    published_period=Period(start=ISSUED, duration=0),
    status=AuthorizationStatus.DENIED,
    expires_at=datetime(2025, 1, 1, 1, tzinfo=UTC),
    grant_type="authorization_code",
    scope="FB=1_3_4_5_13_14_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",
    error="access_denied",
    error_description="The customer declined",
    error_uri=f"{DC}/errors/access_denied",
    resource_uri=f"{DC}/espi/1_1/resource/Batch/Subscription/5",
    authorization_uri=f"{DC}/espi/1_1/resource/Authorization/9",
    customer_resource_uri=f"{DC}/customer/espi/1_1/resource/Batch/RetailCustomer/3",
)


def head(kind: str, number: int = 1, *, related: tuple[RelatedLink, ...] = ()) -> AtomHead:
    """The Atom metadata of resource ``number`` of ``kind``."""
    return AtomHead(
        entry_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{number}"),
        self_href=f"{DC}/espi/1_1/resource/{kind}/{number}",
        up_href=f"{DC}/espi/1_1/resource/{kind}",
        published=ISSUED,
        updated=datetime(2025, 6, 1, 8, 30, tzinfo=EASTERN),
        title=f"{kind} {number}",
        related=related,
    )
