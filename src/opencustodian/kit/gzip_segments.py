"""One gzip file written in independent segments, so several processes can compress one document.

A gzip member (RFC 1952 §2.3) is a 10-byte header, one DEFLATE stream (RFC 1951) and a trailer
holding the CRC-32 and the length of the uncompressed data. A DEFLATE stream is a sequence of
blocks, only the last flagged final, and a block may only refer back to data the decoder has
already produced. So pieces of a document compressed on their own, each ended by a sync flush
(an empty stored block that leaves the stream byte-aligned, RFC 1951 §3.2.4) and the last by a
final block, concatenate into one valid stream; the trailer's CRC is the pieces' CRCs combined
(``crc32_combine``) without reading the data again. This is how pigz compresses in parallel.

The result is a single-member gzip file: every HTTP client and ``gzip -d`` reads it, unlike a
concatenation of whole members, which many ``Content-Encoding: gzip`` decoders stop reading
after the first member.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import BinaryIO

#: CRC-32 (ISO-HDLC, as gzip uses) generator polynomial, bit-reversed: bit 31 stands for x⁰.
_POLYNOMIAL: Final = 0xEDB88320
_ONE: Final = 1 << 31  # the polynomial 1 in that representation
_X: Final = 1 << 30  # the polynomial x
_RAW_DEFLATE: Final = -15  # zlib window bits: a bare DEFLATE stream, no zlib or gzip framing
# RFC 1952 §2.3: magic, CM=8 (deflate), FLG=0, MTIME=0 (none), XFL=0, OS=255 (unknown).
GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _times(a: int, b: int) -> int:
    """``a(x)·b(x) mod P`` for polynomials in the bit-reversed CRC representation."""
    product = 0
    for bit in range(31, -1, -1):  # a's coefficients of x⁰ … x³¹
        if a >> bit & 1:
            product ^= b
        b = (b >> 1) ^ _POLYNOMIAL if b & 1 else b >> 1  # b·x mod P
    return product


def _x_to_the(power: int) -> int:
    """``x^power mod P`` by repeated squaring."""
    result, square = _ONE, _X
    while power:
        if power & 1:
            result = _times(result, square)
        square = _times(square, square)
        power >>= 1
    return result


def crc32_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)``.

    Appending ``B`` multiplies A's remainder by ``x^(8·len(B))`` modulo the polynomial and adds
    B's own; the pre- and post-inversion of CRC-32 cancel out in that sum.
    """
    if length_b == 0:
        return crc_a
    return _times(_x_to_the(8 * length_b), crc_a) ^ crc_b


@dataclass(frozen=True, slots=True)
class Segment:
    """What a finished segment covered: the CRC-32 and length of its uncompressed data."""

    crc: int
    length: int


class SegmentWriter:
    """Compresses one piece of the document into ``sink`` as a bare DEFLATE segment."""

    __slots__ = ("_compressor", "_crc", "_length", "_sink")

    def __init__(self, sink: BinaryIO, level: int) -> None:
        """Write compressed bytes to ``sink`` at zlib ``level`` (1 fastest, 9 smallest)."""
        self._sink = sink
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, _RAW_DEFLATE)
        self._crc = 0
        self._length = 0

    def write(self, data: bytes) -> None:
        """Add uncompressed ``data``."""
        self._crc = zlib.crc32(data, self._crc)
        self._length += len(data)
        compressed = self._compressor.compress(data)
        if compressed:
            self._sink.write(compressed)

    def close(self, *, final: bool) -> Segment:
        """End the segment: a final block when it ends the document, else a sync flush."""
        self._sink.write(self._compressor.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH))
        return Segment(self._crc, self._length)


def gzip_trailer(segments: Iterable[Segment]) -> bytes:
    """RFC 1952 §2.3 trailer of the concatenated segments: CRC32 and ISIZE (length mod 2³²)."""
    crc, length = 0, 0
    for segment in segments:
        crc = crc32_combine(crc, segment.crc, segment.length)
        length += segment.length
    return struct.pack("<II", crc, length & 0xFFFFFFFF)
