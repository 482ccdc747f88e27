"""CDS Customer Data listings: who may read what, gathered through the access choke point.

``read_grants`` turns an access record (``services.access.check_bearer`` accepted it) into the
customer grants the caller reads through:

- a customer token reads its own grant;
- a client token carrying ``cds_query_*`` scopes reads every active customer grant of its
  client, each under that grant's own scope *and* the query scope (CDS-WG3-01 §6 "direct
  access", without ever reaching a customer who did not consent);
- anything else, or a scope that does not open the record kind asked for, is refused with
  403 ``insufficient_scope`` (RFC 6750 §3.1).

Each listing then builds its objects from the grant's own records (the service points it
still covers, the accounts they were shared from, their meters and bills), filters them with
the listing's parameters and orders them as §10 fixes: newest ``cds_modified`` first, bill
statements by statement date, bill sections by account, contract and start date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Protocol

from opencustodian.domain.consent import GrantKind
from opencustodian.domain.record_rights import (
    PersonalDetail,
    RecordKind,
    readable_kinds,
    shown_details,
)
from opencustodian.domain.statements import statements
from opencustodian.kit.time import utc_now
from opencustodian.protocols.cds.objects import (
    AccountView,
    BillContext,
    PointView,
    Utility,
    account_object,
    aggregation_object,
    bill_section_object,
    bill_statement_object,
    certificate_object,
    contract_id,
    meter_device_object,
    service_contract_object,
    service_point_object,
)
from opencustodian.protocols.cds.scopes import AGGREGATION_QUERY
from opencustodian.protocols.scopes import ScopeLanguage, grant_scopes, read_scope_text
from opencustodian.services.access import AccessDeniedError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.batches import SharedGrant
    from opencustodian.domain.catalog import AggregationFacts, CertificateFacts
    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.customer_facts import CustomerRecord
    from opencustodian.domain.scopes import DataScope
    from opencustodian.domain.statements import BillRecord
    from opencustodian.protocols.cds.listing import ListingQuery

JsonObject = dict[str, object]


class CdsRecordReader(Protocol):
    """The reads the CDS listings need (storage repositories, composed by the web layer)."""

    def customer_record(
        self, grant_id: int, customer_id: int, held_since: Sequence[tuple[int, date]]
    ) -> CustomerRecord:
        """The grant's customer and what its live service points lead to."""
        ...

    def bills_for_grant(
        self, grant_id: int, held_since: Sequence[tuple[int, date]]
    ) -> list[BillRecord]:
        """The bills of the grant's live service points, with sections and charges."""
        ...

    def shared_grants(self, application_id: int, today: date) -> list[SharedGrant]:
        """Every active customer grant of an application."""
        ...


@dataclass(frozen=True, slots=True)
class CdsSettings:
    """The custodian's side of every CDS answer."""

    base_url: str
    zone: ZoneInfo
    max_history_seconds: int
    utility: Utility


@dataclass(frozen=True, slots=True)
class ReadGrant:
    """One customer grant the caller reads through, and what it opens."""

    grant_id: int
    grant_uuid: str
    customer_id: int
    scope: str
    authorized_end: datetime | None
    held_since: tuple[tuple[int, date], ...]
    kinds: frozenset[RecordKind]
    details: frozenset[PersonalDetail]
    scopes: tuple[DataScope, ...]

    @property
    def live_service_point_ids(self) -> tuple[int, ...]:
        """The covered service points still held by the account they were shared from."""
        return tuple(point for point, _ in self.held_since)

    @property
    def subscription_uuid(self) -> str:
        """The grant's id (the usage planner names feeds by it)."""
        return self.grant_uuid


def _insufficient(description: str) -> AccessDeniedError:
    return AccessDeniedError("insufficient_scope", description, 403)


def read_grants(
    record: AccessRecord,
    wanted: RecordKind,
    shared: Callable[[int], list[SharedGrant]],
    now: datetime | None = None,
) -> list[ReadGrant]:
    """The customer grants ``record`` reads ``wanted`` records through (module docstring).

    ``now`` (default: the current instant) decides which shared grants' periods are over.
    """
    if record.grant_kind is GrantKind.CUSTOMER:
        if record.retail_customer_id is None:
            msg = "a customer grant without a customer"
            raise _insufficient(msg)
        own = _read_grant(
            record.grant_id,
            record.grant_uuid,
            record.retail_customer_id,
            record.scope,
            record.authorized_end,
            record.held_since,
            None,
        )
        if wanted not in own.kinds:
            msg = f"this authorization does not include {wanted.value}"
            raise _insufficient(msg)
        return [own]
    allowed = _query_kinds(record.scope)
    at = utc_now() if now is None else now
    if wanted not in allowed:
        msg = f"reading {wanted.value} with a client token needs a cds_query scope for them"
        raise _insufficient(msg)
    grants = [
        _read_grant(
            grant.grant_id,
            grant.grant_uuid,
            grant.customer_id,
            grant.scope,
            grant.authorized_end,
            grant.held_since,
            allowed,
        )
        for grant in shared(record.application_id)
        if grant.customer_id is not None and not _past_end(grant.authorized_end, at)
    ]
    return [grant for grant in grants if wanted in grant.kinds]


