"""ESPI scope strings: lenient parsing of real strings, exact canonical emission, round trips."""

from __future__ import annotations

import string
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.domain.scopes import CalendarPeriod, DataScope, ScopeError
from opencustodian.protocols.espi.scope import (
    TERM_ORDER,
    emit_scope,
    parse_scope,
    parse_scopes,
)

DAY, MONTH = CalendarPeriod.DAY, CalendarPeriod.MONTH
_KNOWN = {name.casefold() for name in TERM_ORDER}

durations = st.one_of(st.sampled_from(CalendarPeriod), st.integers(1, 10**12 - 1))
term_names = st.text(string.ascii_letters, min_size=1, max_size=12).filter(
    lambda name: name.casefold() not in _KNOWN
)
term_values = st.text(string.ascii_letters + string.digits + "_-.{}", max_size=12)
scopes = st.builds(
    DataScope,
    function_blocks=st.frozensets(st.integers(1, 99)),
    interval_durations=st.frozensets(durations, max_size=6),
    block_durations=st.frozensets(durations, max_size=4),
    history_lengths=st.frozensets(st.integers(0, 10**12 - 1), max_size=3),
    subscription_frequency=st.none() | durations,
    account_collection=st.none() | st.integers(0, 10**6),
    bulk_id=st.none() | st.text(string.ascii_letters + string.digits + "-_.", min_size=1),
    unknown_terms=st.lists(st.tuples(term_names, term_values), max_size=4).map(tuple),
)

# Every real-world scope string quoted in the research and seed 000, verbatim.
REAL_SCOPES = [
    # research/espi.md §6, GBA authorization_scope.md examples (ApplicationInformation,
    # per-authorization, monthly only).
    (
        "FB=1_3_4_5_7_8_13_14_15_18_19_31_32_34_35_37_38_39_40;IntervalDuration=300_900_3600;"
        "BlockDuration=Daily_BillingPeriod_Weekly_Monthly;HistoryLength=63072000;"
        "SubscriptionFrequency=Daily;AccountCollection=5;BR=1;"
    ),
    "FB=1_3_4_5_13_14_15_19_37_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=94608000",
    "IntervalDuration=monthly",
    # research/espi.md §6, real-world deviations: extra terms and legacy seed values.
    "AdditionalScope=Usage_Billing_Basic_Account_ProgramEnrollment",
    "dataCustodianId=PGE",
    "AdditionalScope=historical-2y_ongoing-1y_meters-all_sou-default",
    "HistoryLength=13",
    "BlockDuration=monthly",
    "HistoryLength=63072000_86400",
    # research/espi.md §5.1 (legacy DC seed client) and §5.3 (token response JSON).
    "FB=1_3_4_5_13_14_39;IntervalDuration=3600;BlockDuration=monthly;HistoryLength=13",
    (
        "FB=1_3_4_5_8_13_14_18_19_34_35_39_51;IntervalDuration=900_3600;BlockDuration=daily;"
        "HistoryLength=34128000;SubscriptionFrequency=daily;AccountCollection=2"
    ),
    # research/espi.md §11, London Hydro family.
    "FB=1_3_4_5_13_15_16_28_31_37_39_51_53_54_55_56_57_58_59_60_61_64_65_68_69",
    # research/stack.md §"Authlib".
    "FB=1_3_4_5;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;",
    # research/espi.md §11 quotes these elided; the full strings are in its source,
    # rocketraman/open-green-button:server/app/src/main/resources/utilities.conf
    # (Savage Data, UtilityAPI, Kentucky Utilities — the last with terms out of order).
    "FB=1_3_4_5_6_8_12_15_16_17_27_28_36_37_40_51_54_55_56_57_58_59_60_61;SubscriptionFrequency=Daily",
    "FB=4_16_51;AdditionalScope=historical-2y_ongoing-1y_meters-all_sou-default",
    (
        "FB=1_3_4_5_15_16_32_37_39;IntervalDuration=900_3600;BlockDuration=Monthly;"
        "SubscriptionFrequency=Daily;HistoryLength=94608000"
    ),
    # seed 000 §3.1, the authorize URL's scope.
    (
        "FB=1_3_4_5_7_10_15_16_35_51_53_56_57_58_60_67;IntervalDuration=Monthly;BlockDuration=Monthly;"
        "HistoryLength=63072000_86400;"
    ),
    # seed 000 §3.1, CECONY/ORU test and production authorize URLs.
    (
        "FB=1_3_4_5_7_10_13_28_31_35_37_39_41_44;IntervalDuration=Monthly_3600_900_300;"
        "BlockDuration=Monthly_Daily;HistoryLength=63072000_86400;"
    ),
    # seed 000 §3.1, the second and third scopes of the "|"-joined authorize URL.
    (
        "FB=1_3_6_10_13_14_15_16_28_32_33_35_37_38_41_44;IntervalDuration=Monthly;"
        "BlockDuration=Monthly;HistoryLength=63113904;"
    ),
    (
        "FB=1_3_4_5_7_13_14_18_32_33_35_37_38_41_44;IntervalDuration=900_300;BlockDuration=Daily;"
        "HistoryLength=86400;"
    ),
    # seed 000 §4.2, client-credentials and refresh request bodies.
    "FB=35_67",
    "FB=1_3_4_5_7_10_15_16_51_53_56_57_58_60",
]

