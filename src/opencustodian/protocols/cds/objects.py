"""CDS Customer Data objects from the custodian's records (CDS-WG3-01 §10.1–10.7, 10.9).

Pure functions: domain facts in, JSON-ready dicts out (decimals stay ``Decimal``; the web layer
writes them exactly with ``kit.exact_json``). Ids are the ones the other interfaces use, so one
thing has one id everywhere: a service point's ``cds_servicepoint_id`` is its ESPI UsagePoint
id, a meter's is its ESPI Meter id, a bill section's is the stored bill's (ESPI UsageSummary)
id, and a statement's is the ECIS ``system_invoice_id``.

Field choices the draft leaves open are stated where they are made: bill section
``end_date`` is the last day billed (bills print inclusive periods; the stored period end is
exclusive), and the model's mailing address is a postal code only, so it is given as the
server extension ``oc_billing_postal_code`` rather than as a misleading ``account_address``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from opencustodian.domain.customers import AccountClass
from opencustodian.domain.metering import Commodity
from opencustodian.domain.statements import statement_id
from opencustodian.kit.ids import stable_uuid

if TYPE_CHECKING:
    from datetime import date, datetime
    from uuid import UUID

    from opencustodian.domain.catalog import AggregationFacts, CertificateFacts
    from opencustodian.domain.customer_facts import (
        AccountFacts,
        CustomerFacts,
        HeldPointFacts,
        LocationFacts,
        MeterFacts,
    )
    from opencustodian.domain.statements import (
        BillRecord,
        ChargeRecord,
        SectionRecord,
        Statement,
    )

JsonObject = dict[str, object]

SERVICE_TYPES: Final = {
    Commodity.ELECTRICITY: "electric",
    Commodity.GAS: "natural_gas",
    Commodity.WATER: "water",
}
_METER_USAGE_TYPES: Final = {
    Commodity.ELECTRICITY: "electric_usage",
    Commodity.GAS: "natural_gas_usage",
    Commodity.WATER: "water_usage",
}
_METER_CATEGORY_TYPES: Final = {
    "ami": "ami_meter",
    "legacy_interval": "amr_meter",
    "non_interval": "analog_meter",
}
_NEW_CHARGE_TYPES: Final = {
    Commodity.ELECTRICITY: "electric_total",
    Commodity.GAS: "natural_gas_total",
    Commodity.WATER: "water_total",
}
#: Section kind → the cost-detail type its subtotal is (§10.6.6).
_SECTION_COST_TYPES: Final = {
    "delivery": "distribution",
    "supply": "supply",
    "esco": "supply",
    "tax": "taxes",
}
#: Charge category → line-item types (§10.6.8).
_CHARGE_TYPES: Final = {
    "fixed": ("fixed_charge",),
    "energy": ("usage_charge", "supply"),
    "distribution": ("usage_charge", "distribution"),
    "transmission": ("usage_charge", "transmission"),
    "stranded_costs": ("usage_charge", "other"),
    "conservation": ("usage_charge", "other"),
    "tax": ("tax",),
    "credit": ("other",),
    "other": ("other",),
}
#: Units a charge's quantity may carry on the wire (§10.8.7.1); others are left out.
_UNIT_TYPES: Final = {
    "kwh": "kWh",
    "ccf": "CCF",
    "therm": "therm",
    "therms": "therm",
    "gal": "gal",
    "days": "days",
    "usd": "money",
}


@dataclass(frozen=True, slots=True)
class Utility:
    """The custodian as a CDS Entity (§10.1.4): it distributes and, by default, supplies."""

    id: str
    number: str
    name: str
    abbreviation: str | None

    def entity(self) -> JsonObject:
        """The Entity object."""
        return {
            "id": self.id,
            "types": ["distributor", "supplier", "iou"],
            "entity_number": self.number,
            "entity_name": self.name,
            "entity_abbreviation": self.abbreviation,
        }


def instant(value: datetime) -> str:
    """An RFC 3339 UTC timestamp (whole seconds)."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def day(value: date) -> str:
    """An ISO 8601 date."""
    return value.isoformat()


def _stamps(created: datetime, modified: datetime, synced: datetime) -> JsonObject:
    return {
        "cds_created": instant(created),
        "cds_modified": instant(max(created, modified)),
        "cds_synced": instant(synced),
    }


