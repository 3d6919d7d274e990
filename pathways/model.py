"""The immutable pathway model: what a validated definition means.

A :class:`Pathway` is built only from a definition that passed every check,
so the engine can trust it: stages exist, roles are declared, guards parse
and type-check. It is frozen (dataclasses with tuples and read-only
mappings) because the engine caches one state machine per pathway version
and pins every proposal to the exact version it started on; a model that
could change under a running proposal would break that promise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: The built-in role that fires deadline transitions (a stage's ``on_expiry``).
CLOCK = "clock"
#: The built-in role that may grant roles to users (the first user has it).
ADMIN = "admin"

#: Field names the engine puts on ``proposal`` itself; definitions cannot reuse them.
RESERVED_FIELDS = frozenset({"id", "state", "days_in_stage", "actors"})

#: The kinds of pathway tools know and compare against (``rfp`` is the baseline that
#: reports measure other routes by). A definition may name any other lower-case kind
#: (``micro_purchase``, ``emergency``, ``sole_source``); tools treat those as their own family.
KNOWN_KINDS = ("challenge", "pilot", "sandbox", "unsolicited", "rfp")

#: Bounds a field has when its definition declares none. Every value is checked
#: against them at intake and on every ``--set``, so a guard's worst-case cost
#: (``pathways.cost``) is known before the definition is published.
DEFAULT_MAX_ITEMS = 50
#: ``proposal.actors.<trigger>`` holds at most this many distinct names (the most recent), so guards that
#: read it stay bounded like any list.
MAX_ACTORS = 50
DEFAULT_MAX_LENGTH = {"string": 200, "text": 10_000, "list": 200}  # list: each item


@dataclass(frozen=True)
class Citation:
    """A rule the pathway rests on, for counsel to look up."""

    cite: str
    note: str = ""
    url: str = ""


@dataclass(frozen=True)
class Field:
    """One typed item of a proposal's data."""

    name: str
    type: str
    required: bool = False
    description: str = ""
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    confidential: bool = False
    at_intake: bool = False  # given at intake although a transition records it later
    max_items: int | None = None  # list fields: most items (default DEFAULT_MAX_ITEMS)
    max_length: int | None = None  # string, text, list items: most characters (default DEFAULT_MAX_LENGTH)
    sealed_until: str | None = None  # responses: hidden from everyone until the opportunity fires this trigger

    @property
    def item_limit(self) -> int:
        """Most items a list value may hold (1 for other types)."""
        if self.type != "list":
            return 1
        return self.max_items if self.max_items is not None else DEFAULT_MAX_ITEMS

    @property
    def length_limit(self) -> int | None:
        """Most characters a text value (or each list item) may hold; None for other types."""
        if self.type == "enum":
            return max((len(v) for v in self.values), default=0)
        if self.type not in DEFAULT_MAX_LENGTH:
            return None
        return self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH[self.type]


@dataclass(frozen=True)
class Deadline:
    """How long a proposal may wait in a stage, and what happens after."""

    business_days: int | None = None
    calendar_days: int | None = None
    until: str | None = None
    on_expiry: str = "escalate"
    cite: str = ""

    @property
    def fires(self) -> str | None:
        """The trigger the clock fires at expiry, if any."""
        return None if self.on_expiry in ("escalate", "notify") else self.on_expiry

    def describe(self) -> str:
        if self.business_days:
            span = f"{self.business_days} business days"
        elif self.calendar_days:
            span = f"{self.calendar_days} calendar days"
        else:
            span = f"until the proposal's {self.until}"
        return f"{span}, then {self.on_expiry}"


@dataclass(frozen=True)
class Criterion:
    """One thing a panel scores, from 0 to ``scale``, with its share of the weighted total."""

    name: str
    weight: float
    scale: int
    description: str = ""


@dataclass(frozen=True)
class Evaluation:
    """How a panel scores proposals in a stage (``engine.evaluation`` keeps and judges the sheets)."""

    criteria: tuple[Criterion, ...]
    min_evaluators: int = 1
    declaration: bool = True
    blind: bool = True
    share_with_vendor: bool = False
    evaluators: str = "evaluator"
    assigned_by: tuple[str, ...] = ()
    consensus_by: tuple[str, ...] = ()
    cite: str = ""

    def criterion(self, name: str) -> Criterion | None:
        return next((c for c in self.criteria if c.name == name), None)


