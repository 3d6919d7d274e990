"""The one jinja2 environment every page renders through: audit reports, rules pages, later letters and the web.

Loaded from the installed package resources (so ``pip install .`` works),
with autoescaping on (vendor text is data, never markup: a ``<script>`` or a
``{{ 7*7 }}`` in a field prints as those characters) and ``StrictUndefined``
(a missing value in a legal document must fail the render, not print blank).
Markdown output gets the same guarantee from :func:`md_escape`, which
neutralises Markdown syntax as well as HTML. Filters: ``md``, ``css_string``,
``duration``, ``text`` (a value as people read it) and ``local`` (a stored
UTC time in a zone, to the minute: ``pathways.display``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined
from markupsafe import Markup

from pathways import display
from pathways.errors import UsageError
from pathways.resources import templates


def _template_source(name: str) -> tuple[str, str, Callable[[], bool]]:
    resource = templates().joinpath(name)
    if not resource.is_file():
        from jinja2 import TemplateNotFound

        raise TemplateNotFound(name)
    return resource.read_text(encoding="utf-8"), f"engine/templates/{name}", lambda: True


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")


def md_escape(value: Any) -> Markup:
    """Vendor text made inert in Markdown: no links, emphasis, HTML, tables or template syntax.

    HTML-significant characters become entities (Markdown renders them as
    text), Markdown punctuation is backslash-escaped, and line breaks become
    ``<br>`` so a value cannot start a heading or a list. GitHub's autolinking
    of bare ``https://`` text still applies: it shows the address as written.
    """
    text = value_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return Markup(re.sub(r"\r\n|\r|\n", "<br>", text))


def css_string(value: Any) -> Markup:
    """A CSS string literal (for ``@page`` running headers); nothing can close the string or the style."""
    return Markup('"' + "".join(c if c.isalnum() or c in " -_.:/()" else f"\\{ord(c):x} " for c in str(value)) + '"')


def duration(seconds: float | None) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``40 s``: precise enough to compare stages, short enough for a table."""
    if seconds is None:
        return "—"
    s = int(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def value_text(value: Any) -> str:
    """A field value as a reader expects it (booleans as yes/no, lists comma-separated)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


@functools.cache
def environment() -> Environment:
    """The one template environment: package resources, autoescape on, missing values fail."""
    env = Environment(
        loader=FunctionLoader(_template_source),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        md=md_escape, css_string=css_string, duration=duration, text=value_text, local=display.local_time
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_pdf(html: str) -> bytes:
    """The HTML as PDF through WeasyPrint (the optional ``pdf`` extra); no network fetches."""
    try:
        import weasyprint
    except ImportError:
        raise UsageError(
            "PDF output needs WeasyPrint: pip install 'procurement-pathways[pdf]' "
            "(or use --format html and print it from a browser)"
        ) from None

    def offline(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"reports are self-contained; refusing to fetch {url}")

    return weasyprint.HTML(string=html, url_fetcher=offline).write_pdf()
