"""Strict ESPI feed query parameters (research/espi.md §3; CMDTEST QRY002 expects 400s)."""

from __future__ import annotations

import pytest

from opencustodian.protocols.espi.query import FeedQuery, FeedQueryError, parse_feed_query


def test_valid_parameters_parse_to_epoch_seconds_and_counts():
    query = parse_feed_query(
        [
            ("published-min", "2024-03-01T00:00:00Z"),
            ("published-max", "2024-03-02T00:00:00Z"),
            ("updated-min", "2024-01-01T00:00:00Z"),
            ("max-results", "10"),
            ("start-index", "3"),
            ("unknown", "kept out"),
        ]
    )
    assert query.published_min == 1_709_251_200
    assert query.published_max == 1_709_337_600
    assert query.updated_min == 1_704_067_200
    assert (query.entry_limit, query.skip) == (10, 2)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("published-min", "All"),
        ("published-min", "03/01/2016"),
        ("published-max", "2024-03-01"),
        ("updated-min", "2024-03-01T00:00:00+01:00"),
        ("updated-max", "2024-03-01T00:00:00.5Z"),
        ("published-min", "2024-02-30T00:00:00Z"),
        ("max-results", "All"),
        ("start-index", "-1"),
        ("depth", "1.5"),
        ("max-results", "99999999999999"),
    ],
)
def test_anything_else_is_refused_with_the_parameter_named(name, value):
    with pytest.raises(FeedQueryError, match=name):
        parse_feed_query([(name, value)])


def test_a_repeated_parameter_or_an_inverted_range_is_refused():
    with pytest.raises(FeedQueryError, match="more than once"):
        parse_feed_query([("max-results", "1"), ("max-results", "2")])
    with pytest.raises(FeedQueryError, match="after"):
        parse_feed_query(
            [("published-min", "2024-03-02T00:00:00Z"), ("published-max", "2024-03-01T00:00:00Z")]
        )


def test_depth_and_max_results_both_cap_and_start_index_is_one_based():
    assert FeedQuery(max_results=5, depth=3).entry_limit == 3
    assert FeedQuery().entry_limit is None
    assert FeedQuery(start_index=0).skip == 0
    assert FeedQuery(start_index=1).skip == 0
