"""What a third party may read: the one canonical data scope, its checks, and its plain words.

Glossary: a *function block* is a numbered slice of the standard (ESPI "FB", NAESB REQ.21
§REQ.21.4.2.1.3.1); an *interval duration* is how fine the readings are; a *block duration* is
how readings are packaged; a *history length* is how far back data reaches. ESPI scope strings,
CDS scope names and agreement terms all parse into `DataScope` (DESIGN.md "One canonical
scope"); the wire spellings live in ``opencustodian.protocols``.

Absent terms: a scope that states no interval, block, history, frequency or account limit
*states no limit*. When it is a grant, nothing is capped by that term; when it is a request, it
takes whatever the grant allows (research/espi.md §6: real scopes such as seed 000's "Retail
Customer" ``FB=51_53_56_57_58_60;`` carry function blocks only). Function blocks are the
exception: no function block means no data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterable


class ScopeError(ValueError):
    """A scope that cannot be read, written or narrowed as asked; the message names the term."""


class CalendarPeriod(StrEnum):
    """A named, calendar-aligned length (the ESPI ``MacroPeriodKind`` names a scope may use).

    research/espi.md §6: ``IntervalDuration``, ``BlockDuration`` and ``SubscriptionFrequency``
    accept ``billingPeriod``, ``daily``, ``monthly``, ``seasonal`` and ``weekly``.
    """

    DAY = "day"
    WEEK = "week"
    BILLING_PERIOD = "billing_period"
    MONTH = "month"
    SEASON = "season"


Duration: TypeAlias = int | CalendarPeriod
"""A length of time: whole seconds, or a named calendar period."""

# Named periods compare with seconds through a nominal length. Calendar periods vary (a day is
# 23 to 25 hours at DST changes, a month 28 to 31 days, a billing period whatever the meter-read
# schedule makes it), so these are conventions for ordering, never for arithmetic on data.
# A billing period is taken as month-long: both are "one figure a month" to a customer.
_NOMINAL_SECONDS: Final[dict[CalendarPeriod, int]] = {
    CalendarPeriod.DAY: 86_400,
    CalendarPeriod.WEEK: 604_800,
    CalendarPeriod.BILLING_PERIOD: 2_592_000,
    CalendarPeriod.MONTH: 2_592_000,
    CalendarPeriod.SEASON: 7_776_000,
}
# Breaks the month/billing-period tie so that ordering is total and emission deterministic.
_PERIOD_RANK: Final[dict[CalendarPeriod, int]] = {
    period: rank for rank, period in enumerate(CalendarPeriod)
}


def nominal_seconds(duration: Duration) -> int:
    """How coarse ``duration`` is, in seconds; named periods use their nominal length."""
    if isinstance(duration, CalendarPeriod):
        return _NOMINAL_SECONDS[duration]
    return duration


def coarsest_first(durations: Iterable[Duration]) -> list[Duration]:
    """``durations`` from coarsest to finest, named before seconds of equal length.

    The order of seed 000 §3.1's real strings (``Monthly_3600_900_300``, ``Monthly_Daily``).
    """

    def key(duration: Duration) -> tuple[int, int, int]:
        if isinstance(duration, CalendarPeriod):
            return (-nominal_seconds(duration), 0, -_PERIOD_RANK[duration])
        return (-duration, 1, 0)

    return sorted(durations, key=key)


def _check_durations(term: str, durations: Iterable[Duration]) -> None:
    """Seconds must be positive: a zero-length interval or block means nothing."""
    for duration in durations:
        if not isinstance(duration, CalendarPeriod) and duration <= 0:
            msg = f"{term}: {duration} is not a positive number of seconds"
            raise ScopeError(msg)


def _check_non_negative(term: str, values: Iterable[int]) -> None:
    for value in values:
        if value < 0:
            msg = f"{term}: {value} is negative"
            raise ScopeError(msg)


@dataclass(frozen=True, slots=True)
class DataScope:
    """What one grant or request covers, in plain terms (research/espi.md §6 grammar).

    ``history_lengths`` is a set because seed 000 §3.1 sends two values
    (``HistoryLength=63072000_86400``: two years of history and, apparently, one day of
    real-time data); the limit that matters is the longest. ``unknown_terms`` keeps terms this
    model does not understand verbatim and in order as ``(name, value)`` (PG&E's
    ``AdditionalScope``, ``dataCustodianId``), so nothing a third party sent is silently lost.
    """

    function_blocks: frozenset[int] = frozenset()
    interval_durations: frozenset[Duration] = frozenset()
    block_durations: frozenset[Duration] = frozenset()
    history_lengths: frozenset[int] = frozenset()
    subscription_frequency: Duration | None = None
    account_collection: int | None = None
    bulk_id: str | None = None
    unknown_terms: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        """Refuse values no scope string could mean, so every DataScope is emittable."""
        if any(block <= 0 for block in self.function_blocks):
            msg = "function blocks are numbered from 1"
            raise ScopeError(msg)
        _check_durations("interval duration", self.interval_durations)
        _check_durations("block duration", self.block_durations)
        if self.subscription_frequency is not None:
            _check_durations("subscription frequency", [self.subscription_frequency])
        _check_non_negative("history length", self.history_lengths)
        if self.account_collection is not None:
            _check_non_negative("account collection", [self.account_collection])

    @property
    def longest_history(self) -> int | None:
        """The furthest back, in seconds, this scope reaches; None when it states no limit."""
        return max(self.history_lengths, default=None)

    @property
    def finest_interval(self) -> Duration | None:
        """The finest interval this scope names; None when it states no limit."""
        ordered = coarsest_first(self.interval_durations)
        return ordered[-1] if ordered else None

    def is_subset_of(self, grant: DataScope) -> bool:
        """Whether this request asks for nothing beyond ``grant`` (research/espi.md §14).

        Real third parties request subsets of their registered scope, so the check is a subset
        test, never string equality. Term by term:

        - function blocks: every requested block must be granted;
        - interval durations: no requested interval may be finer than the finest granted one;
          ESPI calls the value the *minimum* interval length (GBA authorization_scope.md), and
          coarser data can be summed from finer data, so it reveals less;
        - block durations: every requested packaging must be granted (blocks have no
          "safer" direction, so only what was agreed is delivered);
        - history: the longest requested history may not exceed the longest granted;
        - subscription frequency: updates no more often than granted;
        - account collection: no more service points than granted;
        - bulk id: when requested it must be the granted one;
        - unknown terms: each requested one must appear in the grant (name ignoring case,
          value exactly), because nobody here can judge what it would widen.

        A term the grant does not state caps nothing; a term the request does not state asks
        for nothing beyond the grant (module docstring).
        """
        return all(
            (
                self.function_blocks <= grant.function_blocks,
                _intervals_within(self.interval_durations, grant.interval_durations),
                not grant.block_durations or self.block_durations <= grant.block_durations,
                _at_most(self.longest_history, grant.longest_history),
                _frequency_within(self.subscription_frequency, grant.subscription_frequency),
                _at_most(self.account_collection, grant.account_collection),
                self.bulk_id is None or self.bulk_id == grant.bulk_id,
                _terms_within(self.unknown_terms, grant.unknown_terms),
            ),
        )

    def narrowed(
        self,
        *,
        remove_function_blocks: Iterable[int] = (),
        max_history_seconds: int | None = None,
    ) -> DataScope:
        """This scope with the customer's removals applied; the result never grants more.

        Seed 000 §3.1: on the consent page the customer may verify and edit the preselected
        scopes, "only removal of selected scopes is permitted". Removing a block this scope
        does not hold is refused, since only a tampered or stale form would ask it.
        """
        removed = frozenset(remove_function_blocks)
        stray = removed - self.function_blocks
        if stray:
            msg = f"cannot remove function blocks not in the scope: {sorted(stray)}"
            raise ScopeError(msg)
        return replace(
            self,
            function_blocks=self.function_blocks - removed,
            history_lengths=self._capped_history(max_history_seconds),
        )

    def _capped_history(self, cap: int | None) -> frozenset[int]:
        if cap is None:
            return self.history_lengths
        if not self.history_lengths:
            return frozenset({cap})
        return frozenset(min(length, cap) for length in self.history_lengths)

    def union(self, other: DataScope) -> DataScope:
        """Everything either scope states, e.g. several ``|``-joined scopes (seed 000 §3.1).

        Values each scope states are combined; a term that neither states stays unstated.
        The more frequent subscription and the larger account collection win. Both scopes are
        then subsets of the union. Two different bulk ids cannot be combined.
        """
        if self.bulk_id and other.bulk_id and self.bulk_id != other.bulk_id:
            msg = f"BR: bulk ids {self.bulk_id!r} and {other.bulk_id!r} differ"
            raise ScopeError(msg)
        return DataScope(
            function_blocks=self.function_blocks | other.function_blocks,
            interval_durations=self.interval_durations | other.interval_durations,
            block_durations=self.block_durations | other.block_durations,
            history_lengths=self.history_lengths | other.history_lengths,
            subscription_frequency=_more_frequent(
                self.subscription_frequency, other.subscription_frequency
            ),
            account_collection=_larger(self.account_collection, other.account_collection),
            bulk_id=self.bulk_id or other.bulk_id,
            unknown_terms=_merged_terms(self.unknown_terms, other.unknown_terms),
        )


def _intervals_within(requested: frozenset[Duration], granted: frozenset[Duration]) -> bool:
    if not granted:
        return True
    finest = min(nominal_seconds(duration) for duration in granted)
    return all(nominal_seconds(duration) >= finest for duration in requested)


def _at_most(requested: int | None, granted: int | None) -> bool:
    return requested is None or granted is None or requested <= granted


def _frequency_within(requested: Duration | None, granted: Duration | None) -> bool:
    # A frequency is a period between updates: asking for a shorter one asks for more.
    if requested is None or granted is None:
        return True
    return nominal_seconds(requested) >= nominal_seconds(granted)


def _terms_within(
    requested: tuple[tuple[str, str], ...], granted: tuple[tuple[str, str], ...]
) -> bool:
    allowed = {(name.casefold(), value) for name, value in granted}
    return all((name.casefold(), value) in allowed for name, value in requested)


def _more_frequent(first: Duration | None, second: Duration | None) -> Duration | None:
    if first is None or second is None:
        return first if second is None else second
    return first if nominal_seconds(first) <= nominal_seconds(second) else second


def _larger(first: int | None, second: int | None) -> int | None:
    if first is None or second is None:
        return first if second is None else second
    return max(first, second)


def _merged_terms(
    first: tuple[tuple[str, str], ...], second: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    seen = {(name.casefold(), value) for name, value in first}
    extra = tuple(term for term in second if (term[0].casefold(), term[1]) not in seen)
    return first + extra


# --- Function-block catalogue -------------------------------------------------------------


class FunctionBlock(IntEnum):
    """The ESPI 4.0 function blocks (research/espi.md §11, after GBJ ``FunctionBlock.java``).

    Numbers 20–26, 42, 43 and 45 are not in the 4.0 catalogue. Deprecated blocks keep their
    pre-4.0 meaning; the names of 46–50 follow the CMDTEST list and are the least certain.
    """

    COMMON = 1
    DOWNLOAD_MY_DATA = 2
    CONNECT_MY_DATA = 3
    INTERVAL_METERING = 4
    ELECTRICITY_INTERVAL_METERING = 5
    ELECTRICITY_DEMAND_METERING = 6
    NET_METERING = 7
    FORWARD_AND_REVERSE_METERING = 8
    REGISTER_VALUES = 9
    GAS_INTERVAL_METERING = 10
    WATER_INTERVAL_METERING = 11
    INTERVAL_COST = 12
    SECURITY_AND_PRIVACY = 13
    PRE_NEGOTIATED_AUTHORIZATION = 14
    USAGE_SUMMARY = 15
    USAGE_SUMMARY_WITH_COST = 16
    POWER_QUALITY_SUMMARY = 17
    MULTIPLE_USAGE_POINTS = 18
    PARTIAL_UPDATES = 19
    USAGE_SUMMARY_WITH_DEMANDS = 27
    CURRENT_BILLING_PERIOD_COSTS = 28
    TEMPERATURE_INTERVAL_METERING = 29
    COMMON_USER_EXPERIENCE = 30
    AUTHORIZATION = 31
    RESOURCE_LEVEL_REST = 32
    MANAGEMENT_REST = 33
    SFTP_BULK = 34
    BULK = 35
    DYNAMIC_REGISTRATION = 36
    QUERY_PARAMETERS = 37
    ON_DEMAND_REQUESTS = 38
    PUSH_NOTIFICATIONS = 39
    OFFLINE_AUTHORIZATION = 40
    MANAGE_APPLICATION_INFORMATION = 41
    MANAGE_AUTHORIZATION = 44
    RETAIL_CUSTOMER_CORE = 46
    RETAIL_CUSTOMER_REST_BULK = 47
    RETAIL_CUSTOMER_SFTP_BULK = 48
    RETAIL_CUSTOMER_MANAGEMENT_REST = 49
    RETAIL_CUSTOMER_RESOURCE_REST = 50
    CUSTOMER_COMMON = 51
    CUSTOMER_DOWNLOAD_MY_DATA = 52
    CUSTOMER_CONNECT_MY_DATA = 53
    CUSTOMER_BASIC_INFORMATION = 54
    CUSTOMER_ADDRESS = 55
    CUSTOMER_BILLING_INFORMATION = 56
    CUSTOMER_AGREEMENTS = 57
    CUSTOMER_SERVICE_LOCATIONS = 58
    CUSTOMER_SERVICE_SUPPLIERS = 59
    CUSTOMER_METERS = 60
    CUSTOMER_END_DEVICES = 61
    CUSTOMER_PROGRAM_MAPPINGS = 62
    CUSTOMER_USER_EXPERIENCE = 63
    CUSTOMER_SECURITY_AND_PRIVACY = 64
    CUSTOMER_AUTHORIZATION = 65
    CUSTOMER_SFTP_BULK = 66
    CUSTOMER_BULK = 67
    CUSTOMER_QUERY_PARAMETERS = 68
    CUSTOMER_PUSH_NOTIFICATIONS = 69
    CUSTOMER_OFFLINE_AUTHORIZATION = 70

    @property
    def title(self) -> str:
        """The block's name in the standard (4.0 name, or the pre-4.0 one if deprecated)."""
        return _TITLES[self]

    @property
    def deprecated(self) -> bool:
        """Whether ESPI 4.0 retired this block (GBJ ``DEPRECATED_IDS``)."""
        return self in DEPRECATED_FUNCTION_BLOCKS


