"""A proposal's OCDS releases, derived from its audit entries alone (extract, model, render).

The chain is the truth, and it is the only input: the releases are built by
replaying the stored entries (their exact bytes, as ``verify`` and the
bundles read them), never from the ``proposals`` cache. After each intake or
transition the public view of the process is recomputed (parties, planning,
tender, awards, contracts, per :mod:`.profiles`); when it differs from the
last release, a new release is made, dated at the entry's time and carrying
the entry's chain, seq and hash (``auditEntry``, the shipped extension). An
opportunity's responses' entries are replayed with its own, in time order:
a bid received, withdrawn or rejected changes the opportunity's public view
(its bids), and that release names the response's entry. So there is one
release per publicly visible change, refusals and unmapped fields make none,
and the same entries always give the same releases.

What is read: only fields the profile names, and never a confidential one
(an entry holds those as salted hashes; they are skipped by name too).
Stage deadlines become milestones (due date from the entry; status
scheduled while in the stage, met when left by its due time or by the clock
firing the stage's own deadline, notMet when staff left it late);
attachments become document references (neutral name and sha256, never the
file or its original name: the file may hold proprietary material).
Evaluators and staff are never parties: actors are not read at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pathways.model import CLOCK, Pathway

from .bids import Response, bids_block
from .profiles import ENDINGS, MILESTONE_TYPES, Profile, profile_for
from .tags import tags
from .values import amount, day, org_id

BUYER_ID = "buyer"


@dataclass(frozen=True)
class Publisher:
    """What every release needs from the city: the buyer's name, the currency, the zone of date fields."""

    buyer: str
    currency: str
    zone: ZoneInfo


@dataclass
class _Visit:
    stage: str
    entered: str
    due: str | None = None
    left: str | None = None
    by_clock: bool = False


@dataclass
class _State:
    """The public state of a process, as the entries so far say it."""

    data: dict[str, Any] = field(default_factory=dict)
    stage: str = ""
    visited: set[str] = field(default_factory=set)
    visits: list[_Visit] = field(default_factory=list)
    reached: dict[str, str] = field(default_factory=dict)  # phase -> time first reached
    documents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (phase, document)


def _title(stage: str) -> str:
    return stage.replace("_", " ").capitalize()


def _public(entry: Mapping[str, Any], pathway: Pathway) -> dict[str, Any]:
    """The entry's recorded values that are public: never a confidential field, never a salted hash."""
    return {
        k: v
        for k, v in (entry.get("input") or {}).items()
        if k not in pathway.confidential and not (isinstance(v, dict) and "salted_sha256" in v)
    }


