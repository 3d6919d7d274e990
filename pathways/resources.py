"""Files shipped with the package: the definitions and the templates.

``pip install .`` installs ``definitions/`` as ``pathways.definitions`` and
``templates/`` as ``engine.templates`` (see ``[tool.setuptools.package-dir]``),
so they travel with a non-editable install. When the code runs from a source
checkout instead (``python -m pytest`` puts the checkout first on the path),
those packages do not exist and the checkout's folders are used.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _folder(package: str, folder: str) -> Traversable:
    try:
        return resources.files(package)
    except ModuleNotFoundError:
        return _CHECKOUT / folder


def definitions() -> Traversable:
    """The shipped pathway definitions (``*.yaml``)."""
    return _folder("pathways.definitions", "definitions")


def templates() -> Traversable:
    """The jinja2 templates and the bundle's ``verify.py``."""
    return _folder("engine.templates", "templates")


def definitions_folder() -> Path:
    """The shipped definitions as a folder on disk (``pathways definitions`` prints it).

    Installed, ``pathways.definitions`` has no ``__init__.py``, so
    ``resources.files`` gives a namespace package's ``MultiplexedPath``,
    whose text is not a path: the folder of its files is.
    """
    folder = definitions()
    if isinstance(folder, Path):
        return folder
    first = next(f for f in folder.iterdir() if f.name.endswith(".yaml"))
    return Path(str(first)).parent