# seed 000 §3.1, the predefined scope table: already canonical, so emitted byte for byte.
SEED_TABLE = {
    "Consumption Electric": "FB=1_3_4_5;IntervalDuration=Monthly_3600_900_300;"
    "BlockDuration=Monthly_Daily;HistoryLength=63072000_86400;",
    "Consumption Electric Net": "FB=1_3_4_7;IntervalDuration=Monthly_3600_900_300;"
    "BlockDuration=Monthly_Daily;HistoryLength=63072000_86400;",
    "Consumption Gas": "FB=1_3_4_10;IntervalDuration=Monthly_3600_900_300;"
    "BlockDuration=Monthly_Daily;HistoryLength=63072000_86400;",
    "Billing Without Cost": "FB=1_3_15;IntervalDuration=Monthly;BlockDuration=Monthly;"
    "HistoryLength=63072000;",
    "Billing With Cost": "FB=1_3_15_16;IntervalDuration=Monthly;BlockDuration=Monthly;"
    "HistoryLength=63072000;",
    "Retail Customer": "FB=51_53_56_57_58_60;",
}

# seed 000 §3.1, the authorize URL of "Manage Third Party authorization", verbatim.
SEED_JOINED_URL = (
    "{{base_url}}/oauth/Authorize?scope=<scope>;IntervalDuration=<duration>;"
    "BlockDuration=Monthly_Daily;HistoryLength=63113904;|FB=1_3_6_10_13_14_15_16_28_32_33_35_37_"
    "38_41_44;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63113904;|FB=1_3_4_5_7"
    "_13_14_18_32_33_35_37_38_41_44;IntervalDuration=900_300;BlockDuration=Daily;HistoryLength=8"
    "6400;&clientId=<client_id>&redirectUri=<callbackURI>&MAID=<maid>&accountNumber=<acct>&start"
    "Date=<start>&endDate=<end>"
)


def _scope_parameter(url: str) -> str:
    return parse_qs(urlsplit(url).query)["scope"][0]


# --- round trips ----------------------------------------------------------------------------


@given(scopes)
def test_parse_after_emit_is_identity(scope: DataScope) -> None:
    assert parse_scope(emit_scope(scope)) == scope


@given(scopes)
def test_emit_after_parse_is_idempotent_on_emitted_strings(scope: DataScope) -> None:
    text = emit_scope(scope)
    assert emit_scope(parse_scope(text)) == text


