"""Stable identifiers.

ESPI resource ids must be stable across feeds (GBA uuid guidance: type 3 or 5 UUIDs derived
from a durable key), so every resource id is a UUID v5 in one OpenCustodian namespace.
"""

from __future__ import annotations

import uuid

OPENCUSTODIAN_NAMESPACE = uuid.UUID("5b0c3c5e-7a51-4f7e-9d55-3f0e6b8c2a10")


def stable_uuid(*parts: object) -> uuid.UUID:
    """A UUID v5 for the ``/``-joined parts: the same parts always give the same id."""
    key = "/".join(str(part) for part in parts)
    return uuid.uuid5(OPENCUSTODIAN_NAMESPACE, key)
