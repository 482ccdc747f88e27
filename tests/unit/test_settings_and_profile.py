"""Settings from the environment and the custodian profile."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from opencustodian.config import Environment, Settings
from opencustodian.profile import ProfileError, load_profile


def test_default_database_is_a_sqlite_file_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENCUSTODIAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("OPENCUSTODIAN_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'opencustodian.sqlite3'}"


def test_database_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", "postgresql://u@db/custodian")
    assert Settings().resolved_database_url == "postgresql://u@db/custodian"


def test_production_refuses_the_development_secret(monkeypatch):
    monkeypatch.setenv("OPENCUSTODIAN_ENVIRONMENT", "production")
    monkeypatch.delenv("OPENCUSTODIAN_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()
    monkeypatch.setenv("OPENCUSTODIAN_SECRET_KEY", "a-real-secret")
    assert Settings().environment is Environment.PRODUCTION


def test_default_profile_carries_seed_000_limits():
    profile = load_profile()
    assert profile.time_zone == ZoneInfo("America/New_York")
    limits = profile.limits
    assert limits.access_token_seconds == 3600
    assert limits.refresh_token_seconds == 365 * 86_400
    assert limits.authorization_code_seconds == 300
    assert limits.token_calls_per_minute == 50
    assert limits.history_years == 2
    assert limits.real_time_window_hours == 24
    assert limits.real_time_latency_minutes == 45


def test_profile_file_overrides(tmp_path):
    path = tmp_path / "utility.toml"
    path.write_text(
        '[identity]\nname = "Prairie Power"\ntime_zone = "America/Chicago"\n'
        "[limits]\ntoken_calls_per_minute = 10\n"
    )
    profile = load_profile(path)
    assert profile.name == "Prairie Power"
    assert profile.time_zone == ZoneInfo("America/Chicago")
    assert profile.limits.token_calls_per_minute == 10
    assert profile.limits.access_token_seconds == 3600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[identity]\ntime_zone = "Mars/Olympus"\n', "unknown time zone"),
        ("[limits]\ntoken_calls = 3\n", "unknown entry"),
        ("not toml = = =", "not valid TOML"),
    ],
)
def test_bad_profiles_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_missing_profile_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.toml")