_FB = FunctionBlock
DEPRECATED_FUNCTION_BLOCKS: Final = frozenset(
    {
        _FB.PRE_NEGOTIATED_AUTHORIZATION,
        _FB.MULTIPLE_USAGE_POINTS,
        _FB.PARTIAL_UPDATES,
        _FB.RESOURCE_LEVEL_REST,
        _FB.MANAGEMENT_REST,
        _FB.SFTP_BULK,
        _FB.DYNAMIC_REGISTRATION,
        _FB.ON_DEMAND_REQUESTS,
        _FB.RETAIL_CUSTOMER_CORE,
        _FB.RETAIL_CUSTOMER_REST_BULK,
        _FB.RETAIL_CUSTOMER_SFTP_BULK,
        _FB.RETAIL_CUSTOMER_MANAGEMENT_REST,
        _FB.RETAIL_CUSTOMER_RESOURCE_REST,
        _FB.CUSTOMER_SFTP_BULK,
    },
)

_TITLES: Final[dict[FunctionBlock, str]] = {
    _FB.COMMON: "Common (Energy Usage)",
    _FB.DOWNLOAD_MY_DATA: "Download My Data (Energy Usage)",
    _FB.CONNECT_MY_DATA: "Connect My Data (Energy Usage)",
    _FB.INTERVAL_METERING: "Interval Metering",
    _FB.ELECTRICITY_INTERVAL_METERING: "Interval Electricity Metering",
    _FB.ELECTRICITY_DEMAND_METERING: "Demand Electricity Metering",
    _FB.NET_METERING: "Net Metering",
    _FB.FORWARD_AND_REVERSE_METERING: "Forward and Reverse Metering",
    _FB.REGISTER_VALUES: "Register Values",
    _FB.GAS_INTERVAL_METERING: "Gas Interval Metering",
    _FB.WATER_INTERVAL_METERING: "Water Interval Metering",
    _FB.INTERVAL_COST: "Cost of Interval Data",
    _FB.SECURITY_AND_PRIVACY: "Security and Privacy Classes (Energy Usage)",
    _FB.PRE_NEGOTIATED_AUTHORIZATION: "Authorization and Authentication (pre-negotiated scope)",
    _FB.USAGE_SUMMARY: "Usage Summary",
    _FB.USAGE_SUMMARY_WITH_COST: "Usage Summary with Cost",
    _FB.POWER_QUALITY_SUMMARY: "Power Quality Summary",
    _FB.MULTIPLE_USAGE_POINTS: "Multiple Usage Points",
    _FB.PARTIAL_UPDATES: "Partial update data",
    _FB.USAGE_SUMMARY_WITH_DEMANDS: "Usage Summary with Demands and Previous Day Attributes",
    _FB.CURRENT_BILLING_PERIOD_COSTS: "Usage Summary Costs for Current Billing Period",
    _FB.TEMPERATURE_INTERVAL_METERING: "Temperature Interval Metering",
    _FB.COMMON_USER_EXPERIENCE: "Common User Experience",
    _FB.AUTHORIZATION: "Authorization and Authentication w/o Pre-Negotiated Scope",
    _FB.RESOURCE_LEVEL_REST: "Resource Level REST",
    _FB.MANAGEMENT_REST: "Management REST Interfaces",
    _FB.SFTP_BULK: "SFTP for Bulk",
    _FB.BULK: "REST for Energy Usage Bulk",
    _FB.DYNAMIC_REGISTRATION: "Third Party (Client) Dynamic Registration",
    _FB.QUERY_PARAMETERS: "Query Parameters (Energy Usage)",
    _FB.ON_DEMAND_REQUESTS: "On Demand Requests",
    _FB.PUSH_NOTIFICATIONS: "PUSH Model (Energy Usage)",
    _FB.OFFLINE_AUTHORIZATION: "Offline Authorization (Energy Usage)",
    # research/espi.md §11 notes that GBIO 2014 and CMDTEST swap 41 and 44; GBJ is followed.
    _FB.MANAGE_APPLICATION_INFORMATION: "Manage ApplicationInformation Resource",
    _FB.MANAGE_AUTHORIZATION: "Manage Authorization Resource",
    _FB.RETAIL_CUSTOMER_CORE: "Core RetailCustomer",
    _FB.RETAIL_CUSTOMER_REST_BULK: "REST RetailCustomer Bulk",
    _FB.RETAIL_CUSTOMER_SFTP_BULK: "SFTP RetailCustomer Bulk",
    _FB.RETAIL_CUSTOMER_MANAGEMENT_REST: "RetailCustomer Management REST",
    _FB.RETAIL_CUSTOMER_RESOURCE_REST: "RetailCustomer Resource Level REST",
    _FB.CUSTOMER_COMMON: "Common (Retail Customer)",
    _FB.CUSTOMER_DOWNLOAD_MY_DATA: "Download My Data (Retail Customer)",
    _FB.CUSTOMER_CONNECT_MY_DATA: "Connect My Data (Retail Customer)",
    _FB.CUSTOMER_BASIC_INFORMATION: "Basic Retail Customer Information",
    _FB.CUSTOMER_ADDRESS: "Retail Customer Address Information",
    _FB.CUSTOMER_BILLING_INFORMATION: "Retail Customer Billing Information",
    _FB.CUSTOMER_AGREEMENTS: "Retail Customer AccountAgreement Information",
    _FB.CUSTOMER_SERVICE_LOCATIONS: "Retail Customer ServiceLocation Information",
    _FB.CUSTOMER_SERVICE_SUPPLIERS: "Retail Customer ServiceSupplier Information",
    _FB.CUSTOMER_METERS: "Retail Customer Meter Information",
    _FB.CUSTOMER_END_DEVICES: "Retail Customer EndDevice Information",
    _FB.CUSTOMER_PROGRAM_MAPPINGS: "Retail Customer ProgramDateIdMapping Information",
    _FB.CUSTOMER_USER_EXPERIENCE: "Common User Experience (Retail Customer)",
    _FB.CUSTOMER_SECURITY_AND_PRIVACY: "Security and Privacy Classes (Retail Customer)",
    _FB.CUSTOMER_AUTHORIZATION: (
        "Authorization and Authentication w/o Pre-Negotiated Scope (Retail Customer)"
    ),
    _FB.CUSTOMER_SFTP_BULK: "SFTP for Retail Customer Bulk",
    _FB.CUSTOMER_BULK: "REST for Retail Customer Bulk",
    _FB.CUSTOMER_QUERY_PARAMETERS: "Query Parameters (Retail Customer)",
    _FB.CUSTOMER_PUSH_NOTIFICATIONS: "PUSH Model (Retail Customer)",
    _FB.CUSTOMER_OFFLINE_AUTHORIZATION: "Offline Authorization (Retail Customer)",
}


