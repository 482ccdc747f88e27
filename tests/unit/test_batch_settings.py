"""Batch settings: where results go, how many processes, the profile's limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencustodian.config import Environment, Settings
from opencustodian.jobs.batches import batch_environment
from opencustodian.profile import load_profile
from opencustodian.web.api.espi_usage import feed_settings
from opencustodian.web.app import create_app

if TYPE_CHECKING:
    from pathlib import Path

    import pytest
    from sqlalchemy.engine import Engine


def test_batch_results_live_in_the_data_directory_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCUSTODIAN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENCUSTODIAN_BATCH_DIR", raising=False)
    assert Settings().resolved_batch_dir == tmp_path / "batches"
    monkeypatch.setenv("OPENCUSTODIAN_BATCH_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("OPENCUSTODIAN_BATCH_PROCESSES", "3")
    settings = Settings()
    assert settings.resolved_batch_dir == tmp_path / "shared"
    assert settings.batch_processes == 3


def test_the_profile_sets_the_synchronous_limit_and_result_lifetime(tmp_path: Path) -> None:
    assert load_profile().limits.sync_feed_max_readings == 500_000
    assert load_profile().limits.batch_result_days == 7
    path = tmp_path / "utility.toml"
    path.write_text("[limits]\nsync_feed_max_readings = 1000\nbatch_result_days = 2\n")
    limits = load_profile(path).limits
    assert (limits.sync_feed_max_readings, limits.batch_result_days) == (1000, 2)


def test_a_job_reads_with_the_feed_settings_of_a_synchronous_read(
    engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(
        environment=Environment.TESTING, base_url="https://dc.example", batch_dir=tmp_path
    )
    context = create_app(settings, engine).state.context
    environment = batch_environment(settings, context.profile, context.base_url, engine)
    assert environment.feed == feed_settings(context)
    assert environment.directory == tmp_path
    assert environment.processes >= 1
