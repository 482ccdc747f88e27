"""The portal tests share the OAuth tests' live custodian fixtures (one server per module)."""

from __future__ import annotations

from tests.functional.oauth.conftest import http, module_engine, party, server

__all__ = ["http", "module_engine", "party", "server"]