@dataclass(frozen=True)
class Responses:
    """An opportunity's door: the pathway its responses run on, and the stages that take them."""

    pathway: str
    stages: tuple[str, ...]
    description: str = ""
    cite: str = ""


@dataclass(frozen=True)
class Stage:
    """A place a proposal waits; final stages end the process with an outcome."""

    name: str
    description: str = ""
    final: bool = False
    outcome: str | None = None
    decision: bool = False
    waiting_on: str = "staff"
    deadline: Deadline | None = None
    evaluation: Evaluation | None = None


@dataclass(frozen=True)
class Guard:
    """A CEL check that must be true for a transition, with its citation."""

    check: str
    message: str
    cite: str = ""


@dataclass(frozen=True)
class Transition:
    """A move between stages, who may make it and what must hold."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    updates: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    description: str = ""
    on_parent: str | None = None  # responses: fired by the engine when the opportunity fires this trigger
    chosen: bool | None = None  # with on_parent: only the response the opportunity names (True) or the others
    names_response: str | None = None  # opportunities: the field whose value names one response (the winner)
    distinct_from: tuple[str, ...] = ()  # separation of duties: not by whoever fired these triggers
    approvals: int = 1  # distinct people who must fire it; the last one's firing moves the proposal


@dataclass(frozen=True)
class Pathway:
    """A validated, immutable pathway version.

    ``sha256`` is computed over the RFC 8785 canonical JSON of the parsed
    definition, so comments and formatting do not change it but any change of
    meaning does; proposals and audit entries record it.
    """

    id: str
    version: int
    title: str
    kind: str
    summary: str
    legal_basis: tuple[Citation, ...]
    limits: Mapping[str, int | float]
    roles: Mapping[str, str]
    fields: Mapping[str, Field]
    initial: str
    stages: Mapping[str, Stage]
    transitions: tuple[Transition, ...]
    sha256: str
    source: str = ""
    path: str = ""
    responses: Responses | None = None
    responds_to: str | None = None
    attachments_sealed_until: str | None = None
    _index: Mapping[tuple[str, str], Transition] = field(default_factory=dict, repr=False, compare=False)
    #: Names of fields whose values never enter the audit entries in clear.
    #: Sealed fields are among them: the trail keeps their salted hash, like a confidential value's.
    confidential: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    #: Names of fields shown to no one until the opportunity fires their ``sealed_until`` trigger.
    sealed: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    #: The stages that declare an evaluation, in definition order (read on every transition: computed once).
    evaluated_in: tuple[str, ...] = field(default=(), repr=False, compare=False)
    #: Whether any rule asks who did what (distinct_from, approvals, proposal.actors): the engine then reads
    #: the proposal's entries before judging a transition, which other pathways never pay for.
    reads_actors: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {(src, t.trigger): t for t in self.transitions for src in t.sources}
        object.__setattr__(self, "_index", MappingProxyType(index))
        object.__setattr__(self, "confidential", frozenset(
            n for n, f in self.fields.items() if f.confidential or f.sealed_until))
        object.__setattr__(self, "sealed", frozenset(n for n, f in self.fields.items() if f.sealed_until))
        object.__setattr__(self, "evaluated_in", tuple(n for n, s in self.stages.items() if s.evaluation))
        object.__setattr__(self, "reads_actors", any(
            t.distinct_from or t.approvals > 1 or any("proposal.actors" in g.check for g in t.guards)
            for t in self.transitions))

    def evaluation(self, stage: str) -> Evaluation | None:
        """The panel evaluation a stage declares, if any."""
        s = self.stages.get(stage)
        return s.evaluation if s else None


    def on_parent(self, stage: str, trigger: str, chosen: bool | None) -> Transition | None:
        """The transition the engine fires on a response in ``stage`` when its opportunity fires ``trigger``.

        ``chosen``: whether the opportunity's firing named this response (None when it names none).
        """
        for t in self.transitions:
            if t.on_parent == trigger and stage in t.sources and (t.chosen is None or t.chosen == chosen):
                return t
        return None

    def transition(self, stage: str, trigger: str) -> Transition | None:
        """The transition ``trigger`` fires from ``stage``, if there is one."""
        return self._index.get((stage, trigger))

    def leaving(self, stage: str) -> tuple[Transition, ...]:
        """Transitions out of ``stage``, in definition order."""
        return tuple(t for t in self.transitions if stage in t.sources)

    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, once, in definition order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    @property
    def finals(self) -> tuple[str, ...]:
        return tuple(name for name, s in self.stages.items() if s.final)

    def roles_for(self, stage: str, t: Transition) -> tuple[str, ...]:
        """Who may fire ``t`` from ``stage``: its roles, and the clock when the stage's deadline names it."""
        deadline = self.stages[stage].deadline
        if deadline and deadline.fires == t.trigger and CLOCK not in t.roles:
            return (*t.roles, CLOCK)
        return t.roles

    def recorded_by(self, name: str) -> tuple[Transition, ...]:
        """The transitions that record field ``name`` (its ``updates``)."""
        return tuple(t for t in self.transitions if name in t.updates)

    def given_at_intake(self, name: str) -> bool:
        """Whether intake data may set field ``name``.

        Fields that transitions record (an insurance check, a legal approval)
        are for staff to record as the process goes; letting intake data set
        them would skip the step and its role. Required fields, and those
        marked ``at_intake`` (a price the vendor submits and may revise), may.
        """
        field = self.fields[name]
        return field.required or field.at_intake or not self.recorded_by(name)

    @property
    def ref(self) -> dict[str, Any]:
        """The (id, version, sha256) triple that pins a proposal and an entry."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


def build(data: dict[str, Any], sha256: str, source: str = "", path: str = "") -> Pathway:
    """Make the model from data that already passed every check."""
    ro = MappingProxyType

    def deadline(d: dict[str, Any] | None) -> Deadline | None:
        return Deadline(**d) if d else None

    def evaluation(e: dict[str, Any] | None) -> Evaluation | None:
        if not e:
            return None
        criteria = tuple(Criterion(c["name"], float(c["weight"]), int(c["scale"]), c.get("description", ""))
                         for c in e["criteria"])
        return Evaluation(criteria=criteria, min_evaluators=e.get("min_evaluators", 1),
                          declaration=e.get("declaration", True), blind=e.get("blind", True),
                          share_with_vendor=e.get("share_with_vendor", False),
                          evaluators=e.get("evaluators", "evaluator"), assigned_by=tuple(e.get("assigned_by", ())),
                          consensus_by=tuple(e.get("consensus_by", ())), cite=e.get("cite", ""))

    stages = {
        name: Stage(
            name=name,
            description=s.get("description", ""),
            final=s.get("final", False),
            outcome=s.get("outcome"),
            decision=s.get("decision", False),
            waiting_on=s.get("waiting_on", "staff"),
            deadline=deadline(s.get("deadline")),
            evaluation=evaluation(s.get("evaluation")),
        )
        for name, s in data["stages"].items()
    }
    fields = {
        name: Field(name=name, type=f["type"], required=f.get("required", False),
                    description=f.get("description", ""), values=tuple(f.get("values", ())),
                    minimum=f.get("minimum"), maximum=f.get("maximum"),
                    confidential=f.get("confidential", False), at_intake=f.get("at_intake", False),
                    max_items=f.get("max_items"), max_length=f.get("max_length"),
                    sealed_until=f.get("sealed_until"))
        for name, f in data.get("fields", {}).items()
    }
    transitions = tuple(
        Transition(
            trigger=t["trigger"],
            sources=tuple([t["from"]] if isinstance(t["from"], str) else t["from"]),
            dest=t["to"],
            roles=tuple(t.get("roles", ())),
            requires=tuple(t.get("requires", ())),
            updates=tuple(t.get("updates", ())),
            guards=tuple(Guard(g["check"], g["message"], g.get("cite", "")) for g in t.get("when", ())),
            description=t.get("description", ""),
            on_parent=t.get("on_parent"),
            chosen=t.get("chosen"),
            names_response=t.get("names_response"),
            distinct_from=tuple(t.get("distinct_from", ())),
            approvals=t.get("approvals", 1),
        )
        for t in data["transitions"]
    )
    return Pathway(
        id=data["id"], version=data["version"], title=data["title"], kind=data["kind"],
        summary=data["summary"],
        legal_basis=tuple(Citation(**c) for c in data["legal_basis"]),
        limits=ro(dict(data.get("limits", {}))), roles=ro(dict(data["roles"])),
        fields=ro(fields), initial=data["initial"], stages=ro(stages),
        transitions=transitions, sha256=sha256, source=source, path=path,
        responses=Responses(r["pathway"], tuple(r["while"]), r.get("description", ""), r.get("cite", ""))
        if (r := data.get("responses")) else None,
        responds_to=data.get("responds_to"), attachments_sealed_until=data.get("attachments_sealed_until"),
    )
