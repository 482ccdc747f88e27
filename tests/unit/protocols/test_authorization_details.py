"""RFC 9396 authorization details for CDS consent scopes: parse, preselection, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.protocols.cds import authorization_details as rar

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
TYPES = ("cds_accounts", "cds_usage")


def parse(value: object) -> tuple[rar.RequestedDetail, ...]:
    return rar.parse(json.dumps(value), TYPES, NOW)


def test_all_and_null_preselect_nothing():
    details = parse(
        [
            {"type": "cds_accounts", "account_numbers": ["_all", "7"]},
            {"type": "cds_usage", "servicepoint_numbers": None},
        ]
    )
    assert rar.preselection(details) == rar.Preselection()


def test_given_preselections_are_united_and_others_do_not_widen_them():
    details = parse(
        [
            {"type": "cds_accounts", "account_numbers": ["1"]},
            {"type": "cds_usage", "account_numbers": ["2"], "servicepoint_numbers": ["S9"]},
        ]
    )
    chosen = rar.preselection(details)
    assert chosen.account_numbers == frozenset({"1", "2"})
    assert chosen.admits("2", "S9")
    assert not chosen.admits("2", "S8")
    assert not chosen.admits("3", "S9")
    only_one = rar.preselection(parse([{"type": "cds_accounts", "account_numbers": ["1"]}]))
    assert only_one.admits("1", None)


@pytest.mark.parametrize(
    ("expires", "end"),
    [
        ("P1Y", datetime(2027, 1, 31, 12, tzinfo=UTC)),
        ("P1M", datetime(2026, 2, 28, 12, tzinfo=UTC)),  # clamped to the month's end
        ("P13M", datetime(2027, 2, 28, 12, tzinfo=UTC)),
        ("P2W", NOW + timedelta(days=14)),
        ("P90D", NOW + timedelta(days=90)),
        ("PT12H", NOW + timedelta(hours=12)),
        ("P1DT1H", NOW + timedelta(days=1, hours=1)),
        ("2026-06-01T00:00:00Z", datetime(2026, 6, 1, tzinfo=UTC)),
        ("2026-06-01T00:00:00-04:00", datetime(2026, 6, 1, 4, tzinfo=UTC)),
    ],
)
def test_expires_resolves_to_an_instant(expires, end):
    expiry = rar.requested_end(parse([{"type": "cds_usage", "expires": expires}]), NOW)
    assert expiry is not None
    assert expiry.absolute == end


def test_the_earliest_expiry_wins_and_infinite_is_unbounded():
    details = parse(
        [{"type": "cds_accounts", "expires": "infinite"}, {"type": "cds_usage", "expires": "P1D"}]
    )
    expiry = rar.requested_end(details, NOW)
    assert expiry is not None
    assert expiry.absolute == NOW + timedelta(days=1)
    unbounded = rar.requested_end(parse([{"type": "cds_usage", "expires": "infinite"}]), NOW)
    assert unbounded is not None
    assert unbounded.infinite
    assert rar.requested_end(parse([{"type": "cds_usage"}]), NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        [{"type": "cds_meters"}],  # not among the allowed types
        [{"type": "cds_usage", "expires": "P"}],
        [{"type": "cds_usage", "expires": "PT"}],
        [{"type": "cds_usage", "expires": "P1DT"}],
        [{"type": "cds_usage", "expires": "P-1D"}],
        [{"type": "cds_usage", "expires": 30}],
        [{"type": "cds_usage", "account_numbers": []}],
        [{"type": "cds_usage", "account_numbers": [""]}],
        [{"type": "cds_usage", "account_numbers": [1]}],
        [{"type": "cds_usage", "locations": ["x"]}],
        [{"type": ""}],
        [{"type": "cds_usage"}] * 11,
    ],
)
def test_unusable_values_are_refused(value):
    with pytest.raises(rar.AuthorizationDetailsError):
        parse(value)


def test_granted_details_are_resolved_and_sorted():
    granted = rar.granted(("cds_usage",), ["2", "1", "2"], ["S2", "S1"], NOW)
    assert granted == [
        {
            "type": "cds_usage",
            "account_numbers": ["1", "2"],
            "servicepoint_numbers": ["S1", "S2"],
            "expires": "2026-01-31T12:00:00Z",
        }
    ]


def test_requested_types_is_lenient():
    assert rar.requested_types('[{"type": "cds_usage"}]') == ("cds_usage",)
    assert rar.requested_types("nonsense") == ()
    assert rar.requested_types(None) == ()


@given(st.text(max_size=300) | st.recursive(st.none() | st.text(max_size=8), st.lists))
def test_any_input_is_parsed_or_refused_cleanly(value):
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        details = rar.parse(text, TYPES, NOW)
    except rar.AuthorizationDetailsError as error:
        message = str(error)
        details = ()
    else:
        message = "parsed"
    assert message
    assert all(detail.type in TYPES for detail in details)