def function_block_title(number: int) -> str:
    """The standard's name for block ``number``, saying so when it is deprecated or unknown."""
    try:
        block = FunctionBlock(number)
    except ValueError:
        return f"Function block {number} (not in the ESPI 4.0 catalogue)"
    suffix = " (deprecated)" if block.deprecated else ""
    return f"{block.title}{suffix}"


# --- Plain-English description for consent pages --------------------------------------------

# Usage data by commodity block: (what the reading is, an optional explanation). Register
# values are running totals, not intervals, so they never get an interval phrase.
_USAGE: Final[dict[FunctionBlock, tuple[str, str]]] = {
    _FB.ELECTRICITY_INTERVAL_METERING: ("electricity usage", ""),
    _FB.ELECTRICITY_DEMAND_METERING: ("electricity demand", " (your highest power draw)"),
    _FB.NET_METERING: (
        "net electricity usage",
        " (what you took from the grid minus what you sent back, for example from solar panels)",
    ),
    _FB.FORWARD_AND_REVERSE_METERING: (
        "electricity taken from and sent to the grid",
        ", measured separately",
    ),
    _FB.GAS_INTERVAL_METERING: ("gas usage", ""),
    _FB.WATER_INTERVAL_METERING: ("water usage", ""),
    _FB.TEMPERATURE_INTERVAL_METERING: ("temperature readings", ""),
}
_COMMODITY_BLOCKS: Final = frozenset(_USAGE) | {_FB.REGISTER_VALUES}

