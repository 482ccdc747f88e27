"""One live custodian per CDS administration test module (the CDS modules' seeded server)."""

from __future__ import annotations

from tests.functional.cds.conftest import http, module_engine, party, server

__all__ = ["http", "module_engine", "party", "server"]
