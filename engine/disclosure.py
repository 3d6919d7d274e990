"""One disclosure check for every public output: bundles, ``report --public``, and later open data and pages.

Every confidential value of a proposal (each kept value in ``audit_secrets``:
confidential fields, withheld rationales, attachments' original names) and
every salt becomes a :class:`Needle`, a pattern that finds the value in any
of the spellings a person or a renderer would give it:

- money and numbers: ``585000``, ``585,000``, ``$585,000``, ``585000.00``,
  ``$585,000.00`` (and ``$585K``, ``585 thousand``, ``$2.4M``, ``2.4 million``
  for round amounts), never inside a longer number or word (a hash, a
  ``1,585,000``);
- dates: ``2026-03-02``, ``03/02/2026``, ``3/2/2026``, ``March 2, 2026``,
  ``Mar 2, 2026``, ``Mar. 2, 2026``, ``2 March 2026`` (an entry's timestamp
  on that day, ``2026-03-02T10:00...``, is the time of an act, not the value);
- text and every list item: case- and whitespace-insensitive; and dollar
  amounts quoted inside confidential text are searched as amounts too.

Files are searched as written and as decoded (JSON string escapes, HTML
entities, the Markdown report's backslash escapes and ``<br>``), so a value
is found in ``trail.jsonl``, ``manifest.json``, ``report.html`` and the
Markdown report alike. A hit raises :class:`~engine.errors.DisclosureRisk`
naming the value's field and entry and the file and line where it was found,
never the value itself.

Which short values are searched (the rule). A needle that matches ordinary
text refuses every export for nothing, so a value is searched when it is
*distinctive*:

- a number when it has 3 or more significant digits (``585000``: 585;
  ``12.50``: 125) or is 10,000 or more (``500000``): ``12``, ``2.5`` or
  ``300`` occur in any record (days, counts, section numbers), while a
  three-digit mantissa or a five-digit amount, bounded by non-digits, rarely
  occurs by chance, and where it does it is worth a look;
- a date always (a full date with its year is specific);
- text when it has 4 or more characters (whitespace aside) and is not a
  common word (:data:`COMMON_WORDS`); text shorter than 8 characters only as a whole word
  (``Acme`` but not inside ``Acmeville`` or a hex hash), longer text
  anywhere;
- booleans and enum values never (two values, or values the rules list).

A confidential value equal to a value the record shows in a non-confidential
field of the same proposal is not searched: the rules publish it under that
field (the award amount of a Swiss challenge equals the matched offer). Nor
is a value the published rules themselves spell (a cap of 50000, a stage
name): the rules are public and travel in every bundle, so it says nothing
about the proposal. A bundle's ``verify.py`` is not searched: it is the
shipped checker, byte for byte the same in every bundle (a test holds it so).

:func:`quotes` applies the same needles to staff free text when it is
recorded: a rationale, an attachment's name, or a value given to a
non-confidential ``string`` or ``text`` field (``--set note=...``) that quotes
a confidential value is refused and withheld (``Engine._advance``), and the
replay re-checks that ground (``replay``). At intake there is no chain to
record a refusal on yet, so such text is refused as invalid data.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import DisclosureRisk

#: Secret names the engine keeps beside pathway fields (field names are lower-case identifiers,
#: so a name starting with ':' cannot clash with one).
RATIONALE_SECRET = ":rationale"
ATTACHMENT_SECRET = ":attachment-"  # + the attachment's number in its entry
#: How a withheld field value is named in an entry's ``withheld`` list (``input.note``, as guards name it);
#: its kept value is a secret under the field's own name, so it is unsealed like a confidential input.
INPUT_TEXT = "input."
#: Field types whose values staff type as free text (checked when recorded). Lists, money, dates and the rest
#: are not prose: a list item is a name (a judge, a bidder), not a sentence that could quote an amount.
FREE_TEXT_TYPES = ("string", "text")

#: Words of 4+ letters too common in procurement records to search for as a whole value.
COMMON_WORDS = frozenset("""
none null true false unknown other pending approved rejected yes-no city county state vendor vendors
supplier contract contracts price pricing amount total value cost costs offer offers proposal proposals
department office public private confidential proprietary signed unsigned matched declined accepted
open closed draft final review note notes data details information service services product products
term terms year years month months week weeks days time date dates budget funds funding award awarded
legal staff team program project pilot sandbox challenge unsolicited sensor sensors software hardware
maintenance support training installation license licence platform system systems report reports
""".split())
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
#: Text at least this long is searched anywhere; shorter text only as a whole word.
ANYWHERE = 8
MIN_TEXT = 4


@dataclass(frozen=True)
class Needle:
    """One confidential value (or salt) as a pattern; ``label`` names it without showing it."""

    field: str
    seq: int
    label: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Hit:
    label: str
    field: str
    seq: int
    place: str

    def __str__(self) -> str:
        return f"{self.label} appears in {self.place}"


# --- spellings --------------------------------------------------------------------------------

_BEFORE_NUMBER = r"(?<![\w])(?<![0-9][.,])"
_AFTER_NUMBER = r"(?![\w])(?![.,][0-9])"


def _decimal(value: Any) -> Decimal | None:
    """The number ``value`` spells, or None. Text such as ``1e999999999`` (a vendor's name is free text) parses
    but overflows decimal's context when normalised: it is no amount anyone writes, so it is not a number here
    (before, it raised ``decimal.Overflow`` out of every advance with a rationale and every public export)."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).replace(",", "").replace("$", "").strip())
        if not number.is_finite():
            return None
        number.normalize()  # raises Overflow beyond the context's exponent range
    except (ArithmeticError, ValueError):  # InvalidOperation and Overflow are ArithmeticErrors
        return None
    return number


def distinctive_number(number: Decimal) -> bool:
    """3+ significant digits, or 10,000 or more (see the module's rule)."""
    number = abs(number)
    significant = format(number.normalize(), "f").replace(".", "").strip("0")
    return len(significant) >= 3 or number >= 10000


def _fraction(part: str, money: bool) -> str:
    """The regex for what follows the point: exact digits, trailing zeros optional, none for a whole amount."""
    part = part.rstrip("0")
    if not part:
        return r"(?:\.0+)?"
    return r"\." + re.escape(part) + "0*"


def number_pattern(value: Any, *, money: bool = False) -> str | None:
    """A regex (for casefolded text) matching every spelling of an amount or number, or None if not distinctive."""
    number = _decimal(value)
    if number is None or not distinctive_number(number):
        return None
    number = abs(number)
    text = format(number.normalize(), "f")
    whole, _, fraction = text.partition(".")
    w = int(whole)
    wholes = {whole, f"{w:,}"}
    core = "(?:" + "|".join(re.escape(x) for x in sorted(wholes, key=len, reverse=True)) + ")" \
        + _fraction(fraction, money)
    forms = [core]
    if not fraction and w >= 1000 and w % 1000 == 0:
        k = w // 1000
        forms.append(rf"(?:{k}|{k:,})\s?(?:k|thousand)")
    if not fraction and w >= 1_000_000 and w % 10_000 == 0:
        m = format((Decimal(w) / 1_000_000).normalize(), "f")
        forms.append(re.escape(m) + r"\s?(?:m|million)")
    return _BEFORE_NUMBER + "(?:" + "|".join(forms) + ")" + _AFTER_NUMBER


def money_spellings(value: Any) -> list[str]:
    """The spellings of an amount people write (for tests and documentation; the pattern covers more)."""
    number = _decimal(value)
    assert number is not None
    cents = f"{number:.2f}"
    whole, _, frac = cents.partition(".")
    w = int(whole)
    out = [format(number.normalize(), "f"), f"{w:,}" + ("" if frac == "00" else f".{frac}"), f"${w:,}." + frac,
           cents, f"${w:,}" + ("" if frac == "00" else f".{frac}"), f"{w:,}.{frac}"]
    return list(dict.fromkeys(out))


def date_pattern(value: Any) -> str | None:
    """ISO and common US spellings of a date (casefolded); a timestamp at that date is not a hit."""
    try:
        d = dt.date.fromisoformat(str(value))
    except ValueError:
        return None
    month = MONTHS[d.month - 1]
    names = f"(?:{month}|{month[:3]}\\.?" + ("|sept\\.?" if d.month == 9 else "") + ")"
    day = rf"0?{d.day}(?:st|nd|rd|th)?"
    forms = [
        rf"{d.year:04d}-{d.month:02d}-{d.day:02d}(?!t\d)(?!\s\d{{1,2}}:\d\d)",
        rf"0?{d.month}/0?{d.day}/{d.year}",
        rf"0?{d.month}-0?{d.day}-{d.year}",
        rf"{names}\s*{day},?\s*{d.year}",
        rf"{day}\s*(?:of\s+)?{names},?\s*{d.year}",
    ]
    return r"(?<![\w/-])(?:" + "|".join(forms) + r")(?![\w/])"


def date_spellings(value: Any) -> list[str]:
    d = dt.date.fromisoformat(str(value))
    month = MONTHS[d.month - 1].capitalize()
    return [d.isoformat(), f"{d.month:02d}/{d.day:02d}/{d.year}", f"{d.month}/{d.day}/{d.year}",
            f"{month} {d.day}, {d.year}", f"{month[:3]} {d.day}, {d.year}"]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def text_pattern(text: str, *, known: str = "") -> str | None:
    """Case- and whitespace-insensitive text, or None if too short, common, or spelt by the public rules."""
    norm = _norm(text)
    if len(norm.replace(" ", "")) < MIN_TEXT or norm in COMMON_WORDS:
        return None
    if known and re.search(r"(?<!\w)" + re.escape(norm) + r"(?!\w)", known):
        return None
    body = r"\s*".join(re.escape(tok) for tok in norm.split())
    if len(norm) < ANYWHERE:
        body = (r"(?<!\w)" if norm[0].isalnum() or norm[0] == "_" else "") + body \
            + (r"(?!\w)" if norm[-1].isalnum() or norm[-1] == "_" else "")
    return body


_DOLLARS = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")


def value_patterns(value: Any, kind: str, *, known: str = "") -> list[tuple[str, str]]:
    """(what, regex) for one kept value of type ``kind`` (a pathway field type, or 'text' for staff text)."""
    out: list[tuple[str, str]] = []
    if kind in ("boolean", "enum") or value is None or isinstance(value, bool):
        return out
    if kind == "list" or isinstance(value, list):
        for i, item in enumerate(value if isinstance(value, list) else [value], 1):
            out += [(f"item {i} of", p) for _, p in value_patterns(item, "string", known=known)]
        return out
    if kind in ("money", "number", "integer"):
        p = number_pattern(value, money=kind == "money")
        return [("the value of", p)] if p else []
    if kind == "date":
        p = date_pattern(value)
        return [("the value of", p)] if p else []
    text = str(value)
    p = text_pattern(text, known=known)
    if p:
        out.append(("the value of", p))
    for m in _DOLLARS.finditer(text):  # an amount quoted inside confidential text
        q = number_pattern(m.group(1), money=True)
        if q:
            out.append(("an amount quoted in", q))
    return out


# --- the needles of a proposal ----------------------------------------------------------------


def _kind(pathway: Any, name: str) -> str:
    f = pathway.fields.get(name) if pathway is not None else None
    return f.type if f is not None else "text"


def describe(name: str) -> str:
    """How a kept value is named in a message (its field, or what text it is), never the value."""
    if name == RATIONALE_SECRET:
        return "the withheld rationale"
    if name.startswith(ATTACHMENT_SECRET):
        return f"the original name of attachment {name[len(ATTACHMENT_SECRET):]}"
    return f"confidential '{name}'"


def _public_values(public: Iterable[Any]) -> set[str]:
    out: set[str] = set()
    for v in public:
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                out.add(_norm(str(item)))
                number = _decimal(item)
                if number is not None:
                    out.add(format(number.normalize(), "f"))
    return out


def needles(pathway: Any, secrets: Iterable[Mapping[str, Any]], *, public: Iterable[Any] = (),
            salts: bool = True) -> list[Needle]:
    """The needles of a proposal's kept values (``engine.secrets`` rows: seq, field, salt, value).

    ``public`` are the values the record shows in non-confidential fields (not searched, see above);
    the published rules' own text (``pathway.source``) exempts text it contains.
    """
    shown = _public_values(public)
    known = (getattr(pathway, "source", "") or "").casefold()
    out: list[Needle] = []
    for s in secrets:
        name, seq = s["field"], s["seq"]
        if salts and s.get("salt"):
            out.append(Needle(name, seq, f"the salt of {describe(name)} (entry {seq})",
                              re.compile(re.escape(str(s["salt"]).casefold()))))
        value = s["value"]
        items = value if isinstance(value, list) else [value]
        if all(_norm(str(i)) in shown or (_decimal(i) is not None and format(_decimal(i).normalize(), "f") in shown)
               for i in items if i is not None):
            continue
        for what, pattern in value_patterns(value, _kind(pathway, name)):
            compiled = re.compile(pattern)
            if known and compiled.search(known):
                continue  # the published rules spell it (a cap, a stage name): public, and in every bundle
            out.append(Needle(name, seq, f"{what} {describe(name)} (entry {seq})", compiled))
    return out


# --- searching --------------------------------------------------------------------------------

_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_JSON_CHARS = {'"': '"', "\\": "\\", "/": "/", "b": " ", "f": " ", "n": " ", "r": " ", "t": " "}
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-!|~.])")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _json_unescaped(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            ch = chr(int(m.group(1), 16))
            return " " if ch.isspace() else ch
        return _JSON_CHARS[m.group(2)]
    return _JSON_ESCAPE.sub(one, text)


