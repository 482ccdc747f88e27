"""Sealed client secrets: round trip, bound to the owner and key, tamper-evident."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.kit.sealing import MAX_SECRET_BYTES, SealError, open_sealed, seal
from opencustodian.kit.tokens import new_secret

KEY = "server-key-for-sealing-tests"


def test_a_sealed_secret_opens_for_its_owner_under_the_same_key():
    secret = new_secret("ocs")
    sealed = seal(secret, owner="client-a", server_key=KEY)
    assert secret not in sealed
    assert sealed.startswith("v1.")
    assert len(sealed) <= 300  # the column's width
    assert open_sealed(sealed, owner="client-a", server_key=KEY) == secret


def test_two_seals_of_one_secret_differ():
    assert seal("s3cret", owner="a", server_key=KEY) != seal("s3cret", owner="a", server_key=KEY)


def test_another_owner_or_key_cannot_open_it():
    sealed = seal("s3cret", owner="client-a", server_key=KEY)
    with pytest.raises(SealError):
        open_sealed(sealed, owner="client-b", server_key=KEY)
    with pytest.raises(SealError):
        open_sealed(sealed, owner="client-a", server_key=KEY + "-rotated")


def _flip(sealed: str, index: int) -> str:
    body = sealed[3:]
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[index % len(raw)] ^= 0x01
    return "v1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@given(st.integers(min_value=0, max_value=200))
def test_any_flipped_bit_is_refused(index):
    sealed = seal("ocs_the-client-secret", owner="client-a", server_key=KEY)
    with pytest.raises(SealError):
        open_sealed(_flip(sealed, index), owner="client-a", server_key=KEY)


@pytest.mark.parametrize(
    "garbage", ["", "v1.", "v2.AAAA", "v1.AAAA", "v1.!!!!", "v1.é", "plain-secret", "v1.A"]
)
def test_garbage_is_refused_with_a_seal_error(garbage):
    with pytest.raises(SealError):
        open_sealed(garbage, owner="client-a", server_key=KEY)


@given(st.text(max_size=120))
def test_any_text_either_opens_nothing_or_raises_seal_error(text):
    with pytest.raises(SealError):
        open_sealed(text, owner="client-a", server_key=KEY)


def test_empty_and_oversized_secrets_and_empty_keys_are_refused():
    with pytest.raises(SealError):
        seal("", owner="a", server_key=KEY)
    with pytest.raises(SealError):
        seal("x" * (MAX_SECRET_BYTES + 1), owner="a", server_key=KEY)
    with pytest.raises(SealError):
        seal("x", owner="a", server_key="")
    longest = seal("x" * MAX_SECRET_BYTES, owner="a", server_key=KEY)
    assert len(longest) <= 300