def contract_id(account: UUID, point: UUID, since: date) -> str:
    """A service contract's id: the account's tenure at the service point from ``since``."""
    return str(stable_uuid("cds-service-contract", account, point, since.isoformat()))


def address(location: LocationFacts | None) -> str | None:
    """A service location as one string, lines separated by newlines."""
    if location is None:
        return None
    return f"{location.street}\n{location.city}, {location.state} {location.zip_code}"


@dataclass(frozen=True, slots=True)
class AccountView:
    """What one account shows: its facts, its customer, and which details are allowed."""

    account: AccountFacts
    customer: CustomerFacts | None
    contacts: bool
    postal_code: bool


def account_object(view: AccountView, utility: Utility, synced: datetime) -> JsonObject:
    """An Account (§10.1.1)."""
    account = view.account
    body: JsonObject = {
        "cds_account_id": str(account.uuid),
        **_stamps(account.created_at, account.updated_at, synced),
        "cds_account_parent": None,
        "account_number": account.number,
        "account_entity": utility.entity(),
        "account_types": ["customer", _class_type(account.account_class), "billed_monthly"],
        "account_status": account.status if account.status in _STATUSES else "unknown",
        "account_programs": [],
    }
    if view.customer is not None:
        body["customer_number"] = str(view.customer.uuid)
    if view.contacts and view.customer is not None:
        body["account_name"] = f"{view.customer.first_name} {view.customer.last_name}".strip()
        body["account_contacts"] = _contacts(view.customer)
    if view.postal_code:
        body["oc_billing_postal_code"] = account.billing_zip
    return body


_STATUSES: Final = frozenset({"active", "suspended", "closed"})


def _class_type(account_class: AccountClass) -> str:
    return "residential" if account_class is AccountClass.RESIDENTIAL else "commercial"


def _contacts(customer: CustomerFacts) -> list[JsonObject]:
    contacts: list[JsonObject] = [
        {
            "id": str(stable_uuid("cds-contact", customer.uuid, "email")),
            "types": ["email", "primary"],
            "value": customer.email,
        }
    ]
    phone = e164(customer.phone)
    if phone is not None:
        contacts.append(
            {
                "id": str(stable_uuid("cds-contact", customer.uuid, "phone")),
                "types": ["phone_number", "primary"],
                "value": phone,
            }
        )
    return contacts


_NANP_DIGITS: Final = 10


def e164(phone: str | None) -> str | None:
    """A stored telephone number in E.164 (§10.1.6), North American numbers assumed.

    Numbers stored with a ``+`` keep their country code; ten digits get +1; anything else
    cannot be written in E.164 and is left out rather than guessed.
    """
    if not phone:
        return None
    digits = "".join(char for char in phone if char.isdigit())
    if phone.strip().startswith("+"):
        return f"+{digits}" if 2 <= len(digits) <= 15 else None  # noqa: PLR2004 - E.164 lengths
    if len(digits) == _NANP_DIGITS:
        return f"+1{digits}"
    if len(digits) == _NANP_DIGITS + 1 and digits.startswith("1"):
        return f"+{digits}"
    return None


@dataclass(frozen=True, slots=True)
class PointView:
    """A shared service point with the account holding it and where it is."""

    point: HeldPointFacts
    account: AccountFacts
    location: LocationFacts | None


def service_contract_object(view: PointView, utility: Utility, synced: datetime) -> JsonObject:
    """A Service Contract (§10.2.1): the account's current tenure at the service point."""
    point = view.point
    body: JsonObject = {
        "cds_servicecontract_id": contract_id(view.account.uuid, point.uuid, point.held_since),
        **_stamps(point.tenure_created_at, point.tenure_updated_at, synced),
        "cds_account_id": str(view.account.uuid),
        "account_number": view.account.number,
        "contract_number": None,
        "contract_types": ["utility_service", "billed_monthly"],
        "contract_entity": utility.entity(),
        "contract_status": "active",
        "contract_start": day(point.held_since),
        "contract_end": None,
        "service_types": [
            SERVICE_TYPES[point.commodity],
            _class_type(view.account.account_class),
            "metered",
            "distribution",
        ],
        "service_programs": [],
    }
    location = address(view.location)
    if location is not None:
        body["contract_address"] = location
    if point.rate_plan:
        body["rateplan_code"] = point.rate_plan
        body["rateplan_name"] = point.rate_plan
    return body


