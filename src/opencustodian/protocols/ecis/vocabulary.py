"""The three ECIS response bodies with seed 004's field names, and ECIS problem bodies.

Every field is the seed's own name ("ECIS Vocabulary" and each request type's list), with two
decisions recorded here:

- The seed spells the invoice's end ``serivce_period_end`` next to ``service_period_start``:
  a typo. The answer says ``service_period_end``, so the pair reads alike and a client
  generator produces sensible names; the response schemas (``EcisInvoice``,
  ``EcisInvoiceDetail``) say the same.
- The credit fields are named as the request type's list names them (``credit_carryover``,
  ``credit_new``, ``credit_allocated``, ``credit_remaining_total``); the seed's vocabulary
  section adds ``_total`` to the first three, but the request list is what a response holds.

Values: ``account_type`` is the vocabulary's ``electric`` or ``gas`` (the service that speaks
for the account, ``domain.invoices``); the account's customer class (residential or
commercial) is the extension member ``oc_account_class``. Dates are ISO 8601 calendar dates;
money, quantities and rates are ``Decimal`` values, written as exact JSON numbers by
``kit.exact_json`` (never through float). ``invoice_paid`` is true when the whole statement is
paid. ``producer_projects`` names each net-metered service point of the account as one
project, ``net-metering:<ESIID>``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import Commodity

if TYPE_CHECKING:
    from datetime import date

    from opencustodian.domain.invoices import AccountSummary, Invoice, InvoiceDetail

JsonObject = dict[str, object]

ACCOUNT_TYPES: Final = {Commodity.ELECTRICITY: "electric", Commodity.GAS: "gas"}
#: Charge group (``domain.invoices.CHARGE_GROUPS``) → the seed's field prefix.
GROUP_FIELDS: Final = {
    "energy": "energy_consumption",
    "distribution": "distribution",
    "transmission": "transmission",
    "stranded_costs": "stranded_costs",
    "conservation": "conservation",
}


def _day(value: date) -> str:
    return value.isoformat()


def basic_body(summary: AccountSummary) -> JsonObject:
    """The answer to an ECI Basic Request."""
    return {
        "system_account_id": summary.account_number,
        "account_type": ACCOUNT_TYPES[summary.account_type],
        "rate_code": summary.rate_code,
        "next_read_date": _day(summary.next_read_date),
        "meter_number": summary.meter_number,
        "producer_projects": list(summary.producer_projects),
        "system_invoice_ids": [str(invoice_id) for invoice_id in summary.invoice_ids],
        "oc_account_class": summary.account_class.value,
    }


def invoice_body(invoice: Invoice) -> JsonObject:
    """The answer to an ECI Invoice Request."""
    return {
        "system_account_id": invoice.account_number,
        "system_invoice_id": str(invoice.id),
        "rate_code": invoice.rate_code,
        "next_read_date": _day(invoice.next_read_date),
        "meter_number": invoice.meter_number,
        "invoice_date": _day(invoice.invoice_date),
        "invoice_due_date": _day(invoice.due_date),
        "invoice_total": invoice.total,
        "invoice_paid": invoice.paid,
        "service_period_start": _day(invoice.period_start),
        "service_period_end": _day(invoice.period_end),
    }


def invoice_detail_body(detail: InvoiceDetail) -> JsonObject:
    """The answer to an ECI Invoice Detail Request."""
    body = invoice_body(detail.invoice)
    body["delivery_unit"] = detail.delivery_unit
    body["service_unit"] = detail.service_unit
    for group, prefix in GROUP_FIELDS.items():
        charges = detail.groups[group]
        body[f"{prefix}_quantity"] = charges.quantity
        body[f"{prefix}_rate"] = charges.rate
        body[f"{prefix}_total"] = charges.total
    credit = detail.credits
    body.update(
        {
            "credit_unit": credit.unit,
            "credit_rate": credit.rate,
            "credit_carryover": credit.carryover,
            "credit_new": credit.new,
            "credit_allocated": credit.allocated,
            "credit_remaining_total": credit.remaining,
        }
    )
    return body


#: Every ``oc_code`` the ECIS endpoints answer, with its HTTP status.
PROBLEMS: Final[dict[str, int]] = {
    # the access token (RFC 6750 §3.1)
    "invalid_request": 401,
    "invalid_token": 401,
    "insufficient_scope": 403,
    # the request JWT (protocols.ecis.jwt_requests.JwtErrorCode)
    "too_large": 413,
    "malformed": 400,
    "unsupported_algorithm": 400,
    "unknown_key": 400,
    "key_mismatch": 400,
    "invalid_signature": 400,
    "wrong_issuer": 400,
    "wrong_audience": 400,
    "expired": 400,
    "not_yet_valid": 400,
    "lifetime_too_long": 400,
    "missing_claim": 400,
    "bad_claim": 400,
    "replayed": 400,
    # what the request names
    "account_not_shared": 403,
    "invoice_not_on_account": 403,
    "unknown_invoice": 404,
    "no_energy_service": 404,
    # the HTTP request itself
    "unsupported_media_type": 415,
    # key registration
    "invalid_client": 401,
    "invalid_keys": 400,
}


def problem_body(code: str, detail: str) -> JsonObject:
    """An RFC 9457 problem for ``code`` (one of ``PROBLEMS``), with ``oc_code``.

    The type is ``about:blank``, so the title is the status phrase (RFC 9457 §4.2.1); what
    went wrong is ``oc_code`` (stable, for programs) and ``detail`` (for the developer).
    """
    status = PROBLEMS[code]
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "oc_code": code,
    }


def problem_status(code: str) -> int:
    """The HTTP status ``code`` is answered with."""
    return PROBLEMS[code]
