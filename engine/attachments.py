"""Attached documents: read once, stored once by content hash.

An entry records each attachment's name, sha256 and size; the bytes go to
the ``attachments`` table keyed by sha256, so the same document attached
twice is stored once, and an export can prove each file against its entry.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pathways.errors import UsageError

#: Largest attachment accepted; bigger evidence belongs in a document system, linked by hash.
MAX_ATTACHMENT = 50 * 1024 * 1024


@dataclass(frozen=True)
class AttachmentFile:
    name: str
    sha256: str
    size: int
    content: bytes

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> AttachmentFile:
        p = Path(path)
        try:
            content = p.read_bytes()
        except OSError as exc:
            raise UsageError(f"--attach {p}: cannot read ({exc.strerror})") from None
        if len(content) > MAX_ATTACHMENT:
            raise UsageError(f"--attach {p}: larger than {MAX_ATTACHMENT // 2**20} MiB")
        return cls(p.name, hashlib.sha256(content).hexdigest(), len(content), content)

    @property
    def ref(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}
