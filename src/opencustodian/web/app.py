"""``create_app()``: the custodian's ASGI application.

It wires settings, profile and storage into the OAuth edge, the consent and portal pages, the
administration pages and the ESPI resources, and serves the health check and home page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select, text
from starlette.middleware.sessions import SessionMiddleware

from opencustodian import __version__
from opencustodian.config import Environment, Settings
from opencustodian.jobs.agreements import agreement_mailer_for, report_announcer
from opencustodian.jobs.queue import ReportJob, dispatcher_for
from opencustodian.jobs.work import lifecycle_for
from opencustodian.oauth.endpoints import OAuthEdge, TokenRateLimiter
from opencustodian.oauth.server import ServerSettings
from opencustodian.profile import CustodianProfile, load_profile
from opencustodian.storage.db import head_revision, make_engine, session_factory
from opencustodian.storage.models import Account, RetailCustomer, ServicePoint, interval_readings
from opencustodian.web import routes

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.domain.ports import AgreementMailer
    from opencustodian.jobs.queue import JobDispatcher
    from opencustodian.services.consent import GrantLifecycle

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True, slots=True)
class AppContext:
    """What every request handler may use: settings, profile and storage."""

    settings: Settings
    profile: CustodianProfile
    engine: Engine
    sessions: sessionmaker[Session]
    base_url: str
    jobs: JobDispatcher
    lifecycle: Callable[[Session], GrantLifecycle]
    #: The Energy Data Agreement emails (EM201–EM205) for one session's outbox.
    agreement_mailer: Callable[[Session], AgreementMailer]

    @property
    def key(self) -> str:
        """The server key that hashes tokens and secrets."""
        return self.settings.secret_key


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the application for ``settings`` (from the environment when omitted)."""
    settings = settings or Settings()
    engine = engine or make_engine(settings.resolved_database_url)
    profile = load_profile(settings.profile)
    sessions = session_factory(engine)
    base_url = (settings.base_url or profile.base_url).rstrip("/")
    mailer = agreement_mailer_for(settings, profile, base_url)
    context = AppContext(
        settings,
        profile,
        engine,
        sessions,
        base_url,
        dispatcher_for(
            settings.jobs_url,
            sessions,
            settings,
            ReportJob(profile.time_zone, profile.limits, report_announcer(mailer)),
        ),
        lifecycle_for(base_url),
        mailer,
    )
    app = FastAPI(title="OpenCustodian", version=__version__, docs_url="/docs")
    app.state.context = context
    app.state.oauth = OAuthEdge(
        ServerSettings(settings.secret_key, base_url, profile.limits),
        sessions,
        context.lifecycle,
        TokenRateLimiter(profile.limits.token_calls_per_minute, settings.rate_limit_url),
        insecure_transport_allowed=settings.allows_plain_http,
        after_commit=context.jobs.notifications_queued,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="opencustodian_session",
        same_site="lax",
        https_only=settings.environment is Environment.PRODUCTION,
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_api_route("/healthz", health, methods=["GET"], tags=["operations"])
    app.add_api_route(
        "/", home, methods=["GET"], response_class=HTMLResponse, include_in_schema=False
    )
    routes.install(app)
    return app


def get_context(request: Request) -> AppContext:
    """The application context of the running app."""
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]


def health(context: Context) -> JSONResponse:
    """Liveness and readiness: the database answers and the schema is migrated."""
    try:
        with context.engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as error:  # noqa: BLE001 - any database failure means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": context.engine.dialect.name, "error": str(error)},
            status_code=503,
        )
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "database": context.engine.dialect.name,
            "schema_revision": revision,
            "schema_current": revision == head_revision(),
            "utility": context.profile.name,
        }
    )


def home(request: Request, context: Context) -> HTMLResponse:
    """The custodian's home page: who it is and what it holds."""
    with context.sessions() as session:
        figures = _figures(session)
    return TEMPLATES.TemplateResponse(
        request, "home.html", {"profile": context.profile, "figures": figures}
    )


def _figures(session: Session) -> dict[str, Any]:
    def count(statement: Any) -> int:  # noqa: ANN401 - any selectable
        return int(session.scalar(statement) or 0)

    return {
        "customers": count(select(func.count()).select_from(RetailCustomer)),
        "accounts": count(select(func.count()).select_from(Account)),
        "service_points": count(select(func.count()).select_from(ServicePoint)),
        "readings": count(select(func.count()).select_from(interval_readings)),
    }
