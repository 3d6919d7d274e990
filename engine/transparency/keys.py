"""The log's signing keys, and signing notes (C2SP signed-note, Ed25519).

Signing uses the ``cryptography`` package (OpenSSL's constant-time Ed25519);
only verifying is written out in pure Python (``ed25519.py``), because only
verifying must run inside an export bundle.

A private key is one line of text, the format of Go's
``golang.org/x/mod/sumdb/note`` (so ``note.NewSigner`` reads our keys and we
read keys Go tools made)::

    PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte Ed25519 seed)>

:func:`save_key` writes it with mode 0600 and never over an existing file:
losing a log key by accident is worse than an error. The matching public
``name+keyid+key`` line (:class:`~.note.VerifierKey`) is what gets published.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from pathways.errors import UsageError

from .note import NOTE_ED25519, NoteError, VerifierKey, note_b64decode, note_check_name, note_check_text, note_key_id

_SKEY_PREFIX = "PRIVATE+KEY+"


@dataclass(frozen=True)
class SigningKey:
    """A named Ed25519 private key that signs notes.

    Attributes:
        name: the key name written on every signature line (the log's origin, usually).
        seed: the 32-byte RFC 8032 private key.
    """

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        note_check_name(self.name)
        if not isinstance(self.seed, bytes) or len(self.seed) != 32:
            raise NoteError("an Ed25519 private key is 32 bytes")

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> VerifierKey:
        """The public half, to publish as ``name+keyid+key``."""
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, note_key_id(self.name, public), public)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def __str__(self) -> str:
        payload = base64.b64encode(bytes([NOTE_ED25519]) + self.seed).decode()
        return f"{_SKEY_PREFIX}{self.name}+{self.verifier.key_id.hex()}+{payload}"

    def __repr__(self) -> str:  # never print the seed into a log or a traceback
        return f"SigningKey({self.verifier})"

    @classmethod
    def parse(cls, skey: str) -> SigningKey:
        """Read a ``PRIVATE+KEY+name+keyid+key`` line; the key ID must match the key."""
        parts = skey.strip().split("+", 4) if isinstance(skey, str) else []  # base64 may hold "+"
        if len(parts) != 5 or "+".join(parts[:2]) + "+" != _SKEY_PREFIX:
            raise NoteError("malformed private key: expected PRIVATE+KEY+name+keyid+key")
        raw = note_b64decode(parts[4], "private key")
        if len(raw) != 33 or raw[0] != NOTE_ED25519:
            raise NoteError(f"private key {parts[2]!r} is not an Ed25519 key")
        key = cls(parts[2], raw[1:])
        if key.verifier.key_id.hex() != parts[3]:
            raise NoteError(f"private key {parts[2]!r}: key ID {parts[3]!r} does not match the key")
        return key


def generate_key(name: str) -> SigningKey:
    """A new random Ed25519 key named ``name``."""
    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return SigningKey(name, seed)


def save_key(key: SigningKey, path: str | os.PathLike[str]) -> None:
    """Write ``key`` to a new file readable by its owner only (0600); an existing file is an error."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path}: already exists; a signing key is never overwritten") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the key: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"{key}\n")


def load_key(path: str | os.PathLike[str]) -> SigningKey:
    """Read a key :func:`save_key` wrote (or Go's ``note.GenerateKey`` made)."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the key: {exc}") from None
    return SigningKey.parse(text)


def sign_note(text: str, keys: Iterable[SigningKey]) -> str:
    """``text`` as a signed note, one signature line per key, in order.

    Several keys serve a key rotation: a checkpoint signed by the old and the
    new key verifies for readers who trust either.
    """
    keys = list(keys)
    note_check_text(text)
    if not keys:
        raise NoteError("a note needs at least one signing key")
    ids = [(k.name, k.verifier.key_id) for k in keys]
    if len(set(ids)) != len(ids):
        raise NoteError("the same key is named twice among the signers")
    lines = []
    for key, (name, key_id) in zip(keys, ids, strict=True):
        lines.append(f"\u2014 {name} " + base64.b64encode(key_id + key.sign(text.encode())).decode() + "\n")
    return text + "\n" + "".join(lines)
