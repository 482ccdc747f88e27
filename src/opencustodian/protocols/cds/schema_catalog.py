"""The JSON Schemas (draft 2020-12) of every JSON document the CDS API answers.

The schema files live beside this module in ``schemas/`` as package data: one file per
top-level object or listing (CDS-WG1-01 server metadata and coverage, CDS-WG1-02 authorization
server metadata, clients and grants, CDS-WG3-01 §10 customer data objects, the ECIS responses
of seed 004 and RFC 9457 problems) and ``common.schema.json`` whose ``$defs`` hold the shared
enumerations and sub-objects. Files point at each other with relative ``$ref`` values that
resolve against their ``$id`` (``https://opencustodian.org/schemas/cds/<Name>.schema.json``).

The same schemas feed the OpenAPI 3.1 document: :func:`openapi_components` names every file
and every ``$defs`` entry ``Cds<Name>`` and rewrites the references to
``#/components/schemas/Cds<Name>`` so the web layer can merge them into FastAPI's components.
Only the standard library is used: ``jsonschema`` is a development dependency.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Final

SCHEMA_NAMES: Final[tuple[str, ...]] = (
    # CDS-WG3-01 §10 customer data objects and their listings
    "Account",
    "AccountListing",
    "ServiceContract",
    "ServiceContractListing",
    "ServicePoint",
    "ServicePointListing",
    "MeterDevice",
    "MeterDeviceListing",
    "BillStatement",
    "BillStatementListing",
    "BillSection",
    "BillSectionListing",
    "Aggregation",
    "AggregationListing",
    "UsageSegment",
    "UsageSegmentListing",
    "EnergyAttributeCertificate",
    "EnergyAttributeCertificateListing",
    # CDS-WG1-01 server metadata and coverage
    "ServerMetadata",
    "CoverageEntry",
    "CoverageListing",
    # CDS-WG1-02 (+ WG3-01 §5, §8) registration objects
    "AuthorizationServerMetadata",
    "ScopeDescription",
    "Client",
    "ClientRegistration",
    "ClientListing",
    "Grant",
    "GrantListing",
    # ECIS responses (seed 004) and RFC 9457 problems
    "EcisBasic",
    "EcisInvoice",
    "EcisInvoiceDetail",
    "Problem",
)
"""Every top-level schema, by file stem; ``common`` (shared ``$defs``) is not among them."""

COMMON: Final = "common"
"""The file stem of the shared definitions."""

COMPONENT_PREFIX: Final = "Cds"
_PACKAGE: Final = "opencustodian.protocols.cds"
_COMPONENTS: Final = "#/components/schemas/"
_SUFFIX: Final = ".schema.json"
_BASE: Final = "https://opencustodian.org/schemas/cds/"
_DEFS: Final = "#/$defs/"


class SchemaCatalogError(ValueError):
    """A schema reference this catalog cannot translate, or an unknown schema name."""


@cache
def _load(name: str) -> dict[str, object]:
    """Parse one schema file (cached; callers receive copies)."""
    if name not in SCHEMA_NAMES and name != COMMON:
        message = f"no CDS schema named {name!r}"
        raise SchemaCatalogError(message)
    folder = resources.files(_PACKAGE).joinpath("schemas")
    text = folder.joinpath(f"{name}{_SUFFIX}").read_text(encoding="utf-8")
    document: dict[str, object] = json.loads(text)
    return document


def schema(name: str) -> dict[str, object]:
    """The raw schema of one file (``name`` from :data:`SCHEMA_NAMES`, or ``"common"``).

    Raises:
        SchemaCatalogError: ``name`` is not a schema of this catalog.
    """
    return copy.deepcopy(_load(name))


def openapi_ref(name: str) -> dict[str, str]:
    """An OpenAPI reference to the component of schema (or shared definition) ``name``."""
    return {"$ref": f"{_COMPONENTS}{COMPONENT_PREFIX}{name}"}


def openapi_components() -> dict[str, dict[str, object]]:
    """Every schema and every shared definition as OpenAPI 3.1 components.

    Names are ``Cds`` + file stem or ``$defs`` key; ``$id``/``$schema`` are dropped (the
    OpenAPI document is their base now) and every ``$ref`` points into
    ``#/components/schemas/``.

    Raises:
        SchemaCatalogError: a file stem and a shared definition share a name, or a
            reference has a form this catalog does not produce.
    """
    components: dict[str, dict[str, object]] = {}
    common = schema(COMMON)
    definitions = common.get("$defs", {})
    if not isinstance(definitions, dict):
        message = "common.schema.json has no $defs object"
        raise SchemaCatalogError(message)
    for key, definition in definitions.items():
        components[f"{COMPONENT_PREFIX}{key}"] = _component(definition, in_common=True)
    for name in SCHEMA_NAMES:
        component_name = f"{COMPONENT_PREFIX}{name}"
        if component_name in components:
            message = f"{name} is both a schema file and a shared definition"
            raise SchemaCatalogError(message)
        components[component_name] = _component(schema(name), in_common=False)
    return components


def _component(node: object, *, in_common: bool) -> dict[str, object]:
    """One schema rewritten for the OpenAPI components section."""
    rewritten = _rewrite(node, in_common=in_common)
    if not isinstance(rewritten, dict):
        message = "a schema component must be a JSON object"
        raise SchemaCatalogError(message)
    for key in ("$id", "$schema"):
        rewritten.pop(key, None)
    return rewritten


def _rewrite(node: object, *, in_common: bool) -> object:
    """Copy ``node`` with every ``$ref`` translated to a component reference."""
    if isinstance(node, list):
        return [_rewrite(item, in_common=in_common) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, object] = {}
    for key, value in node.items():
        if key == "$defs":
            # Shared definitions live only in common.schema.json, which is split per entry.
            message = "nested $defs cannot become OpenAPI components"
            raise SchemaCatalogError(message)
        if key == "$ref" and isinstance(value, str):
            out[key] = _component_ref(value, in_common=in_common)
        else:
            out[key] = _rewrite(value, in_common=in_common)
    return out


def _component_ref(reference: str, *, in_common: bool) -> str:
    """Translate a file-relative reference to ``#/components/schemas/Cds<Name>``.

    The files only use three forms: ``#/$defs/X`` inside ``common``,
    ``common.schema.json#/$defs/X`` and ``<Name>.schema.json`` (either may be absolute under
    the ``$id`` base).
    """
    target = reference.removeprefix(_BASE)
    if target.startswith(_DEFS) and in_common:
        return _defs_ref(target[len(_DEFS) :], reference)
    document, _, fragment = target.partition("#")
    if not document.endswith(_SUFFIX):
        message = f"unsupported reference {reference!r}"
        raise SchemaCatalogError(message)
    stem = document.removesuffix(_SUFFIX)
    if stem == COMMON and fragment.startswith(_DEFS[1:]):
        return _defs_ref(fragment[len(_DEFS) - 1 :], reference)
    if stem in SCHEMA_NAMES and not fragment:
        return openapi_ref(stem)["$ref"]
    message = f"unsupported reference {reference!r}"
    raise SchemaCatalogError(message)


def _defs_ref(key: str, reference: str) -> str:
    """The component reference of shared definition ``key`` (a plain name, no deeper path)."""
    if not key or "/" in key:
        message = f"unsupported reference {reference!r}"
        raise SchemaCatalogError(message)
    return openapi_ref(key)["$ref"]