def service_point_object(view: PointView, synced: datetime, *, show_contracts: bool) -> JsonObject:
    """A Service Point (§10.3.1); contract ids only when the caller may see contracts."""
    point = view.point
    contract = contract_id(view.account.uuid, point.uuid, point.held_since)
    return {
        "cds_servicepoint_id": str(point.uuid),
        **_stamps(point.created_at, point.updated_at, synced),
        "servicepoint_number": point.esiid,
        "servicepoint_types": [SERVICE_TYPES[point.commodity], "single_service", "physical"],
        "servicepoint_address": address(view.location),
        "current_servicecontracts": [contract] if show_contracts else [],
        "previous_servicecontracts": [],
    }


def meter_device_object(
    meter: MeterFacts, point: HeldPointFacts, today: date, synced: datetime
) -> JsonObject:
    """A Meter Device (§10.4.1): current at its service point until it was removed."""
    current = meter.removed_on is None or meter.removed_on > today
    flow = "bidirectional" if point.net_metered else "forward_only"
    return {
        "cds_meterdevice_id": str(meter.uuid),
        **_stamps(meter.created_at, meter.updated_at, synced),
        "meter_number": meter.number,
        "meter_types": [
            _METER_USAGE_TYPES[point.commodity],
            flow,
            "physical_meter",
            _METER_CATEGORY_TYPES.get(point.meter_category, "analog_meter"),
        ],
        "current_servicepoints": [str(point.uuid)] if current else [],
        "previous_servicepoints": [] if current else [str(point.uuid)],
    }


@dataclass(frozen=True, slots=True)
class BillContext:
    """What a bill's section refers to: its service point, contract and meters."""

    commodity: Commodity
    point_uuid: UUID
    contract: str | None
    meters: tuple[str, ...]


def bill_statement_object(
    statement: Statement, contexts: dict[int, BillContext], synced: datetime
) -> JsonObject:
    """A Bill Statement (§10.5.1): one account's bills issued on one day.

    The draft requires ``amount_due_date``; a bill stored without a due day is due on its
    issue day (what an unpaid statement without terms means).
    """
    created = min(bill.created_at for bill in statement.bills)
    modified = max(bill.updated_at for bill in statement.bills)
    return {
        "cds_billstatement_id": str(statement.id),
        **_stamps(created, modified, synced),
        "cds_account_id": str(statement.account_uuid),
        "account_number": statement.account_number,
        "statement_date": day(statement.issued_on),
        "currency": statement.currency,
        "file_uri": None,
        "new_charges_amount": statement.total,
        "new_charges": [_new_charge(bill, contexts[bill.id]) for bill in statement.bills],
        "amount_due": statement.total,
        "amount_due_date": day(statement.due_on or statement.issued_on),
        "shutoff_prevention_minimum_due": None,
        "shutoff_prevention_date": None,
    }


def _new_charge(bill: BillRecord, context: BillContext) -> JsonObject:
    return {
        "id": str(bill.uuid),
        "name": f"{SERVICE_TYPES[context.commodity].replace('_', ' ').capitalize()} service",
        "types": [_NEW_CHARGE_TYPES[context.commodity]],
        "amount": bill.total,
        "included_in_amount_due": True,
        "related_billsections": [str(bill.uuid)],
    }


def bill_section_object(
    bill: BillRecord, context: BillContext, utility: Utility, synced: datetime, *, amounts: bool
) -> JsonObject:
    """A Bill Section (§10.6.1): one stored bill; costs and line items only with ``amounts``."""
    usage_id = f"{bill.uuid}-usage"
    body: JsonObject = {
        "cds_billsection_id": str(bill.uuid),
        **_stamps(bill.created_at, bill.updated_at, synced),
        "cds_billstatement_id": str(statement_id(bill.account_uuid, bill.issued_on)),
        "cds_account_id": str(bill.account_uuid),
        "account_number": bill.account_number,
        "section_types": ["service_contract", SERVICE_TYPES[context.commodity]],
        "start_date": day(bill.period_start),
        "end_date": day(bill.period_end - timedelta(days=1)),
        "currency": bill.currency,
        "distribution_entity": utility.entity(),
        "supply_entity": utility.entity(),
        "related_servicecontracts": [context.contract] if context.contract else [],
        "related_servicepoints": [str(context.point_uuid)],
        "related_meterdevices": list(context.meters),
        "related_billsections": [],
        "usage_details": [_usage_detail(bill, context, usage_id)],
        "cost_details": _cost_details(bill) if amounts else [],
    }
    if amounts:
        body["line_items"] = [
            _line_item(bill, section, charge, usage_id)
            for section in bill.sections
            for charge in section.charges
        ]
    return body


