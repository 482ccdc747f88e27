"""ESPI scope strings ``FB=1_3_4;IntervalDuration=900;…`` to and from `DataScope`.

Grammar: GBA ``espi/authorization_scope.md`` (research/espi.md §6). Parsing is lenient because
real utilities vary (DESIGN.md "One canonical scope"): term names ignore case, spaces around
terms and the trailing ``;`` are optional, lists may be in any order, unknown terms are kept.
Emission is exact: one canonical string per scope (see `emit_scope`). ``FB_1_3``-style
spellings are not accepted: ``FB_<n>`` appears only as GBJ's internal authority names and
seed 000's labels (``[FB_01]``), never in a scope string a third party sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import unquote

from opencustodian.domain.scopes import (
    CalendarPeriod,
    DataScope,
    Duration,
    ScopeError,
    coarsest_first,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

FB: Final = "FB"
INTERVAL_DURATION: Final = "IntervalDuration"
BLOCK_DURATION: Final = "BlockDuration"
HISTORY_LENGTH: Final = "HistoryLength"
SUBSCRIPTION_FREQUENCY: Final = "SubscriptionFrequency"
ACCOUNT_COLLECTION: Final = "AccountCollection"
BR: Final = "BR"

# The canonical term order: the order of the grammar (authorization_scope.md), which is also
# the order every real string in seed 000 §3.1 and research/espi.md §6 uses.
TERM_ORDER: Final = (
    FB,
    INTERVAL_DURATION,
    BLOCK_DURATION,
    HISTORY_LENGTH,
    SUBSCRIPTION_FREQUENCY,
    ACCOUNT_COLLECTION,
    BR,
)
_KNOWN_BY_FOLDED: Final = {name.casefold(): name for name in TERM_ORDER}

# MacroPeriodKind names as emitted: capitalised like seed 000 (``Monthly_Daily``) and the GBA
# page's ApplicationInformation example (``Daily_BillingPeriod_Weekly_Monthly``).
PERIOD_NAMES: Final[dict[CalendarPeriod, str]] = {
    CalendarPeriod.DAY: "Daily",
    CalendarPeriod.WEEK: "Weekly",
    CalendarPeriod.BILLING_PERIOD: "BillingPeriod",
    CalendarPeriod.MONTH: "Monthly",
    CalendarPeriod.SEASON: "Seasonal",
}
_PERIOD_BY_FOLDED: Final = {name.casefold(): period for period, name in PERIOD_NAMES.items()}

# Numbers are capped in length so hostile input cannot make int() do quadratic work or hit
# Python's 4300-digit limit; 12 digits is over 30,000 years in seconds.
_MAX_DIGITS: Final = 12
# Characters a scope's terms may not carry: they delimit terms, values or scopes, and "%"
# would be decoded by a lenient re-parse (see _decoded).
_DELIMITERS: Final = frozenset(";|%")

_T = TypeVar("_T")


def parse_scopes(text: str) -> list[DataScope]:
    """Every scope in ``text``, where several are joined by ``|`` (seed 000 §3.1).

    Seed 000 writes ``scope= <selected scope 1> | <selected scope 2>``, so spaces around ``|``
    are allowed and empty pieces are skipped. ``%7C`` (and any other percent-escape) is
    decoded first, for scopes that arrive still URL-encoded.
    """
    pieces = (piece.strip() for piece in _decoded(text).split("|"))
    return [_parse_decoded(piece) for piece in pieces if piece]


def parse_scope(text: str) -> DataScope:
    """The scope one ESPI scope string means; `ScopeError` names the first bad term.

    An empty string is the empty scope (it asks for nothing). Repeating a known term is an
    error rather than a merge, because the two values would disagree on what was consented to.
    """
    decoded = _decoded(text)
    if "|" in decoded:
        msg = "several scopes joined by '|': read them with parse_scopes"
        raise ScopeError(msg)
    return _parse_decoded(decoded)


def _parse_decoded(decoded: str) -> DataScope:
    known: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []
    for raw in decoded.split(";"):
        if raw.strip():
            _read_term(raw, known, unknown)
    return DataScope(
        function_blocks=_value(known, FB, _read_function_blocks, frozenset()),
        interval_durations=_value(known, INTERVAL_DURATION, _read_durations, frozenset()),
        block_durations=_value(known, BLOCK_DURATION, _read_durations, frozenset()),
        # The grammar allows one value, but seed 000 sends HistoryLength=63072000_86400.
        history_lengths=_value(known, HISTORY_LENGTH, _read_numbers, frozenset()),
        subscription_frequency=_value(known, SUBSCRIPTION_FREQUENCY, _read_frequency, None),
        account_collection=_value(known, ACCOUNT_COLLECTION, _number, None),
        # Any bulk id that can be written back is accepted: the custodian assigns it.
        bulk_id=_value(known, BR, _read_bulk_id, None),
        unknown_terms=tuple(unknown),
    )


def _decoded(text: str) -> str:
    # Only when an escape is present, so a decoded string is never decoded twice by accident.
    return unquote(text) if "%" in text else text


def _read_term(raw: str, known: dict[str, str], unknown: list[tuple[str, str]]) -> None:
    """Sort one ``name=value`` into known terms (by canonical name) or unknown ones."""
    name, equals, value = raw.partition("=")
    name, value = name.strip(), value.strip()
    if not equals or not name:
        msg = f"scope term {raw.strip()!r} is not of the form name=value"
        raise ScopeError(msg)
    canonical = _KNOWN_BY_FOLDED.get(name.casefold())
    if canonical is None:
        unknown.append(_unknown_term(name, value))
    elif not value:
        msg = f"{canonical}: no value given"
        raise ScopeError(msg)
    elif canonical in known:
        msg = f"{canonical}: term given more than once"
        raise ScopeError(msg)
    else:
        known[canonical] = value


def _value(known: dict[str, str], term: str, reader: Callable[[str, str], _T], default: _T) -> _T:
    raw = known.get(term)
    return default if raw is None else reader(term, raw)


def _parts(value: str) -> list[str]:
    # The grammar's {[FBTerm], "_"} allows empty items ("1__3"); they carry nothing.
    return [part.strip() for part in value.split("_") if part.strip()]


def _number(term: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS:
        msg = f"{term}: {text!r} is not a whole number"
        raise ScopeError(msg)
    return int(text)


def _duration(term: str, text: str) -> Duration:
    period = _PERIOD_BY_FOLDED.get(text.casefold())
    if period is not None:
        return period
    if text.isascii() and text.isdigit():
        return _number(term, text)
    names = ", ".join(PERIOD_NAMES.values())
    msg = f"{term}: {text!r} is neither a number of seconds nor a period name ({names})"
    raise ScopeError(msg)


def _positive(term: str, duration: Duration) -> Duration:
    if duration == 0:
        msg = f"{term}: 0 is not a length"
        raise ScopeError(msg)
    return duration


def _read_numbers(term: str, value: str) -> frozenset[int]:
    numbers = frozenset(_number(term, part) for part in _parts(value))
    if not numbers:
        msg = f"{term}: no value given"
        raise ScopeError(msg)
    return numbers


def _read_durations(term: str, value: str) -> frozenset[Duration]:
    durations = frozenset(_positive(term, _duration(term, part)) for part in _parts(value))
    if not durations:
        msg = f"{term}: no value given"
        raise ScopeError(msg)
    return durations


def _read_function_blocks(term: str, value: str) -> frozenset[int]:
    blocks = _read_numbers(term, value)
    if 0 in blocks:
        msg = f"{term}: function blocks are numbered from 1"
        raise ScopeError(msg)
    return blocks


def _read_bulk_id(term: str, value: str) -> str:
    _check_emittable(term, value, allow_empty=False)
    return value


def _read_frequency(term: str, value: str) -> Duration:
    return _positive(term, _duration(term, value))


def emit_scope(scope: DataScope) -> str:
    """The canonical ESPI string for ``scope``; `parse_scope` reads it back to an equal scope.

    Terms come in `TERM_ORDER`, each ending in ``;`` (seed 000 §3.1's form), then unknown
    terms in their original order. Function blocks and history lengths are sorted (ascending
    and longest first), durations coarsest first with period names capitalised
    (``IntervalDuration=Monthly_3600_900_300``). The empty scope is the empty string.
    """
    terms = [
        (FB, "_".join(_int_text(FB, block) for block in sorted(scope.function_blocks))),
        (INTERVAL_DURATION, _durations_text(INTERVAL_DURATION, scope.interval_durations)),
        (BLOCK_DURATION, _durations_text(BLOCK_DURATION, scope.block_durations)),
        (HISTORY_LENGTH, _history_text(scope.history_lengths)),
        (SUBSCRIPTION_FREQUENCY, _optional_duration_text(scope.subscription_frequency)),
        (ACCOUNT_COLLECTION, _optional_text(scope.account_collection)),
        (BR, _bulk_id_text(scope.bulk_id)),
    ]
    # Unknown terms are written even with an empty value: they are kept verbatim.
    terms = [(name, value) for name, value in terms if value]
    terms += [_unknown_term(name, value) for name, value in scope.unknown_terms]
    return "".join(f"{name}={value};" for name, value in terms)


def _int_text(term: str, number: int) -> str:
    # Refuse what parse_scope would refuse, so emitted strings always read back.
    text = str(number)
    if len(text) > _MAX_DIGITS:
        msg = f"{term}: {number} has more than {_MAX_DIGITS} digits"
        raise ScopeError(msg)
    return text


def _duration_text(term: str, duration: Duration) -> str:
    if isinstance(duration, CalendarPeriod):
        return PERIOD_NAMES[duration]
    return _int_text(term, duration)


def _durations_text(term: str, durations: Iterable[Duration]) -> str:
    return "_".join(_duration_text(term, duration) for duration in coarsest_first(durations))


def _history_text(lengths: Iterable[int]) -> str:
    # Longest first, as seed 000 §3.1 writes HistoryLength=63072000_86400.
    return "_".join(_int_text(HISTORY_LENGTH, length) for length in sorted(lengths, reverse=True))


def _optional_duration_text(duration: Duration | None) -> str:
    return "" if duration is None else _duration_text(SUBSCRIPTION_FREQUENCY, duration)


def _optional_text(number: int | None) -> str:
    return "" if number is None else _int_text(ACCOUNT_COLLECTION, number)


def _bulk_id_text(bulk_id: str | None) -> str:
    return "" if bulk_id is None else _read_bulk_id(BR, bulk_id)


def _unknown_term(name: str, value: str) -> tuple[str, str]:
    """An unknown term as written, refusing any that would not read back as itself."""
    # "=" in a value would mostly mean a mistake such as "scope=FB=1_3" pasted whole.
    if "=" in name + value or not name or name.casefold() in _KNOWN_BY_FOLDED:
        msg = f"scope term {name}={value} is neither a known term nor a plain name=value"
        raise ScopeError(msg)
    _check_emittable(name, name, allow_empty=False)
    _check_emittable(name, value, allow_empty=True)
    return name, value


def _check_emittable(term: str, text: str, *, allow_empty: bool) -> None:
    if text != text.strip() or _DELIMITERS & set(text) or (not text and not allow_empty):
        msg = f"{term}: {text!r} cannot be written into a scope string"
        raise ScopeError(msg)