def _past_end(authorized_end: datetime | None, now: datetime) -> bool:
    """Whether a grant's authorized period is over, though no sweep has marked it ended yet.

    ``services.access`` refuses the grant's own tokens from that instant; a query token must
    not reach it either (the shared-grant read selects on status alone).
    """
    return authorized_end is not None and authorized_end <= now


def check_aggregation_reader(record: AccessRecord) -> None:
    """Aggregations (§10.7) are the utility's: who may list the published ones.

    A customer token of any live grant may (they name no customer); a client token needs
    ``cds_query_aggregations`` (CDS-WG3-01 §6 direct access), as every other listing needs
    its own query scope — a ``cds_client_admin`` or Bulk token reads no listing.

    Raises:
        AccessDeniedError: 403 ``insufficient_scope`` for any other client token.
    """
    if record.grant_kind is GrantKind.CUSTOMER:
        return
    try:
        items = read_scope_text(record.scope).items
    except ValueError:
        items = ()
    if AGGREGATION_QUERY not in items:
        msg = "listing aggregations with a client token needs the cds_query_aggregations scope"
        raise _insufficient(msg)


def _query_kinds(scope: str) -> frozenset[RecordKind]:
    try:
        read = read_scope_text(scope)
    except ValueError:
        return frozenset()
    if read.language is not ScopeLanguage.CDS:
        return frozenset()
    return readable_kinds(read.scopes)


def _read_grant(  # noqa: PLR0913, PLR0917 - a grant's view has this many parts
    grant_id: int,
    grant_uuid: str,
    customer_id: int,
    scope: str,
    authorized_end: datetime | None,
    held_since: tuple[tuple[int, date], ...],
    limit: frozenset[RecordKind] | None,
) -> ReadGrant:
    scopes = tuple(grant_scopes(scope))
    kinds = readable_kinds(scopes)
    return ReadGrant(
        grant_id,
        grant_uuid,
        customer_id,
        scope,
        authorized_end,
        held_since,
        kinds if limit is None else kinds & limit,
        shown_details(scopes),
        scopes,
    )


@dataclass(frozen=True, slots=True)
class Listed:
    """One object of a listing, with what its filters and ordering look at."""

    body: JsonObject
    id: str
    order: tuple[str, ...]
    values: dict[str, tuple[str | None, ...]]
    search: str = ""
    #: (first, last) day the object covers, for ``before``/``after`` filters.
    span: tuple[date, date] | None = None


def select(
    items: Iterable[Listed], query: ListingQuery, bounds: tuple[date | None, date | None]
) -> list[Listed]:
    """The objects passing every filter, de-duplicated by id, in the listing's order.

    ``bounds`` are the ``before`` and ``after`` days: an object passes when it starts on or
    before ``before`` and ends on or after ``after`` (CDS-WG3-01 §10.5.4, §10.6.9).
    """
    seen: dict[str, Listed] = {}
    words = query.text("q")
    for item in items:
        if item.id in seen or not _passes(item, query, words, bounds):
            continue
        seen[item.id] = item
    return sorted(seen.values(), key=lambda item: item.order)


def _passes(
    item: Listed,
    query: ListingQuery,
    words: str | None,
    bounds: tuple[date | None, date | None],
) -> bool:
    if not all(query.wants(name, *values) for name, values in item.values.items()):
        return False
    if words is not None and words not in item.search.lower():
        return False
    before, after = bounds
    if item.span is None:
        return True
    return (before is None or item.span[0] <= before) and (after is None or item.span[1] >= after)


def _newest_first(modified: object, object_id: str) -> tuple[str, ...]:
    return (_descending(str(modified)), object_id)


def _descending(text: str) -> str:
    """A string that sorts in the reverse order of ``text`` (ISO timestamps here)."""
    return "".join(chr(0x10FFFF - ord(char)) for char in text)


