"""What legal reads: a proposal's audit report, rendered from its stored entries.

The report is built from the same stored entries that ``trail.jsonl`` carries
(parsed from their exact bytes), never from the proposal's mutable columns
alone, so what a reader sees is what the hashes cover. It is a *rendering*:
the record is the trail, and ``verify.py`` checks that, not this page.

Every page goes through the one strict, autoescaped jinja2 environment of
``engine.rendering`` (shared with the rules pages).

A *public* report withholds confidential values (and says which, and under
which rule); entries keep only the salted hashes the engine recorded. An
entry whose hashed bytes quote a kept value (recorded before staff text was
checked) is shown, and carried in a public bundle, by its hash alone, marked
redacted with the reason (``engine.redaction``); a public field's value that
quotes one is shown as withheld.

For people, amounts are shown as ``$12,000.50`` (the city's currency) and
times in the city's time zone to the minute (``pathways.display``); the HTML
keeps each canonical UTC time in its ``<time datetime>``. The trail, the
manifest and the other machine files keep canonical strings and UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pathways import display
from pathways.city import City
from pathways.city import load as load_city
from pathways.errors import UsageError
from pathways.model import CLOCK, Pathway

from .audit import timestamp
from .disclosure import (
    ATTACHMENT_SECRET,
    FREE_TEXT_TYPES,
    INPUT_TEXT,
    RATIONALE_SECRET,
    Needle,
    check,
    needles,
    quotes,
)
from .evaluation import ACTIONS
from .redaction import redacted_line, unpublishable
from .rendering import render, render_pdf, value_text

if TYPE_CHECKING:
    from .runtime import Engine

FORMATS = ("html", "md", "pdf")
#: Words in a legal-basis entry that tie it to withholding data (shown beside withheld fields).
DISCLOSURE_WORDS = re.compile(r"proprietar|confidential|restrictive legend|trade secret|disclos|personal data|"
                              r"non-disclosure|15\.609|1905", re.IGNORECASE)


# --- time in each stage (pure) -----------------------------------------------------------------


def parse_time(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


@dataclass(frozen=True)
class StageTime:
    """How long a proposal spent in one stage, over all its visits."""

    stage: str
    visits: int
    seconds: float | None  # None for a final stage: the process ended there
    ongoing: bool  # the proposal is still in this stage (measured up to the report's time)
    final: bool


def time_in_stages(entries: Iterable[Mapping[str, Any]], now: dt.datetime,
                   finals: Iterable[str] = ()) -> list[StageTime]:
    """Time spent in each stage, in order of first entry, from the entries' own timestamps.

    The intake enters its ``to`` stage; a transition that changes stage
    leaves one and enters the next; self-transitions (recording data) and
    refusals do not move the proposal, so they do not split a stay. The
    current stage counts up to ``now`` and is marked ongoing, unless it is
    final: a final stage has no duration.
    """
    finals = set(finals)
    totals: dict[str, float] = {}
    visits: dict[str, int] = {}
    stage: str | None = None
    since: dt.datetime | None = None
    for e in entries:
        if e.get("kind") not in ("intake", "transition") or e.get("to") in (None, stage):
            continue
        at = parse_time(e["at"])
        if stage is not None and since is not None:
            totals[stage] += (at - since).total_seconds()
        stage, since = e["to"], at
        totals.setdefault(stage, 0.0)
        visits[stage] = visits.get(stage, 0) + 1
    out = []
    for name, seconds in totals.items():
        current = name == stage
        if current and name not in finals and since is not None:
            seconds += max((now - since).total_seconds(), 0.0)
        out.append(StageTime(name, visits[name], None if current and name in finals else seconds,
                             current and name not in finals, name in finals))
    return out


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A value as the report shows it: in clear, or withheld with the salted hash that proves it."""

    name: str
    text: str
    confidential: bool = False
    withheld: bool = False
    salted_sha256: str = ""
    description: str = ""


@dataclass(frozen=True)
class Condition:
    check: str
    result: bool
    cite: str
    message: str
    error: str