@pytest.mark.parametrize("text", REAL_SCOPES)
def test_real_scopes_parse_and_round_trip(text: str) -> None:
    scope = parse_scope(text)
    assert parse_scope(emit_scope(scope)) == scope


@pytest.mark.parametrize("text", SEED_TABLE.values(), ids=SEED_TABLE.keys())
def test_seed_table_is_already_canonical(text: str) -> None:
    assert emit_scope(parse_scope(text)) == text


# --- what parses to what --------------------------------------------------------------------


def test_consumption_electric_terms() -> None:
    assert parse_scope(SEED_TABLE["Consumption Electric"]) == DataScope(
        function_blocks=frozenset({1, 3, 4, 5}),
        interval_durations=frozenset({MONTH, 3600, 900, 300}),
        block_durations=frozenset({MONTH, DAY}),
        history_lengths=frozenset({63_072_000, 86_400}),
    )


def test_all_terms_and_unknown_ones_in_order() -> None:
    scope = parse_scope(
        "FB=1_3_8_13_14_18_19_31_32_35_37_38_39_40_4_5_10_15_16_46_47;"
        "AdditionalScope=Usage_Billing_Basic_Account_ProgramEnrollment;IntervalDuration=900_3600;"
        "BlockDuration=Daily;HistoryLength=34128000;SubscriptionFrequency=weekly;"
        "AccountCollection=3;BR=TP-42;dataCustodianId=PGE"
    )
    assert scope.function_blocks == {1, 3, 4, 5, 8, 10, 13, 14, 15, 16, 18, 19, 31, 32, 35}.union(
        {37, 38, 39, 40, 46, 47}
    )
    assert scope.subscription_frequency is CalendarPeriod.WEEK
    assert scope.account_collection == 3
    assert scope.bulk_id == "TP-42"
    assert scope.unknown_terms == (
        ("AdditionalScope", "Usage_Billing_Basic_Account_ProgramEnrollment"),
        ("dataCustodianId", "PGE"),
    )
    assert emit_scope(scope) == (
        "FB=1_3_4_5_8_10_13_14_15_16_18_19_31_32_35_37_38_39_40_46_47;IntervalDuration=3600_900;"
        "BlockDuration=Daily;HistoryLength=34128000;SubscriptionFrequency=Weekly;"
        "AccountCollection=3;BR=TP-42;"
        "AdditionalScope=Usage_Billing_Basic_Account_ProgramEnrollment;dataCustodianId=PGE;"
    )


@pytest.mark.parametrize(
    "variant",
    [
        (
            "fb=1_3_4_5;intervalduration=monthly_3600_900_300;blockduration=MONTHLY_daily;"
            "historylength=86400_63072000"
        ),
        (
            " FB = 1_3_4_5 ; IntervalDuration=300_900_3600_Monthly ;BlockDuration=Daily_Monthly;"
            " HistoryLength=63072000_86400 ; "
        ),
        (
            "FB=5_4_3_1;;IntervalDuration=Monthly_3600__900_300;BlockDuration=Monthly_Daily;"
            "HistoryLength=63072000_86400;"
        ),
        (
            "FB%3D1_3_4_5%3BIntervalDuration%3DMonthly_3600_900_300%3BBlockDuration%3DMonthly_Daily"
            "%3BHistoryLength%3D63072000_86400%3B"
        ),
    ],
)
def test_lenient_spellings_mean_the_same(variant: str) -> None:
    assert emit_scope(parse_scope(variant)) == SEED_TABLE["Consumption Electric"]


def test_the_empty_scope() -> None:
    assert parse_scope("") == DataScope()
    assert parse_scope(" ; ") == DataScope()
    assert emit_scope(DataScope()) == ""
    assert parse_scopes("") == []


# --- several scopes joined by "|" -----------------------------------------------------------


