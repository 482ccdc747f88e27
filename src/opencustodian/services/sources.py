"""Which parser reads a file: Green Button ESPI XML or the documented readings CSV."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from opencustodian.protocols.csv.readings import parse_readings_csv
from opencustodian.protocols.espi.parser import parse_espi_feed

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opencustodian.domain.ingest import SourceRecord


def detect_format(name: str, head: bytes) -> str:
    """``"espi"`` for XML (by content, whatever the name), ``"csv"`` otherwise.

    Real exports arrive as ``.xml``, ``.atom`` or with no extension at all, so content decides;
    a byte-order mark and leading white space are skipped.
    """
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "espi"
    if name.lower().endswith((".xml", ".atom")):
        return "espi"
    return "csv"


def parse_source(file_format: str, stream: IO[bytes], *, max_bytes: int) -> Iterator[SourceRecord]:
    """The source records of ``stream`` in ``file_format`` (``"espi"`` or ``"csv"``)."""
    if file_format == "espi":
        return parse_espi_feed(stream, max_bytes=max_bytes)
    return parse_readings_csv(stream, max_bytes=max_bytes)
