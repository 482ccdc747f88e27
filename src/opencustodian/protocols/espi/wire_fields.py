"""Simple-typed ESPI elements described once: name, attribute, type, limits, occurrence.

espi.xsd declares ApplicationInformation and Authorization as sequences of simple elements
(``String32``..``String512`` with ``maxLength``, ``xs:anyURI``, ``TimeType`` epoch seconds,
``UInt16`` code unions, ``String32`` enumerations). A `WireField` row states one element's
facets; `element_texts` turns a Python value into the element texts the schema accepts, and
refuses values it would not (so a writer never emits an invalid document).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final

from opencustodian.kit.time import to_epoch

UINT16_MAX: Final = 65_535


class Kind(Enum):
    """The XSD simple type family of an element."""

    TEXT = "text"  # xs:string restrictions (StringNN, enumerations)
    URI = "uri"  # xs:anyURI
    CODE = "code"  # UInt16 code unions (status, type, use)
    EPOCH = "epoch"  # TimeType: xs:long UTC epoch seconds


@dataclass(frozen=True, slots=True)
class WireField:
    """One simple element of an espi.xsd sequence.

    ``when_absent`` is the text written for a required element whose value is ``None`` (an
    empty withheld secret, ``0`` for "never expires"); without it ``None`` means "omit", which
    only optional elements (``min_occurs == 0``) allow.
    """

    wire: str
    attr: str
    kind: Kind = Kind.TEXT
    max_length: int | None = None
    min_occurs: int = 1
    repeated: bool = False
    choices: frozenset[str] | None = None
    when_absent: str | None = None


def element_texts(field: WireField, value: object) -> list[str]:
    """The texts of the elements ``field`` is written as for ``value`` (none when omitted).

    Raises ``ValueError`` naming the element when the value breaks the schema's facets.
    """
    if value is None:
        if field.when_absent is not None:
            return [field.when_absent]
        if field.min_occurs:
            msg = f"{field.wire} is required by espi.xsd"
            raise ValueError(msg)
        return []
    values = list(value) if field.repeated and isinstance(value, tuple | list) else [value]
    if len(values) < field.min_occurs:
        msg = f"{field.wire} needs at least {field.min_occurs} value(s), got {len(values)}"
        raise ValueError(msg)
    return [_text(field, item) for item in values]


def _text(field: WireField, value: object) -> str:
    if field.kind is Kind.EPOCH:
        if not isinstance(value, datetime):
            msg = f"{field.wire} must be an aware datetime, not {type(value).__name__}"
            raise TypeError(msg)
        return str(to_epoch(value))
    if field.kind is Kind.CODE:
        code = int(value)  # type: ignore[call-overload]  # IntEnum members and ints
        if not 0 <= code <= UINT16_MAX:
            msg = f"{field.wire} code {code} is outside UInt16"
            raise ValueError(msg)
        return str(code)
    if not isinstance(value, str):
        msg = f"{field.wire} must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    if field.kind is Kind.URI and field.min_occurs and not value.strip():
        msg = f"{field.wire} is required and may not be empty"
        raise ValueError(msg)
    if field.max_length is not None and len(value) > field.max_length:
        msg = f"{field.wire} is {len(value)} characters long; espi.xsd allows {field.max_length}"
        raise ValueError(msg)
    if field.choices is not None and value not in field.choices:
        allowed = ", ".join(sorted(field.choices))
        msg = f"{field.wire} {value!r} is not one of espi.xsd's values ({allowed})"
        raise ValueError(msg)
    return value