_OTHER_DATA: Final[dict[FunctionBlock, str]] = {
    _FB.REGISTER_VALUES: "Your meter register readings (the running totals your meter shows)",
    _FB.INTERVAL_COST: "What each interval of your usage cost",
    _FB.USAGE_SUMMARY_WITH_COST: "Your bills with costs",
    _FB.USAGE_SUMMARY_WITH_DEMANDS: "Your bill summaries with peak demand and yesterday's use",
    _FB.CURRENT_BILLING_PERIOD_COSTS: "Your costs so far in the current billing period",
    _FB.POWER_QUALITY_SUMMARY: "Power quality summaries for your supply (voltage and outages)",
    _FB.CUSTOMER_BASIC_INFORMATION: "Your name and contact details",
    _FB.CUSTOMER_ADDRESS: "Your address",
    _FB.CUSTOMER_BILLING_INFORMATION: "Your account and billing details, such as account number",
    _FB.CUSTOMER_AGREEMENTS: "Your service agreements with the utility",
    _FB.CUSTOMER_SERVICE_LOCATIONS: "The addresses where you receive service",
    _FB.CUSTOMER_SERVICE_SUPPLIERS: "Who supplies your energy",
    _FB.CUSTOMER_METERS: "Details of your meters",
    _FB.CUSTOMER_END_DEVICES: "Details of your devices registered with the utility",
    _FB.CUSTOMER_PROGRAM_MAPPINGS: "Your enrollment in utility programs",
    _FB.BULK: "Your usage data sent in bulk, with other customers who agreed",
    _FB.CUSTOMER_BULK: "Your account details sent in bulk, with other customers who agreed",
}