class Builder:
    """Replays one proposal's entries into releases (see the module docstring)."""

    def __init__(
        self, pathway: Pathway, ocid: str, publisher: Publisher, responses: Sequence[Response] | None = None
    ) -> None:
        """``responses`` is None for a pathway that takes none; an opportunity's list may be empty (no bid yet),
        and then its tender counts zero tenderers once the call is public."""
        self.pathway = pathway
        self.ocid = ocid
        self.publisher = publisher
        self.takes_responses = responses is not None or pathway.responses is not None
        self.responses = list(responses or ())
        finals = {n: s.outcome for n, s in pathway.stages.items() if s.final}
        self.profile: Profile = profile_for(pathway.id, set(pathway.stages), finals)

    # --- the replay -------------------------------------------------------------------------------

    def releases(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """One release per publicly visible change, oldest first; ``rows`` are the stored entries in seq order.

        An opportunity's responses are changes too: each of a response's entries (its receipt, its withdrawal
        or rejection) that changes the opportunity's public view makes a release tied to that entry of the
        response's chain, so a bid withdrawn after the opportunity's last step is not left out."""
        events: list[tuple[str, int, int, dict[str, Any] | None, str, str, int]] = []
        for i, row in enumerate(rows):
            entry = json.loads(row.body)
            if entry.get("kind") in ("intake", "transition") and entry.get("to"):
                events.append((entry["at"], 0, i, entry, row.hash, entry["proposal"], entry["seq"]))
        for j, r in enumerate(self.responses):
            events += [(at, 1, j, None, digest, r.id, seq) for at, seq, digest in r.moments]
        events.sort(key=lambda e: e[:3])
        state = _State()
        out: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        for at, _, _, entry, digest, chain, seq in events:
            if entry is not None:
                self._apply(state, entry)
            elif not state.visits:
                continue  # a response before its opportunity's first entry: cannot happen, nothing to show
            view = self._view(state, at)
            if view == last:
                continue
            release = {
                "ocid": self.ocid,
                "id": f"{self.ocid}-{seq}" if entry is not None else f"{self.ocid}-{chain}-{seq}",
                "date": at,
                "tag": tags(last, view),
                "initiationType": "tender",
                "auditEntry": {"chain": chain, "seq": seq, "hash": digest},
            }
            release.update(view)
            out.append(release)
            last = view
        return out

    def _apply(self, state: _State, entry: Mapping[str, Any]) -> None:
        at, source, dest = entry["at"], entry.get("from"), entry["to"]
        state.data.update({k: v for k, v in _public(entry, self.pathway).items() if v is not None})
        if dest != state.stage or not state.visits:
            if state.visits and state.visits[-1].left is None:
                state.visits[-1].left = at
                state.visits[-1].by_clock = entry.get("actor") == CLOCK
            state.visits.append(_Visit(dest, at))
            state.stage = dest
            state.visited.add(dest)
            phase = self.profile.phases.get(dest)
            if phase is not None:
                state.reached.setdefault(phase, at)
        state.visits[-1].due = entry.get("due")  # the current stage's due time after this entry
        for i, a in enumerate(entry.get("attachments") or [], 1):
            phase = self.profile.phases.get(dest) or self.profile.phases.get(str(source), "planning")
            state.documents.append(
                (
                    phase,
                    {
                        "id": f"{entry['seq']}-{i}",
                        "title": a["name"],
                        "description": f"Recorded with audit entry {entry['seq']} ({entry.get('trigger') or 'intake'});"
                        " "
                        f"sha256 {a['sha256']}, {a['size']} bytes. The file is not published: "
                        "attachments may hold proprietary material.",
                        "datePublished": at,
                    },
                )
            )

    # --- the public view ----------------------------------------------------------------------------

    def _view(self, state: _State, at: str) -> dict[str, Any]:
        p, data, pub = self.profile, state.data, self.publisher
        ending = p.endings.get(state.stage)
        assert ending is None or ending in ENDINGS
        awarded = any(ph in state.reached for ph in ("award", "contract", "implementation"))
        contracted = any(ph in state.reached for ph in ("contract", "implementation"))
        phase = p.phases.get(state.stage)
        suppliers = self._suppliers(data)
        view: dict[str, Any] = {}

        parties = [{"id": BUYER_ID, "name": pub.buyer, "roles": ["buyer", "procuringEntity"]}]
        contact = data.get(p.contact) if p.contact and p.contact not in self.pathway.confidential else None
        if isinstance(contact, str) and contact.strip():
            parties[0]["contactPoint"] = {"name": contact}
        orgs: dict[str, dict[str, Any]] = {}
        bidders = [r.tenderer for r in self.responses if r.date <= at and r.tenderer]
        for name in self._names(data, p.tenderers) + bidders:
            roles = orgs.setdefault(name, {"id": org_id(name), "name": name, "roles": []})["roles"]
            if "tenderer" not in roles:
                roles.append("tenderer")
        # An award is shown once made, or once announced (pending); announced and then not made, it is cancelled.
        show_award = bool(suppliers) and (awarded or phase == "intent" or bool(ending and "intent" in state.reached))
        if show_award or awarded:
            for name in suppliers:
                roles = orgs.setdefault(name, {"id": org_id(name), "name": name, "roles": []})["roles"]
                role = "supplier" if awarded else "tenderer"
                if role not in roles:
                    roles.append(role)
        show_award = show_award or awarded
        parties += [o for o in orgs.values() if o["roles"]]
        view["parties"] = parties
        view["buyer"] = {"id": BUYER_ID, "name": pub.buyer}

        milestones: dict[str, list[dict[str, Any]]] = {"planning": [], "tender": [], "contract": []}
        counts: dict[str, int] = {}
        for v in state.visits:
            counts[v.stage] = counts.get(v.stage, 0) + 1
            if not v.due:
                continue
            ph = p.phases.get(v.stage, "planning")
            m = {
                "id": f"{v.stage}-{counts[v.stage]}",
                "title": _title(v.stage),
                "type": MILESTONE_TYPES[ph],
                "dueDate": v.due,
            }
            desc = self.pathway.stages[v.stage].description if v.stage in self.pathway.stages else ""
            if desc:
                m["description"] = desc
            if v.left is None:
                m["status"] = "scheduled"
            elif v.left <= v.due or v.by_clock:  # the clock leaves a stage at its deadline: that is the plan
                m["status"], m["dateMet"] = "met", v.left
            else:
                m["status"] = "notMet"
            milestones[_section(ph, contracted)].append(m)
        documents: dict[str, list[dict[str, Any]]] = {"planning": [], "tender": [], "contract": []}
        for ph, doc in state.documents:
            documents[_section(ph, contracted)].append(doc)

        planning = {
            k: v for k, v in (("milestones", milestones["planning"]), ("documents", documents["planning"])) if v
        }
        if planning:
            view["planning"] = planning
        view["tender"] = self._tender(state, phase, ending, awarded, milestones["tender"], documents["tender"], at)
        if show_award:
            award: dict[str, Any] = {
                "id": f"{self.ocid}-award-1",
                "status": "active" if awarded else "cancelled" if ending else "pending",
            }
            if awarded:
                award["date"] = min(
                    state.reached[ph] for ph in ("award", "contract", "implementation") if ph in state.reached
                )
            if suppliers:
                award["suppliers"] = [{"id": org_id(n), "name": n} for n in suppliers]
            value = amount(data.get(p.award_value), pub.currency) if p.award_value in data else None
            if value:
                award["value"] = value
            view["awards"] = [award]
        if contracted:
            contract: dict[str, Any] = {
                "id": f"{self.ocid}-contract-1",
                "awardID": f"{self.ocid}-award-1",
                "status": "terminated" if ending else "active",
            }
            value = amount(data.get(p.contract_value), pub.currency) if p.contract_value in data else None
            if value:
                contract["value"] = value
            signed = day(data.get(p.contract_signed), pub.zone) if p.contract_signed in data else None
            contract["dateSigned"] = signed or min(
                state.reached[ph] for ph in ("contract", "implementation") if ph in state.reached
            )
            period = self._period(data, p.contract_period)
            if period:
                contract["period"] = period
            if milestones["contract"]:
                contract["milestones"] = milestones["contract"]
            if documents["contract"]:
                contract["documents"] = documents["contract"]
            view["contracts"] = [contract]
        block = bids_block(self.responses, at, pub.currency) if self.responses else None
        if block:
            view["bids"] = block
        return view

    def _tender(
        self,
        state: _State,
        phase: str | None,
        ending: str | None,
        awarded: bool,
        milestones: list[dict[str, Any]],
        documents: list[dict[str, Any]],
        at: str,
    ) -> dict[str, Any]:
        p, data, pub = self.profile, state.data, self.publisher
        if ending in ("cancelled", "unsuccessful", "withdrawn") and not awarded:
            status = ending
        elif ending or awarded:
            status = "complete"
        elif phase in ("tender", "evaluation", "intent"):
            status = "active"
        else:
            status = "planning"
        tender: dict[str, Any] = {"id": f"{self.ocid}-tender"}
        for key, name in (("title", p.title), ("description", p.description)):
            value = data.get(name) if name else None
            if isinstance(value, str) and value.strip():
                tender[key] = value
        tender["status"] = status
        tender["procuringEntity"] = {"id": BUYER_ID, "name": pub.buyer}
        value = amount(data.get(p.tender_value), pub.currency) if p.tender_value in data else None
        if value:
            tender["value"] = value
        method = p.method(data, state.visited)
        if method is not None:
            tender["procurementMethod"] = method.code
            tender["procurementMethodDetails"] = method.details
            tender["procurementMethodRationale"] = method.rationale
        period = self._period(data, p.tender_period)
        if period:
            tender["tenderPeriod"] = period
        opened = any(ph in state.reached for ph in ("tender", "evaluation", "intent"))
        if self.takes_responses:  # the responses themselves, counted once the call is public (they come in then)
            received = sum(1 for r in self.responses if r.date <= at)
            count: int | None = received if opened or received else None
        else:
            count = p.tenderers_count(data) if opened else None
        if count is not None:
            tender["numberOfTenderers"] = count
        names = self._names(data, p.tenderers)
        if names:
            tender["tenderers"] = [{"id": org_id(n), "name": n} for n in names]
        if milestones:
            tender["milestones"] = milestones
        if documents:
            tender["documents"] = documents
        return tender

    # --- helpers -----------------------------------------------------------------------------------

    def _names(self, data: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
        out: list[str] = []
        for name in fields:
            if name in self.pathway.confidential:
                continue
            value = data.get(name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.strip() and item not in out:
                    out.append(item)
        return out

    def _suppliers(self, data: Mapping[str, Any]) -> list[str]:
        """The supplier names a field gives; a field naming responses (an award's ``awarded_response``) gives
        those responses' tenderers."""
        tenderers = {r.id: r.tenderer for r in self.responses}
        for name in self.profile.suppliers:
            found = self._names(data, [name])
            if found:
                return [tenderers.get(item, item) for item in found if tenderers.get(item, item)]
        return []

    def _period(self, data: Mapping[str, Any], fields: tuple[str, str] | None) -> dict[str, str] | None:
        if fields is None:
            return None
        start, end = (
            day(data[f], self.publisher.zone) if f in data and f not in self.pathway.confidential else None
            for f in fields
        )
        period = {k: v for k, v in (("startDate", start), ("endDate", end)) if v}
        return period or None


def _section(phase: str, contracted: bool) -> str:
    """Where a stage's milestone or document goes: planning, tender (calls, evaluation, award) or the contract."""
    if phase == "planning":
        return "planning"
    if phase in ("contract", "implementation") and contracted:
        return "contract"
    return "tender"