@dataclass(frozen=True)
class Attached:
    name: str
    sha256: str
    size: int
    seq: int
    kept: bool  # the engine holds the file (it keeps those of refused attempts too: they are evidence)
    status: str  # what this document holds of the file, in words


@dataclass(frozen=True)
class Event:
    """One entry of the trail, every key present (templates are strict)."""

    seq: int
    at: str
    kind: str
    actor: str
    role: str
    trigger: str
    source: str
    dest: str
    refused: bool
    conditions: list[Condition]
    rationale: str
    inputs: list[Shown]
    attachments: list[Attached]
    reasons: list[str]
    hash: str
    prev: str
    #: Why the whole entry is left out of this public version ("" when it is shown); then only seq, hash and
    #: prev are known here.
    redacted: str = ""


@dataclass(frozen=True)
class Withheld:
    field: str
    description: str
    rule: str
    seqs: list[int]


@dataclass(frozen=True)
class Report:
    """Everything the report templates show, gathered once (export and report share it)."""

    proposal: dict[str, Any]
    pathway: Pathway
    data: list[Shown]
    events: list[Event]
    stages: list[StageTime]
    withheld: list[Withheld]
    disclosure_basis: list[Any]
    attachments: list[Attached]
    count: int
    head: str
    generated_at: str
    public: bool
    bundle: bool
    entries: list[dict[str, Any]] = field(repr=False)
    bodies: list[bytes] = field(repr=False)
    secrets: list[dict[str, Any]] = field(repr=False)
    #: A public report's disclosure needles (every kept value and salt as a pattern; never rendered).
    needles: list[Needle] = field(default_factory=list, repr=False)
    #: The city whose time zone and currency the report is shown in.
    city: City | None = field(default=None, repr=False)
    #: ``{seq: reason}`` of the entries a public version shows by their hash alone.
    redactions: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def zone(self) -> Any:
        """The time zone times are shown in (UTC when no city is given)."""
        return self.city.zone if self.city is not None else dt.UTC

    @property
    def lines(self) -> list[bytes]:
        """What ``trail.jsonl`` carries: each entry's stored bytes, or the line standing for a redacted one."""
        return [redacted_line(self.proposal["id"], e["seq"], entry_hash, e["prev"], self.redactions[e["seq"]])
                if e["seq"] in self.redactions else body
                for e, body, entry_hash in zip(self.entries, self.bodies, self.hashes, strict=True)]

    @property
    def hashes(self) -> list[str]:
        return [ev.hash for ev in self.events]

    @property
    def longest_stay(self) -> float:
        """The longest time in a stage (the scale of the bars), never zero."""
        return max((s.seconds for s in self.stages if s.seconds), default=1.0)

    @property
    def running(self) -> str:
        """The line repeated on every printed page: what the reader can check this page against."""
        return (f"{self.proposal['id']} · {self.count} entries · head {self.head}"
                + (" · public version" if self.public else ""))


def _attachment_status(public: bool, bundle: bool, kept: bool) -> str:
    if not kept:
        return "file not kept in the database"
    if public:
        return "withheld: may hold proprietary material; name and hash only"
    return "included as attachments/<sha256>" if bundle else "kept in the database; included in a private export"


def withheld_rule(pathway: Pathway, name: str) -> str:
    f = pathway.fields[name]
    return (f"declared confidential in pathway {pathway.id} v{pathway.version}"
            + (f" ({f.description})" if f.description else ""))


def _withheld_note(e: Mapping[str, Any], what: str) -> str:
    """How staff text withheld at record time is shown (it quoted a confidential value, named, not shown)."""
    quoted = next((w.get("quotes") for w in e.get("withheld") or [] if w.get("what") == what), [])
    return f"[withheld: it quotes a confidential value ({', '.join(quoted)})]"


def field_text(pathway: Pathway, name: str, value: Any, city: City | None) -> str:
    """A field's value for people: amounts as ``$12,000.50`` in the city's currency, the rest as ``value_text``."""
    f = pathway.fields.get(name)
    if f is not None and f.type == "money" and isinstance(value, (str, int)) and not isinstance(value, bool):
        return display.money(value, city.currency if city is not None else "USD")
    return value_text(value)


