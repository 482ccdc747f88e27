"""The demo's third-party portal users and privacy policy (``opencustodian demo``)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from opencustodian.demo import setup as demo_setup
from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.demo.thirdparty import ThirdPartyConfig, create_thirdparty_app
from opencustodian.storage.db import session_factory
from opencustodian.storage.models import ThirdPartyApplication, ThirdPartyUser
from opencustodian.storage.partner_users import authenticate_partner
from tests.custodian import SECRET_KEY
from tests.live import free_port, serving


def demo_party(engine) -> tuple[int, str | None, dict[str, str]]:
    with session_factory(engine)() as session:
        application = session.scalar(
            select(ThirdPartyApplication).where(
                ThirdPartyApplication.name == demo_setup.THIRD_PARTY_NAME
            )
        )
        assert application is not None
        users = session.execute(
            select(ThirdPartyUser.username, ThirdPartyUser.role).where(
                ThirdPartyUser.application_id == application.id
            )
        ).all()
        return application.id, application.privacy_policy_uri, {str(u): str(r) for u, r in users}


def test_prepare_creates_the_demo_users_and_the_privacy_link_once(engine):
    first = demo_setup.prepare(engine, SECRET_KEY, "http://127.0.0.1:8001")
    application_id, policy, users = demo_party(engine)
    assert policy == "http://127.0.0.1:8001/privacy"
    assert users == {
        "sunspark-admin": "administrator",
        "sunspark-agent": "agent",
        "sunspark-viewer": "viewer",
    }
    with session_factory(engine)() as session:
        agent = authenticate_partner(session, "sunspark-agent", DEMO_PASSWORD)
    assert agent is not None
    assert agent.application_id == application_id
    assert agent.company_name == "SunSpark Solar"
    # Run again (another port for the third party): same party, same users, the link follows.
    second = demo_setup.prepare(engine, SECRET_KEY, "http://127.0.0.1:9001")
    assert second[0] == first[0]
    again_id, policy, again = demo_party(engine)
    assert (again_id, again) == (application_id, users)
    assert policy == "http://127.0.0.1:9001/privacy"


def test_the_demo_third_party_serves_its_privacy_policy(tmp_path):
    port = free_port()
    config = ThirdPartyConfig(
        name="SunSpark Solar",
        base_url=f"http://127.0.0.1:{port}",
        custodian_name="Demo Utility",
        custodian_base_url="http://127.0.0.1:9",
        client_id="client",
        client_secret="secret",
        database_path=tmp_path / "tp.sqlite3",
    )
    with serving(create_thirdparty_app(config), port=port) as base:
        response = httpx.get(f"{base}/privacy", timeout=10)
    assert response.status_code == 200
    assert "SunSpark Solar privacy policy" in response.text
    assert "We do not sell your data" in response.text
    assert "Demo Utility" in response.text
