"""OPENCUSTODIAN_SMTP_URL and OPENCUSTODIAN_MAIL_FROM: the forms understood, mistakes refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opencustodian.config import Settings
from opencustodian.kit.smtp_url import SmtpEndpoint, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpEndpoint("mail.example", 25)),
        ("smtp://mail.example:2525", SmtpEndpoint("mail.example", 2525)),
        (
            "smtp://mail.example?starttls=true",
            SmtpEndpoint("mail.example", 587, starttls=True),
        ),
        (
            "smtp://u%40x:p%3Aw%40d@mail.example:587?starttls=true",
            SmtpEndpoint("mail.example", 587, starttls=True, username="u@x", password="p:w@d"),
        ),
        ("smtp://mail.example?starttls=false", SmtpEndpoint("mail.example", 25)),
        ("smtps://mail.example", SmtpEndpoint("mail.example", 465, implicit_tls=True)),
        (
            "SMTPS://user:secret@mail.example:1465",
            SmtpEndpoint(
                "mail.example", 1465, implicit_tls=True, username="user", password="secret"
            ),
        ),
    ],
)
def test_the_smtp_url_forms(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://mail.example", "scheme must be smtp:// or smtps://"),
        ("mail.example:25", "scheme must be smtp:// or smtps://"),
        ("smtp://", "a host is required"),
        ("smtp://mail.example:99999", "SMTP URL: Port out of range"),
        ("smtp://mail.example:smtp", "SMTP URL"),
        ("smtps://mail.example?starttls=true", "smtps:// is already TLS"),
        ("smtp://mail.example?tls=1", "unknown parameter(s) tls"),
        ("smtp://mail.example?starttls=maybe", "starttls must be true or false"),
        ("smtp://mail.example/path", "only host, port, credentials"),
    ],
)
def test_a_bad_smtp_url_is_refused_with_the_reason(url, reason):
    with pytest.raises(ValueError, match="SMTP URL") as refused:
        parse_smtp_url(url)
    assert reason in str(refused.value)


def test_the_password_stays_out_of_the_endpoint_repr():
    endpoint = parse_smtp_url("smtp://user:hunter2@mail.example")
    assert endpoint.authenticates
    assert "hunter2" not in repr(endpoint)


def test_settings_check_the_smtp_url_at_start_up(monkeypatch):
    monkeypatch.setenv("OPENCUSTODIAN_SMTP_URL", "smtp://mail.example:2525?starttls=true")
    assert Settings().smtp_url == "smtp://mail.example:2525?starttls=true"
    monkeypatch.setenv("OPENCUSTODIAN_SMTP_URL", "imap://mail.example")
    with pytest.raises(ValidationError, match="scheme must be smtp:// or smtps://"):
        Settings()
    monkeypatch.setenv("OPENCUSTODIAN_SMTP_URL", "")
    assert Settings().smtp_url is None  # empty means unset: mail is held


def test_the_sender_defaults_to_the_utility_name(monkeypatch):
    monkeypatch.delenv("OPENCUSTODIAN_MAIL_FROM", raising=False)
    assert Settings().mail_sender("Lone Star Power") == "Lone Star Power <no-reply@localhost>"
    monkeypatch.setenv("OPENCUSTODIAN_MAIL_FROM", "Agreements <agreements@utility.example>")
    settings = Settings()
    assert settings.mail_sender("Lone Star Power") == "Agreements <agreements@utility.example>"


@pytest.mark.parametrize("sender", ["no address", "Name <>", "a@b\nBcc: victim@example.com"])
def test_a_bad_sender_is_refused(sender):
    with pytest.raises(ValidationError, match="MAIL_FROM"):
        Settings(mail_from=sender)
