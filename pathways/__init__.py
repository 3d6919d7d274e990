"""The pathway model: load YAML definitions, validate them with located errors,
run static checks and type-check guards, and draw diagrams.

This package knows nothing of the database (``engine`` builds on it), and
importing it stays cheap because ``pathways validate`` runs on every save.
"""

from .errors import DefinitionError, NotFound, PathwaysError, Problem, UsageError
from .load import check_file, expand, load, loads
from .model import KNOWN_KINDS, Citation, Deadline, Field, Guard, Pathway, Stage, Transition

__all__ = [
    "KNOWN_KINDS",
    "Citation",
    "Deadline",
    "DefinitionError",
    "Field",
    "Guard",
    "NotFound",
    "Pathway",
    "PathwaysError",
    "Problem",
    "Stage",
    "Transition",
    "UsageError",
    "check_file",
    "expand",
    "load",
    "loads",
]
