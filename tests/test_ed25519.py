"""The stdlib Ed25519 verifier: RFC 8032 §7.1 vectors, tampering, malleability, and OpenSSL parity.

``tests/vectors/ed25519/rfc8032.json`` holds the RFC's five Ed25519 vectors
(TEST 1, 2, 3, 1024 and SHA(abc)); when the file was written, OpenSSL (via
``cryptography``) reproduced every public key and signature from its seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.transparency.ed25519 import _ED_L, _ED_P, verify

VECTORS = json.loads((Path(__file__).parent / "vectors" / "ed25519" / "rfc8032.json").read_text())["vectors"]
NAMES = [v["name"] for v in VECTORS]


def _vector(v: dict) -> tuple[bytes, bytes, bytes]:
    return bytes.fromhex(v["public_key"]), bytes.fromhex(v["message"]), bytes.fromhex(v["signature"])


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize("v", VECTORS, ids=NAMES)
def test_rfc8032_vectors_verify(v: dict) -> None:
    assert verify(*_vector(v)) is True


@pytest.mark.parametrize("v", VECTORS, ids=NAMES)
def test_a_flipped_bit_in_signature_message_or_key_fails(v: dict) -> None:
    key, msg, sig = _vector(v)
    assert not verify(key, msg, _flip(sig, 3))  # in R
    assert not verify(key, msg, _flip(sig, 300))  # in S
    assert not verify(key, msg + b"\x00", sig)
    if msg:
        assert not verify(key, _flip(msg, 0), sig)
    assert not verify(_flip(key, 9), msg, sig)


def test_s_plus_l_is_the_same_point_but_rejected() -> None:
    key, msg, sig = _vector(VECTORS[0])
    s = int.from_bytes(sig[32:], "little")
    assert s + _ED_L < 2**256
    assert not verify(key, msg, sig[:32] + (s + _ED_L).to_bytes(32, "little"))
    assert not verify(key, msg, sig[:32] + _ED_L.to_bytes(32, "little"))


@pytest.mark.parametrize(
    "key, sig",
    [
        (_ED_P.to_bytes(32, "little"), None),  # y = p: a non-canonical encoding of y = 0
        ((2).to_bytes(32, "little"), None),  # y = 2 is not on the curve (no square root)
        ((1 | 1 << 255).to_bytes(32, "little"), None),  # y = 1 gives x = 0, and the sign bit says x is odd
        (None, _ED_P.to_bytes(32, "little") + bytes(32)),  # R not canonical
    ],
    ids=["key-y-is-p", "key-off-curve", "key-x-zero-sign-set", "R-y-is-p"],
)
def test_undecodable_points_are_rejected_without_raising(key: bytes | None, sig: bytes | None) -> None:
    good_key, msg, good_sig = _vector(VECTORS[1])
    assert verify(key or good_key, msg, sig or good_sig) is False


@pytest.mark.parametrize(
    "args",
    [
        (b"", b"", b""),
        (bytes(31), b"m", bytes(64)),
        (bytes(32), b"m", bytes(63)),
        (bytes(32), b"m", bytes(65)),
        ("not bytes", b"m", bytes(64)),
        (bytes(32), "message", bytes(64)),
        (bytes(32), b"m", None),
    ],
)
def test_malformed_arguments_are_false_not_exceptions(args: tuple) -> None:
    assert verify(*args) is False


@settings(max_examples=8)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=200))
def test_agrees_with_openssl_on_random_keys_and_messages(seed: bytes, message: bytes) -> None:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    key = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = private.sign(message)
    assert verify(key, message, sig)
    assert not verify(key, message + b"!", sig)