def _redacted_event(row: Any, e: Mapping[str, Any], why: str) -> Event:
    """A redacted entry as the report shows it: its seq, hash and prev, and why; nothing of its content."""
    return Event(seq=e["seq"], at="", kind="redacted", actor="", role="", trigger="", source="", dest="",
                 refused=False, conditions=[], rationale="", inputs=[], attachments=[], reasons=[], hash=row.hash,
                 prev=e.get("prev", ""), redacted=why)


def build_report(engine: Engine, proposal_id: str, *, public: bool, bundle: bool = False,
                 city: City | None = None) -> Report:
    """Gather a proposal's record from the engine and shape it for the templates (``city``: whose time zone
    and currency to show; the one in force, ``pathways.city.load()``, by default)."""
    city = city if city is not None else load_city()
    record = engine.record(proposal_id)  # one snapshot: the data, the trail and the secrets agree
    shown, rows, pathway = record.shown, record.entries, record.pathway
    now = engine.clock()
    entries = [json.loads(r.body) for r in rows]
    secrets = [] if public else record.secrets
    values = {(s["seq"], s["field"]): s["value"] for s in secrets}
    kept = {a["sha256"] for e in entries for a in e.get("attachments", [])}
    found = report_needles(pathway, record.secrets, entries, shown["data"]) if public else []
    redactions = unpublishable(entries, [bytes(r.body) for r in rows], found) if public else {}
    events: list[Event] = []
    withheld: dict[str, list[int]] = {}
    sealed = set(shown.get("sealed", ()))
    for row, e in zip(rows, entries, strict=True):
        if e["seq"] in redactions:
            events.append(_redacted_event(row, e, redactions[e["seq"]]))
            continue
        inputs = []
        for name, value in (e.get("input") or {}).items():
            desc = pathway.fields[name].description if name in pathway.fields else ""
            if isinstance(value, dict) and "salted_sha256" in value:
                salted = value["salted_sha256"]
                clear = field_text(pathway, name, values.get((e["seq"], name)), city)
                if name not in pathway.confidential:  # staff text withheld when recorded: it quoted a value
                    note = _withheld_note(e, f"{INPUT_TEXT}{name}")
                    inputs.append(Shown(name, note if public else f"{clear} {note}", False, False, salted, desc))
                elif public:
                    withheld.setdefault(name, []).append(e["seq"])
                    inputs.append(Shown(name, "withheld", True, True, salted, desc))
                elif (e["seq"], name) not in values and name in sealed:
                    inputs.append(Shown(name, "sealed until the opportunity opens the responses", True, True,
                                        salted, desc))
                else:
                    inputs.append(Shown(name, clear, True, False, salted, desc))
            else:
                inputs.append(Shown(name, field_text(pathway, name, value, city), description=desc))
        rationale = e.get("rationale") or ""
        if isinstance(rationale, dict):  # withheld: it quotes a confidential value (kept, like one)
            note = _withheld_note(e, "rationale")
            rationale = note if public else f"{value_text(values.get((e['seq'], RATIONALE_SECRET)))} {note}"
        t = pathway.transition(e.get("from") or "", e.get("trigger") or "")
        messages = {g.check: g.message for g in t.guards} if t else {}
        events.append(Event(
            seq=e["seq"], at=e["at"], kind=e["kind"], actor=e.get("actor") or "", role=e.get("role") or "",
            trigger=e.get("trigger") or e.get("action") or (e["kind"] if e["kind"] in ACTIONS else ""),
            source=e.get("from") or "", dest=e.get("to") or "",
            refused=e["kind"] == "refusal",
            conditions=[Condition(c.get("check", ""), bool(c.get("result")), c.get("cite") or "",
                                  messages.get(c.get("check", ""), ""), c.get("error") or "")
                        for c in e.get("conditions") or []],
            rationale=rationale or _follows(e), inputs=inputs,
            attachments=[Attached(values.get((e["seq"], f"{ATTACHMENT_SECRET}{i}"), a["name"]), a["sha256"],
                                  a["size"], e["seq"], a["sha256"] in kept,
                                  _attachment_status(public, bundle, a["sha256"] in kept))
                         for i, a in enumerate(e.get("attachments") or [], 1)],
            reasons=list(e.get("reasons") or []), hash=row.hash, prev=e.get("prev", "")))
    data = []
    for name, value in shown["data"].items():
        f = pathway.fields.get(name)
        confidential = name in shown["confidential"]
        text = "withheld" if confidential and public else field_text(pathway, name, value, city)
        quoted = quotes(text, found) if public and not confidential else []
        if quoted:  # a public field set before staff text was checked, quoting a kept value
            text = f"[withheld: it quotes a confidential value ({', '.join(quoted)})]"
        data.append(Shown(name, text, confidential, confidential and public, "", f.description if f else ""))
    if public:
        withheld.update({n: withheld.get(n, []) for n in shown["data"] if n in shown["confidential"]})
    return Report(
        proposal=shown, pathway=pathway, data=data, events=events,
        stages=time_in_stages(entries, now, pathway.finals),
        withheld=[Withheld(n, pathway.fields[n].description, withheld_rule(pathway, n), seqs)
                  for n, seqs in sorted(withheld.items())],
        disclosure_basis=[c for c in pathway.legal_basis if DISCLOSURE_WORDS.search(f"{c.cite} {c.note}")],
        attachments=[a for ev in events for a in ev.attachments], count=len(rows),
        head=rows[-1].hash if rows else "", generated_at=timestamp(now), public=public, bundle=bundle,
        entries=entries, bodies=[bytes(r.body) for r in rows], secrets=secrets, needles=found, city=city,
        redactions=redactions)