_PERIOD_ADJECTIVE: Final[dict[CalendarPeriod, str]] = {
    CalendarPeriod.DAY: "daily",
    CalendarPeriod.WEEK: "weekly",
    CalendarPeriod.BILLING_PERIOD: "billing-period",
    CalendarPeriod.MONTH: "monthly",
    CalendarPeriod.SEASON: "seasonal",
}
_SECONDS_ADJECTIVE: Final[dict[int, str]] = {3_600: "hourly", 86_400: "daily", 604_800: "weekly"}
_DAY: Final = 86_400
_YEAR_DAYS: Final = 365.25
_MONTH_DAYS: Final = 30.44
# "About" tolerance when naming a history in years or months: 63113904 s (730.5 days) and
# 63072000 s (730 days) are both what seed 000 calls "2 years".
_ROUNDING_DAYS: Final = 2.0


def describe(scope: DataScope) -> list[str]:
    """Sentences a customer reads on a consent page, from the scope's blocks and limits.

    Technical blocks (common, security, authorization, query parameters, notifications) and
    deprecated ones share no data of their own and get no sentence. The wording follows seed
    000 §3.1's predefined scope sets (Consumption Electric/Net/Gas, Billing with and without
    cost, Retail Customer).
    """
    sentences = _usage_sentences(scope)
    sentences += _billing_sentences(scope.function_blocks)
    sentences += [text for block, text in _OTHER_DATA.items() if block in scope.function_blocks]
    sentences += _limit_sentences(scope)
    return list(dict.fromkeys(sentences))


