"""Proposal data: checking values against a pathway's typed fields.

Values arrive from YAML or JSON files (typed) and from ``--set K=V`` (text),
so each type accepts both and stores one canonical JSON form: money and
numbers as decimal strings (never floats: 0.1 + 0.2 must not appear in a
legal record), dates as ``YYYY-MM-DD``, booleans as JSON booleans. Every
problem names the field and says what would be accepted.

Values are strict because they become a legal record: an amount is a plain
decimal (``12,50`` is refused, not read as 1250; no exponents, no non-ASCII
digits) stored in one spelling (:func:`canonical_decimal`: ``12000.5``), and
text may not hide characters from its reader (control, bidi and zero-width
characters are refused, naming their code point).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal
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
    This checks encoding only: callers that store text also want
    :func:`one_line_text` or :func:`free_text`, which refuse hidden characters.
    """
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldProblem(f"{label}: not valid UTF-8 text") from None
    return unicodedata.normalize("NFC", raw)


#: Characters that change how the text around them is shown while showing nothing
#: themselves: bidi embeddings, overrides and isolates (the "Trojan Source" trick,
#: CVE-2021-42574; Unicode UAX #9), the Arabic letter mark, zero-width spaces and
#: joiners, left-to-right/right-to-left marks, the word joiner and the BOM. A
#: record a reader cannot see correctly is not an honest record.
INVISIBLE = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                      *range(0x200B, 0x2010), 0x2060, 0xFEFF, 0x061C))
_LINE_BREAKS = frozenset("\u2028\u2029\x85")  # break lines in editors and browsers, like \n
_CONTROL_NAMES = {0x00: "NULL", 0x09: "TAB", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE",
                  0x7F: "DELETE"}


