"""The web app over real HTTP: health, home page and OpenAPI."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from opencustodian.config import Settings
from opencustodian.storage import db
from opencustodian.web.app import create_app
from tests.live import serving


@pytest.fixture
def base_url(engine):
    with serving(create_app(Settings(), engine)) as url:
        yield url


def test_health_reports_database_and_schema(base_url, backend):
    response = httpx.get(f"{base_url}/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == backend
    assert body["schema_revision"] == db.head_revision()
    assert body["schema_current"] is True


def test_health_is_unavailable_before_migration(empty_database_url):
    engine = db.make_engine(empty_database_url)
    with serving(create_app(Settings(), engine)) as url:
        response = httpx.get(f"{url}/healthz")
    engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_home_page_shows_what_the_custodian_holds(engine, base_url):
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO service_points"
                " (uuid, commodity, meter_category, net_metered, created_at) VALUES"
                " ('0f0e0d0c-0b0a-0908-0706-050403020100', 'electricity', 'ami', false,"
                " CURRENT_TIMESTAMP)"
            )
        )
    response = httpx.get(f"{base_url}/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "OpenCustodian Demo Utility" in response.text
    assert "<th>Service points</th><td>1</td>" in response.text
    assert httpx.get(f"{base_url}/static/site.css").status_code == 200


def test_openapi_lists_the_health_endpoint(base_url):
    schema = httpx.get(f"{base_url}/openapi.json").json()
    assert "/healthz" in schema["paths"]
    assert "/" not in schema["paths"]