def _usage_sentences(scope: DataScope) -> list[str]:
    blocks = scope.function_blocks
    intervals = _interval_phrase(scope.interval_durations)
    sentences = [
        f"Your {noun}{intervals}{explanation}"
        for block, (noun, explanation) in _USAGE.items()
        if block in blocks
    ]
    if _FB.INTERVAL_METERING in blocks and not blocks & _COMMODITY_BLOCKS:
        sentences.append(f"Your metered usage{intervals}")
    return sentences


def _billing_sentences(blocks: frozenset[int]) -> list[str]:
    # Seed 000 §3.1: FB 15 alone is "Billing Information Without Cost"; adding 16 gives the
    # with-cost set, which _OTHER_DATA covers.
    if _FB.USAGE_SUMMARY in blocks and _FB.USAGE_SUMMARY_WITH_COST not in blocks:
        return ["Your bill summaries: usage for each billing period, without costs"]
    return []


def _limit_sentences(scope: DataScope) -> list[str]:
    sentences = []
    if scope.longest_history is not None:
        sentences.append(f"Up to {humanize_seconds(scope.longest_history)} of history")
    if scope.subscription_frequency is not None:
        sentences.append(f"New data sent {_frequency_phrase(scope.subscription_frequency)}")
    if scope.account_collection is not None:
        sentences.append(f"Data for up to {_count(scope.account_collection, 'service point')}")
    return sentences