def _views(record: CustomerRecord) -> list[PointView]:
    accounts = {account.id: account for account in record.accounts}
    locations = {location.id: location for location in record.locations}
    return [
        PointView(
            point,
            accounts[point.account_id],
            locations.get(point.location_id) if point.location_id is not None else None,
        )
        for point in record.service_points
        if point.account_id in accounts
    ]


def accounts(
    reader: CdsRecordReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    """Account objects (§10.1) of every grant."""
    items = []
    for grant in grants:
        record = reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since)
        for account in record.accounts:
            view = AccountView(
                account,
                record.customer,
                contacts=PersonalDetail.NAME_AND_CONTACTS in grant.details,
                postal_code=PersonalDetail.MAILING_ADDRESS in grant.details,
            )
            body = account_object(view, settings.utility, now)
            customer_number = str(body.get("customer_number", ""))
            items.append(
                Listed(
                    body,
                    str(account.uuid),
                    _newest_first(body["cds_modified"], str(account.uuid)),
                    {
                        "cds_account_ids": (str(account.uuid),),
                        "customer_numbers": (customer_number,),
                        "account_numbers": (account.number,),
                        "account_statuses": (str(body["account_status"]),),
                    },
                    " ".join([account.number, str(body.get("account_name", ""))]),
                )
            )
    return items


def service_contracts(
    reader: CdsRecordReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    """Service Contract objects (§10.2): each shared point's current tenure."""
    items = []
    for grant in grants:
        points = _views(reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since))
        for view in points:
            body = service_contract_object(view, settings.utility, now)
            ident = str(body["cds_servicecontract_id"])
            items.append(
                Listed(
                    body,
                    ident,
                    _newest_first(body["cds_modified"], ident),
                    {
                        "cds_servicecontract_ids": (ident,),
                        "account_numbers": (view.account.number,),
                        "contract_numbers": (None,),
                        "contract_statuses": (str(body["contract_status"]),),
                        "contract_types": tuple(_strings(body["contract_types"])),
                        "service_types": tuple(_strings(body["service_types"])),
                    },
                    " ".join(
                        [
                            view.account.number,
                            str(body.get("contract_address", "")),
                            str(body.get("rateplan_code", "")),
                        ]
                    ),
                )
            )
    return items


def _strings(values: object) -> list[str]:
    return [str(value) for value in values] if isinstance(values, list) else []


def service_points(
    reader: CdsRecordReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    """Service Point objects (§10.3) the grants cover."""
    del settings
    items = []
    for grant in grants:
        points = _views(reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since))
        contracts_visible = RecordKind.SERVICE_CONTRACTS in grant.kinds
        for view in points:
            body = service_point_object(view, now, show_contracts=contracts_visible)
            ident = str(view.point.uuid)
            contract = contract_id(view.account.uuid, view.point.uuid, view.point.held_since)
            items.append(
                Listed(
                    body,
                    ident,
                    _newest_first(body["cds_modified"], ident),
                    {
                        "cds_servicepoint_ids": (ident,),
                        "servicepoint_numbers": (view.point.esiid,),
                        "current_servicecontracts": (contract if contracts_visible else None,),
                        "previous_servicecontracts": (None,),
                    },
                    " ".join([view.point.esiid or "", str(body.get("servicepoint_address") or "")]),
                )
            )
    return items


def meter_devices(
    reader: CdsRecordReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    """Meter Device objects (§10.4) installed at the covered points during the tenure."""
    today = now.astimezone(settings.zone).date()
    items = []
    for grant in grants:
        record = reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since)
        points = {point.id: point for point in record.service_points}
        for meter in record.meters:
            point = points[meter.service_point_id]
            body = meter_device_object(meter, point, today, now)
            ident = str(meter.uuid)
            items.append(
                Listed(
                    body,
                    ident,
                    _newest_first(body["cds_modified"], ident),
                    {
                        "cds_meterdevice_ids": (ident,),
                        "meter_number": (meter.number,),
                        "current_servicepoints": tuple(_strings(body["current_servicepoints"]))
                        or (None,),
                        "previous_servicepoints": tuple(_strings(body["previous_servicepoints"]))
                        or (None,),
                    },
                    meter.number,
                )
            )
    return items


def _bill_contexts(record: CustomerRecord, bills: Sequence[BillRecord]) -> dict[int, BillContext]:
    points = _views(record)
    by_point = {view.point.id: view for view in points}
    meters: dict[int, list[str]] = {}
    for meter in record.meters:
        meters.setdefault(meter.service_point_id, []).append(str(meter.uuid))
    contexts = {}
    for bill in bills:
        view = by_point.get(bill.service_point_id)
        if view is None:
            continue
        contexts[bill.id] = BillContext(
            view.point.commodity,
            view.point.uuid,
            contract_id(view.account.uuid, view.point.uuid, view.point.held_since),
            tuple(meters.get(bill.service_point_id, ())),
        )
    return contexts


