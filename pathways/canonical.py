"""Canonical JSON bytes (RFC 8785, JSON Canonicalization Scheme).

The same canonical form serves two promises: a pathway's sha256 ignores
comments, key order and formatting but changes with any change of meaning;
and an audit entry's hash covers exact bytes that any RFC 8785
implementation reproduces. Text is NFC-normalised first, so the same words
typed on two keyboards (composed or decomposed accents) hash the same.
Audit data holds no floats (field values are stored as decimal strings);
definitions may hold numeric limits, which RFC 8785 formats like ECMAScript.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import rfc8785

#: RFC 8785 numbers are IEEE doubles: integers beyond this lose precision.
MAX_SAFE_INTEGER = 2**53 - 1


def _prepare(value: Any) -> tuple[Any, bool]:
    """One walk: the NFC-normalised value, and whether ``json.dumps`` gives its RFC 8785 bytes.

    ``json.dumps`` matches RFC 8785 for null, booleans, safe integers,
    strings, lists, and objects whose keys are ASCII: Python escapes strings
    as RFC 8785 does (short forms for \\b \\f \\n \\r \\t, other controls as
    lower-case \\u00xx, nothing else with ``ensure_ascii=False``), and for ASCII
    keys code-point order is UTF-16 order. It does not match for floats
    (ECMAScript number formatting) nor for non-ASCII keys (UTF-16 order
    differs above U+FFFF). Audit entries are plain (money is text), so they
    take the fast path; anything else goes to the reference implementation.
    A hypothesis test holds the two equal.
    """
    kind = type(value)
    if kind is str:
        return (value if value.isascii() else unicodedata.normalize("NFC", value)), True
    if value is None or kind is bool:
        return value, True
    if kind is int:
        return value, -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is dict:
        out, plain = {}, True
        for key, item in value.items():
            if type(key) is str and key.isascii():
                out[key], ok = _prepare(item)
            else:
                (key, _), (out[key], ok) = _prepare(key), _prepare(item)
                ok = False
            plain = plain and ok
        return out, plain
    if kind is list or kind is tuple:
        items = [_prepare(item) for item in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    return value, False


def _plain(value: Any) -> bool:
    """Whether ``json.dumps`` already gives ``value``'s RFC 8785 bytes as it stands: the same test as
    ``_prepare``, without building a normalised copy (an audit entry is nearly always plain, and the copy
    was the largest cost of sealing one)."""
    kind = type(value)
    if kind is str:
        return value.isascii() or unicodedata.is_normalized("NFC", value)
    if value is None or kind is bool:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if not _plain(item):
                return False
        return True
    return False


def normalise(value: Any) -> Any:
    """NFC-normalise every string (keys too) in a JSON-like value."""
    return _prepare(value)[0]


def jcs(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` exactly as given (the RFC's own test vectors)."""
    return rfc8785.dumps(value)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` after NFC normalisation.

    For text already in NFC (nearly all text) this is plain RFC 8785.
    """
    plain = _plain(value)
    if not plain:
        value, plain = _prepare(value)
    if plain:  # the common case, several times faster than the reference implementation
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                          allow_nan=False).encode("utf-8")
    return jcs(value)


class _NotPlain(Exception):
    """A float or an unsafe integer while parsing: the slow, exact comparison decides."""


def _int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _NotPlain
    return value


def _float(text: str) -> float:
    raise _NotPlain


def parse_canonical(body: bytes) -> Any:
    """The JSON value of ``body`` if ``body`` is exactly its canonical bytes; ``NotCanonical`` otherwise.

    Verification parses every stored entry and must prove its bytes
    canonical. For the usual entry (ASCII, no floats, safe integers) the
    parse itself shows plainness, and one ``json.dumps`` comparison finishes
    the proof, without walking the value; anything else is compared with
    ``canonical_bytes``. Malformed JSON raises ``ValueError``.
    """
    try:
        value = json.loads(body, parse_int=_int, parse_float=_float, parse_constant=_float)
        # Text in NFC, and no character above U+FFFF (no 4-byte UTF-8 sequence), where code-point key order
        # and RFC 8785's UTF-16 order could differ: then json.dumps gives the RFC 8785 bytes. JSON's quotes
        # and punctuation never combine with what follows them, so the whole text is NFC iff every string is.
        plain = body.isascii() or (max(body) < 0xF0 and unicodedata.is_normalized("NFC", body.decode("utf-8")))
    except _NotPlain:
        value, plain = json.loads(body), False
    if plain:
        again = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    else:
        try:
            again = canonical_bytes(value)
        except Exception as exc:  # noqa: BLE001 - e.g. an integer RFC 8785 cannot represent exactly
            raise NotCanonical(f"not canonical: {exc}") from None
    if again != body:
        raise NotCanonical("not canonical")
    return value


class NotCanonical(ValueError):
    """Raised by ``parse_canonical`` for JSON that is not in its canonical form."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