def describe_char(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character named by its code point, for messages."""
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(ord(ch), "a control character")
    return f"U+{ord(ch):04X} {name}"


def _refuse_hidden(label: str, text: str, allowed: str, what: str) -> None:
    for i, ch in enumerate(text, 1):
        if ch in allowed:
            continue
        if ch in INVISIBLE or ch in _LINE_BREAKS or unicodedata.category(ch) == "Cc":
            raise FieldProblem(f"{label}: contains {describe_char(ch)} at character {i}; remove it "
                               f"({what} may not hold control, bidi or zero-width characters)")


#: Most characters of one-line text that is not a field value (a name: the actor, an attachment's
#: file name) and of free text that is not a field value (a rationale). Fields declare their own
#: bounds (``max_length``, see model.DEFAULT_MAX_LENGTH); guards read these values too
#: (``actor.name``, ``input.rationale``), so their worst-case cost (``pathways.cost``) needs a bound.
MAX_NAME = 1_000
MAX_FREE_TEXT = 10_000


def _refuse_long(label: str, text: str, limit: int, fix: str) -> None:
    if len(text) > limit:
        raise FieldProblem(f"{label}: {len(text):,} characters, more than the {limit:,} allowed; {fix}")


def one_line_text(label: str, raw: str, max_length: int = MAX_NAME, *, fix: str = "shorten it") -> str:
    """Valid, NFC, one-line text with no control, bidi or zero-width characters, or ``FieldProblem``.

    For ``string`` and ``enum`` values, list items and names (the actor). At most
    ``max_length`` characters (after NFC), so a guard reading it has a known cost.
    """
    text = clean_text(label, raw)
    if "\n" in text or "\r" in text:
        raise FieldProblem(f"{label}: must be one line (use a 'text' field for long text)")
    _refuse_hidden(label, text, "", "a one-line value")
    _refuse_long(label, text, max_length, fix)
    return text


def free_text(label: str, raw: str, max_length: int = MAX_FREE_TEXT, *,
              fix: str = "shorten it, or attach the full text as a file") -> str:
    """Valid, NFC, multi-line free text of at most ``max_length`` characters, or ``FieldProblem``.

    For ``text`` fields and rationales: line feeds and tabs are allowed, every
    other control character (NUL, ESC, CR...), bidi control and zero-width
    character is refused, naming it by code point.
    """
    text = clean_text(label, raw)
    _refuse_hidden(label, text, "\n\t", "text")
    _refuse_long(label, text, max_length, fix)
    return text


#: Most digits a money or number value may have: 15 is DBL_DIG, the most decimal digits that
#: survive the conversion to a double that guards compare (CEL ``double``, see evaluation.to_cel),
#: so a guard never sees a different amount than the record holds. For money that is up to
#: 9,999,999,999,999.99, far beyond any procurement.
MAX_DIGITS = 15
#: A plain decimal amount: ASCII digits only (re.ASCII: no Arabic-Indic or fullwidth digits),
#: optional '-' and '$', thousands commas only in correct groups of three, optional decimals.
_AMOUNT = re.compile(r"(-?)\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", re.ASCII)


def _amount_text(field: Field, raw: str) -> Decimal:
    text = raw.strip()
    match = _AMOUNT.fullmatch(text)
    if match is None:
        example = "12000.50 or 12,000.50" if field.type == "money" else "1500 or 0.125"
        why = ""
        if re.search(r"[eE]", text):
            why = "no exponents; "
        elif any(ch.isdigit() and not ch.isascii() for ch in text):
            why = "digits 0-9 only; "
        elif "," in text:
            why = "commas only between groups of three digits; "
        raise FieldProblem(f"{field.name}: '{text}' is not a number ({why}write a plain decimal {_noun(field)}, "
                           f"e.g. {example})")
    sign, whole, decimals = match.groups()
    return Decimal(f"{sign}{whole.replace(',', '')}.{decimals or '0'}")


def _noun(field: Field) -> str:
    return "amount" if field.type == "money" else "number"


def _decimal(field: Field, raw: Any) -> Decimal:
    """The exact decimal value of ``raw`` for a money or number field, or ``FieldProblem``.

    Text must be a plain decimal (see ``_AMOUNT``). A YAML or JSON number is taken
    as its shortest decimal spelling (``repr``): with at most ``MAX_DIGITS`` digits
    that is the decimal that was written, because 15-digit decimals round-trip
    through a double exactly.
    """
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        shown = str(raw).lower() if isinstance(raw, bool) else f"a {type(raw).__name__}"
        raise FieldProblem(f"{field.name}: expected an {_noun(field)}, got {shown} (write e.g. 12000.50)")
    if isinstance(raw, str):
        value = _amount_text(field, raw)
    elif isinstance(raw, float) and not math.isfinite(raw):
        raise FieldProblem(f"{field.name}: {raw} is not a finite {_noun(field)} (write e.g. 12000.50)")
    else:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    if value.is_zero():
        return Decimal(0)  # "-0" and "0.00" are both stored as "0", never as negative zero
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite by construction
    digits = list(digits)
    while exponent < 0 and digits[-1] == 0:  # 25000.000 is 25000: trailing zeros say nothing
        digits.pop()
        exponent += 1
    value = Decimal((sign, tuple(digits), exponent))
    if field.type == "money" and exponent < -2:
        raise FieldProblem(f"{field.name}: '{raw}' has more than two decimals (write cents at most, e.g. 12000.50)")
    if max(len(digits) + max(exponent, 0), -exponent) > MAX_DIGITS:
        raise FieldProblem(f"{field.name}: '{raw}' has more than {MAX_DIGITS} digits, too many to record exactly")
    return value


def canonical_decimal(value: Decimal) -> str:
    """The one stored spelling of a money or number value.

    Plain digits, no exponent, no thousands commas, no '$', no trailing zeros
    after the point and no point for whole amounts: ``12000.5``, ``25000``,
    ``0``, ``-3.25``. One spelling per amount, so equal amounts hash alike;
    reports format it for people (``$12,000.50``).
    """
    if value.is_zero():
        return "0"
    value = value.normalize()  # exact here: values have at most MAX_DIGITS digits
    return format(value, "f")


def _bounds(field: Field, number: Decimal | int) -> None:
    if field.type == "money" and field.minimum is None and number < 0:
        raise FieldProblem(f"{field.name}: {number} is negative; an amount is 0 or more (a field that allows "
                           "credits declares a negative minimum)")
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
        limit = MAX_NAME if kind == "enum" else field.length_limit or MAX_NAME  # an enum: its values decide
        text = (free_text if kind == "text" else one_line_text)(
            field.name, str(raw), limit, fix="shorten it (a definition can raise the field's 'max_length')")
        if not text.strip():
            raise FieldProblem(f"{field.name}: is empty; an empty value is not a value (give one, or leave the "
                               "field out if it is optional)")
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
        return canonical_decimal(value)
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
        if len(raw) > field.item_limit:
            raise FieldProblem(f"{field.name}: {len(raw):,} items, more than the {field.item_limit:,} this field "
                               "allows (a definition can raise it with 'max_items')")
        items = [one_line_text(f"{field.name} item {i}", x, field.length_limit or MAX_NAME,
                               fix="shorten it (a definition can raise the field's 'max_length')")
                 for i, x in enumerate(raw, 1)]
        if any(not item.strip() for item in items):
            raise FieldProblem(f"{field.name}: an item is empty; leave it out")
        return items
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
