"""Every route of the custodian, in one place (what a reviewer audits first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencustodian.oauth.endpoints import revocation_endpoint, token_endpoint
from opencustodian.web.api import (
    agreements,
    cds,
    cds_admin,
    ecis,
    espi_authorization,
    espi_bulk,
    espi_customer,
    espi_resources,
    espi_usage,
)
from opencustodian.web.pages import (
    admin,
    agreement_invitations,
    consent,
    customer_agreements,
    mailbox,
    partner,
    portal,
    registration,
    sign_in,
    usage,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Token endpoint paths: RFC 6749's, and the ESPI-prefixed one of seed 000 (§3.1).
TOKEN_PATHS = ("/oauth/token", "/espi/1_1/oauth/token", "/oauth/Token")
AUTHORIZE_PATHS = ("/oauth/authorize", "/oauth/Authorize")


def install(app: FastAPI) -> None:
    """Register the OAuth edge, the pages and the ESPI resources on ``app``."""
    for path in TOKEN_PATHS:
        app.add_route(
            path, token_endpoint, methods=["POST"], include_in_schema=path == TOKEN_PATHS[0]
        )
    app.add_route("/oauth/revoke", revocation_endpoint, methods=["POST"])
    for path in AUTHORIZE_PATHS:
        app.add_route(path, consent.authorize_page, methods=["GET"], include_in_schema=False)
        app.add_route(path, consent.authorize_decision, methods=["POST"], include_in_schema=False)
    app.add_route("/login", sign_in.sign_in_page, methods=["GET"], include_in_schema=False)
    app.add_route("/login", sign_in.sign_in, methods=["POST"], include_in_schema=False)
    app.add_route("/logout", sign_in.sign_out, methods=["POST"], include_in_schema=False)
    portal.install(app)
    usage.install(app)  # Download My Data, usage chart, access log
    agreement_invitations.install(app)  # emailed accept/reject links of agreements (seed 003)
    customer_agreements.install(app)  # the customer's 3rd Party Agreements pages
    registration.install(app)  # /register: residential and business (FR 6, FR 15)
    espi_authorization.install(app)
    espi_usage.install(app)
    espi_bulk.install(app)  # Bulk and the jobs of asynchronous batches
    espi_resources.install(app)
    espi_customer.install(app)
    admin.install(app)  # operator pages and the ApplicationInformation resource
    cds.install(app)  # CDS customer data (JSON)
    cds_admin.install(app)  # CDS and RFC 8414 discovery, Grants and Clients APIs, introspection
    ecis.install(app)  # ECIS signed requests and their keys (seed 004)
    partner.install(app)  # the third party's portal: Customer Agreements, users, profile
    agreements.install(app)  # /agreements/v1: the third party's agreements API (seed 003)
    mailbox.install(app)  # /dev/mailbox: held outgoing email (development and testing only)
