"""Validate CDS API responses against the package's JSON Schemas, offline.

Every schema file of :mod:`opencustodian.protocols.cds.schema_catalog` goes into one
``referencing`` registry under its ``$id``, so relative ``$ref`` values resolve without a
network. Formats ``date``, ``date-time``, ``uri``, ``uri-reference`` and ``email`` are checked;
``date-time`` and ``uri`` get local checkers because ``rfc3339-validator`` and ``rfc3987`` are
not installed (the schemas' patterns already demand an explicit offset).

JSON Schema cannot tie a usage segment's rows to its ``formats`` (CDS-WG3-01 §10.8.3-§10.8.5):
:func:`usage_segment_problems` checks those cross-field rules, and :func:`assert_valid` runs
it for ``UsageSegment`` documents and every segment of a ``UsageSegmentListing``.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any, Final
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource

from opencustodian.protocols.cds.schema_catalog import COMMON, SCHEMA_NAMES, schema

VALUE_KEYS: Final = {
    "electric_usage": "eu",
    "electric_demand": "ed",
    "electric_supply_mix": "sm",
    "water_usage": "wu",
    "natural_gas_usage": "gu",
    "fuel_oil_usage": "fu",
    "cost": "c",
    "meter_readings": "r",
}
"""CDS-WG3-01 §10.8.5: the member each value type's Value Object carries."""

_VALUE_MEMBERS: Final = frozenset(VALUE_KEYS.values())
EXTENSION: Final = re.compile(r"^oc_")
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_FORBIDDEN_IN_URI: Final = re.compile(r"[\s<>\"{}|\\^`]")


def _is_uri(value: object) -> bool:
    """RFC 3986 absolute URI, coarsely: a scheme, no blanks, and a host for web URLs."""
    if not isinstance(value, str):
        return True
    if _FORBIDDEN_IN_URI.search(value):
        return False
    parts = urlsplit(value)
    if not _SCHEME.match(parts.scheme):
        return False
    if parts.scheme.lower() in {"http", "https"}:
        return bool(parts.hostname)
    return bool(parts.netloc or parts.path)


def _is_uri_reference(value: object) -> bool:
    """RFC 3986 URI reference: a URI or a relative reference without blanks."""
    if not isinstance(value, str):
        return True
    if _FORBIDDEN_IN_URI.search(value):
        return False
    return ":" not in value.split("/", 1)[0] or _is_uri(value)


def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time: real calendar values, with an offset (the pattern checks the shape)."""
    if not isinstance(value, str):
        return True
    try:
        parsed = datetime.fromisoformat(value.upper())  # 3.11 reads "Z" as UTC
    except ValueError:
        return False
    return parsed.tzinfo is not None


@cache
def format_checker() -> FormatChecker:
    """jsonschema's checker, plus local ``date-time``, ``uri`` and ``uri-reference`` checks."""
    checker = FormatChecker()
    for name, check in (
        ("date-time", _is_date_time),
        ("uri", _is_uri),
        ("uri-reference", _is_uri_reference),
    ):
        if name not in checker.checkers:
            checker.checks(name)(check)
    return checker


@cache
def registry() -> Registry[Any]:
    """Every schema file, registered under its ``$id``."""
    resources = []
    for name in (*SCHEMA_NAMES, COMMON):
        document = schema(name)
        resources.append((str(document["$id"]), Resource.from_contents(document)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A draft 2020-12 validator of schema ``name`` with formats checked."""
    return Draft202012Validator(schema(name), registry=registry(), format_checker=format_checker())


def _closeness(error: Any) -> tuple[int, bool]:
    """Deeper errors first, then anything but a bare type mismatch (the ``null`` branch)."""
    return (-len(error.relative_path), error.validator == "type")


def schema_errors(name: str, document: object) -> list[str]:
    """Every schema violation of ``document`` as ``path: message`` (empty when valid)."""
    errors = []
    for error in sorted(validator(name).iter_errors(document), key=lambda e: e.json_path):
        errors.append(f"{error.json_path}: {error.message}")
        if error.context:
            # anyOf failures (nullable objects, contact kinds): name the likeliest cause.
            closest = min(error.context, key=_closeness)
            errors.append(f"    closest: {closest.json_path}: {closest.message}")
    return errors


def usage_segment_problems(segment: object, path: str = "$") -> list[str]:
    """Cross-field rules of one usage segment that JSON Schema cannot express.

    CDS-WG3-01 §10.8.3: every Value Set has one entry per Value Format; §10.8.4-§10.8.5: a
    non-null entry is the Value Object of its column's type (``electric_usage`` → ``eu`` …);
    §10.8.5.3/§10.8.5.7: ``indexes`` name existing columns. ``oc_*`` members are ignored.
    """
    if not isinstance(segment, dict):
        return []
    formats = segment.get("formats")
    rows = segment.get("values")
    if not isinstance(formats, list) or not isinstance(rows, list):
        return []
    keys = [_column_key(value_format) for value_format in formats]
    problems = _index_problems(formats, path)
    for number, row in enumerate(rows):
        problems.extend(_row_problems(row, keys, f"{path}.values[{number}]"))
    return problems


def _index_problems(formats: list[object], path: str) -> list[str]:
    """``indexes`` of supply-mix and cost formats must point at a column of the segment."""
    return [
        f"{path}.formats[{number}].indexes: column {index} does not exist ({len(formats)} formats)"
        for number, value_format in enumerate(formats)
        for index in _indexes(value_format)
        if not 0 <= index < len(formats)
    ]


def _indexes(value_format: object) -> list[int]:
    """The integer ``indexes`` of one Value Format (none when absent or malformed)."""
    indexes = value_format.get("indexes") if isinstance(value_format, dict) else None
    if not isinstance(indexes, list):
        return []
    return [index for index in indexes if isinstance(index, int)]


def _column_key(value_format: object) -> str | None:
    """The Value Object member a column's Value Format calls for (None for unknown types)."""
    kind = value_format.get("type") if isinstance(value_format, dict) else None
    return VALUE_KEYS.get(kind) if isinstance(kind, str) else None


def _row_problems(row: object, keys: list[str | None], path: str) -> list[str]:
    """One Value Set against the column keys its formats call for."""
    if not isinstance(row, list):
        return []
    problems = []
    if len(row) != len(keys):
        problems.append(f"{path}: {len(row)} values for {len(keys)} formats")
    for column, (value, key) in enumerate(zip(row, keys, strict=False)):
        if value is None or key is None or not isinstance(value, dict):
            continue
        members = sorted(name for name in value if not EXTENSION.match(name))
        if [name for name in members if name in _VALUE_MEMBERS] != [key]:
            problems.append(f"{path}[{column}]: has {members}, its column needs {key!r}")
    return problems


def cross_field_problems(name: str, document: object) -> list[str]:
    """The usage-segment rules for a ``UsageSegment`` or each segment of a listing."""
    if name == "UsageSegment":
        return usage_segment_problems(document)
    if name == "UsageSegmentListing" and isinstance(document, dict):
        segments = document.get("usage_segments")
        if isinstance(segments, list):
            return [
                problem
                for number, segment in enumerate(segments)
                for problem in usage_segment_problems(segment, f"$.usage_segments[{number}]")
            ]
    return []


def assert_valid(name: str, document: object) -> None:
    """Fail listing every schema error and cross-field problem of ``document`` as ``name``."""
    problems = schema_errors(name, document) + cross_field_problems(name, document)
    assert not problems, f"{name} is not valid:\n" + "\n".join(problems)
