"""A gzip file written in segments: CRC-32 combination and the assembled member."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.kit.gzip_segments import (
    GZIP_HEADER,
    SegmentWriter,
    crc32_combine,
    gzip_trailer,
)


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_combined_crc_is_the_crc_of_the_concatenation(first: bytes, second: bytes) -> None:
    combined = crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
    assert combined == zlib.crc32(first + second)


def test_a_long_second_part_combines_too() -> None:
    first, second = b"head", bytes(range(256)) * 40_000  # 10 MB: many squarings of x
    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(
        first + second
    )


@given(st.lists(st.binary(max_size=2_000), min_size=1, max_size=6), st.integers(1, 9))
def test_segments_join_into_one_gzip_member(pieces: list[bytes], level: int) -> None:
    out = io.BytesIO()
    out.write(GZIP_HEADER)
    segments = []
    for index, piece in enumerate(pieces):
        writer = SegmentWriter(out, level)
        writer.write(piece[: len(piece) // 2])
        writer.write(piece[len(piece) // 2 :])
        segments.append(writer.close(final=index == len(pieces) - 1))
    out.write(gzip_trailer(segments))

    whole = b"".join(pieces)
    assert gzip.decompress(out.getvalue()) == whole
    # One member: a decoder that reads a single member (as HTTP clients do) gets it all.
    decoder = zlib.decompressobj(wbits=31)
    assert decoder.decompress(out.getvalue()) == whole
    assert decoder.eof
    assert decoder.unused_data == b""


def test_a_wrong_length_is_caught_by_the_trailer_check() -> None:
    out = io.BytesIO()
    out.write(GZIP_HEADER)
    writer = SegmentWriter(out, 6)
    writer.write(b"some feed text")
    segment = writer.close(final=True)
    out.write(gzip_trailer([segment, type(segment)(crc=0, length=1)]))
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(out.getvalue())
