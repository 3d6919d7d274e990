"""Attached documents: read once, stored once by content hash.

An entry records each attachment's name, sha256 and size; the bytes go to
the ``attachments`` table keyed by sha256, so the same document attached
twice is stored once, and an export can prove each file against its entry.

A path is checked before it is read: only regular files, and only up to
:data:`MAX_ATTACHMENT` by ``stat`` (a sparse 8 GiB file is refused without
reading a byte). The file is opened non-blocking (so a FIFO swapped in
after the check cannot hang the command), checked again on the open
descriptor, and read and hashed in :data:`CHUNK` pieces that stop at the
limit, so memory stays bounded even if the file grows while being read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pathways.errors import UsageError
from pathways.fields import FieldProblem, one_line_text

#: Largest attachment accepted; bigger evidence belongs in a document system, linked by hash.
MAX_ATTACHMENT = 50 * 1024 * 1024
#: Read and hash in pieces of this size.
CHUNK = 1024 * 1024

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _check(p: Path, mode: int, size: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise UsageError(f"--attach {p}: is {kind}, not a document; attach a saved file")
    if size > MAX_ATTACHMENT:
        raise UsageError(f"--attach {p}: {size / 2**20:.1f} MiB is larger than the {MAX_ATTACHMENT // 2**20} MiB "
                         "limit; keep it in a document system and attach a summary")


@dataclass(frozen=True)
class AttachmentFile:
    name: str
    sha256: str
    size: int
    content: bytes

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> AttachmentFile:
        """Read a regular file of at most ``MAX_ATTACHMENT`` bytes, or ``UsageError`` saying why not."""
        p = Path(path)
        try:
            name = one_line_text(f"--attach {p}: the file name", p.name)
        except FieldProblem as problem:
            raise UsageError(str(problem)) from None
        try:
            before = os.stat(p)
            _check(p, before.st_mode, before.st_size)
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise UsageError(f"--attach {p}: cannot read ({exc.strerror})") from None
        with os.fdopen(fd, "rb", buffering=0) as f:
            opened = os.fstat(f.fileno())
            _check(p, opened.st_mode, opened.st_size)  # the path may have changed since the stat
            digest = hashlib.sha256()
            chunks: list[bytes] = []
            size = 0
            try:
                while chunk := f.read(min(CHUNK, MAX_ATTACHMENT + 1 - size)):
                    size += len(chunk)
                    if size > MAX_ATTACHMENT:
                        _check(p, opened.st_mode, size)  # it grew while we read it
                    digest.update(chunk)
                    chunks.append(chunk)
            except OSError as exc:
                raise UsageError(f"--attach {p}: cannot read ({exc.strerror})") from None
        return cls(name, digest.hexdigest(), size, b"".join(chunks))

    @property
    def ref(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}
