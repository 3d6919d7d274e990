"""Ed25519 signature verification from RFC 8032 §5.1, in pure Python (stdlib only).

Why not the ``cryptography`` package: the export bundle's ``verify.py`` must
check the log's signed checkpoints with nothing but ``python3 -I``, so the
verifier is written out here, small enough to read against the RFC, and
copied verbatim into the bundle (the ``BEGIN STANDALONE`` block; see
``engine.transparency.standalone``). Signing stays with ``cryptography``
(``keys.py``): a signer needs constant-time code, a verifier handles only
public data.

It is slow (big-int arithmetic, a few milliseconds a signature) and fine for
the few checkpoints a bundle carries. Points are in extended homogeneous
coordinates (RFC 8032 §5.1.4). Checked, each a ``False`` and never an
exception: lengths (32-byte key, 64-byte signature), point decoding (§5.1.3:
a y coordinate >= p, no square root, x = 0 with the sign bit set), and
S < L (§5.1.7 step 1, which stops signature malleability). The group
equation is the cofactored one the RFC states, ``[8][S]B = [8]R + [8][k]A``.
"""

from __future__ import annotations

import hashlib

# BEGIN STANDALONE ed25519 (stdlib only; needs hashlib)
_ED_P = 2**255 - 19  # the field prime
_ED_L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point
_ED_D = -121665 * pow(121666, _ED_P - 2, _ED_P) % _ED_P  # curve constant d = -121665/121666
_ED_SQRT_M1 = pow(2, (_ED_P - 1) // 4, _ED_P)  # a square root of -1
_ED_IDENTITY = (0, 1, 1, 0)


def _ed_add(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Point addition in extended coordinates (RFC 8032 §5.1.4)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _ED_P
    b = (y1 + x1) * (y2 + x2) % _ED_P
    c = 2 * t1 * t2 * _ED_D % _ED_P
    d = 2 * z1 * z2 % _ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _ED_P, g * h % _ED_P, f * g % _ED_P, e * h % _ED_P)


def _ed_mul(s: int, p: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Scalar multiplication ``[s]p`` by double-and-add (variable time: public inputs only)."""
    q = _ED_IDENTITY
    while s:
        if s & 1:
            q = _ed_add(q, p)
        p = _ed_add(p, p)
        s >>= 1
    return q


def _ed_equal(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> bool:
    """Projective equality: x1/z1 == x2/z2 and y1/z1 == y2/z2."""
    return (p[0] * q[2] - q[0] * p[2]) % _ED_P == 0 and (p[1] * q[2] - q[1] * p[2]) % _ED_P == 0


def _ed_recover_x(y: int, sign: int) -> int | None:
    """The x with the given low bit on the curve at ``y`` (RFC 8032 §5.1.3 steps 1-4), or None."""
    if y >= _ED_P:
        return None
    x2 = (y * y - 1) * pow(_ED_D * y * y + 1, _ED_P - 2, _ED_P) % _ED_P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_ED_P + 3) // 8, _ED_P)
    if (x * x - x2) % _ED_P:
        x = x * _ED_SQRT_M1 % _ED_P
    if (x * x - x2) % _ED_P:
        return None
    return _ED_P - x if x & 1 != sign else x


def _ed_decode(encoded: bytes) -> tuple[int, int, int, int] | None:
    """Decode a 32-byte point (little-endian y, sign of x in the top bit), or None."""
    y = int.from_bytes(encoded, "little")
    x = _ed_recover_x(y & ((1 << 255) - 1), y >> 255)
    if x is None:
        return None
    y &= (1 << 255) - 1
    return (x, y, 1, x * y % _ED_P)


_ED_BASE = _ed_decode((4 * pow(5, _ED_P - 2, _ED_P) % _ED_P).to_bytes(32, "little"))  # B: y = 4/5, x even


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 §5.1.7: True if ``signature`` is ``public_key``'s Ed25519 signature of ``message``."""
    if not all(isinstance(v, bytes) for v in (public_key, message, signature)):
        return False
    if len(public_key) != 32 or len(signature) != 64 or _ED_BASE is None:
        return False
    a, r = _ed_decode(public_key), _ed_decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _ED_L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _ED_L
    left = _ed_mul(8, _ed_mul(s, _ED_BASE))
    right = _ed_mul(8, _ed_add(r, _ed_mul(k, a)))
    return _ed_equal(left, right)


# END STANDALONE ed25519

#: The name the project uses; ``ed25519_verify`` is the one that survives inlining without clashing.
verify = ed25519_verify
