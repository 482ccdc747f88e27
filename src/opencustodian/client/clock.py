"""Clocks: every timestamp the client keeps is an aware UTC datetime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A callable returning the current time as an aware datetime (injectable for tests)."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def aware_utc(moment: datetime) -> datetime:
    """``moment`` converted to UTC; naive datetimes are refused rather than guessed.

    Raises:
        ValueError: ``moment`` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = "the clock returned a naive datetime; clocks must return aware datetimes"
        raise ValueError(msg)
    return moment.astimezone(UTC)
