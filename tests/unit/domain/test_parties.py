"""Registration forms are validated before anything is stored (seed 000 §2.2, RFC 9700 §4.1)."""

from __future__ import annotations

import pytest

from opencustodian.domain.parties import (
    ApplicationRegistration,
    ApplicationStatus,
    RegistrationEnvironment,
    RegistrationError,
)


def form(**changes):
    fields = {
        "name": "Sunny Solar",
        "redirect_uris": ("https://sunny.example/callback",),
        "scopes": ("FB=1_3_4_5;",),
    }
    return ApplicationRegistration(**(fields | changes))


def test_a_complete_form_is_accepted_and_starts_in_test():
    registration = form()
    assert registration.initial_status is ApplicationStatus.TEST
    production = form(environment=RegistrationEnvironment.PRODUCTION)
    assert production.initial_status is ApplicationStatus.PRODUCTION


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "name"),
        ({"redirect_uris": ()}, "redirect_uris"),
        ({"scopes": ()}, "scopes"),
        ({"redirect_uris": ("http://sunny.example/callback",)}, "https"),
        ({"redirect_uris": ("https://sunny.example/cb#frag",)}, "fragment"),
        ({"redirect_uris": ("https://*.sunny.example/cb",)}, "wildcard"),
        ({"redirect_uris": ("sunny.example/callback",)}, "absolute"),
        ({"notification_uri": "ftp://sunny.example/notify"}, "notification_uri"),
    ],
)
def test_bad_forms_name_the_field(changes, message):
    with pytest.raises(RegistrationError, match=message):
        form(**changes)


def test_plain_http_is_allowed_only_on_loopback():
    assert form(redirect_uris=("http://127.0.0.1:9000/cb", "http://localhost/cb"))


def test_only_test_and_production_applications_may_act():
    assert [status for status in ApplicationStatus if status.may_act] == [
        ApplicationStatus.TEST,
        ApplicationStatus.PRODUCTION,
    ]