def _follows(e: Mapping[str, Any]) -> str:
    """Words for a response's move fired by its opportunity (bids opened, award), or an evaluation's panel."""
    ref = e.get("parent")
    if isinstance(ref, dict) and e.get("kind") == "transition":
        named = f", naming {ref['named']}" if ref.get("named") else ""
        return f"fired by {ref.get('id')}'s '{ref.get('trigger')}' (its seq {ref.get('seq')}{named})"
    if e.get("kind") in ACTIONS or e.get("action"):
        return f"panel of '{e.get('stage')}'"
    return ""


def report_text(report: Report, fmt: str) -> str:
    """The report as HTML or Markdown text."""
    template = {"html": "report.html.j2", "md": "report.md.j2"}[fmt]
    return render(template, r=report, p=report.pathway, clock=CLOCK, running=report.running,
                  title=f"Audit report {report.proposal['id']}")


def report_bytes(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (html, md or pdf), ready to write."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format '{fmt}'; use one of {', '.join(FORMATS)}")
    text = report_text(report, "html" if fmt == "pdf" else fmt)
    if report.public:  # the PDF is rendered from this HTML: what it shows, the HTML holds
        check({f"the report ({fmt})": text}, report.needles, what="public report",
              advice="Render a private report for counsel instead")
    if fmt == "pdf":
        return render_pdf(text)
    return text.encode("utf-8")


def report_needles(pathway: Pathway, secrets: Iterable[Mapping[str, Any]], entries: Iterable[Mapping[str, Any]],
                   data: Mapping[str, Any]) -> list[Needle]:
    """The disclosure needles of a proposal's public outputs: every kept value and salt, except values the
    record shows in non-confidential fields (see ``engine.disclosure``). Free text staff typed (``string`` and
    ``text`` fields) does not make a value public: the rules publish an award amount, a note does not."""

    def published(k: str) -> bool:
        f = pathway.fields.get(k)
        return k not in pathway.confidential and not (f is not None and f.type in FREE_TEXT_TYPES)

    public: list[Any] = [v for k, v in data.items() if published(k)]
    for e in entries:
        public += [v for k, v in (e.get("input") or {}).items()
                   if published(k) and not (isinstance(v, dict) and "salted_sha256" in v)]
    return needles(pathway, secrets, public=public)