def bill_statements(
    reader: CdsRecordReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    """Bill Statement objects (§10.5): statement date newest first, then newest change."""
    del settings
    items = []
    for grant in grants:
        record = reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since)
        bills = reader.bills_for_grant(grant.grant_id, grant.held_since)
        contexts = _bill_contexts(record, bills)
        for statement in statements(bill for bill in bills if bill.id in contexts):
            body = bill_statement_object(statement, contexts, now)
            ident = str(statement.id)
            items.append(
                Listed(
                    body,
                    ident,
                    (
                        _descending(statement.issued_on.isoformat()),
                        _descending(str(body["cds_modified"])),
                        ident,
                    ),
                    {
                        "cds_billstatement_ids": (ident,),
                        "cds_account_ids": (str(statement.account_uuid),),
                        "account_numbers": (statement.account_number,),
                    },
                    span=(statement.issued_on, statement.issued_on),
                )
            )
    return items


def bill_sections(
    reader: CdsRecordReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    """Bill Section objects (§10.6): by account, contract and start date; charges with FB 16."""
    items = []
    for grant in grants:
        record = reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since)
        bills = reader.bills_for_grant(grant.grant_id, grant.held_since)
        contexts = _bill_contexts(record, bills)
        amounts = PersonalDetail.AMOUNTS in grant.details
        for bill in bills:
            context = contexts.get(bill.id)
            if context is None:
                continue
            body = bill_section_object(bill, context, settings.utility, now, amounts=amounts)
            ident = str(bill.uuid)
            items.append(
                Listed(
                    body,
                    ident,
                    (
                        bill.account_number,
                        context.contract or "",
                        bill.period_start.isoformat(),
                        _descending(str(body["cds_modified"])),
                        ident,
                    ),
                    {
                        "cds_billsection_ids": (ident,),
                        "cds_billstatement_ids": (str(body["cds_billstatement_id"]),),
                        "cds_account_ids": (str(bill.account_uuid),),
                        "account_numbers": (bill.account_number,),
                        "cds_servicecontract_ids": (context.contract,),
                        "contract_numbers": (None,),
                    },
                    span=(bill.period_start, bill.period_end - timedelta(days=1)),
                )
            )
    return items


class CatalogReader(Protocol):
    """Certificates and aggregations (``storage.cds_catalog.SqlCdsCatalog``)."""

    def certificates(self, account_ids: Sequence[int]) -> list[CertificateFacts]:
        """Certificates of these accounts and the utility-wide ones."""
        ...

    def aggregations(self) -> list[AggregationFacts]:
        """Every published aggregation."""
        ...


def certificates(
    reader: CdsRecordReader,
    catalog: CatalogReader,
    grants: Sequence[ReadGrant],
    now: datetime,
) -> list[Listed]:
    """Energy Attribute Certificates (§10.9) of the covered accounts, newest period first."""
    items = []
    for grant in grants:
        record = reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since)
        for certificate in catalog.certificates([account.id for account in record.accounts]):
            body = certificate_object(certificate, now)
            ident = str(certificate.uuid)
            items.append(
                Listed(
                    body,
                    ident,
                    (_descending(str(body["period_start"])), ident),
                    {
                        "cds_eac_ids": (ident,),
                        "eac_numbers": certificate.eac_numbers or (None,),
                        "beneficiaries": tuple(_strings(body["beneficiaries"])) or (None,),
                    },
                    span=(
                        certificate.period_start.astimezone(UTC).date(),
                        certificate.period_end.astimezone(UTC).date(),
                    ),
                )
            )
    return items


def aggregations(catalog: CatalogReader, now: datetime) -> list[Listed]:
    """Published aggregations (§10.7): the public and listed ones, newest change first."""
    items = []
    for aggregation in catalog.aggregations():
        if not {"public", "listed"} & set(aggregation.types):
            continue
        body = aggregation_object(aggregation, now)
        ident = str(aggregation.uuid)
        items.append(
            Listed(
                body,
                ident,
                _newest_first(body["cds_modified"], ident),
                {
                    "cds_aggregation_ids": (ident,),
                    "aggregation_numbers": (aggregation.number,),
                    "aggregation_types": aggregation.types,
                },
                " ".join([aggregation.number or "", aggregation.name]),
            )
        )
    return items