def _rendered(text: str) -> str:
    """HTML entities and the Markdown report's escapes decoded; tags between words count as spaces."""
    text = _BR.sub(" ", text)
    text = _MD_ESCAPE.sub(r"\1", text)
    return html.unescape(text)


def views(text: str) -> list[tuple[str, str]]:
    """The text as written and as decoded, each casefolded: (how, text)."""
    raw = text
    out = [("", raw)]
    j = _json_unescaped(raw)
    if j != raw:
        out.append((" (JSON-escaped)", j))
    for how, base in list(out):
        r = _rendered(base)
        if r != base:
            out.append((how + " (HTML/Markdown-escaped)", r))
    return [(how, v.casefold()) for how, v in out]


def scan(files: Mapping[str, bytes | str], found: Iterable[Needle]) -> list[Hit]:
    """Every (needle, file) hit, with the first line it is on."""
    found = list(found)
    hits: list[Hit] = []
    for name, content in files.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        decoded = views(text)
        for n in found:
            for how, view in decoded:
                m = n.pattern.search(view)
                if m:
                    line = view.count("\n", 0, m.start()) + 1
                    hits.append(Hit(n.label, n.field, n.seq, f"{name} line {line}{how}"))
                    break
    return hits


def check(files: Mapping[str, bytes | str], found: Iterable[Needle], *, what: str = "public output",
          advice: str = "") -> None:
    """Refuse (``DisclosureRisk``, exit 1) when any needle is in any file; say where, never what."""
    hits = scan(files, found)
    if hits:
        raise DisclosureRisk(f"{what} refused: " + "; ".join(sorted({str(h) for h in hits}))
                             + (f". {advice}" if advice else ""))


