"""Signed notes and checkpoints (C2SP signed-note and tlog-checkpoint), verifying side.

A checkpoint is the log's signed statement "my tree of ``size`` leaves has
``root``": a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint), whose
text is the origin, the decimal size, the base64 root and optional extension
lines, each ending in a newline, signed as a C2SP signed note
(https://c2sp.org/signed-note): the text, a blank line, then one line per
signature, ``— <name> base64(key ID || Ed25519 signature)``. The key ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; a verifier key is
written ``name+hex(key ID)+base64(0x01 || public key)`` as in Go's
``golang.org/x/mod/sumdb/note``, so Go tooling and witnesses can read ours.

Verification rules (signed-note §Signatures): signatures from unknown keys
are ignored (that is what lets a checkpoint carry the old and the new key
during a rotation); a known key's bad signature rejects the whole note; a
note with no verified signature is rejected. Stricter than Go, because we
write every note ourselves: two signature lines for the same key, and
non-canonical base64, are malformed.

This module is stdlib only: its ``BEGIN STANDALONE`` block is copied into the
bundle's ``verify.py`` with the Ed25519 verifier (see ``standalone.py``) and
needs ``base64``, ``hashlib``, ``dataclass``, ``ed25519_verify`` and a
``NoteError`` class. Signing, which needs ``cryptography``, is in ``keys.py``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from pathways.errors import PathwaysError

from .ed25519 import ed25519_verify


class NoteError(PathwaysError):
    """A signed note or checkpoint is malformed or does not verify (exit 1)."""


# BEGIN STANDALONE signed notes (stdlib only; needs base64, hashlib, dataclass, ed25519_verify, NoteError)
NOTE_ED25519 = 0x01  # signed-note signature type of Ed25519
NOTE_MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16; Go's limit is 100
_NOTE_DASH = "\u2014 "  # em dash and space start every signature line


def note_b64decode(text: str, what: str) -> bytes:
    """Strict, canonical standard base64 (RFC 4648 §4): one text, one value."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise NoteError(f"{what} is not valid base64: {text[:80]!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64: {text[:80]!r}")
    return raw


def note_check_name(name: str) -> str:
    """Key names are non-empty, without Unicode spaces, plus signs or control characters."""
    if not isinstance(name, str) or not name or any(c.isspace() or c == "+" or c < " " for c in name):
        raise NoteError(f"invalid key name {name!r}: it must be non-empty, without spaces or '+'")
    return name


def note_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    material = note_check_name(name).encode() + b"\n" + bytes([NOTE_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A trusted public key: its name, 4-byte key ID and 32-byte Ed25519 key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Read ``name+hex(key ID)+base64(0x01 || key)``; the key ID must match the key."""
        parts = vkey.split("+", 2) if isinstance(vkey, str) else []  # base64 may hold "+"
        if len(parts) != 3 or len(parts[1]) != 8 or any(c not in "0123456789abcdef" for c in parts[1]):
            raise NoteError(f"malformed verifier key {str(vkey)[:80]!r}: expected name+keyid+key")
        raw = note_b64decode(parts[2], "verifier key")
        if len(raw) != 33 or raw[0] != NOTE_ED25519:
            raise NoteError(f"verifier key {parts[0]!r} is not a 32-byte Ed25519 key")
        key = cls(note_check_name(parts[0]), bytes.fromhex(parts[1]), raw[1:])
        if note_key_id(key.name, key.public_key) != key.key_id:
            raise NoteError(f"verifier key {key.name!r}: key ID {parts[1]} does not match the key")
        return key

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+" + base64.b64encode(bytes([NOTE_ED25519]) + self.public_key).decode()


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the signer's name and key ID, and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes


def note_check_text(text: str) -> str:
    """Note text is UTF-8, ends in a newline and holds no control character but newline."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("malformed note: the text must end with a newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("malformed note: not valid UTF-8") from None
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("malformed note: control characters other than newline")
    return text


def parse_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, without verifying anything."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("malformed note: not valid UTF-8") from None
    note = note_check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block[:-1].split("\n") if block else []  # not splitlines(): it also splits at U+2028
    if not lines or len(lines) > NOTE_MAX_SIGNATURES:
        raise NoteError(f"malformed note: {len(lines)} signature lines (1 to {NOTE_MAX_SIGNATURES} allowed)")
    signatures, seen = [], set()
    for number, line in enumerate(lines, 1):
        fields = line[len(_NOTE_DASH) :].split(" ")
        if not line.startswith(_NOTE_DASH) or len(fields) != 2:
            raise NoteError(f"malformed note: signature line {number} is not '— name signature'")
        raw = note_b64decode(fields[1], f"signature line {number}")
        if len(raw) < 5:
            raise NoteError(f"malformed note: signature line {number} is too short")
        sig = NoteSignature(note_check_name(fields[0]), raw[:4], raw[4:])
        if (sig.name, sig.key_id) in seen:
            raise NoteError(f"malformed note: two signatures by {sig.name}+{sig.key_id.hex()}")
        seen.add((sig.name, sig.key_id))
        signatures.append(sig)
    return text, signatures


def verify_note(note: str | bytes, vkeys: list[VerifierKey | str]) -> list[str]:
    """The names of the trusted keys whose signatures verify; raises unless there is at least one."""
    trusted = {}
    for vkey in vkeys:
        key = vkey if isinstance(vkey, VerifierKey) else VerifierKey.parse(vkey)
        if trusted.setdefault((key.name, key.key_id), key) != key:
            raise NoteError(f"ambiguous verifier keys: two keys named {key.name}+{key.key_id.hex()}")
    text, signatures = parse_note(note)
    verified = []
    for sig in signatures:
        key = trusted.get((sig.name, sig.key_id))
        if key is None:
            continue  # unknown keys are ignored (signed-note §Signatures)
        if not ed25519_verify(key.public_key, text.encode(), sig.signature):
            raise NoteError(f"signature by {sig.name}+{sig.key_id.hex()} does not verify")
        verified.append(sig.name)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in signatures)
        raise NoteError(f"no signature by a trusted key (signed by {names})")
    return verified


@dataclass(frozen=True)
class Checkpoint:
    """A tree head (tlog-checkpoint): origin, tree size, 32-byte root, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lines = (self.origin, *self.extensions) if isinstance(self.extensions, tuple) else ("",)
        if not all(isinstance(s, str) and s and "\n" not in s for s in lines):
            raise NoteError("checkpoint origin and extension lines must be non-empty single lines")
        if type(self.size) is not int or self.size < 0:
            raise NoteError(f"checkpoint tree size must be a non-negative integer, got {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise NoteError("checkpoint root must be 32 bytes")

    def to_text(self) -> str:
        """The note text: one line each for origin, size, base64 root and every extension."""
        lines = (self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions)
        return note_check_text("".join(line + "\n" for line in lines))

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse checkpoint text; the size is ASCII decimal without leading zeros."""
        lines = note_check_text(text)[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(f"malformed checkpoint: {len(lines)} lines, at least 3 needed")
        size = lines[1]
        if not size or any(c not in "0123456789" for c in size) or (size[0] == "0" and size != "0"):
            raise NoteError(f"malformed checkpoint: tree size {size[:40]!r} is not a decimal number")
        return cls(lines[0], int(size), note_b64decode(lines[2], "checkpoint root"), tuple(lines[3:]))


def open_checkpoint(note: str | bytes, vkeys: list[VerifierKey | str]) -> tuple[Checkpoint, list[str]]:
    """Verify a signed checkpoint and parse it: the checkpoint and the names that signed it."""
    names = verify_note(note, vkeys)
    return Checkpoint.from_text(parse_note(note)[0]), names


# END STANDALONE signed notes