def _interval_phrase(durations: frozenset[Duration]) -> str:
    if not durations:
        return ""
    adjectives = list(dict.fromkeys(_adjective(d) for d in reversed(coarsest_first(durations))))
    return f" in {_join(adjectives)} intervals"


def _adjective(duration: Duration) -> str:
    if isinstance(duration, CalendarPeriod):
        return _PERIOD_ADJECTIVE[duration]
    if duration in _SECONDS_ADJECTIVE:
        return _SECONDS_ADJECTIVE[duration]
    if duration % 3_600 == 0:
        return f"{duration // 3_600}-hour"
    if duration % 60 == 0:
        return f"{duration // 60}-minute"
    return f"{duration}-second"


def _frequency_phrase(frequency: Duration) -> str:
    if frequency is CalendarPeriod.BILLING_PERIOD:
        return "every billing period"
    if isinstance(frequency, CalendarPeriod):
        return _PERIOD_ADJECTIVE[frequency]
    length = humanize_seconds(frequency)
    # "every 1 day" reads badly; "every day" is what people say.
    return f"every {length.removeprefix('1 ')}"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def humanize_seconds(seconds: int) -> str:
    """A length in the largest fitting unit: "2 years", "13 months", "1 day", "90 minutes"."""
    days = seconds / _DAY
    for unit, unit_days in (("year", _YEAR_DAYS), ("month", _MONTH_DAYS)):
        whole = round(days / unit_days)
        if whole >= 1 and abs(days - whole * unit_days) <= _ROUNDING_DAYS:
            return _count(whole, unit)
    for unit, unit_seconds in (("day", _DAY), ("hour", 3_600), ("minute", 60)):
        if seconds >= unit_seconds and seconds % unit_seconds == 0:
            return _count(seconds // unit_seconds, unit)
    return _count(seconds, "second")