def quotes(text: str, found: Iterable[Needle]) -> list[str]:
    """The fields whose confidential values ``text`` quotes (salts aside), each once, sorted."""
    out: list[str] = []
    decoded = views(text)
    for n in found:
        if n.field not in out and any(n.pattern.search(v) for _, v in decoded):
            out.append(n.field)
    return sorted(out)


def value_needles(pathway: Any, values: Mapping[str, Any], *, seq: int = 0,
                  public: Iterable[Any] = ()) -> list[Needle]:
    """Needles for confidential values in hand (no salts): what staff text is checked against when recorded."""
    return needles(pathway, [{"field": k, "seq": seq, "value": v} for k, v in values.items()],
                   public=public, salts=False)


# --- staff text, when it is recorded ----------------------------------------------------------

#: Extensions an attachment's neutral name keeps (plain document types: they say what a file is, not what
#: it holds); any other extension is dropped.
PLAIN_EXTENSIONS = frozenset("pdf doc docx xls xlsx csv txt md rtf odt ods odp ppt pptx png jpg jpeg gif tif tiff "
                             "zip json xml html htm eml msg dwg mp4 mov".split())
NEUTRAL_NAME = re.compile(r"attachment-([1-9][0-9]*)(?:\.([a-z0-9]{1,4}))?")


