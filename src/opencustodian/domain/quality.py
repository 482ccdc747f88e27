"""Reading quality codes.

The codes are the IEC 61968-9 ``QualityOfReading`` values ESPI carries (espi.xsd
``QualityOfReading``). Seed 000 §3.3g: historical data is validated (17); real-time data is
provisional and unvalidated (14, raw).
"""

from __future__ import annotations

from enum import IntEnum


class ReadingQuality(IntEnum):
    """How trustworthy a reading is, by its standard code."""

    VALID = 0
    MANUALLY_EDITED = 7
    ESTIMATED_USING_REFERENCE_DAY = 8
    ESTIMATED_USING_LINEAR_INTERPOLATION = 9
    QUESTIONABLE = 10
    DERIVED = 11
    PROJECTED = 12
    MIXED = 13
    RAW = 14
    NORMALIZED_FOR_WEATHER = 15
    OTHER = 16
    VALIDATED = 17
    VERIFIED = 18
    REVENUE_QUALITY = 19


KNOWN_QUALITY_CODES = frozenset(int(code) for code in ReadingQuality)


#: Codes that say more about a reading than "validated" does; real-time feeds keep them.
_SPECIFIC_FLAGS = frozenset(range(ReadingQuality.MANUALLY_EDITED, ReadingQuality.RAW))


def provisional(quality: int | None) -> int:
    """A reading's quality as a real-time feed states it (seed 000 §3.3g).

    Real-time data is provisional and unvalidated, so it never claims validation: the code is
    raw (14), unless the stored code flags an edit, an estimate or a doubt (7–13), which the
    third party should still see.
    """
    if quality is not None and quality in _SPECIFIC_FLAGS:
        return quality
    return ReadingQuality.RAW
