"""ECIS request JWTs: every algorithm, key and claim check, and garbage never escapes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, OctKey, RSAKey

from opencustodian.protocols.ecis.jwt_requests import (
    MAX_TOKEN_BYTES,
    JwtErrorCode,
    RequestRejectedError,
    RequestType,
    VerificationKeys,
    verify_request,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
CLIENT = "client-7f3a"
AUDIENCE = "https://custodian.example/ecis/v1/requests"
SECRET = "ocs_" + "s3cret-value-for-hmac-signing-" + "x" * 20

EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
EC_OTHER = ECKey.generate_key("P-256", parameters={"kid": "ec-2"})
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
STRANGER = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})  # same kid, other key


def public(*keys: Any) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


KEYS = VerificationKeys(jwks=public(EC_KEY, EC_OTHER, RSA_KEY), hs256_secret=SECRET)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": CLIENT,
        "aud": AUDIENCE,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
        "jti": "jti-0001",
        "system_account_id": "0018-102",
        "eci_request_type": "basic",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not DROP}


DROP = object()


def sign(payload: dict[str, Any], key: Any = EC_KEY, alg: str = "ES256", **header: Any) -> str:
    protected = {"alg": alg, **header}
    if "kid" not in header and key is not None and key.kid and alg != "HS256":
        protected["kid"] = key.kid
    protected = {name: value for name, value in protected.items() if value is not DROP}
    return jws.serialize_compact(protected, json.dumps(payload).encode(), key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(header: object, payload: object, signature: str = "c2ln") -> str:
    encode = lambda value: b64(value if isinstance(value, bytes) else json.dumps(value).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}.{signature}"


def verify(token: str | bytes, keys: VerificationKeys = KEYS, now: datetime = NOW) -> Any:
    return verify_request(token, keys, issuer=CLIENT, audience=AUDIENCE, now=now)


def refused(token: str | bytes, keys: VerificationKeys = KEYS, now: datetime = NOW) -> str:
    with pytest.raises(RequestRejectedError) as caught:
        verify(token, keys, now)
    return caught.value.code.value


# -- algorithms and keys -------------------------------------------------------------------------


def test_es256_with_kid_is_accepted_and_read():
    request = verify(sign(claims(eci_request_type="invoice", system_invoice_id="inv-9")))
    assert request.request_type is RequestType.INVOICE
    assert request.system_account_id == "0018-102"
    assert request.system_invoice_id == "inv-9"
    assert request.jti == "jti-0001"
    assert request.algorithm == "ES256"
    assert request.key_id == "ec-1"
    assert request.expires_at == NOW + timedelta(seconds=300)


def test_es256_without_kid_tries_every_ec_key():
    request = verify(sign(claims(), EC_OTHER, kid=DROP))
    assert request.key_id is None


def test_rs256_is_verified_with_the_registered_rsa_key():
    assert verify(sign(claims(), RSA_KEY, "RS256")).algorithm == "RS256"


def test_hs256_is_verified_with_the_client_secret_only_after_opting_in():
    token = sign(claims(), OctKey.import_key(SECRET), "HS256")
    assert verify(token).algorithm == "HS256"
    assert refused(token, VerificationKeys(jwks=KEYS.jwks)) == "unknown_key"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused_with_or_without_a_signature(alg):
    assert refused(raw({"alg": alg}, claims(), "")) == "unsupported_algorithm"
    assert refused(raw({"alg": alg}, claims())) == "unsupported_algorithm"


@pytest.mark.parametrize("alg", ["HS512", "HS384", "ES384", "ES512", "PS256", "RS512", "EdDSA"])
def test_every_other_algorithm_is_refused(alg):
    assert refused(raw({"alg": alg, "kid": "ec-1"}, claims())) == "unsupported_algorithm"


@pytest.mark.parametrize("header", [{}, {"alg": ""}, {"alg": 256}, {"alg": None}])
def test_a_header_without_a_usable_alg_is_malformed(header):
    assert refused(raw(header, claims())) == "malformed"


def test_hs256_signed_with_the_public_rsa_key_is_not_verified():
    """The classic confusion: an HMAC keyed with the public key text must never pass."""
    pem = RSA_KEY.as_pem(private=False)
    header = b64(json.dumps({"alg": "HS256"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims()).encode())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64(mac)}"
    assert refused(forged) == "invalid_signature"
    assert refused(forged, VerificationKeys(jwks=KEYS.jwks)) == "unknown_key"


def test_an_algorithm_that_does_not_fit_the_named_key_is_refused():
    token = sign(claims(), RSA_KEY, "RS256", kid="ec-1")
    assert refused(token) == "key_mismatch"


def test_an_algorithm_no_registered_key_fits_is_refused():
    token = sign(claims(), RSA_KEY, "RS256", kid=DROP)
    assert refused(token, VerificationKeys(jwks=public(EC_KEY))) == "key_mismatch"


def test_a_key_whose_alg_member_differs_does_not_verify():
    declared = {"keys": [{**EC_KEY.as_dict(private=False), "alg": "ES384"}]}
    assert refused(sign(claims()), VerificationKeys(jwks=declared)) == "key_mismatch"


def test_an_unknown_kid_or_no_keys_is_unknown_key():
    assert refused(sign(claims(), kid="nobody")) == "unknown_key"
    assert refused(sign(claims()), VerificationKeys()) == "unknown_key"
    assert refused(sign(claims(), kid=DROP), VerificationKeys()) == "unknown_key"


def test_a_signature_by_another_key_or_over_other_claims_is_invalid():
    assert refused(sign(claims(), STRANGER)) == "invalid_signature"
    header, _, signature = sign(claims()).split(".")
    tampered = f"{header}.{b64(json.dumps(claims(system_account_id='9999')).encode())}.{signature}"
    assert refused(tampered) == "invalid_signature"
    assert refused(f"{header}.{tampered.split('.')[1]}.{signature[:-4]}AAAA") == "invalid_signature"


def test_a_corrupt_registered_key_is_not_trusted():
    broken = {"keys": [{**EC_KEY.as_dict(private=False), "x": "AAAA"}]}
    assert refused(sign(claims()), VerificationKeys(jwks=broken)) == "unknown_key"


# -- claims --------------------------------------------------------------------------------------


def test_issuer_is_the_access_tokens_client():
    assert refused(sign(claims(iss="another-client"))) == "wrong_issuer"
    assert refused(sign(claims(iss="another-client"), STRANGER)) == "wrong_issuer"
    assert refused(sign(claims(iss=DROP))) == "missing_claim"
    assert refused(sign(claims(iss=7))) == "bad_claim"


def test_audience_is_the_endpoint_url():
    assert verify(sign(claims(aud=["https://other.example", AUDIENCE])))
    assert refused(sign(claims(aud="https://other.example/ecis/v1/requests"))) == "wrong_audience"
    assert refused(sign(claims(aud=["https://other.example"]))) == "wrong_audience"
    assert refused(sign(claims(aud=AUDIENCE + "/"))) == "wrong_audience"
    assert refused(sign(claims(aud=[]))) == "bad_claim"
    assert refused(sign(claims(aud=42))) == "bad_claim"
    assert refused(sign(claims(aud=DROP))) == "missing_claim"


def test_expiry_leeway_and_lifetime():
    now = int(NOW.timestamp())
    assert refused(sign(claims(iat=now - 400, exp=now - 1))) == "expired"
    assert refused(sign(claims(iat=now - 400, exp=now))) == "expired"
    assert verify(sign(claims(iat=now + 60, exp=now + 600)))  # within the 60 s leeway
    assert refused(sign(claims(iat=now + 61, exp=now + 600))) == "not_yet_valid"
    assert refused(sign(claims(nbf=now + 120))) == "not_yet_valid"
    assert verify(sign(claims(nbf=now + 30)))
    assert verify(sign(claims(iat=now - 10, exp=now + 590)))  # exactly ten minutes
    assert refused(sign(claims(iat=now - 10, exp=now + 591))) == "lifetime_too_long"
    assert refused(sign(claims(iat=now, exp=now))) == "bad_claim"
    assert refused(sign(claims(iat=now + 10, exp=now + 5))) == "bad_claim"
    assert verify(sign(claims(iat=now + 0.5, exp=now + 299.5)))  # NumericDate may be fractional


@pytest.mark.parametrize("value", ["1767000000", True, None, [1], 1e300, -5, 10**20, {"at": 1}])
@pytest.mark.parametrize("name", ["iat", "exp", "nbf"])
def test_dates_that_are_not_numeric_dates_are_bad_claims(name, value):
    assert refused(sign(claims(**{name: value}))) == "bad_claim"


@pytest.mark.parametrize(
    "name", ["aud", "iat", "exp", "jti", "system_account_id", "eci_request_type"]
)
def test_every_required_claim_is_required(name):
    assert refused(sign(claims(**{name: DROP}))) == "missing_claim"


@pytest.mark.parametrize("request_type", ["invoice", "invoice_detail"])
def test_invoice_requests_need_the_invoice_id(request_type):
    assert refused(sign(claims(eci_request_type=request_type))) == "missing_claim"
    token = sign(claims(eci_request_type=request_type, system_invoice_id="x"))
    assert verify(token).request_type.value == request_type


def test_a_basic_request_ignores_an_invoice_id():
    assert verify(sign(claims(system_invoice_id=["not", "read"]))).system_invoice_id is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jti", "j" * 201),
        ("jti", ""),
        ("jti", 17),
        ("jti", "tab\there"),
        ("jti", "nul\x00"),
        ("system_account_id", ""),
        ("system_account_id", 18102),
        ("system_account_id", "a" * 101),
        ("system_account_id", "0018\n102"),
        ("eci_request_type", "BASIC"),
        ("eci_request_type", "usage"),
        ("eci_request_type", ["basic"]),
        ("eci_request_type", None),
    ],
)
def test_claims_of_the_wrong_shape_are_bad_claims(name, value):
    assert refused(sign(claims(**{name: value}))) == "bad_claim"


def test_the_longest_jti_is_accepted():
    assert verify(sign(claims(jti="j" * 200))).jti == "j" * 200


def test_invoice_id_shape_is_checked():
    token = sign(claims(eci_request_type="invoice", system_invoice_id=12))
    assert refused(token) == "bad_claim"


# -- the envelope --------------------------------------------------------------------------------


def test_tokens_over_eight_kib_are_too_large():
    token = sign(claims(padding="p" * MAX_TOKEN_BYTES))
    assert len(token) > MAX_TOKEN_BYTES
    assert refused(token) == "too_large"
    assert refused(token.encode()) == "too_large"


def test_surrounding_whitespace_is_ignored():
    assert verify(sign(claims()) + "\r\n")
    assert verify(("  " + sign(claims())).encode())


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        ".e30.c2ln",
        "e30..c2ln",
        "e30=.e30.c2ln",
        "e30.e30.c2ln=",
        "e3+.e30.c2ln",
        "é.e30.c2ln",
        "a.e30.c2ln",
    ],
)
def test_malformed_compact_forms(token):
    assert refused(token) == "malformed"


def test_a_missing_signature_is_malformed():
    header, payload, _ = sign(claims()).split(".")
    assert refused(f"{header}.{payload}.") == "malformed"


@pytest.mark.parametrize(
    "payload",
    [
        b"[1,2]",
        b'"text"',
        b"null",
        b'{"iss": "a", "iss": "b"}',
        b'{"exp": NaN}',
        b'{"exp": Infinity}',
        b"\xff\xfe{}",
        b"{" * 2000,
        b'{"n": ' + b"9" * 5000 + b"}",
    ],
)
def test_payloads_that_are_not_one_json_object_are_malformed(payload):
    assert refused(raw({"alg": "ES256"}, payload)) == "malformed"


def test_duplicate_header_members_and_crit_are_malformed():
    assert refused(raw(b'{"alg":"ES256","alg":"none"}', claims())) == "malformed"
    assert refused(raw({"alg": "ES256", "crit": ["exp"], "exp": 1}, claims())) == "malformed"
    assert refused(raw({"alg": "ES256", "b64": False, "crit": ["b64"]}, claims())) == "malformed"
    assert refused(raw({"alg": "ES256", "kid": 5}, claims())) == "malformed"


def test_bytes_that_are_not_ascii_are_malformed():
    assert refused(b"\xff\xfe\x00") == "malformed"


# -- fuzz: nothing but RequestRejectedError ever escapes ------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)


def _outcome(token: str | bytes) -> None:
    try:
        verify(token)
    except RequestRejectedError as error:
        caught = error
    else:
        return
    assert caught.code in set(JwtErrorCode)
    assert caught.detail


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_are_refused_cleanly(data):
    _outcome(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="AZaz09-_.=+/ ", max_size=60), min_size=1, max_size=5))
def test_random_segments_are_refused_cleanly(parts):
    _outcome(".".join(parts))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(header=_JSON, payload=_JSON)
def test_random_json_headers_and_payloads_are_refused_cleanly(header, payload):
    _outcome(raw(header, payload))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*sorted(claims()), "nbf", "system_invoice_id"]), _JSON))
def test_validly_signed_random_claims_are_answered_or_refused_cleanly(changes):
    token = sign(claims(**changes))
    try:
        request = verify(token)
    except RequestRejectedError as error:
        caught = error
    else:
        assert request.system_account_id == claims(**changes)["system_account_id"]
        return
    assert caught.code in set(JwtErrorCode)
