"""Errors the engine raises; all derive from ``pathways.errors.PathwaysError``.

``Refused``             exit 1  a transition (or intake) broke a rule; carries every reason
``Conflict``            exit 1  publishing other content under a published id+version
``InvalidData``         exit 1  proposal data does not fit the pathway's fields
``VerificationFailed``  exit 1  an audit chain does not verify; names the first bad entry
``DisclosureRisk``      exit 1  a public export would contain a confidential value; nothing is written
``Tampered``            exit 1  a table the write path relies on contradicts the chains; nothing is written
``InvalidOpenData``     exit 1  an OCDS package the engine built does not validate against the 1.1.5 schemas
"""

from __future__ import annotations

from pathways.errors import PathwaysError


class Refused(PathwaysError):
    """A request the rules do not allow. It is recorded in the trail too, when it names a proposal."""

    def __init__(self, reasons: list[str], *, seq: int | None = None, hash: str | None = None) -> None:
        self.reasons = list(reasons)
        self.seq = seq
        self.hash = hash
        super().__init__("refused: " + "; ".join(self.reasons))


class Conflict(PathwaysError):
    """Raised when a published pathway id+version would change content."""


class InvalidData(PathwaysError):
    """Raised when proposal data does not fit the pathway's typed fields."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid proposal data:\n  " + "\n  ".join(self.problems))


class VerificationFailed(PathwaysError):
    """Raised by ``verify``: the first bad entry of the first bad chain."""

    def __init__(self, chain: str, seq: int | None, reason: str) -> None:
        self.chain = chain
        self.seq = seq
        self.reason = reason
        where = f"{chain} seq {seq}" if seq is not None else chain
        super().__init__(f"{where}: {reason}")


class DisclosureRisk(PathwaysError):
    """Raised (exit 1) when a public bundle would contain a confidential value; nothing is written."""


class Tampered(PathwaysError):
    """Raised (exit 1) when a cached row contradicts what the chain says; nothing is written.

    The write path checks what it can cheaply (the proposal row against its
    last entry, the rules against their published sha256, the registry head
    against the registry chain) and refuses rather than act on a forged cache.
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}; nothing was changed. Run 'pathways verify' to see what differs and "
                         "'pathways rebuild' (an admin) to restore the tables from the audit trail")


class InvalidOpenData(PathwaysError):
    """Raised (exit 1) when an OCDS package does not validate against the official 1.1.5 schemas.

    The engine validates what it would publish before writing it, so a mapping bug (or a
    pathway whose data the mapping does not expect) refuses to publish instead of
    publishing data that other tools would reject; the message names each failing path.
    """

    def __init__(self, what: str, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{what} does not validate against OCDS 1.1.5; nothing was written:\n  "
                         + "\n  ".join(self.problems))
