"""What the third party's pages and API share: its own agreements, their reports, the CSV.

An agreement of another company is "not found", never "forbidden", so agreement numbers cannot
be probed (the same rule as the CDS Grants API). Agreement numbers are twelve digits (see
``services.agreements``); anything else is not looked up at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from fastapi.responses import Response
from sqlalchemy import select

from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.models import AgreementReport, EnergyDataAgreement

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from opencustodian.domain.agreements import AgreementState, AgreementView

_NUMBER = re.compile(r"\d{12}")
_SAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class ReportStatus(StrEnum):
    """Where a one-time agreement's report stands (``AgreementReport.status``)."""

    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"

    @property
    def being_prepared(self) -> bool:
        """Queued or being built: the third party should come back later."""
        return self in {ReportStatus.PENDING, ReportStatus.RUNNING}


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A report's state and, once ready, its CSV (EM204: "report has been completed")."""

    status: ReportStatus
    file_name: str | None = None
    content: bytes | None = None

    @property
    def ready(self) -> bool:
        """Whether the CSV may be downloaded now."""
        return self.status is ReportStatus.READY and self.content is not None


def is_agreement_number(text: str) -> bool:
    """Whether ``text`` has the shape of an agreement number."""
    return bool(_NUMBER.fullmatch(text))


def owned_agreement(
    session: Session, application_id: int, number: str
) -> tuple[AgreementState, AgreementView] | None:
    """The company's agreement ``number`` (facts and printable view), or None."""
    if not is_agreement_number(number):
        return None
    store = SqlAgreementStore(session)
    state = store.state_by_number(number)
    if state is None or state.application_id != application_id:
        return None
    return state, store.view(state.agreement_id)


def report_file(session: Session, agreement_id: int) -> ReportFile | None:
    """The agreement's report, if one was queued (accepted one-time agreements only)."""
    row = session.scalar(
        select(AgreementReport).where(AgreementReport.agreement_id == agreement_id)
    )
    if row is None:
        return None
    status = ReportStatus(row.status)
    if status is not ReportStatus.READY:
        return ReportFile(status)
    return ReportFile(status, row.file_name, row.content)


def report_statuses(session: Session, application_id: int) -> dict[str, ReportStatus]:
    """Every report status of the company's agreements, by agreement number (one query)."""
    rows = session.execute(
        select(EnergyDataAgreement.number, AgreementReport.status)
        .join(AgreementReport, AgreementReport.agreement_id == EnergyDataAgreement.id)
        .where(EnergyDataAgreement.application_id == application_id)
    ).all()
    return {number: ReportStatus(status) for number, status in rows}


def csv_download(content: bytes, file_name: str | None, number: str) -> Response:
    """The report as a CSV attachment under a header-safe file name."""
    name = _SAFE_FILE_NAME.sub("_", file_name or "") or f"agreement-{number}.csv"
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