def _usage_detail(bill: BillRecord, context: BillContext, usage_id: str) -> JsonObject:
    detail: JsonObject = {
        "id": usage_id,
        "name": "Usage billed",
        "types": [_METER_USAGE_TYPES[context.commodity]],
        "value": bill.usage,
        "start_date": day(bill.period_start),
        "end_date": day(bill.period_end - timedelta(days=1)),
    }
    unit = _UNIT_TYPES.get(bill.usage_unit.lower())
    if unit is not None:
        detail["units"] = unit
    return detail


def _cost_details(bill: BillRecord) -> list[JsonObject]:
    details: list[JsonObject] = [
        {
            "id": f"{bill.uuid}-total",
            "name": "Total",
            "types": ["overall_total"],
            "cost": bill.total,
        }
    ]
    for section in bill.sections:
        subtotal = sum((charge.amount for charge in section.charges), Decimal(0))
        details.append(
            {
                "id": f"{bill.uuid}-section-{section.position}",
                "name": section.title,
                "types": ["subtotal", _SECTION_COST_TYPES.get(section.kind, "other")],
                "cost": subtotal,
            }
        )
    return details


def _line_item(
    bill: BillRecord, section: SectionRecord, charge: ChargeRecord, usage_id: str
) -> JsonObject:
    metered = charge.quantity is not None and (charge.unit or "").lower() == bill.usage_unit.lower()
    item: JsonObject = {
        "id": f"{bill.uuid}-item-{charge.id}",
        "name": charge.description,
        "types": list(_CHARGE_TYPES.get(charge.category, ("other",))),
        "start_date": day(bill.period_start),
        "end_date": day(bill.period_end - timedelta(days=1)),
        "cost": charge.amount,
        "value": charge.quantity,
        "rate": charge.rate,
        "related_usage_details": [usage_id] if metered else [],
        "related_cost_details": [f"{bill.uuid}-section-{section.position}"],
    }
    unit = _UNIT_TYPES.get((charge.unit or "").lower())
    if unit is not None and charge.quantity is not None:
        item["units"] = unit
    return item


def certificate_object(certificate: CertificateFacts, synced: datetime) -> JsonObject:
    """An Energy Attribute Certificate (§10.9.1); utility-wide ones name no beneficiary."""
    return {
        "cds_eac_id": str(certificate.uuid),
        **_stamps(certificate.created_at, certificate.updated_at, synced),
        "beneficiary_type": certificate.beneficiary_type,
        "beneficiaries": [str(certificate.account_uuid)] if certificate.account_uuid else [],
        "eac_numbers": list(certificate.eac_numbers),
        "eac_format": certificate.eac_format,
        "eac_data_url": certificate.eac_data_url,
        "period_start": instant(certificate.period_start),
        "period_end": instant(certificate.period_end),
    }


def aggregation_object(aggregation: AggregationFacts, synced: datetime) -> JsonObject:
    """An Aggregation (§10.7.1): its groups are never listed, only its regions and terms.

    Members are customers' service points; naming them would tell a third party who is in
    the building. Its usage is read with the ``cds_query_usage`` scope.
    """
    return {
        "cds_aggregation_id": str(aggregation.uuid),
        **_stamps(aggregation.created_at, aggregation.updated_at, synced),
        "aggregation_types": list(aggregation.types),
        "aggregation_number": aggregation.number,
        "scope": "cds_query_usage",
        "authorization_details": [],
        "grouped_accounts": [],
        "grouped_servicecontracts": [],
        "grouped_servicepoints": [],
        "grouped_meterdevices": [],
        "grouped_aggregations": [],
        "grouped_regions": list(aggregation.regions),
        "consent_requirements": list(aggregation.consent_requirements),
    }
