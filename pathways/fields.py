"""Proposal data: checking values against a pathway's typed fields.

Values arrive from YAML or JSON files (typed) and from ``--set K=V`` (text),
so each type accepts both and stores one canonical JSON form: money and
numbers as decimal strings (never floats: 0.1 + 0.2 must not appear in a
legal record), dates as ``YYYY-MM-DD``, booleans as JSON booleans. Every
problem names the field and says what would be accepted.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from .canonical import MAX_SAFE_INTEGER
from .model import Field, Pathway
from .structure import hint

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class FieldProblem(ValueError):
    """One value that does not fit its field; the message says what would."""


def clean_text(label: str, raw: str) -> str:
    """NFC text, or ``FieldProblem`` for text that is not valid Unicode.

    Bytes that are not UTF-8 on a command line reach Python as lone
    surrogates; they cannot be written into a UTF-8 record, so they are
    refused here with a message instead of failing deep in the hashing.
    """
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldProblem(f"{label}: not valid UTF-8 text") from None
    return unicodedata.normalize("NFC", raw)


def _decimal(field: Field, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise FieldProblem(f"{field.name}: expected an amount, got {raw!r}")
    text = str(raw).strip().replace(",", "").removeprefix("$") if isinstance(raw, str) else repr(raw)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldProblem(f"{field.name}: '{raw}' is not a number (write e.g. 12000 or 12000.50)") from None
    if not value.is_finite():
        raise FieldProblem(f"{field.name}: '{raw}' is not a finite number")
    if field.type == "money" and value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise FieldProblem(f"{field.name}: '{raw}' has more than two decimals")
    return value


def _bounds(field: Field, number: Decimal | int) -> None:
    if field.type == "money" and field.minimum is None and number < 0:
        raise FieldProblem(f"{field.name}: {number} is negative; an amount is 0 or more")
    if field.minimum is not None and number < Decimal(str(field.minimum)):
        raise FieldProblem(f"{field.name}: {number} is below the minimum {field.minimum}")
    if field.maximum is not None and number > Decimal(str(field.maximum)):
        raise FieldProblem(f"{field.name}: {number} is above the maximum {field.maximum}")


def coerce(field: Field, raw: Any) -> Any:
    """The stored (canonical JSON) form of ``raw`` for ``field``, or ``FieldProblem``."""
    kind = field.type
    if raw is None:
        raise FieldProblem(f"{field.name}: a value is required (got nothing)")
    if kind in ("string", "text", "enum"):
        if isinstance(raw, bool):  # YAML reads unquoted yes/no/on/off as true/false
            raise FieldProblem(f"{field.name}: expected text, got {str(raw).lower()}; if you meant the word, "
                               "quote it (\"no\")")
        if not isinstance(raw, (str, int, float)):
            raise FieldProblem(f"{field.name}: expected text, got a {type(raw).__name__}")
        text = clean_text(field.name, str(raw))
        if kind == "string" and "\n" in text:
            raise FieldProblem(f"{field.name}: must be one line (use a 'text' field for long text)")
        if kind == "enum" and text not in field.values:
            raise FieldProblem(f"{field.name}: '{text}' is not one of {', '.join(field.values)}"
                               f"{hint(text, list(field.values))}")
        return text
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise FieldProblem(f"{field.name}: '{raw}' is not true or false")
    if kind == "integer":
        try:
            number = int(str(raw).strip()) if not isinstance(raw, (bool, float)) else None
        except ValueError:
            number = None
        if number is None:
            raise FieldProblem(f"{field.name}: '{raw}' is not a whole number")
        if abs(number) > MAX_SAFE_INTEGER:
            raise FieldProblem(f"{field.name}: {number} is too large to record exactly (limit ±{MAX_SAFE_INTEGER})")
        _bounds(field, number)
        return number
    if kind in ("money", "number"):
        value = _decimal(field, raw)
        _bounds(field, value)
        return str(value)
    if kind == "date":
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise FieldProblem(f"{field.name}: '{raw}' is not a date; write YYYY-MM-DD") from None
    if kind == "list":
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise FieldProblem(f"{field.name}: expected a list of text items")
        return [clean_text(field.name, x) for x in raw]
    raise FieldProblem(f"{field.name}: unknown type {kind}")  # unreachable for validated pathways


def check_data(pathway: Pathway, data: dict[str, Any], *, intake: bool) -> tuple[dict[str, Any], list[str]]:
    """Clean ``data`` against the pathway's fields; returns (clean, problems).

    At intake, required fields must be present, and fields that a transition
    records (an approval, an insurance check) cannot be given: that would skip
    the step and its role. Unknown fields are problems (a misspelt field would
    otherwise be silently dropped), with a hint.
    """
    clean: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in data.items():
        if not isinstance(name, str) or not name.isascii():
            problems.append(f"{name!r}: field names are plain lower-case words")
            continue
        field = pathway.fields.get(name)
        if field is None:
            problems.append(f"{name}: not a field of pathway '{pathway.id}'{hint(name, list(pathway.fields))}")
            continue
        if intake and not pathway.given_at_intake(name):
            by = pathway.recorded_by(name)[0]
            problems.append(f"{name}: recorded by staff with '{by.trigger}' ({', '.join(by.roles) or 'the clock'}), "
                            "not at intake (a definition can allow it with 'at_intake: true')")
            continue
        try:
            clean[name] = coerce(field, raw)
        except FieldProblem as exc:
            # Refusal reasons are hashed into the audit trail and exported publicly:
            # never quote a confidential value there.
            problems.append(f"{name}: the value given is not a valid {field.type} (value withheld: confidential)"
                            if field.confidential else str(exc))
    if intake:
        for name, field in pathway.fields.items():
            if field.required and name not in data:
                problems.append(f"{name}: required by pathway '{pathway.id}' ({field.type})")
    return clean, problems