def test_seed_joined_url_with_placeholders_filled() -> None:
    url = SEED_JOINED_URL.replace("<scope>", "FB=1_3_4_5").replace("<duration>", "900")
    first, second, third = parse_scopes(_scope_parameter(url))
    assert first.function_blocks == {1, 3, 4, 5}
    assert first.interval_durations == {900}
    assert second.interval_durations == {MONTH}
    assert second.history_lengths == {63_113_904}
    assert third.block_durations == {DAY}
    assert third.history_lengths == {86_400}


def test_pipes_may_arrive_encoded_or_padded() -> None:
    joined = " | ".join(SEED_TABLE.values())
    expected = [parse_scope(text) for text in SEED_TABLE.values()]
    assert parse_scopes(joined) == expected
    assert parse_scopes(joined.replace("|", "%7C")) == expected
    assert parse_scopes(quote(joined)) == expected
    assert parse_scopes(SEED_TABLE["Retail Customer"] + "|") == expected[-1:]


def test_parse_scope_refuses_joined_scopes() -> None:
    with pytest.raises(ScopeError, match="parse_scopes"):
        parse_scope("FB=1_3_15;|FB=51_53;")
    with pytest.raises(ScopeError, match="parse_scopes"):
        parse_scope("FB=1_3_15;%7CFB=51_53;")


# --- errors name the term -------------------------------------------------------------------


def test_seed_placeholders_are_refused_clearly() -> None:
    with pytest.raises(ScopeError, match="'<scope>' is not of the form name=value"):
        parse_scopes(_scope_parameter(SEED_JOINED_URL))
    with pytest.raises(ScopeError, match="IntervalDuration: '<duration>'"):
        parse_scope("FB=1_3_4_5;IntervalDuration=<duration>;")


@pytest.mark.parametrize(
    ("text", "term"),
    [
        # research/espi.md §11 quotes these two with elisions; the elisions are not input.
        ("FB=1_3_4_5_6_8_12_15_16_17_27_28_36_37_40_51_54_…_61;SubscriptionFrequency=Daily", "FB"),
        ("FB=1_3_4;AdditionalScope=…;IntervalDuration=900_3600;BlockDuration=Daily;…;", "…"),
        # PG&E's published template (research/espi.md §11 source) keeps a placeholder.
        ("FB=1_3;HistoryLength={3P Registered historical length};", "HistoryLength"),
        ("FB=0_1", "FB"),
        ("FB=", "FB"),
        ("FB=_", "FB"),
        ("FB=-1", "FB"),
        ("FB=1;FB=2", "FB"),
        ("IntervalDuration=0", "IntervalDuration"),
        ("IntervalDuration=Hourly", "IntervalDuration"),
        ("BlockDuration=15min", "BlockDuration"),
        ("HistoryLength=2y", "HistoryLength"),
        ("HistoryLength=1" + "0" * 5000, "HistoryLength"),
        ("SubscriptionFrequency=often", "SubscriptionFrequency"),
        ("AccountCollection=1_2", "AccountCollection"),
        ("BR=", "BR"),
        ("scope=FB=1_3", "scope"),
        ("=5", "=5"),
        ("FB=١", "FB"),  # Arabic-Indic digit one: str.isdigit() says yes, ESPI says no
    ],
)
def test_bad_terms_are_named(text: str, term: str) -> None:
    with pytest.raises(ScopeError, match=term):
        parse_scope(text)


@pytest.mark.parametrize(
    "scope",
    [
        DataScope(unknown_terms=(("FB", "1"),)),
        DataScope(unknown_terms=(("x", "a;b"),)),
        DataScope(unknown_terms=(("x", "50%"),)),
        DataScope(unknown_terms=((" x", "1"),)),
        DataScope(bulk_id="a|b"),
        DataScope(bulk_id=""),
        DataScope(history_lengths=frozenset({10**12})),
        DataScope(interval_durations=frozenset({10**12})),
    ],
)
def test_unwritable_terms_are_refused_on_emit(scope: DataScope) -> None:
    with pytest.raises(ScopeError):
        emit_scope(scope)
