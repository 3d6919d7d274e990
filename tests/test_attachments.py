"""Attachments are checked before they are read, and read in bounded pieces."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine import attachments
from engine.attachments import MAX_ATTACHMENT, AttachmentFile
from pathways.errors import UsageError


def test_a_document_is_hashed_and_kept_whole(tmp_path: Path) -> None:
    doc = tmp_path / "quote.pdf"
    body = os.urandom(3 * attachments.CHUNK + 17)  # several chunks and a tail
    doc.write_bytes(body)
    got = AttachmentFile.read(doc)
    assert (got.name, got.size, got.content) == ("quote.pdf", len(body), body)
    assert got.sha256 == hashlib.sha256(body).hexdigest()
    assert got.ref == {"name": "quote.pdf", "sha256": got.sha256, "size": len(body)}


def test_a_file_at_the_limit_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_ATTACHMENT", 10)
    monkeypatch.setattr(attachments, "CHUNK", 3)
    (tmp_path / "ten").write_bytes(b"0123456789")
    assert AttachmentFile.read(tmp_path / "ten").size == 10
    (tmp_path / "eleven").write_bytes(b"0123456789A")
    with pytest.raises(UsageError, match="larger than"):
        AttachmentFile.read(tmp_path / "eleven")


def test_a_huge_sparse_file_is_refused_by_size_without_reading_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "huge.bin"
    big.touch()
    os.truncate(big, 8 * 2**30)  # 8 GiB, no blocks on disk

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(attachments.os, "open", no_open)
    with pytest.raises(UsageError, match=r"huge.bin: 8192.0 MiB is larger than the 50 MiB limit"):
        AttachmentFile.read(big)
    assert MAX_ATTACHMENT == 50 * 2**20


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_as_a_device() -> None:
    with pytest.raises(UsageError, match="/dev/zero: is a character device, not a document"):
        AttachmentFile.read("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="is a named pipe"):
        AttachmentFile.read(fifo)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a folder"):
        AttachmentFile.read(tmp_path)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        AttachmentFile.read(tmp_path / "nope.pdf")


def test_a_file_name_hiding_its_extension_is_refused(tmp_path: Path) -> None:
    sly = tmp_path / "invoice\u202efdp.exe"
    sly.write_bytes(b"x")
    with pytest.raises(UsageError, match=r"U\+202E RIGHT-TO-LEFT OVERRIDE"):
        AttachmentFile.read(sly)
