"""Numeric ranges every imported reading must respect, whatever the source format.

The ranges are ESPI's (espi.xsd ``Int48`` for values and costs, ``UInt32`` for durations) and
those of an instant a ``datetime`` can name, so nothing downstream overflows a 64-bit column or
a date conversion.
"""

from __future__ import annotations

from typing import Final

INT48_MAX: Final = 2**47 - 1  # espi.xsd Int48: values and costs
UINT32_MAX: Final = 2**32 - 1  # espi.xsd UInt32: durations in seconds
# espi.xsd TimeType is a signed 64-bit epoch; only instants of years 1-9999 are accepted.
MIN_EPOCH: Final = -62_135_596_800
MAX_EPOCH: Final = 253_402_300_799
