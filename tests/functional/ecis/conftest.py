"""One live custodian per ECIS test module, seeded with 75 days (bills for two months)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from opencustodian.demo.synthetic import seed_utility
from opencustodian.profile import load_profile
from tests.custodian import SEED_NOW, live_custodian
from tests.functional.oauth.conftest import http, module_engine, party

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian

__all__ = ["http", "module_engine", "party", "server"]


@pytest.fixture(scope="module")
def server(module_engine: Engine) -> Iterator[LiveCustodian]:
    """A custodian with 75 days of history: two or three bills per service point."""
    seed_utility(module_engine, load_profile(), customers=3, seed=7, now=SEED_NOW, history_days=75)
    with live_custodian(module_engine, seed=False) as running:
        yield running
