"""ESPI resource URIs the custodian hands out (research/espi.md §2, §5.2).

Third parties keep these URIs and call them back, so their shape is a public contract: the
token response's ``resourceURI``, ``authorizationURI`` and ``customerResourceURI`` (seed 000
§3.1) and the BatchList entries of notifications.
"""

from __future__ import annotations

RESOURCE_ROOT = "/espi/1_1/resource"


def resource_root(base_url: str) -> str:
    """The ESPI resource endpoint (``dataCustodianResourceEndpoint``)."""
    return f"{base_url.rstrip('/')}{RESOURCE_ROOT}"


def subscription_uri(base_url: str, subscription_id: str) -> str:
    """``…/Batch/Subscription/{id}``: everything a customer grant covers."""
    return f"{resource_root(base_url)}/Batch/Subscription/{subscription_id}"


def authorization_uri(base_url: str, authorization_id: str) -> str:
    """``…/Authorization/{id}``: the grant itself."""
    return f"{resource_root(base_url)}/Authorization/{authorization_id}"


def retail_customer_uri(base_url: str, subscription_id: str) -> str:
    """``…/Batch/RetailCustomer/{id}``: the customer.xsd feed of a grant (PG&E's shape)."""
    return f"{resource_root(base_url)}/Batch/RetailCustomer/{subscription_id}"


def bulk_uri(base_url: str, bulk_id: str) -> str:
    """``…/Batch/Bulk/{id}``: every grant of a third party (client access token)."""
    return f"{resource_root(base_url)}/Batch/Bulk/{bulk_id}"


def application_information_uri(base_url: str, application_id: str) -> str:
    """``…/ApplicationInformation/{id}``: a third party's registration."""
    return f"{resource_root(base_url)}/ApplicationInformation/{application_id}"
