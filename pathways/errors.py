"""The project's one error hierarchy.

Every error a user can cause derives from :class:`PathwaysError`, and each
class carries the process exit code the command line uses for it, so that
``cli.main`` is the one place that turns an error into a message and an exit
status (the habit of click's ``ClickException``)::

    PathwaysError                 exit 1  base; a rule refused or a check failed
    ├── UsageError                exit 2  bad arguments or unreadable input
    │   └── NotFound              exit 2  no such pathway, proposal or user
    ├── DefinitionError           exit 1  a pathway definition has errors (carries every Problem)
    └── (engine) Refused, Conflict, InvalidData, VerificationFailed, DisclosureRisk   exit 1

Engine errors live in ``engine/errors.py`` and subclass this root, so the
pathway layer never needs to know about the database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One located finding in a definition file, 1-based like editors count.

    Printed as ``PATH:LINE:COL: error: message`` (the yamllint and compiler
    convention, so editors and CI annotate the offending line).
    """

    path: str
    line: int
    col: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
        }


class PathwaysError(Exception):
    """Base of every user-facing error; ``exit_code`` says how the CLI exits."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(PathwaysError):
    """Raised for bad arguments or input that cannot be read at all."""

    exit_code = 2


class NotFound(UsageError):
    """Raised when a named pathway, proposal, user or file does not exist."""


class DefinitionError(PathwaysError):
    """Raised by ``pathways.load`` when a definition has errors; holds them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "\n".join(str(p) for p in errors)
        super().__init__(f"{len(errors)} error(s) in pathway definition:\n{lines}")
