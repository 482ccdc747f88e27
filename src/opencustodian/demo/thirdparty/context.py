"""What every page of the demo third party shares: its state and how pages are rendered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.templating import Jinja2Templates

if TYPE_CHECKING:
    from fastapi import Request
    from fastapi.responses import HTMLResponse

    from opencustodian.client import Clock, TokenCache, TokenClient
    from opencustodian.demo.thirdparty.config import ThirdPartyConfig
    from opencustodian.demo.thirdparty.fetching import Fetcher
    from opencustodian.demo.thirdparty.store import Database
    from opencustodian.demo.thirdparty.usage_store import UsageStore

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Exact decimals as plain text (never "1E+3"): the numbers a chart shows are the stored sums.
TEMPLATES.env.filters["decimal"] = lambda value: format(value, "f")


@dataclass(frozen=True, slots=True)
class ThirdParty:
    """Everything a request handler needs."""

    config: ThirdPartyConfig
    database: Database
    tokens: TokenClient
    cache: TokenCache
    clock: Clock
    usage: UsageStore
    fetcher: Fetcher


def tp_of(request: Request) -> ThirdParty:
    """The third party serving ``request``."""
    thirdparty: ThirdParty = request.app.state.thirdparty
    return thirdparty


def render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render template ``name`` with the app's configuration and ``context``."""
    config = tp_of(request).config
    return TEMPLATES.TemplateResponse(
        request, name, {"config": config, **context}, status_code=status_code
    )


def problem_page(request: Request, title: str, message: str, status_code: int) -> HTMLResponse:
    """An error page with a title and a sentence."""
    return render(request, "problem.html", status_code, title=title, message=message)
