"""Signed notes and checkpoints: Go's golden note, round trips, rotation, and every way to break one.

The golden vector is the example of Go's reference implementation
(``golang.org/x/mod/sumdb/note``, ``note_test.go``): the PeterNeumann and
EnochRoot keys and their signatures over the same text. The C2SP spec's own
examples publish no verifier key, so only their checkpoint text is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.transparency import (
    Checkpoint,
    NoteError,
    SigningKey,
    generate_key,
    load_key,
    open_checkpoint,
    parse_note,
    save_key,
    sign_note,
    standalone_source,
    verify_note,
)
from pathways.errors import PathwaysError, UsageError

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"  # noqa: E501
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
GO_NOTE = GO_TEXT + "\n" + PETER_SIG

OLD, NEW = generate_key("log.example/pathways"), generate_key("log.example/pathways")
CHECKPOINT = Checkpoint("log.example/pathways", 20852163, bytes(range(32)))
ROTATED = sign_note(CHECKPOINT.to_text(), [OLD, NEW])


def test_go_golden_note_verifies_and_our_signer_reproduces_it_byte_for_byte() -> None:
    assert verify_note(GO_NOTE, [GO_VKEY]) == ["PeterNeumann"]
    assert verify_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [GO_VKEY, ENOCH_VKEY]) == ["PeterNeumann", "EnochRoot"]
    key = SigningKey.parse(GO_SKEY)
    assert str(key.verifier) == GO_VKEY and str(key) == GO_SKEY
    assert sign_note(GO_TEXT, [key]) == GO_NOTE


def test_a_note_signed_with_cryptography_directly_verifies_with_the_stdlib_verifier() -> None:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(b"signer.example\n\x01" + public).digest()[:4]  # signed-note §Ed25519
    text = "hello\n"
    note = text + "\n\u2014 signer.example " + base64.b64encode(key_id + private.sign(text.encode())).decode() + "\n"
    vkey = "signer.example+" + key_id.hex() + "+" + base64.b64encode(b"\x01" + public).decode()
    assert verify_note(note, [vkey]) == ["signer.example"]


def test_round_trip_and_parse() -> None:
    note = sign_note("line one\n\nline three\n", [OLD])
    text, sigs = parse_note(note)
    assert text == "line one\n\nline three\n"
    assert [(s.name, s.key_id) for s in sigs] == [(OLD.name, OLD.verifier.key_id)]
    assert verify_note(note.encode(), [str(OLD.verifier)]) == [OLD.name]


def test_a_rotation_checkpoint_verifies_under_either_key() -> None:
    for trusted in ([OLD.verifier], [NEW.verifier], [OLD.verifier, NEW.verifier]):
        checkpoint, names = open_checkpoint(ROTATED, trusted)
        assert checkpoint == CHECKPOINT and len(names) == len(trusted)


BROKEN = {
    "signed-by-another-key": lambda: verify_note(sign_note(GO_TEXT, [NEW]), [OLD.verifier]),
    "edited-body": lambda: verify_note(ROTATED.replace("20852163", "20852162"), [OLD.verifier]),
    "wrong-key-name": lambda: verify_note(GO_NOTE.replace("PeterNeumann x08", "PeterNeuman x08"), [GO_VKEY]),
    "duplicated-signature-line": lambda: verify_note(GO_NOTE + PETER_SIG, [GO_VKEY]),
    "malformed-base64": lambda: verify_note(GO_NOTE.replace("x08go", "x08g*"), [GO_VKEY]),
    "non-canonical-base64": lambda: verify_note(GO_NOTE.replace("AM=", "AN="), [GO_VKEY]),
    "signature-too-short": lambda: verify_note(GO_TEXT + "\n— PeterNeumann AAAA\n", [GO_VKEY]),
    "no-blank-line": lambda: verify_note(GO_TEXT + PETER_SIG, [GO_VKEY]),
    "no-signatures": lambda: verify_note(GO_TEXT + "\n", [GO_VKEY]),
    "no-final-newline": lambda: verify_note(GO_NOTE[:-1], [GO_VKEY]),
    "trailing-line": lambda: verify_note(GO_NOTE + "Unexpected line.\n", [GO_VKEY]),
    "control-character": lambda: verify_note("\x01" + GO_NOTE, [GO_VKEY]),
    "invalid-utf8": lambda: verify_note(b"\xff" + GO_NOTE.encode(), [GO_VKEY]),
    "name-with-space": lambda: verify_note(GO_TEXT + "\n— Bad Name x08go/ZJk=\n", [GO_VKEY]),
    "known-key-bad-signature": lambda: verify_note(GO_NOTE.replace("x08go/ZJku", "x08go/ZJkv"), [GO_VKEY]),
    "too-many-signatures": lambda: verify_note(GO_TEXT + "\n" + PETER_SIG * 101, [GO_VKEY]),
    "vkey-mangled": lambda: verify_note(GO_NOTE, [GO_VKEY.replace("c74f20a3", "c74f20a4")]),
    "vkey-not-a-string": lambda: verify_note(GO_NOTE, [42]),  # type: ignore[list-item]
    "no-trusted-keys": lambda: verify_note(GO_NOTE, []),
    "skey-wrong-id": lambda: SigningKey.parse(GO_SKEY.replace("c74f20a3", "c74f20a4")),
    "sign-text-without-newline": lambda: sign_note("abc", [OLD]),
    "sign-same-key-twice": lambda: sign_note(GO_TEXT, [OLD, OLD]),
}


@pytest.mark.parametrize("break_it", BROKEN.values(), ids=BROKEN.keys())
def test_broken_notes_are_a_project_error_never_a_traceback(break_it) -> None:
    with pytest.raises(NoteError) as caught:
        break_it()
    assert isinstance(caught.value, PathwaysError) and caught.value.exit_code == 1


def test_messages_name_the_key() -> None:
    with pytest.raises(NoteError, match=r"signature by PeterNeumann\+c74f20a3 does not verify"):
        verify_note(GO_NOTE.replace("x08go/ZJku", "x08go/ZJkv"), [GO_VKEY])
    with pytest.raises(NoteError, match=r"no signature by a trusted key \(signed by PeterNeumann\+c74f20a3\)"):
        verify_note(GO_NOTE, [ENOCH_VKEY])


@settings(max_examples=25)
@given(at=st.integers(min_value=0), xor=st.integers(1, 255))
def test_any_changed_byte_of_a_signed_checkpoint_is_rejected(at: int, xor: int) -> None:
    # One signature: in a rotated checkpoint, a changed byte in the *untrusted* key's line
    # is rightly ignored (signed-note: unknown keys are skipped).
    raw = bytearray(sign_note(CHECKPOINT.to_text(), [OLD]).encode())
    raw[at % len(raw)] ^= xor
    with pytest.raises(NoteError):
        open_checkpoint(bytes(raw), [OLD.verifier])


def test_checkpoint_text_round_trips_and_parses_the_c2sp_example() -> None:
    example = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    parsed = Checkpoint.from_text(example)
    assert (parsed.origin, parsed.size, parsed.to_text()) == ("example.com/behind-the-sofa", 20852163, example)
    with_ext = Checkpoint("o", 0, bytes(32), ("ext one", "ext two"))
    assert Checkpoint.from_text(with_ext.to_text()) == with_ext


@pytest.mark.parametrize(
    "text",
    [
        "o\n007\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zeros
        "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n\u0661\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # an Arabic-Indic digit one
        "o\n1\nAAAA\n",  # a 3-byte root
        "o\n1\n",  # two lines
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  # empty extension line
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.from_text(text)


def test_keys_are_saved_0600_never_overwritten_and_load_back(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    save_key(OLD, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(path) == OLD
    with pytest.raises(UsageError, match="already exists"):
        save_key(NEW, path)
    with pytest.raises(UsageError) as caught:
        load_key(tmp_path / "missing.key")
    assert caught.value.exit_code == 2
    assert OLD.seed.hex() not in repr(OLD) and base64.b64encode(OLD.seed).decode() not in repr(OLD)


def test_the_standalone_copy_verifies_the_golden_note_under_python_isolated(tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(
        standalone_source()
        + "\n\nimport sys\n"
        + f"print(verify_note({GO_NOTE!r}, [{GO_VKEY!r}]))\n"
        + "try:\n"
        + f"    open_checkpoint({ROTATED.replace('20852163', '1')!r}, [{str(OLD.verifier)!r}])\n"
        + "except NoteError as e:\n"
        + "    print('rejected:', e)\n"
    )
    done = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "['PeterNeumann']"
    assert done.stdout.splitlines()[1].startswith("rejected: signature by log.example/pathways+")
