"""Readings of one ESPI IntervalBlock, extracted as ``Reading`` rows.

ESPI 4.0 espi.xsd ``IntervalBlock``: an ``interval`` (DateTimeInterval) and any number of
``IntervalReading`` elements, each with an optional ``cost`` (Int48, 10⁻⁵ currency units),
``ReadingQuality`` elements, a ``timePeriod`` (``duration`` UInt32 seconds, ``start`` TimeType
epoch seconds) and a ``value`` (Int48, scaled by the ReadingType's ``powerOfTenMultiplier``).

A file can hold a million readings, so a block is first read by a tight single pass over the
leaf elements and converted column by column, checked only by ``int()`` and a range test. Only
a block that this fast path cannot read cleanly is read again, reading by reading, to tolerate
known quirks or to name the exact line that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

from opencustodian.domain.ingest import ImportRejectedError
from opencustodian.domain.quality import KNOWN_QUALITY_CODES
from opencustodian.protocols.espi.names import (
    COST,
    DURATION,
    INTERVAL,
    INTERVAL_READING,
    QUALITY,
    READING_QUALITY,
    START,
    TIME_PERIOD,
    VALUE,
    source_line,
)
from opencustodian.protocols.limits import INT48_MAX, MAX_EPOCH, MIN_EPOCH, UINT32_MAX

if TYPE_CHECKING:
    from lxml import etree

    from opencustodian.domain.metering import Reading

# Slots of a reading's fields in the fast path's rows; the two container tags come last.
_SLOTS: Final = {
    START: 0,
    DURATION: 1,
    VALUE: 2,
    COST: 3,
    QUALITY: 4,
    INTERVAL_READING: 5,
    INTERVAL: 6,
}
_QUALITY_SLOT: Final = 4
_READING_SLOT: Final = 5

_FRACTIONAL_EPOCH = re.compile(r"[+-]?\d+\.\d*")
_QUALITY_BY_TEXT: Final = {str(code): code for code in KNOWN_QUALITY_CODES}


@dataclass(slots=True)
class BlockReadings:
    """The readings of one IntervalBlock, and the quirks met while reading them.

    ``implicit`` lists the indexes of readings without a ``timePeriod``: espi.xsd says their
    period follows from the block's ``interval.start`` and the ReadingType's ``intervalLength``,
    which is only known once the block's meter reading is resolved (see ``fill_implicit``).
    """

    line: int
    readings: list[Reading]
    interval_start: int | None = None
    implicit: list[int] = field(default_factory=list)
    truncated_starts: int = 0
    first_truncated: str | None = None
    unknown_qualities: int = 0

    def fill_implicit(self, interval_length: int | None, reading_type: str) -> None:
        """Give readings without a ``timePeriod`` their implied period (espi.xsd IntervalReading).

        Reading ``i`` of the block covers ``[interval.start + i·L, … + L)`` with ``L`` the
        ReadingType's ``intervalLength``.
        """
        if not self.implicit:
            return
        if self.interval_start is None or not interval_length or interval_length <= 0:
            msg = (
                f"line {self.line}: IntervalReadings without a timePeriod need the block's "
                f"interval start and an intervalLength in ReadingType {reading_type}"
            )
            raise ImportRejectedError(msg)
        for index in self.implicit:
            start = self.interval_start + index * interval_length
            _, _, value, cost, quality = self.readings[index]
            start = _in_range(start, MIN_EPOCH, MAX_EPOCH, "start", self.line)
            self.readings[index] = (start, interval_length, value, cost, quality)
        self.implicit.clear()


def read_block(block: etree._Element) -> BlockReadings:
    """Every IntervalReading of ``block`` as a row, in document order."""
    line = source_line(block)
    try:
        return BlockReadings(line, _fast_readings(block))
    except (TypeError, ValueError, KeyError):
        # Missing, fractional, repeated or out-of-range fields: re-read slowly for the details.
        return _careful_block(block, line)


def _fast_readings(block: etree._Element) -> list[Reading]:
    """One pass over the leaf elements; raises on anything but clean integer data.

    ``iter`` with several tags walks the subtree in C, so Python touches only the reading and
    its five leaves. Each reading's texts land in a row by slot; a field given twice, or a
    missing required field (``int(None)``), raises so that the careful path can explain it.
    """
    rows: list[list[str | None]] = []
    row: list[str | None] | None = None
    for element in block.iter(*_SLOTS):
        slot = _SLOTS[element.tag]
        if slot >= _READING_SLOT:
            # A new IntervalReading opens a row; the block's own interval belongs to none.
            row = [None, None, None, None, None] if slot == _READING_SLOT else None
            if row is not None:
                rows.append(row)
        elif row is None:
            continue
        elif row[slot] is None:
            row[slot] = element.text
        elif slot != _QUALITY_SLOT:  # only the first ReadingQuality counts; others are errors
            raise ValueError(element.tag)
    if not rows:
        return []
    starts, durations, values, costs, qualities = zip(*rows, strict=True)
    return _checked_rows(starts, durations, values, costs, qualities)


def _checked_rows(
    start_texts: tuple[str | None, ...],
    duration_texts: tuple[str | None, ...],
    value_texts: tuple[str | None, ...],
    cost_texts: tuple[str | None, ...],
    quality_texts: tuple[str | None, ...],
) -> list[Reading]:
    """Convert the texts column by column; raise if any is missing, unknown or out of range."""
    starts = list(map(int, start_texts))  # type: ignore[arg-type] # None raises TypeError
    durations = list(map(int, duration_texts))  # type: ignore[arg-type]
    values = list(map(int, value_texts))  # type: ignore[arg-type]
    costs = [None if text is None else int(text) for text in cost_texts]
    qualities = [None if text is None else _QUALITY_BY_TEXT[text] for text in quality_texts]
    known_costs = [cost for cost in costs if cost is not None] or [0]
    if (
        min(starts) < MIN_EPOCH
        or max(starts) > MAX_EPOCH
        or min(durations) <= 0
        or max(durations) > UINT32_MAX
        or min(values) < -INT48_MAX
        or max(values) > INT48_MAX
        or min(known_costs) < -INT48_MAX
        or max(known_costs) > INT48_MAX
    ):
        raise ValueError
    return list(zip(starts, durations, values, costs, qualities, strict=True))


def _careful_block(block: etree._Element, line: int) -> BlockReadings:
    """Read ``block`` reading by reading, tolerating known quirks, naming the line of errors."""
    result = BlockReadings(line, [])
    interval = block.find(INTERVAL)
    if interval is not None:
        text = _single_text(interval, START, "interval")
        if text is not None:
            result.interval_start = _epoch(text, interval, None)
    for index, reading in enumerate(block.iterchildren(INTERVAL_READING)):
        result.readings.append(_careful_reading(reading, index, result))
    return result


def _careful_reading(reading: etree._Element, index: int, result: BlockReadings) -> Reading:
    """One IntervalReading, checked field by field (espi.xsd IntervalReading)."""
    value_text = _single_text(reading, VALUE, "IntervalReading")
    if value_text is None:
        msg = f"line {source_line(reading)}: IntervalReading has no value"
        raise ImportRejectedError(msg)
    value = _integer(value_text, reading, "value", INT48_MAX)
    cost_text = _single_text(reading, COST, "IntervalReading")
    cost = None if cost_text is None else _integer(cost_text, reading, "cost", INT48_MAX)
    quality = _quality(reading, result)
    period = _single(reading, TIME_PERIOD, "IntervalReading")
    if period is None:
        # espi.xsd: "If not specified, readings for each intervalLength in ReadingType are
        # present"; placeholders until the ReadingType is known.
        result.implicit.append(index)
        return (0, 0, value, cost, quality)
    start_text = _single_text(period, START, "timePeriod")
    duration_text = _single_text(period, DURATION, "timePeriod")
    if start_text is None or duration_text is None:
        missing = "start" if start_text is None else "duration"
        msg = f"line {source_line(period)}: IntervalReading timePeriod has no {missing}"
        raise ImportRejectedError(msg)
    start = _epoch(start_text, period, result)
    duration = _integer(duration_text, period, "duration", UINT32_MAX)
    if duration <= 0:
        msg = f"line {source_line(period)}: IntervalReading duration {duration} is not positive"
        raise ImportRejectedError(msg)
    return (start, duration, value, cost, quality)


def _single(parent: etree._Element, tag: str, owner: str) -> etree._Element | None:
    """The only child ``tag`` of ``parent``, None if absent; a repeated child is an error."""
    found = parent.findall(tag)
    if len(found) > 1:
        msg = (
            f"line {source_line(found[1])}: {owner} has {len(found)} "
            f"{tag.rpartition('}')[2]} elements; espi.xsd allows one"
        )
        raise ImportRejectedError(msg)
    return found[0] if found else None


def _single_text(parent: etree._Element, tag: str, owner: str) -> str | None:
    """The trimmed text of the only child ``tag``; None when it is absent or empty."""
    element = _single(parent, tag, owner)
    if element is None:
        return None
    return (element.text or "").strip() or None


def _integer(text: str, where: etree._Element, name: str, limit: int) -> int:
    """An integer field (espi.xsd Int48 / UInt32); decimals are refused, never rounded."""
    try:
        number = int(text)
    except ValueError:
        msg = f"line {source_line(where)}: IntervalReading {name} {text!r} is not an integer"
        raise ImportRejectedError(msg) from None
    return _in_range(number, -limit, limit, name, source_line(where))


def _in_range(number: int, low: int, high: int, name: str, line: int) -> int:
    if not low <= number <= high:
        msg = f"line {line}: IntervalReading {name} {number} is outside {low}..{high}"
        raise ImportRejectedError(msg)
    return number


def _epoch(text: str, where: etree._Element, result: BlockReadings | None) -> int:
    """Epoch seconds (espi.xsd TimeType); a fractional epoch is truncated.

    Real exports write the export instant with microseconds (``1721154384.66136``); the whole
    seconds are kept, and truncated reading starts are counted in ``result`` for a warning.
    """
    try:
        number = int(text)
    except ValueError:
        if not _FRACTIONAL_EPOCH.fullmatch(text):
            line = source_line(where)
            msg = f"line {line}: start {text!r} is not epoch seconds (espi.xsd TimeType)"
            raise ImportRejectedError(msg) from None
        try:
            number = int(Decimal(text))
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            msg = f"line {source_line(where)}: start {text!r} is not a number"
            raise ImportRejectedError(msg) from None
        if result is not None:
            result.truncated_starts += 1
            result.first_truncated = result.first_truncated or text
    return _in_range(number, MIN_EPOCH, MAX_EPOCH, "start", source_line(where))


def _quality(reading: etree._Element, result: BlockReadings) -> int | None:
    """The code of the first ``ReadingQuality/quality``; unknown codes become None, counted."""
    first = reading.find(READING_QUALITY)
    if first is None:
        return None
    text = (first.findtext(QUALITY) or "").strip()
    if not text:
        return None
    try:
        code = int(text)
    except ValueError:
        msg = f"line {source_line(first)}: ReadingQuality quality {text!r} is not an integer code"
        raise ImportRejectedError(msg) from None
    if code not in KNOWN_QUALITY_CODES:
        result.unknown_qualities += 1
        return None
    return code
