"""Running proposals: storage, the state machine runtime, the audit chain,
deadlines and verification. Builds on ``pathways``; the CLI is a thin layer
over :class:`Engine`.
"""

from .audit import GENESIS, LEAF_PREFIX, leaf_hash, verify_chain
from .errors import Conflict, DisclosureRisk, InvalidData, Refused, Tampered, VerificationFailed
from .runtime import Engine
from .verification import ChainReport

__all__ = [
    "GENESIS",
    "LEAF_PREFIX",
    "ChainReport",
    "Conflict",
    "DisclosureRisk",
    "Engine",
    "InvalidData",
    "Refused",
    "Tampered",
    "VerificationFailed",
    "leaf_hash",
    "verify_chain",
]
