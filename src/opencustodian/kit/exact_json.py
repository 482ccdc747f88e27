"""JSON with exact decimals: a ``Decimal`` is written as its own digits, never through float.

CDS-WG3-01 §10 forbids floats for decimal fields and ECIS amounts are money: ``json.dumps``
would need a float for a ``Decimal`` (``0.1`` would survive, ``0.30000000000000004`` would
too). Numbers are written in plain notation (``format(value, "f")``), which every JSON parser
reads back as the same decimal (``json.loads(..., parse_float=Decimal)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

_dump_string = json.JSONEncoder(ensure_ascii=False).encode


def dumps(value: object) -> str:
    """``value`` as compact JSON text."""
    return "".join(_chunks(value))


def encode(value: object) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return dumps(value).encode()


def _chunks(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        yield from _object(value)
    elif isinstance(value, str):
        yield _dump_string(value)
    elif isinstance(value, Sequence):
        yield from _array(value)
    else:
        yield _scalar(value)


def _object(value: Mapping[object, object]) -> Iterator[str]:
    yield "{"
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            msg = f"JSON object keys must be strings, not {type(key).__name__}"
            raise TypeError(msg)
        yield ("," if index else "") + _dump_string(key) + ":"
        yield from _chunks(item)
    yield "}"


def _array(value: Sequence[object]) -> Iterator[str]:
    yield "["
    for index, item in enumerate(value):
        if index:
            yield ","
        yield from _chunks(item)
    yield "]"


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            msg = f"{value} has no JSON form"
            raise ValueError(msg)
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    msg = f"{type(value).__name__} is not written as exact JSON (floats are refused)"
    raise TypeError(msg)