def neutral_name(number: int, original: str) -> str:
    """``attachment-1.pdf``: the name an entry records; the original is kept aside (private outputs show it)."""
    stem, dot, ext = original.rpartition(".")
    ext = ext.lower()
    return f"attachment-{number}" + (f".{ext}" if dot and stem and ext in PLAIN_EXTENSIONS else "")


def recorded_attachments(files: Iterable[Any]) -> tuple[list[dict[str, Any]], dict[str, tuple[str, Any]]]:
    """Entry refs (neutral name, salted hash of the original, sha256, size) and the originals to keep."""
    from .audit import new_salt, salted_hash

    refs: list[dict[str, Any]] = []
    kept: dict[str, tuple[str, Any]] = {}
    for i, f in enumerate(files, 1):
        salt = new_salt()
        refs.append({"name": neutral_name(i, f.name), "original": {"salted_sha256": salted_hash(f.name, salt)},
                     "sha256": f.sha256, "size": f.size})
        kept[f"{ATTACHMENT_SECRET}{i}"] = (salt, f.name)
    return refs, kept


def free_text_fields(pathway: Any, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[("input.note", text), ...]``: the values given to non-confidential free-text fields, to be checked."""
    fields, confidential = getattr(pathway, "fields", {}), getattr(pathway, "confidential", ())
    return [(f"{INPUT_TEXT}{k}", v) for k, v in values.items()
            if k not in confidential and k in fields and fields[k].type in FREE_TEXT_TYPES and isinstance(v, str)]


def known_needles(pathway: Any, kept: Iterable[Mapping[str, Any]], data: Mapping[str, Any],
                  inputs: Mapping[str, Any]) -> list[Needle]:
    """What staff text recorded with an entry is checked against: every confidential value kept for the
    proposal before it (``kept``: secrets rows of confidential fields; withheld text aside) and the entry's own
    confidential inputs. Values the proposal shows in public fields (its data and the entry's inputs) are not
    searched, except the free text being checked: ``--set note=585000`` must not make the price public."""
    confidential = getattr(pathway, "confidential", ())
    checked = {name[len(INPUT_TEXT):] for name, _ in free_text_fields(pathway, inputs)}
    rows = [dict(r) for r in kept if r["field"] in confidential]
    rows += [{"field": k, "seq": 0, "value": v} for k, v in inputs.items() if k in confidential]
    public = [v for k, v in {**data, **inputs}.items() if k not in confidential and k not in checked]
    return needles(pathway, rows, public=public, salts=False)


def free_text_quotes(texts: Iterable[tuple[str, str]], found: list[Needle]) -> list[dict[str, Any]]:
    """``[{"what": "rationale", "quotes": [fields]}, ...]`` for each text that quotes a confidential value."""
    out = []
    for what, text in texts:
        fields = quotes(text, found) if text else []
        if fields:
            out.append({"what": what, "quotes": fields})
    return out


def withheld_reason(w: Mapping[str, Any]) -> str:
    """The recorded reason: names the fields, never the values."""
    what = w["what"]
    what = ("the rationale" if what == "rationale" else
            f"the value given for {what[len(INPUT_TEXT):]}" if what.startswith(INPUT_TEXT) else f"the name of {what}")
    fields = ", ".join(w["quotes"])
    return (f"{what} quotes a confidential value ({fields}); it is withheld from the record and kept as a "
            f"confidential value: write it without the value")
