"""CDS JSON Schemas: well-formed, accept real documents, refuse broken ones, embed in OpenAPI."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from opencustodian.protocols.cds import schema_catalog
from opencustodian.protocols.cds.schema_catalog import (
    COMMON,
    SCHEMA_NAMES,
    SchemaCatalogError,
    openapi_components,
    openapi_ref,
    schema,
)
from tests.cds_schemas import assert_valid, format_checker, usage_segment_problems

Doc = dict[str, Any]
BASE = "https://opencustodian.org/schemas/cds/"
API = "https://cds.lpl.example.com/cds/v1"
SITE = "https://lpl.example.com"

# ----------------------------------------------------------------------------- examples
# A fictional utility, "Lakeshore Power & Light", written field by field from fields.md
# and the WG1-01/WG1-02 object lists.

TIMES = {
    "cds_created": "2025-03-14T09:30:00Z",
    "cds_modified": "2026-10-02T17:05:11Z",
    "cds_synced": "2026-11-01T06:00:00Z",
}
ENTITY = {
    "id": "ent-lpl",
    "types": ["distributor", "supplier", "iou"],
    "entity_number": "US-MI-IOU-LPL",
    "entity_name": "Lakeshore Power & Light",
    "entity_abbreviation": "LP&L",
}
NET_METERING = {
    "id": "ap-nem",
    "program_number": "NEM-2",
    "types": ["active", "credit_bank"],
    "name": "Net Metering 2.0",
    "description": "Exported solar energy earns bill credits that are trued up each June.",
    "documentation": f"{SITE}/dev/programs/nem-2",
    "signup": f"{SITE}/programs/nem-2/enroll",
    "participation_number": "NEM2-00731",
    "start": "2024-06-01",
    "balance": -42.17,
    "currency": "USD",
}
ADDRESS = "118 Birch Lane\nTraverse City, MI 49684"

ACCOUNT = {
    "cds_account_id": "acc-7f3a",
    **TIMES,
    "cds_account_parent": None,
    "customer_number": "C-0043-1187",
    "account_number": "4410-2291-07",
    "account_entity": ENTITY,
    "account_name": "R. ALVAREZ",
    "account_address": ADDRESS,
    "account_types": ["customer", "residential", "billed_monthly"],
    "account_status": "active",
    "account_contacts": [
        {"id": "ct-1", "types": ["phone_number", "mobile", "primary"], "value": "+12315550148"},
        {"id": "ct-2", "types": ["email", "preferred"], "value": "r.alvarez@example.org"},
    ],
    "account_programs": [NET_METERING],
}
SERVICE_CONTRACT = {
    "cds_servicecontract_id": "sc-51b0",
    **TIMES,
    "cds_account_id": "acc-7f3a",
    "account_number": "4410-2291-07",
    "contract_number": "SA-88120431",
    "contract_address": ADDRESS,
    "contract_types": ["utility_service", "billed_monthly"],
    "contract_entity": ENTITY,
    "contract_status": "active",
    "contract_start": "2019-08-15",
    "contract_end": None,
    "service_types": ["electric", "residential", "metered", "distribution", "supply"],
    "rateplan_code": "RES-TOD",
    "rateplan_name": "Residential Time-of-Day",
    "service_programs": [
        {
            "id": "sp-peak",
            "program_number": "PEAKSAVER",
            "types": ["active", "demand_response", "thermostat"],
            "name": "Peak Saver Thermostat",
            "description": "The utility may raise the thermostat setpoint on up to 15 summer days.",
            "documentation": f"{SITE}/dev/programs/peaksaver",
            "settings": f"{SITE}/account/peaksaver",
            "start": "2025-05-01",
            "pnode": "LPL.TRAVERSE",
            "aggregated": True,
            "automated": True,
        }
    ],
}
SERVICE_POINT = {
    "cds_servicepoint_id": "sp-a913",
    **TIMES,
    "servicepoint_number": "ESI-10443920781",
    "servicepoint_types": ["electric", "single_service", "physical"],
    "servicepoint_address": ADDRESS,
    "latitude": 44.7631,
    "longitude": -85.6206,
    "current_servicecontracts": ["sc-51b0"],
    "previous_servicecontracts": ["sc-2210"],
    "premises": [{"id": "pr-1", "premise_number": "PRM-300771", "types": ["building"]}],
}
METER_DEVICE = {
    "cds_meterdevice_id": "md-0c44",
    **TIMES,
    "meter_number": "L2-7713094",
    "meter_types": [
        "electric_usage",
        "bidirectional",
        "physical_meter",
        "ami_meter",
        "zigbee_capable",
        "zigbee_enabled",
    ],
    "current_servicepoints": ["sp-a913"],
    "previous_servicepoints": [],
    "meter_apps": [
        {
            "id": "app-1",
            "app_number": "HAN-GW",
            "types": ["installed", "central_installable"],
            "name": "Home area network gateway",
            "start": "2025-02-11T15:42:00Z",
        }
    ],
}
PERIOD = {"start_date": "2026-09-18", "end_date": "2026-10-17"}
BILL_STATEMENT = {
    "cds_billstatement_id": "bs-2026-10",
    **TIMES,
    "cds_account_id": "acc-7f3a",
    "account_number": "4410-2291-07",
    "statement_date": "2026-10-21",
    "currency": "USD",
    "file_uri": f"{API}/bill-statements/bs-2026-10/file",
    "file_mimetype": "application/pdf",
    "previous_balance_amount": 131.04,
    "previous_balance_paid": 131.04,
    "previous_balance_unpaid": 0,
    "new_charges_amount": 118.77,
    "new_charges": [
        {
            "id": "nc-1",
            "name": "Electric Service Charges",
            "types": ["electric_total"],
            "amount": 112.40,
            "included_in_amount_due": True,
            "related_billsections": ["bsec-2026-10-e"],
        },
        {
            "id": "nc-2",
            "name": "State Sales Tax",
            "types": ["tax"],
            "amount": 6.37,
            "included_in_amount_due": True,
        },
    ],
    "new_balance_amount": 118.77,
    "amount_due": 118.77,
    "amount_due_date": "2026-11-11",
    "shutoff_prevention_minimum_due": None,
    "shutoff_prevention_date": None,
    "account_programs": [NET_METERING],
}
BILL_SECTION = {
    "cds_billsection_id": "bsec-2026-10-e",
    **TIMES,
    "cds_billstatement_id": "bs-2026-10",
    "cds_account_id": "acc-7f3a",
    "account_number": "4410-2291-07",
    "section_types": ["service_contract", "electric"],
    **PERIOD,
    "currency": "USD",
    "distribution_entity": ENTITY,
    "supply_entity": None,
    "related_servicecontracts": ["sc-51b0"],
    "related_servicepoints": ["sp-a913"],
    "related_meterdevices": ["md-0c44"],
    "related_billsections": [],
    "usage_details": [
        {
            "id": "ud-1",
            "name": "Total kWh",
            "types": ["electric_usage", "ami_reading"],
            "value": 742.118,
            "units": "kWh",
            **PERIOD,
        },
        {
            "id": "ud-2",
            "name": "On-peak kWh",
            "types": ["electric_usage", "time_of_use"],
            "value": 201.5,
            "units": "kWh",
            "tou": "peak",
            **PERIOD,
        },
        {
            "id": "ud-3",
            "name": "Maximum demand",
            "types": ["electric_demand"],
            "value": 6.8,
            "units": "kW",
            "demand_type": "peak",
            **PERIOD,
        },
        {
            "id": "ud-4",
            "name": "Exported kWh",
            "types": ["electric_usage", "directional", "customer_provided"],
            "value": 96.2,
            "units": "kWh",
            "direction": "reverse",
            "start_read": 15230.0,
            "end_read": 15326.2,
            "multiplier": 1,
            **PERIOD,
        },
        {"id": "ud-5", "name": "Read type", "types": ["estimated"], "value": "estimated read"},
    ],
    "cost_details": [
        {"id": "cd-1", "name": "Total Electric Charges", "types": ["overall_total"], "cost": 112.4},
        {"id": "cd-2", "name": "Delivery", "types": ["subtotal", "distribution"], "cost": 61.9},
        {"id": "cd-3", "name": "Power Supply", "types": ["subtotal", "supply"], "cost": "50.50"},
    ],
    "line_items": [
        {
            "id": "li-1",
            "name": "Customer Charge",
            "types": ["fixed_charge", "distribution"],
            **PERIOD,
            "cost": 8.0,
            "value": None,
            "rate": None,
            "related_usage_details": [],
            "related_cost_details": ["cd-1", "cd-2"],
        },
        {
            "id": "li-2",
            "name": "Distribution - On-peak energy",
            "types": ["usage_charge", "distribution"],
            **PERIOD,
            "cost": 19.66,
            "value": 201.5,
            "units": "kWh",
            "rate": 0.09757,
            "related_usage_details": ["ud-2"],
            "related_cost_details": ["cd-1", "cd-2"],
        },
    ],
}
AGGREGATION = {
    "cds_aggregation_id": "agg-bld-1234",
    **TIMES,
    "aggregation_types": ["listed", "building", "premise_number", "country"],
    "aggregation_number": "BID-1234",
    "scope": "cds_query_usage_building",
    "authorization_details": [
        {
            "type": "cds_query_usage_building",
            "aggregation_numbers": ["BID-1234"],
            "include_usage_segments": True,
            "segment_start": "P2Y",
            "segment_end": "infinite",
        }
    ],
    "grouped_accounts": [],
    "grouped_servicecontracts": [],
    "grouped_servicepoints": ["sp-a913", "sp-a914", "sp-a915"],
    "grouped_meterdevices": [],
    "grouped_aggregations": [],
    "grouped_addresses": ["400 Front St, Traverse City, MI 49684"],
    "grouped_regions": [
        {
            "id": "rg-1",
            "name": "Traverse City 49684",
            "types": ["postal_code"],
            "postal_codes": ["49684"],
        },
        {
            "id": "rg-2",
            "name": "Downtown",
            "types": ["geographic"],
            "map_resource": None,
            "map_content_type": None,
            "geojson_resource": f"{API}/regions/rg-2.geojson",
        },
    ],
    "consent_requirements": [
        {
            "id": "cr-1",
            "name": "Tenant consent for buildings with fewer than 4 tenants",
            "types": ["sometimes"],
            "documentation": f"{SITE}/dev/aggregations/consent",
        }
    ],
    "premise_numbers": ["PRM-300771"],
    "countries": ["US"],
}
INTERVAL_SEGMENT = {
    "cds_usagesegment_id": "us-md-0c44-2026-10-31T04",
    **TIMES,
    "related_aggregations": [],
    "related_accounts": ["acc-7f3a"],
    "related_servicecontracts": ["sc-51b0"],
    "related_servicepoints": ["sp-a913"],
    "related_meterdevices": ["md-0c44"],
    "related_billsections": [],
    "segment_start": "2026-10-31T04:00:00Z",
    "segment_end": "2026-10-31T05:00:00Z",
    "interval": 900,
    "formats": [
        {
            "id": "f-fwd",
            "type": "electric_usage",
            "units": "kWh",
            "direction": "forward",
            "tou": "off_peak",
            "tier": None,
            "season": "fall",
            "quality": "revenue",
            "related_meterdevices": ["md-0c44"],
        },
        {
            "id": "f-rev",
            "type": "electric_usage",
            "units": "kWh",
            "direction": "reverse",
            "quality": "revenue",
        },
        {
            "id": "f-net",
            "type": "electric_usage",
            "units": "kWh",
            "direction": "net",
            "quality": "calculated",
        },
        {
            "id": "f-dem",
            "type": "electric_demand",
            "units": "kW",
            "demand_type": "average",
            "direction": "net",
        },
        {
            "id": "f-mix",
            "type": "electric_supply_mix",
            "indexes": [0],
            "attribution": "base",
            "supply_type": "wind",
        },
        {"id": "f-cost", "type": "cost", "currency": "USD", "indexes": [0]},
        {
            "id": "f-reg",
            "type": "meter_readings",
            "related_meterdevice": "md-0c44",
            "register": "1.8.0",
            "units": "kWh",
        },
    ],
    "values": [
        [
            {"eu": 0.412},
            {"eu": 0},
            {"eu": 0.412},
            {"ed": 1.648},
            {"sm": 0.27, "ci": 11.2, "eacs": ["eac-q4-wind"]},
            {"c": 0.0337},
            {"r": "15230.118"},
        ],
        [
            {"eu": 0.388},
            {"eu": 0},
            {"eu": 0.388},
            {"ed": 1.552},
            {"sm": 0.31},
            {"c": 0.0317},
            {"r": "15230.530"},
        ],
        [None, None, None, None, None, None, {"r": "15230.918"}],
        [
            {"eu": 0.401},
            {"eu": 0.02},
            {"eu": 0.381},
            {"ed": 1.524},
            {"sm": 0.29, "ci": 10.9},
            {"c": 0.0328},
            {"r": "15231.319"},
        ],
    ],
}
MONTHLY_SEGMENT = {
    **INTERVAL_SEGMENT,
    "cds_usagesegment_id": "us-sc-7700-2026-09",
    "related_meterdevices": [],
    "segment_start": "2026-09-01T04:00:00Z",
    "segment_end": "2026-10-01T04:00:00Z",
    "interval": 2592000,
    "formats": [
        {
            "id": "f-water",
            "type": "water_usage",
            "units": "gal",
            "tier": "tier_1",
            "season": None,
            "quality": "revenue",
        },
        {"id": "f-gas", "type": "natural_gas_usage", "units": "therm", "quality": "estimated"},
        {"id": "f-oil", "type": "fuel_oil_usage", "units": "gal"},
    ],
    "values": [[{"wu": 3366}, {"gu": 18.4, "oc_source": "bill"}, {"fu": 0}]],
}
EAC = {
    "cds_eac_id": "eac-q4-wind",
    **TIMES,
    "beneficiary_type": "servicecontract",
    "beneficiaries": ["sc-51b0"],
    "eac_numbers": ["MRETS-0004471-2026-10"],
    "eac_format": "energytag",
    "eac_data_url": f"{API}/eacs/eac-q4-wind/data",
    "period_start": "2026-10-01T04:00:00Z",
    "period_end": "2026-11-01T04:00:00Z",
}
SERVER_METADATA = {
    "cds_metadata_version": "v1",
    "cds_metadata_url": f"{SITE}/.well-known/cds-server-metadata.json",
    "created": "2025-01-06T00:00:00Z",
    "updated": "2026-09-30T12:00:00-04:00",
    "name": "Lakeshore Power & Light",
    "description": "Electric utility for the northwest lower peninsula of Michigan.",
    "website": f"{SITE}/",
    "documentation": f"{SITE}/dev/",
    "support": f"{SITE}/dev/support",
    "capabilities": ["coverage", "oauth"],
    "coverage": f"{API}/coverage",
    "oauth_metadata": f"{SITE}/.well-known/oauth-authorization-server",
}
COVERAGE_ENTRY = {
    "id": "cov-electric",
    "created": "2025-01-06T00:00:00Z",
    "updated": "2026-02-01T00:00:00Z",
    "entity_name": "Lakeshore Power & Light",
    "entity_abbreviation": "LP&L",
    "entity_number": "US-MI-IOU-LPL",
    "country": "US",
    "name": "Electric service territory",
    "description": "Eleven counties around Grand Traverse Bay.",
    "type": "geographic",
    "role": "authoritative",
    "infrastructure_types": ["distribution_utility", "metering_provider", "supplier"],
    "commodity_types": ["electricity"],
    "capabilities": ["oauth"],
    "geojson_resource": f"{API}/coverage/cov-electric.geojson",
}
USAGE_FIELDS = [
    {
        "id": "include_usage_segments",
        "name": "Usage intervals",
        "description": "Share interval usage of the selected meters.",
        "documentation": f"{SITE}/dev/scopes#usage",
        "for_types": ["cds_usage_1"],
        "format": "boolean",
        "is_required": False,
        "default": True,
    },
    {
        "id": "segment_start",
        "name": "History",
        "description": "How far back usage is shared.",
        "documentation": f"{SITE}/dev/scopes#history",
        "for_types": ["cds_usage_1"],
        "format": "relative_or_absolute_datetime",
        "is_required": False,
        "default": "P1Y",
        "maximum": "P3Y",
        "minimum": "P0D",
    },
    {
        "id": "include_usage_segment_value_types",
        "name": "Measurements",
        "description": "Which interval columns to share.",
        "documentation": f"{SITE}/dev/scopes#columns",
        "for_types": ["cds_usage_1"],
        "format": "choice_list_or_null",
        "is_required": False,
        "default": None,
        "choices": [
            {
                "id": "net_kwh",
                "name": "Net energy",
                "description": "Net kWh per interval.",
                "documentation": f"{SITE}/dev/columns#net",
                "usagesegment_format": {
                    "id": "f-net",
                    "type": "electric_usage",
                    "units": "kWh",
                    "direction": "net",
                },
            }
        ],
    },
]
USAGE_SCOPE = {
    "id": "cds_usage_1",
    "type": "cds_usage",
    "name": "Meter usage",
    "description": "Interval electricity usage of the meters a customer selects.",
    "documentation": f"{SITE}/dev/scopes#cds_usage_1",
    "registration_requirements": ["cds_purposes_field"],
    "registration_optional": [],
    "response_types_supported": ["code"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    "code_challenge_methods_supported": ["S256"],
    "coverages_supported": ["cov-electric"],
    "grant_admin_scope": "cds_grant_admin_1",
    "authorization_details_types_supported": ["cds_usage_1"],
    "authorization_details_fields_supported": USAGE_FIELDS,
}
ADMIN_SCOPE = {
    "id": "cds_client_admin",
    "type": "cds_client_admin",
    "name": "Client administration",
    "description": "Manage registrations, credentials, messages and grants.",
    "documentation": f"{SITE}/dev/scopes#admin",
    "registration_requirements": [],
    "registration_optional": [],
    "response_types_supported": [],
    "grant_types_supported": ["client_credentials"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    "code_challenge_methods_supported": [],
    "coverages_supported": [],
    "grant_admin_scope": None,
    "authorization_details_types_supported": [],
    "authorization_details_fields_supported": [],
}
AS_METADATA = {
    "issuer": SITE,
    "authorization_endpoint": f"{SITE}/oauth/authorize",
    "token_endpoint": f"{SITE}/oauth/token",
    "registration_endpoint": f"{SITE}/oauth/register",
    "scopes_supported": ["cds_client_admin", "cds_usage_1", "FB=1_3_4_5_13_14_39"],
    "response_types_supported": ["code"],
    "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    "service_documentation": f"{SITE}/docs",
    "op_policy_uri": f"{SITE}/dev/policy",
    "op_tos_uri": f"{SITE}/dev/terms",
    "revocation_endpoint": f"{SITE}/oauth/revoke",
    "introspection_endpoint": f"{SITE}/oauth/introspect",
    "code_challenge_methods_supported": ["S256"],
    "authorization_details_types_supported": ["cds_usage_1"],
    "pushed_authorization_request_endpoint": f"{SITE}/oauth/par",
    "cds_oauth_version": "v1",
    "cds_human_registration": f"{SITE}/dev/register",
    "cds_timezone": "America/Detroit",
    "cds_clients_api": f"{API}/clients",
    "cds_messages_api": f"{API}/messages",
    "cds_credentials_api": f"{API}/credentials",
    "cds_grants_api": f"{API}/grants",
    "cds_test_accounts": f"{SITE}/dev/test-accounts",
    "cds_scope_descriptions": {"cds_client_admin": ADMIN_SCOPE, "cds_usage_1": USAGE_SCOPE},
    "cds_registration_fields": {
        "cds_purposes_field": {
            "id": "cds_purposes_field",
            "type": "registration_field",
            "description": "What the customer data will be used for.",
            "documentation": f"{SITE}/dev/registration#purposes",
            "field_name": "cds_purposes",
            "format": "purposes",
        },
        "review": {
            "id": "review",
            "type": "internal_review",
            "description": "Staff review production access within five business days.",
            "documentation": f"{SITE}/dev/registration#review",
        },
    },
    "cds_customerdata_version": "v1",
    "cds_accounts_api": f"{API}/accounts",
    "cds_usagesegments_api": f"{API}/usage-segments",
    "cds_usagesegments_additional_value_types": {},
    "cds_eacs_api": f"{API}/eacs",
    "cds_eac_formats": {
        "energytag": {
            "id": "energytag",
            "name": "EnergyTag granular certificates",
            "description": "Hourly certificates in the EnergyTag API format.",
            "documentation": "https://energytag.example.org/api",
        }
    },
    "espi_resource_endpoint": f"{SITE}/espi/1_1/resource",
}
CLIENT = {
    "client_id": "c-9d2e1",
    "client_id_issued_at": 1790000000,
    "scope": "cds_usage_1",
    "redirect_uris": ["https://app.sunspot.example/cb", f"{SITE}/cds/receipt"],
    "token_endpoint_auth_method": "client_secret_basic",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "client_name": "SunSpot Solar",
    "contacts": ["dev@sunspot.example"],
    "authorization_details_types": ["cds_usage_1"],
    "cds_created": "2026-09-20T14:00:00Z",
    "cds_modified": "2026-09-20T14:00:00Z",
    "cds_client_uri": f"{API}/clients/c-9d2e1",
    "cds_status": "sandbox",
    "cds_status_options": ["sandbox", "disabled"],
    "cds_server_metadata": f"{SITE}/.well-known/cds-server-metadata.json",
    "client_uri": "https://sunspot.example",
    "logo_uri": "https://sunspot.example/logo.png",
    "cds_default_scope": "cds_usage_1",
    "cds_default_redirect_uri": f"{SITE}/cds/receipt",
    "cds_default_authorization_details": [],
    "cds_purposes": {
        "pur-1": {
            "id": "pur-1",
            "name": "Array sizing",
            "content": "We use a year of your hourly usage to size a rooftop solar array.",
            "related_uri": "https://sunspot.example/privacy",
            "related_name": "SunSpot privacy policy",
            "scopes_supported": ["cds_usage_1"],
        }
    },
}
ADMIN_CLIENT = {
    **{key: CLIENT[key] for key in ("client_name", "contacts", "cds_created", "cds_modified")},
    "client_id": "c-admin-4410",
    "client_id_issued_at": 1790000000,
    "scope": "cds_client_admin",
    "redirect_uris": [],
    "token_endpoint_auth_method": "client_secret_basic",
    "grant_types": ["client_credentials"],
    "response_types": [],
    "authorization_details_types": [],
    "cds_client_uri": f"{API}/clients/c-admin-4410",
    "cds_status": "production",
    "cds_status_options": ["production"],
    "cds_server_metadata": f"{SITE}/.well-known/cds-server-metadata.json",
}
GRANT = {
    "grant_id": "g-1182",
    "uri": f"{API}/grants/g-1182",
    "replacing": [],
    "replaced_by": [],
    "parent": None,
    "children": [],
    "created": "2026-11-01T12:00:00Z",
    "modified": "2026-11-01T12:00:00Z",
    "not_before": None,
    "not_after": "2027-11-01T04:00:00Z",
    "eta": "2026-11-01T12:30:00Z",
    "expires": "2027-11-01T04:00:00Z",
    "status": "pending",
    "client_id": "c-9d2e1",
    "scope": "cds_usage_1",
    "authorization_details": [
        {
            "type": "cds_usage_1",
            "meter_numbers": ["L2-7713094"],
            "include_usage_segments": True,
            "segment_start": "2024-11-01T04:00:00Z",
            "segment_end": "infinite",
            "expires": "2027-11-01T04:00:00Z",
            "purpose": "pur-1",
            "jwk": None,
        }
    ],
    "receipt_confirmations": ["LPL-7Q4-22KD"],
    "enabled_scope": "",
    "enabled_authorization_details": [],
}
ACTIVE_GRANT = {
    **GRANT,
    "grant_id": "g-0907",
    "uri": f"{API}/grants/g-0907",
    "status": "active",
    "eta": None,
    "enabled_scope": "cds_usage_1",
    "enabled_authorization_details": GRANT["authorization_details"],
}
ECIS_BASIC = {
    "system_account_id": "0018-102",
    "account_type": "electric",
    "rate_code": "RES-TOD",
    "next_read_date": "2026-11-17",
    "meter_number": "L2-7713094",
    "producer_projects": ["Cherry Bend Community Solar"],
    "system_invoice_ids": ["09183eef267", "09183eef311"],
}
ECIS_INVOICE = {
    "system_account_id": "0018-102",
    "system_invoice_id": "09183eef267",
    "rate_code": "RES-TOD",
    "next_read_date": "2026-11-17",
    "meter_number": "L2-7713094",
    "invoice_date": "2026-10-21",
    "invoice_due_date": "2026-11-11",
    "invoice_total": 118.77,
    "invoice_paid": False,
    "service_period_start": "2026-09-18",
    "service_period_end": "2026-10-17",
}
ECIS_INVOICE_DETAIL = {
    **ECIS_INVOICE,
    "delivery_unit": "kWh",
    "service_unit": "days",
    "energy_consumption_quantity": 742.118,
    "energy_consumption_rate": 0.06804,
    "energy_consumption_total": 50.49,
    "distribution_quantity": 742.118,
    "distribution_rate": 0.07262,
    "distribution_total": 53.89,
    "transmission_quantity": 742.118,
    "transmission_rate": 0.0081,
    "transmission_total": 6.01,
    "stranded_costs_quantity": 742.118,
    "stranded_costs_rate": 0.0012,
    "stranded_costs_total": 0.89,
    "conservation_quantity": 742.118,
    "conservation_rate": 0.0015,
    "conservation_total": 1.12,
    "credit_unit": None,
    "credit_rate": None,
    "credit_carryover": None,
    "credit_new": None,
    "credit_allocated": None,
    "credit_remaining_total": None,
}
PROBLEM = {
    "type": "https://opencustodian.org/problems/invalid-filter",
    "title": "Invalid filter",
    "status": 400,
    "detail": "before must be a date such as 2026-11-01",
    "instance": "/cds/v1/bill-statements?before=yesterday",
    "oc_code": "invalid_filter",
}


def _page(key: str, *items: Doc, cursor: bool = True) -> Doc:
    return {
        key: list(items),
        "next": f"{API}/{key}?cursor=Mg" if cursor else None,
        "previous": None,
    }


EXAMPLES: dict[str, Doc] = {
    "Account": ACCOUNT,
    "AccountListing": _page("accounts", ACCOUNT),
    "ServiceContract": SERVICE_CONTRACT,
    "ServiceContractListing": _page("service_contracts", SERVICE_CONTRACT),
    "ServicePoint": SERVICE_POINT,
    "ServicePointListing": _page("service_points", SERVICE_POINT, cursor=False),
    "MeterDevice": METER_DEVICE,
    "MeterDeviceListing": _page("meter_devices", METER_DEVICE),
    "BillStatement": BILL_STATEMENT,
    "BillStatementListing": _page("bill_statements", BILL_STATEMENT),
    "BillSection": BILL_SECTION,
    "BillSectionListing": _page("bill_sections", BILL_SECTION),
    "Aggregation": AGGREGATION,
    "AggregationListing": _page("aggregations", AGGREGATION),
    "UsageSegment": INTERVAL_SEGMENT,
    "UsageSegmentListing": _page("usage_segments", INTERVAL_SEGMENT, MONTHLY_SEGMENT),
    "EnergyAttributeCertificate": EAC,
    "EnergyAttributeCertificateListing": _page("eacs", EAC, cursor=False),
    "ServerMetadata": SERVER_METADATA,
    "CoverageEntry": COVERAGE_ENTRY,
    "CoverageListing": _page("coverage_entries", COVERAGE_ENTRY),
    "AuthorizationServerMetadata": AS_METADATA,
    "ScopeDescription": USAGE_SCOPE,
    "Client": CLIENT,
    "ClientRegistration": {**ADMIN_CLIENT, "client_secret": "b7Qm2-xYv9-Lr41"},
    "ClientListing": _page("clients", CLIENT, ADMIN_CLIENT, cursor=False),
    "Grant": GRANT,
    "GrantListing": _page("grants", GRANT, ACTIVE_GRANT),
    "EcisBasic": ECIS_BASIC,
    "EcisInvoice": ECIS_INVOICE,
    "EcisInvoiceDetail": ECIS_INVOICE_DETAIL,
    "Problem": PROBLEM,
}
MORE_VALID: list[tuple[str, Doc]] = [
    ("UsageSegment", MONTHLY_SEGMENT),
    ("ScopeDescription", ADMIN_SCOPE),
    ("Grant", ACTIVE_GRANT),
    ("Client", ADMIN_CLIENT),
    (
        "Problem",
        {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no such account"},
    ),
    (
        "Account",
        {"cds_account_id": "acc-1", **TIMES, "cds_account_parent": "acc-0", "oc_tenant": "lpl"},
    ),
    (
        "EcisInvoiceDetail",
        {**ECIS_INVOICE_DETAIL, "credit_unit": "kWh", "credit_rate": 0.11, "credit_new": 96.2},
    ),
]


def example(name: str) -> Doc:
    """A fresh copy of the realistic example of ``name``."""
    return copy.deepcopy(EXAMPLES[name])


# ----------------------------------------------------------------------------- the files


def schema_files() -> set[str]:
    folder = resources.files("opencustodian.protocols.cds").joinpath("schemas")
    return {entry.name for entry in folder.iterdir() if entry.name.endswith(".schema.json")}


def test_the_catalog_names_exactly_the_files_in_the_folder():
    assert schema_files() == {f"{name}.schema.json" for name in (*SCHEMA_NAMES, COMMON)}
    assert len(set(SCHEMA_NAMES)) == len(SCHEMA_NAMES)


@pytest.mark.parametrize("name", [*SCHEMA_NAMES, COMMON])
def test_every_file_is_a_draft_2020_12_schema_with_its_own_id(name):
    document = schema(name)
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"{BASE}{name}.schema.json"


def _objects(node: object) -> list[Doc]:
    found: list[Doc] = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_objects(item))
    return found


@pytest.mark.parametrize("name", [*SCHEMA_NAMES, COMMON])
def test_objects_are_closed_except_for_server_extension_keys(name):
    closed = [item for item in _objects(schema(name)) if item.get("additionalProperties") is False]
    assert closed
    for item in closed:
        assert "^oc_" in item["patternProperties"]
    open_objects = [
        item for item in _objects(schema(name)) if item.get("additionalProperties") is not False
    ]
    # The two deliberately open kinds: RFC 7517 keys and the ValueFormat dispatcher.
    assert all("kty" in item["properties"] or "allOf" in item for item in open_objects)


# ----------------------------------------------------------------------------- valid documents


def test_there_is_an_example_of_every_schema():
    assert set(EXAMPLES) == set(SCHEMA_NAMES)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_a_realistic_example_is_valid(name):
    assert_valid(name, example(name))


@pytest.mark.parametrize(("name", "document"), MORE_VALID, ids=[name for name, _ in MORE_VALID])
def test_other_valid_variants_pass(name, document):
    assert_valid(name, copy.deepcopy(document))


def test_offsets_other_than_utc_and_fractions_of_seconds_are_valid_datetimes():
    account = example("Account")
    account["cds_modified"] = "2026-10-02T13:05:11.250-04:00"
    account["cds_synced"] = "2026-11-01t06:00:00z"
    assert_valid("Account", account)


# ----------------------------------------------------------------------------- invalid documents

Mutation = Callable[[Doc], object]


def _set(path: str, value: object) -> Mutation:
    """Set ``value`` at a dotted path (numbers index lists)."""

    def mutate(document: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(document: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


BROKEN: list[tuple[str, str, Mutation, str]] = [
    # (case id, schema, mutation, text expected in the failure)
    ("missing-required", "Account", _drop("cds_synced"), "'cds_synced' is a required property"),
    (
        "missing-required-nullable",
        "BillStatement",
        _drop("shutoff_prevention_date"),
        "'shutoff_prevention_date' is a required",
    ),
    (
        "missing-required-in-listing",
        "AccountListing",
        _drop("next"),
        "'next' is a required property",
    ),
    (
        "missing-required-nested",
        "Account",
        _drop("account_entity.entity_abbreviation"),
        "closest: $.account_entity: 'entity_abbreviation' is a required",
    ),
    ("wrong-enum", "Account", _set("account_status", "open"), "'open' is not one of"),
    (
        "wrong-enum-in-array",
        "ServiceContract",
        _set("service_types.0", "electricity"),
        "is not one of",
    ),
    ("wrong-enum-grant", "Grant", _set("status", "granted"), "'granted' is not one of"),
    (
        "naive-datetime",
        "Account",
        _set("cds_modified", "2026-10-02T17:05:11"),
        "$.cds_modified: '2026-10-02T17:05:11' does not match",
    ),
    (
        "space-separated-datetime",
        "UsageSegment",
        _set("segment_start", "2026-10-31 04:00:00Z"),
        "does not match",
    ),
    (
        "impossible-datetime",
        "EnergyAttributeCertificate",
        _set("period_end", "2026-02-30T00:00:00Z"),
        "is not a 'date-time'",
    ),
    (
        "datetime-as-date",
        "BillStatement",
        _set("statement_date", "2026-10-21T00:00:00Z"),
        "does not match",
    ),
    ("impossible-date", "BillStatement", _set("amount_due_date", "2026-13-01"), "is not a 'date'"),
    ("float-in-string", "Account", _set("account_number", 4410229107.0), "is not of type 'string'"),
    (
        "float-in-meter-reading",
        "UsageSegment",
        _set("values.0.6", {"r": 15230.118}),
        "$.values[0][6].r: 15230.118 is not of type 'string'",
    ),
    (
        "float-in-ecis-string",
        "EcisBasic",
        _set("meter_number", 7713094.0),
        "is not of type 'string'",
    ),
    ("string-decimal", "BillStatement", _set("amount_due", "118.77"), "is not of type 'number'"),
    (
        "extra-key",
        "Account",
        _set("account_balance", 10),
        "'account_balance' does not match any of the regexes",
    ),
    (
        "extra-key-nested",
        "BillSection",
        _set("line_items.0.discount", 1),
        "'discount' does not match",
    ),
    ("extra-key-listing", "GrantListing", _set("count", 2), "'count' does not match"),
    (
        "ecis-seed-typo",
        "EcisInvoice",
        _set("serivce_period_end", "2026-10-17"),
        "'serivce_period_end' does not match",
    ),
    (
        "ecis-missing-period-end",
        "EcisInvoice",
        _drop("service_period_end"),
        "'service_period_end' is a required",
    ),
    ("ecis-paid-as-text", "EcisInvoice", _set("invoice_paid", "no"), "is not of type 'boolean'"),
    (
        "ecis-text-charge",
        "EcisInvoiceDetail",
        _set("distribution_total", "53.89"),
        "is not of type 'number', 'null'",
    ),
    ("ecis-account-type", "EcisBasic", _set("account_type", "water"), "is not one of"),
    ("bad-uri", "ServerMetadata", _set("documentation", "lpl example com/docs"), "is not a 'uri'"),
    ("relative-uri", "Grant", _set("uri", "/cds/v1/grants/g-1182"), "is not a 'uri'"),
    (
        "coverage-without-url",
        "ServerMetadata",
        _drop("coverage"),
        "'coverage' is a required property",
    ),
    (
        "entry-claims-coverage",
        "CoverageEntry",
        _set("capabilities", ["coverage"]),
        "$.capabilities[0]: 'coverage' should not be valid",
    ),
    (
        "geographic-without-map",
        "CoverageEntry",
        _drop("geojson_resource"),
        "closest: $: 'map_resource' is a required property",
    ),
    (
        "contact-without-kind",
        "Account",
        _set("account_contacts.0.types", ["mobile"]),
        "$.account_contacts[0].types: ['mobile'] is not valid",
    ),
    (
        "phone-not-e164",
        "Account",
        _set("account_contacts.0.value", "(231) 555-0148"),
        "does not match",
    ),
    ("account-types-empty", "Account", _set("account_types", []), "should be non-empty"),
    (
        "credit-bank-fields-elsewhere",
        "ServiceContract",
        _set("service_programs.0.balance", 3),
        "$.service_programs[0].balance: 3 should not be",
    ),
    (
        "balance-without-currency",
        "Account",
        _drop("account_programs.0.currency"),
        "'currency' is a dependency",
    ),
    (
        "metered-detail-as-text",
        "BillSection",
        _set("usage_details.0.value", "742 kWh"),
        "is not of type 'number'",
    ),
    (
        "demand-without-type",
        "BillSection",
        _drop("usage_details.2.demand_type"),
        "'demand_type' is a required",
    ),
    (
        "read-without-multiplier",
        "BillSection",
        _drop("usage_details.3.multiplier"),
        "'multiplier' is a required",
    ),
    (
        "line-value-without-units",
        "BillSection",
        _drop("line_items.1.units"),
        "'units' is a required",
    ),
    ("bad-currency", "BillSection", _set("currency", "usd"), "does not match"),
    ("country-without-list", "Aggregation", _drop("countries"), "'countries' is a required"),
    (
        "region-without-postal-codes",
        "Aggregation",
        _drop("grouped_regions.0.postal_codes"),
        "'postal_codes' is a required",
    ),
    (
        "general-eac-with-beneficiaries",
        "EnergyAttributeCertificate",
        _set("beneficiary_type", "general"),
        "$.beneficiaries: ['sc-51b0'] is expected to be empty",
    ),
    (
        "usage-unit-of-demand",
        "UsageSegment",
        _set("formats.0.units", "kW"),
        "$.formats[0].units: 'kW' is not one of",
    ),
    (
        "demand-format-without-type",
        "UsageSegment",
        _drop("formats.3.demand_type"),
        "$.formats[3]: 'demand_type' is a required",
    ),
    ("unknown-value-type", "UsageSegment", _set("formats.1.type", "electric_net"), "is not one of"),
    (
        "supply-mix-over-one",
        "UsageSegment",
        _set("values.0.4.sm", 1.2),
        "$.values[0][4].sm: 1.2 is greater than the maximum of 1",
    ),
    (
        "value-not-an-object",
        "UsageSegment",
        _set("values.1.0", 0.388),
        "$.values[1][0]: 0.388 is not of type 'object'",
    ),
    ("pending-without-eta", "Grant", _set("eta", None), "is not of type 'string'"),
    (
        "active-with-eta",
        "GrantListing",
        _set("grants.1.eta", "2026-11-02T00:00:00Z"),
        "is not of type 'null'",
    ),
    (
        "client-secret-leaks",
        "Client",
        _set("client_secret", "b7Qm2"),
        "'client_secret' does not match",
    ),
    (
        "client-without-default-scope",
        "Client",
        _drop("cds_default_scope"),
        "'cds_default_scope' is a required",
    ),
    (
        "admin-client-can-be-disabled",
        "ClientRegistration",
        _set("cds_status_options", ["production", "disabled"]),
        "$.cds_status_options: ['production', 'disabled'] should not",
    ),
    (
        "client-cannot-be-disabled",
        "Client",
        _set("cds_status_options", ["sandbox"]),
        "$.cds_status_options: ['sandbox'] does not contain",
    ),
    (
        "registration-without-secret",
        "ClientRegistration",
        _drop("client_secret"),
        "'client_secret' is a required",
    ),
    (
        "code-scope-without-pkce",
        "ScopeDescription",
        _set("code_challenge_methods_supported", []),
        "$.code_challenge_methods_supported: [] does not contain",
    ),
    (
        "plain-pkce",
        "AuthorizationServerMetadata",
        _set("code_challenge_methods_supported", ["S256", "plain"]),
        "$.code_challenge_methods_supported[1]: 'S256' was expected",
    ),
    (
        "user-auth-without-authorize-endpoint",
        "AuthorizationServerMetadata",
        _drop("authorization_endpoint"),
        "'authorization_endpoint' is a required",
    ),
    (
        "eacs-without-formats",
        "AuthorizationServerMetadata",
        _drop("cds_eac_formats"),
        "'cds_eac_formats' is a dependency",
    ),
    (
        "bad-scope-description",
        "AuthorizationServerMetadata",
        _drop("cds_scope_descriptions.cds_usage_1.name"),
        "'name' is a required",
    ),
    (
        "bounded-field-without-maximum",
        "ScopeDescription",
        _drop("authorization_details_fields_supported.1.maximum"),
        "'maximum' is a required",
    ),
    (
        "choice-field-without-choices",
        "ScopeDescription",
        _drop("authorization_details_fields_supported.2.choices"),
        "'choices' is a required",
    ),
    (
        "oauth-version",
        "AuthorizationServerMetadata",
        _set("cds_oauth_version", "v2"),
        "'v1' was expected",
    ),
    (
        "relative-datetime-in-words",
        "Grant",
        _set("authorization_details.0.segment_start", "two years ago"),
        "$.authorization_details[0].segment_start: 'two years ago' is not valid under any",
    ),
    ("problem-status-as-text", "Problem", _set("status", "400"), "is not of type 'integer'"),
    ("problem-without-detail", "Problem", _drop("detail"), "'detail' is a required"),
]


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_a_broken_document_is_refused_with_its_reason(name, mutate, expected):
    document = example(name)
    mutate(document)
    with pytest.raises(AssertionError) as failure:
        assert_valid(name, document)
    assert expected in str(failure.value)


def test_every_problem_is_reported_with_its_path():
    account = example("Account")
    account["account_status"] = "open"
    account["account_contacts"][1]["value"] = 5
    del account["cds_created"]
    with pytest.raises(AssertionError) as failure:
        assert_valid("Account", account)
    message = str(failure.value)
    assert "$.account_status: 'open' is not one of" in message
    assert "$.account_contacts[1].value: 5 is not of type 'string'" in message
    assert "$: 'cds_created' is a required property" in message


def test_server_extension_keys_are_accepted_on_every_object():
    segment = example("UsageSegment")
    segment["oc_source"] = "ami"
    segment["formats"][0]["oc_channel"] = 1
    segment["values"][0][0]["oc_flag"] = "validated"
    assert_valid("UsageSegment", segment)
    problem = example("Problem") | {"oc_retry_after": 30}
    assert_valid("Problem", problem)


# ----------------------------------------------------------------------------- cross-field rules


def test_a_row_with_the_wrong_length_is_refused():
    segment = example("UsageSegment")
    segment["values"][1].pop()
    with pytest.raises(AssertionError) as failure:
        assert_valid("UsageSegment", segment)
    assert "$.values[1]: 6 values for 7 formats" in str(failure.value)


def test_a_value_that_does_not_match_its_column_is_refused():
    segment = example("UsageSegment")
    segment["values"][0][0] = {"ed": 0.412}  # column 0 is electric_usage: "eu"
    segment["values"][3][6] = {"eu": 15231.319}  # column 6 is meter_readings: "r"
    with pytest.raises(AssertionError) as failure:
        assert_valid("UsageSegment", segment)
    message = str(failure.value)
    assert "$.values[0][0]: has ['ed'], its column needs 'eu'" in message
    assert "$.values[3][6]: has ['eu'], its column needs 'r'" in message


def test_listings_check_every_segment_with_its_position():
    listing = example("UsageSegmentListing")
    listing["usage_segments"][1]["values"][0] = [{"gu": 1}, {"wu": 2}, {"fu": 0}]
    with pytest.raises(AssertionError) as failure:
        assert_valid("UsageSegmentListing", listing)
    message = str(failure.value)
    assert "$.usage_segments[1].values[0][0]: has ['gu'], its column needs 'wu'" in message
    assert "$.usage_segments[1].values[0][1]: has ['wu'], its column needs 'gu'" in message


def test_gaps_and_extension_members_do_not_count_as_mismatches():
    assert usage_segment_problems(example("UsageSegment")) == []
    assert usage_segment_problems(copy.deepcopy(MONTHLY_SEGMENT)) == []


def test_indexes_must_name_an_existing_column():
    segment = example("UsageSegment")
    segment["formats"][5]["indexes"] = [0, 7]
    assert usage_segment_problems(segment) == [
        "$.formats[5].indexes: column 7 does not exist (7 formats)"
    ]


def test_the_local_format_checks_refuse_what_the_missing_libraries_would():
    checker = format_checker()
    assert checker.conforms("2026-11-01T12:00:00Z", "date-time")
    assert not checker.conforms("2026-11-01T25:00:00Z", "date-time")
    assert not checker.conforms("2026-11-01T12:00:00", "date-time")
    assert checker.conforms("https://lpl.example.com/a?b=c", "uri")
    assert checker.conforms("urn:example:lpl", "uri")
    assert not checker.conforms("https:///nohost", "uri")
    assert not checker.conforms("https://lpl.example.com/a b", "uri")
    assert checker.conforms("/problems/x", "uri-reference")
    assert checker.conforms("about:blank", "uri-reference")


# ----------------------------------------------------------------------------- OpenAPI components


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for item in node for key in _keys(item)}
    return set()


def test_components_reference_only_components_that_exist():
    components = openapi_components()
    refs = _refs(components)
    assert refs
    prefix = "#/components/schemas/"
    assert [ref for ref in refs if not ref.startswith(prefix)] == []
    assert {ref.removeprefix(prefix) for ref in refs} <= set(components)


def test_components_cover_every_file_and_shared_definition_without_ids():
    components = openapi_components()
    definitions = schema(COMMON)["$defs"]
    assert isinstance(definitions, dict)
    expected = {f"Cds{name}" for name in (*SCHEMA_NAMES, *definitions)}
    assert set(components) == expected
    assert {"CdsAccount", "CdsEntity", "CdsValueFormat", "CdsUsageDetail"} <= set(components)
    assert not {"$id", "$schema", "$defs"} & _keys(components)
    json.dumps(components)  # plain JSON, ready for FastAPI's openapi() dict


def test_components_validate_like_the_files():
    components = openapi_components()
    for name in ("AccountListing", "UsageSegmentListing", "AuthorizationServerMetadata", "Grant"):
        document = {**openapi_ref(name), "components": {"schemas": components}}
        validator = Draft202012Validator(document, format_checker=format_checker())
        assert list(validator.iter_errors(example(name))) == []
        broken = example(name)
        broken["oc_ok"] = 1
        broken["unknown"] = 1
        messages = [error.message for error in validator.iter_errors(broken)]
        assert len(messages) == 1
        assert messages[0].startswith("'unknown' does not match any of the regexes")


def _app_answering(document: Doc) -> Any:
    """A FastAPI app whose OpenAPI document merges the components, as the web layer will."""
    app = FastAPI()

    @app.get(
        "/cds/v1/accounts",
        responses={
            200: {"content": {"application/json": {"schema": openapi_ref("AccountListing")}}}
        },
    )
    def accounts() -> JSONResponse:
        return JSONResponse(document)

    openapi = app.openapi().copy()
    openapi.setdefault("components", {}).setdefault("schemas", {}).update(openapi_components())
    app.openapi_schema = openapi
    return app


def _check_with_schemathesis(document: Doc) -> None:
    app = _app_answering(document)
    for result in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations():
        assert isinstance(result, Ok), result
        case = result.ok().Case()
        case.validate_response(case.call())


def test_schemathesis_checks_responses_against_the_merged_components():
    _check_with_schemathesis(example("AccountListing"))
    naive = example("AccountListing")
    naive["accounts"][0]["cds_created"] = "2026-01-01T00:00:00"
    with pytest.raises(FailureGroup, match="does not match"):
        _check_with_schemathesis(naive)


def test_openapi_ref_names_the_component():
    assert openapi_ref("Account") == {"$ref": "#/components/schemas/CdsAccount"}
    assert openapi_ref("Entity") == {"$ref": "#/components/schemas/CdsEntity"}


def test_callers_get_copies_they_may_change():
    schema("Account")["properties"] = {}
    openapi_components()["CdsAccount"]["required"] = []
    assert "cds_account_id" in schema("Account")["properties"]  # type: ignore[operator]
    assert openapi_components()["CdsAccount"]["required"]


def test_unknown_names_and_foreign_references_are_refused():
    with pytest.raises(SchemaCatalogError):
        schema("Accounts")
    with pytest.raises(SchemaCatalogError):
        schema("../common")
    for reference in ("https://example.com/x.json", "common.schema.json#/$defs/Entity/properties"):
        with pytest.raises(SchemaCatalogError):
            schema_catalog._component_ref(reference, in_common=False)
