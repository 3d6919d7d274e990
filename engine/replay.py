"""A proposal's chain replayed and re-judged by its pinned rules: what its cached row must hold.

The hash walk proves entries are intact and in order; the replay proves
they are *lawful*. Each entry is judged against the rules the proposal is
pinned to, in order, exactly as the engine judged it when it was written:

- the intake names a published version (at the registry position it
  acted under), by a known user, with data the rules accept, into the
  initial stage;
- a transition leaves the replayed stage by a trigger of that stage and
  reaches its destination; its actor held one of the allowed roles at that
  registry position (the clock fires only deadline triggers, at or after
  the due time the replay computes); the rationale, documents and fields it
  requires are there; every guard, re-evaluated on the replayed context
  (data, inputs, stage, days in stage, actor, ``now`` = the entry's time),
  gives the recorded result, and all hold;
- a refusal was made from the replayed stage, its recorded conditions are
  what the guards give, and the rules do refuse it.

Confidential values take part through their kept values (``audit_secrets``):
a salted hash without its secret is itself a finding. From entry version 3
each entry's digest of the proposal's data (``audit.data_digest``, under the
chain's kept ``:data`` salt) must be that of the data the replay derives. The result,
:class:`Derived`, is what the ``proposals`` row must say; ``verification``
compares the two and ``rebuild`` writes it. Pure: the caller reads the rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pathways.model import CLOCK

from .admission import admit, follows_parent
from .audit import DATA_SECRET, GENESIS, VERSIONS, Stored, data_digest, linked, salted_hash
from .deadlines import legacy_due_at, record_problem, replayed_due
from .disclosure import (
    ATTACHMENT_SECRET,
    INPUT_TEXT,
    RATIONALE_SECRET,
    known_needles,
    neutral_name,
    quotes,
    withheld_reason,
)
from .duties import Duties
from .errors import VerificationFailed
from .evaluation import ACTIONS, Panels
from .family import Fact, Links
from .letters import LETTER_SECRET
from .machines import Compiled
from .registry import SETTLE, Registry

#: Kinds of entry a proposal chain may hold (the panel actions: ``engine.evaluation``).
KINDS = ("intake", "transition", "refusal", "approval", *ACTIONS)


@dataclass(frozen=True)
class Derived:
    """A proposal's row as its chain says it must be."""

    id: str
    pathway_id: str
    version: int
    sha256: str
    state: str
    data: dict[str, Any]
    seq: int
    head: str
    created_at: str
    entered_at: str
    due_at: str | None
    where: Mapping[str, int]  # field -> seq of the entry that last set it (to name a finding)
    links: Links | None = None  # opportunities and responses: what ``family.check`` compares across chains

    def row(self) -> dict[str, Any]:
        """The ``proposals`` columns (``data`` as a dict)."""
        return {"id": self.id, "pathway_id": self.pathway_id, "version": self.version, "sha256": self.sha256,
                "state": self.state, "data": self.data, "seq": self.seq, "head": self.head,
                "created_at": self.created_at, "entered_at": self.entered_at, "due_at": self.due_at}


def parse_time(at: str) -> dt.datetime:
    """An entry's time (``malformed`` has checked its form; Python 3.11 reads the ``Z`` itself)."""
    return dt.datetime.fromisoformat(at)





def _unsealed(e: dict[str, Any], secrets: Mapping[tuple[int, str], tuple[str, Any]], fail: Callable) -> dict:
    """An entry's inputs in clear: each salted hash replaced by its kept value, which must match it."""
    out = {}
    for name, value in (e.get("input") or {}).items():
        if isinstance(value, dict) and "salted_sha256" in value:
            kept = secrets.get((e["seq"], name))
            if kept is None:
                raise fail(f"the kept value of confidential '{name}' is missing (audit_secrets): "
                           "the record of what was entered is incomplete")
            try:
                matches = salted_hash(kept[1], kept[0]) == value["salted_sha256"]
            except (TypeError, ValueError):  # a salt that is not hex, a value that is not JSON
                matches = False
            if not matches:
                raise fail(f"the kept value of confidential '{name}' does not match the salted hash in the entry")
            value = kept[1]
        out[name] = value
    return out


def replay(chain: str, rows: Iterable[Stored], *, registry: Registry,
           rules: Callable[[dict[str, Any], int], Compiled],
           secrets: Mapping[tuple[int, str], tuple[str, Any]],
           files: Callable[[dict[str, Any]], str | None] = lambda ref: None) -> Derived:
    """Walk, re-judge and replay one proposal chain; raise ``VerificationFailed`` at the first bad entry.

    ``rules(ref, seq)`` returns the compiled rules of a pinned version (or
    raises a finding at ``seq``); ``files(ref)`` says what is wrong with an
    attachment's stored content, or None when it is there intact.
    """
    prev, seq, version, last_at, last_position = GENESIS, 0, 1, "", 0
    compiled: Compiled | None = None
    state = entered = due = created = ""
    calendar: dict[str, Any] | None = None  # the record of the calendar ``due`` was counted on (version 3)
    data: dict[str, Any] = {}
    where: dict[str, int] = {}
    pin: dict[str, Any] = {}
    panels: Panels | None = None
    duties: Duties | None = None
    fired: set[str] = set()  # the opportunity's triggers this response has followed (they unseal fields)
    links: Links | None = None
    salt: str | None = None  # the chain's data digest salt, from its first version 3 entry
    digest: str | None = None  # the data digest the entry before recorded
    for row in rows:
        seq += 1
        e = linked(chain, row, seq, prev)
        prev = row.hash

        def fail(reason: str, seq: int = seq) -> VerificationFailed:
            return VerificationFailed(chain, seq, reason)

        problem = malformed(e)
        if problem:
            raise fail(f"the entry is malformed: {problem}")
        kind, at, v = e["kind"], e["at"], e["v"]
        if v < version:  # an entry re-sealed in an older format to escape what the newer one records
            raise fail(f"the entry is in format version {v}, older than the entry before it ({version})")
        version = v
        if kind not in KINDS:
            raise fail(f"unknown kind of entry {kind!r}")
        if at < last_at:  # the engine takes an entry's time under the proposal's lock: they only go forward
            raise fail(f"the entry is dated {at}, before the entry it follows ({last_at})")
        position = _position(e, registry, fail)
        if position < last_position:  # each entry reads the registry after the one before it committed
            raise fail(f"the entry acted under registry seq {position}, older than the entry before it "
                       f"(seq {last_position}): a revoked role cannot be used by naming an older position")

        last_at, last_position = at, position
        if seq == 1:
            if kind != "intake":
                raise fail("the first entry is not the intake")
            pin = e.get("pathway") or {}
            compiled = rules(pin, seq)
            if registry.published(pin.get("id"), pin.get("version"), position) is None:
                raise fail(f"the intake names {pin.get('id')} v{pin.get('version')}, which was not published "
                           f"at the registry position it acted under (seq {position})")
            rules_ = compiled.pathway
            panels = Panels(rules_) if rules_.evaluated_in else None
            duties = Duties(rules_) if rules_.reads_actors else None
            if rules_.responses or rules_.responds_to:
                links = Links(chain, rules_.id, rules_.responses.pathway if rules_.responses else None,
                              rules_.responses.stages if rules_.responses else ())
        elif kind == "intake":
            raise fail("a second intake entry in one chain")
        elif e.get("pathway") != pin:
            raise fail("entry names another pathway version than the proposal is pinned to")
        assert compiled is not None
        pathway = compiled.pathway
        changed = kind == "intake"  # whether this entry changes the data (its digest is then re-computed)
        for i, a in enumerate(e.get("attachments") or [], 1):
            problem = files(a)
            if problem:
                raise fail(problem)
            _original(e, i, a, secrets, fail)
        inputs = _unsealed(e, secrets, fail)
        rationale = _rationale(e, secrets, fail)
        sealed = {n for n in pathway.sealed if pathway.fields[n].sealed_until not in fired}
        _withheld(e, kind, rationale, pathway, data, inputs, secrets, fail, sealed)
        now = parse_time(at)
        actor = e.get("actor")
        roles = [CLOCK] if actor == CLOCK else registry.roles(actor, position)
        named = None
        seen = _seen(e, pathway, fail)
        if "letter" in e and kind != "transition":
            raise fail("a letter is recorded on an entry that decides nothing")
        if kind == "intake":
            from pathways.fields import check_data

            if pathway.responds_to is not None:
                ref = e.get("parent")
                if not (isinstance(ref, dict) and isinstance(ref.get("id"), str) and type(ref.get("seq")) is int
                        and isinstance(ref.get("head"), str)):
                    raise fail(f"a {pathway.id} proposal answers an opportunity, but its intake names none")
                assert links is not None
                links.parent = {**ref, "at": at}
            elif "parent" in e:
                raise fail("the intake names an opportunity, but its rules answer none")

            clean, problems = check_data(pathway, inputs, intake=True)
            if problems or (v >= 2 and clean != inputs):
                raise fail("the intake's data is not what the rules accept: " + "; ".join(problems or
                           ["a value is not in its canonical form"]))
            if roles is None or actor == CLOCK:
                raise fail(f"the intake is by {actor!r}, who was not a user at that moment")
            if e.get("to") != pathway.initial:
                raise fail(f"the intake enters '{e.get('to')}', but the rules start in '{pathway.initial}'")
            state, entered, created, data = pathway.initial, at, at, dict(inputs)
            where = dict.fromkeys(inputs, 1)
        elif kind in ACTIONS or (kind == "refusal" and "action" in e):
            if e.get("from") != state:
                raise fail(f"entry moves from '{e.get('from')}', but the replay is in '{state}'")
            _panel_action(e, kind, state, panels, actor, roles, inputs, rationale, registry, position, fail)
        elif kind == "transition" and e.get("parent") is not None:
            if e.get("from") != state:
                raise fail(f"entry moves from '{e.get('from')}', but the replay is in '{state}'")
            t = _follows(e, pathway, state, chain, fail)
            _letter(e, t, secrets, fail)
            assert links is not None
            links.caused.append((seq, e["parent"]))
            fired.add(e["parent"]["trigger"])
            if t.dest != state:
                state, entered = t.dest, at
                due, calendar = _rederived(e, pathway, state, data, entered, fail)
        else:
            if e.get("from") != state:
                raise fail(f"entry moves from '{e.get('from')}', but the replay is in '{state}'")
            trigger = e.get("trigger") or ""
            attached = bool(e.get("attachments"))
            admission = admit(pathway, state, trigger, actor=actor, roles=None if roles is None else sorted(roles),
                              rationale=rationale, updates=inputs, attached=attached)
            reasons = list(admission.reasons)
            t = pathway.transition(state, trigger)
            if duties is not None and t is not None:
                reasons += duties.judge(t, actor)
            if t is not None and t.on_parent:
                reasons = [follows_parent(t)]
            if t is not None and t.names_response:
                named = admission.updates.get(t.names_response)
            conditions: list[dict[str, Any]] = []
            if t is not None and t.guards and admission.inputs_ok:
                try:
                    context = compiled.context(data, proposal_id=chain, state=state,
                                               days_in_stage=(now - parse_time(entered)).days,
                                               inputs=admission.updates, rationale=rationale or "",
                                               actor=actor, roles=sorted(roles or ()), now=now,
                                               evaluations=panels.context(state) if panels else None,
                                               responses=seen, actors=duties.context() if duties else None)
                except (ValueError, ArithmeticError):  # a recorded value that is not of its field's type
                    raise fail("a value recorded on this proposal cannot be read as its field's type, so its "
                               "rules cannot be re-evaluated") from None
                results = compiled.guards.run(t, context)
                conditions = [r.as_entry() for r in results]
                reasons += [r.reason() for r in results if not r.result]
            if _judged(conditions) != _judged(e.get("conditions") or []):
                raise fail("the recorded rule results are not what the rules give on the replayed proposal: "
                           + _difference(conditions, e.get("conditions") or []))
            if kind == "refusal":
                # The refused --set values are not recorded (they may be confidential, or not values at
                # all): a refusal resting on them names them; entry version 1 did not, so it is taken as is.
                if not reasons and v >= 2 and not e.get("refused_inputs") and not e.get("withheld"):
                    raise fail(f"a refusal of '{trigger}' that the rules would have allowed")
                if not e.get("reasons"):
                    raise fail("a refusal that gives no reason")
            else:
                if reasons:
                    raise fail(f"'{trigger}' was recorded as done, but the rules refuse it: {'; '.join(reasons)}")
                if admission.role != e.get("role"):
                    raise fail(f"the entry says {actor} acted as {e.get('role')!r}, but the role that allows it "
                               f"is {admission.role!r}")
                if actor == CLOCK and (not due or at < due):
                    raise fail(f"the clock fired '{trigger}' at {at}, before the stage was due"
                               + (f" ({due})" if due else " (the stage has no deadline)"))
                assert t is not None
                last = duties is None or duties.completes(t)
                if (kind == "approval") == last:
                    raise fail(f"'{trigger}' needs {t.approvals} distinct approvals; this entry is recorded as "
                               + ("an approval, but it was the last, which fires it" if last else
                                  "firing it, but it lacks earlier approvals"))
                if kind == "approval":
                    if e.get("to") != state or admission.updates:
                        raise fail("an approval moves the proposal or sets fields, which only its last one may")
                else:
                    if e.get("to") != t.dest:
                        raise fail(f"'{trigger}' leads from '{state}' to '{t.dest}', but the entry says "
                                   f"'{e.get('to')}'")
                    _letter(e, t, secrets, fail)
                    for name, value in admission.updates.items():
                        data[name], where[name] = value, seq
                    changed = bool(admission.updates)
                    moved = t.dest != state
                    if moved:
                        state, entered = t.dest, at
                    if moved or admission.updates:  # nothing else changes a due time
                        due, calendar = _rederived(e, pathway, state, data, entered, fail)
        if kind == "intake":
            due, calendar = _rederived(e, pathway, state, data, entered, fail)
        if duties is not None:
            duties.apply(e)
        if links is not None:
            if seen is not None:
                links.listed.append((seq, seen))
            evaluated, score = panels.result() if panels else (False, None)
            links.facts.append(Fact(seq, row.hash, state, at, e.get("trigger"), kind,
                                    named if kind == "transition" else None, evaluated, score))
        current = registry.position_settled_by(at)
        if v >= 2 and position < current:  # a grant or revocation takes effect when it is committed
            raise fail(f"the entry acted under registry seq {position}, but registry seq {current} had been "
                       f"recorded more than {SETTLE.seconds} s before it: a revoked role cannot be used by "
                       "naming a position from before the revocation")
        if v >= 2 and (e.get("entered") != entered or (e.get("due") or "") != due):
            raise fail(f"the entry records the stage entered at {e.get('entered')} and due {e.get('due')}, "
                       f"but the replay gives {entered} and {due or None}")
        if v >= 3:
            salt, digest = _data_digest(e, data, changed, salt, digest, secrets, fail)
        if v >= 3 and e.get("calendar") != calendar:
            raise fail(f"the entry records its due time as counted on calendar {e.get('calendar')}, but the stage's "
                       f"due time was counted on {calendar}")
    if seq == 0:
        raise VerificationFailed(chain, 1, "the chain has no entries")
    return Derived(chain, pin["id"], pin["version"], pin["sha256"], state, data, seq, prev, created, entered,
                   due or None, where, links)


def _letter(e: dict[str, Any], t: Any, secrets: Mapping[tuple[int, str], tuple[str, Any]], fail: Callable) -> None:
    """A transition that sends a letter records it (its kept text must match), and only then."""
    recorded = e.get("letter")
    if t.letter is None:
        if recorded is not None:
            raise fail(f"the entry records a letter, but '{t.trigger}' sends none")
        return
    if not isinstance(recorded, dict) or recorded.get("name") != t.letter:
        raise fail(f"'{t.trigger}' sends the letter '{t.letter}', but the entry does not record it")
    text = _kept(e, LETTER_SECRET, {"salted_sha256": recorded.get("salted_sha256")}, secrets, fail, "the letter")
    if not isinstance(text, str):
        raise fail("the kept letter is not text")


def _seen(e: dict[str, Any], pathway: Any, fail: Callable) -> dict[str, Any] | None:
    """An opportunity's record of its responses (what its guards read), checked for shape."""
    if pathway.responses is None or e.get("kind") not in ("transition", "refusal") or e.get("parent") is not None:
        if "responses" in e:
            raise fail("the entry records responses, but its rules take none")
        return None
    seen = e.get("responses")
    ok = isinstance(seen, dict) and type(seen.get("received")) is int and type(seen.get("evaluated")) is int \
        and isinstance(seen.get("best_score"), (int, float)) and isinstance(seen.get("at"), list) \
        and all(isinstance(r, dict) for r in seen["at"])
    if not ok:
        raise fail("an opportunity's entry does not record the responses it saw")
    return seen


def _follows(e: dict[str, Any], pathway: Any, state: str, chain: str, fail: Callable) -> Any:
    """A response's move fired by its opportunity: the transition its rules give for that trigger."""
    ref = e["parent"]
    if not (isinstance(ref, dict) and isinstance(ref.get("id"), str) and type(ref.get("seq")) is int
            and isinstance(ref.get("head"), str) and isinstance(ref.get("trigger"), str)):
        raise fail("the entry follows an opportunity, but does not name its entry")
    named = ref.get("named")
    t = pathway.on_parent(state, ref["trigger"], None if named is None else named == chain)
    if t is None or t.trigger != e.get("trigger"):
        raise fail(f"the opportunity's '{ref['trigger']}' leads this response from '{state}' by "
                   f"{repr(t.trigger) if t else 'no transition'}, but the entry records {e.get('trigger')!r}")
    if e.get("to") != t.dest or e.get("role") is not None or e.get("conditions") or e.get("input"):
        raise fail(f"'{t.trigger}' leads to '{t.dest}' with nothing set, as the engine records it; the entry "
                   "says otherwise")
    return t


def _panel_action(e: dict[str, Any], kind: str, state: str, panels: Panels | None, actor: Any, roles: Any,
                  inputs: Mapping[str, Any], rationale: Any, registry: Registry, position: int,
                  fail: Callable) -> None:
    """An evaluation action (or its refusal) re-judged by the panel rules, and applied."""
    action = e.get("action") if kind == "refusal" else kind
    if panels is None:
        raise fail(f"a panel action ('{action}') on a proposal whose rules declare no evaluation")
    if action not in ACTIONS or not isinstance(e.get("stage"), (str, type(None))):
        raise fail(f"unknown evaluation action {action!r}")
    reasons, role = panels.judge(action, state=state, stage=e.get("stage"), actor=actor,
                                 roles=None if roles is None else set(roles), inputs=inputs,
                                 rationale=rationale if isinstance(rationale, str) else None,
                                 roles_of=lambda name: registry.roles(name, position))
    if kind == "refusal":
        if not reasons and not e.get("refused_inputs"):
            raise fail(f"a refusal of '{action}' that the panel rules would have allowed")
        if not e.get("reasons"):
            raise fail("a refusal that gives no reason")
        return
    if reasons:
        raise fail(f"'{action}' was recorded as done, but the panel rules refuse it: {'; '.join(reasons)}")
    if e.get("role") != role or e.get("to") != state:
        raise fail(f"the entry says {actor} acted as {e.get('role')!r}, but the panel rules give {role!r}")
    panels.apply(action, stage=e["stage"], actor=actor, inputs=inputs,
                 rationale=rationale if isinstance(rationale, str) else None, seq=e["seq"])


def _data_digest(e: dict[str, Any], data: Mapping[str, Any], changed: bool, salt: str | None, digest: str | None,
                 secrets: Mapping[tuple[int, str], tuple[str, Any]], fail: Callable) -> tuple[str, str]:
    """The entry's digest of the proposal's data against the replayed data; returns (salt, digest).

    The chain's first version 3 entry brings the salt (kept as ``:data``);
    an entry that does not change the data must carry the digest before it,
    so only intakes and transitions that record fields cost a hash.
    """
    kept = secrets.get((e["seq"], DATA_SECRET))
    if salt is None:
        if kept is None:
            raise fail("the salt of the digest of the proposal's data is missing (audit_secrets): the data "
                       "cannot be checked against the entry")
        salt, changed = kept[0], True
    elif kept is not None:
        raise fail("a second salt for the digest of the proposal's data was kept (audit_secrets): it was "
                   "inserted around the engine")
    recorded = e["data"]["salted_sha256"]
    if changed:
        try:
            same = data_digest(data, salt) == recorded
        except (TypeError, ValueError):  # a salt that is not hex
            same = False
    else:
        same = recorded == digest
    if not same:
        raise fail("the entry's digest of the proposal's data is not that of the data its entries give: the "
                   "digest or the kept salt was changed" + ("" if changed else
                                                            " (the entry changes no field, so it carries the "
                                                            "digest before it)"))
    return salt, recorded


def _rederived(e: dict[str, Any], pathway: Any, state: str, data: dict[str, Any], entered: str,
               fail: Callable) -> tuple[str, dict[str, Any] | None]:
    """The due time of the stage the entry leaves the proposal in, and the calendar record it carries.

    Version 3: from the entry's own calendar record (zone, closed days skipped), never today's calendar, so
    a calendar edited later leaves old entries as they were. Before it: weekends only, in UTC.
    """
    if e["v"] < 3:
        return legacy_due_at(pathway, state, data, parse_time(entered)) or "", None
    due, problem = replayed_due(pathway, state, data, parse_time(entered), e.get("calendar"))
    if problem:
        raise fail(problem)
    return due or "", e.get("calendar")


def _kept(e: dict[str, Any], name: str, hashed: Any, secrets: Mapping[tuple[int, str], tuple[str, Any]],
          fail: Callable, what: str) -> Any:
    """The kept value behind a salted hash of the entry (it must be there and match)."""
    if not isinstance(hashed, dict) or set(hashed) != {"salted_sha256"}:
        raise fail(f"{what} is recorded neither as text nor as a salted hash")
    kept = secrets.get((e["seq"], name))
    if kept is None:
        raise fail(f"the kept value of {what} is missing (audit_secrets): the record of what was entered "
                   "is incomplete")
    if salted_hash(kept[1], kept[0]) != hashed["salted_sha256"]:
        raise fail(f"the kept value of {what} does not match the salted hash in the entry")
    return kept[1]


def _original(e: dict[str, Any], i: int, a: Any, secrets: Mapping[tuple[int, str], tuple[str, Any]],
              fail: Callable) -> None:
    """An attachment recorded under a neutral name: the name is the one the engine gives its original."""
    if not isinstance(a, dict) or "original" not in a:
        return  # recorded before neutral names: its name is the one given
    original = _kept(e, f"{ATTACHMENT_SECRET}{i}", a["original"], secrets, fail, f"the name of attachment {i}")
    if not isinstance(original, str) or a.get("name") != neutral_name(i, original):
        raise fail(f"attachment {i} is recorded as {a.get('name')!r}, not the neutral name its original "
                   "name gives")


def _rationale(e: dict[str, Any], secrets: Mapping[tuple[int, str], tuple[str, Any]], fail: Callable) -> Any:
    """The entry's rationale in clear (a withheld one from its kept value)."""
    recorded = e.get("rationale")
    if recorded is None or isinstance(recorded, str):
        return recorded
    return _kept(e, RATIONALE_SECRET, recorded, secrets, fail, "the withheld rationale")


def _withheld(e: dict[str, Any], kind: Any, rationale: Any, pathway: Any, data: Mapping[str, Any],
              inputs: Mapping[str, Any], secrets: Mapping[tuple[int, str], tuple[str, Any]], fail: Callable,
              sealed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Staff text withheld because it quotes a confidential value: only in a refusal, on a ground that holds.

    Withheld text is a rationale, an attachment's original name, or a value given to a non-confidential
    field (concealed in ``input`` like a confidential one, named ``input.FIELD`` in ``withheld``)."""
    withheld = e.get("withheld")
    hidden = isinstance(e.get("rationale"), dict)
    concealed = sorted(k for k, v in (e.get("input") or {}).items()
                       if k not in pathway.confidential and isinstance(v, dict) and "salted_sha256" in v)
    if withheld is None and not hidden and not concealed:
        return
    if kind != "refusal" or not isinstance(withheld, list) or not withheld:
        raise fail("text is withheld outside a refusal, or without its ground")
    whats = [w.get("what") if isinstance(w, dict) else None for w in withheld]
    if hidden != ("rationale" in whats):
        raise fail("the rationale is withheld without its ground, or its ground names a rationale in clear")
    if concealed != sorted(w[len(INPUT_TEXT):] for w in whats if isinstance(w, str) and w.startswith(INPUT_TEXT)):
        raise fail("a value of a non-confidential field is withheld without its ground, or its ground names a "
                   "value recorded in clear")
    texts = {"rationale": rationale, **{f"{INPUT_TEXT}{k}": inputs.get(k) for k in concealed}}
    for i, _ in enumerate(e.get("attachments") or [], 1):
        kept = secrets.get((e["seq"], f"{ATTACHMENT_SECRET}{i}"))
        texts[f"attachment-{i}"] = kept[1] if kept else None
    kept_before = [{"seq": s, "field": name, "value": value[1]} for (s, name), value in secrets.items()
                   if s < e["seq"] and name not in sealed]
    found = known_needles(pathway, kept_before, {k: v for k, v in data.items() if k not in sealed},
                          {k: v for k, v in inputs.items() if k not in sealed})
    for w in withheld:
        what = w.get("what") if isinstance(w, dict) else None
        if what not in texts or not isinstance(texts[what], str):
            raise fail(f"the entry withholds {what!r}, which it does not record")
        if not w.get("quotes") or quotes(texts[what], found) != w.get("quotes"):
            raise fail(f"{what} is withheld as quoting {w.get('quotes')}, but it quotes "
                       f"{quotes(texts[what], found) or 'no confidential value'}")
        if withheld_reason(w) not in (e.get("reasons") or []):
            raise fail(f"the refusal does not give the reason {what} is withheld")


#: The type each key of an entry must have when present (None allowed where the format has nulls).
_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,), "actor": (str,), "at": (str,), "role": (str, type(None)), "trigger": (str, type(None)),
    "from": (str, type(None)), "to": (str, type(None)), "pathway": (dict,), "conditions": (list,),
    "rationale": (str, dict, type(None)), "input": (dict,), "attachments": (list,), "reasons": (list,),
    "registry": (dict, type(None)), "entered": (str,), "due": (str, type(None)), "refused_inputs": (list,),
    "withheld": (list,), "letter": (dict,),
    "parent": (dict,), "responses": (dict,), "stage": (str, type(None)), "action": (str,), "data": (dict,),
    "calendar": (dict, type(None)),
}
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


#: Verdicts of ``_shape_problem`` by (keys, types of their values): entries come in a handful of shapes, so
#: the key-by-key type check is made once per shape (a pure function's results: bounded, never stale).
_SHAPES: dict[tuple[tuple[str, ...], tuple[type, ...]], str | None] = {}
_SHAPES_KEPT = 512


def malformed(e: dict[str, Any]) -> str | None:
    """Why an entry's shape is not one the engine writes (None: it is), so that a forged entry with odd
    types is a finding, never a crash of the replay.

    What depends only on which keys hold which types is judged once per shape (``_SHAPES``; it was a tenth of
    the replay's time, key by key); times, the data digest and nested objects are checked on every entry.
    """
    if type(e.get("v")) is not int or e["v"] not in VERSIONS:
        return f"format version {e.get('v')!r} is not one this engine knows (1, 2 or 3)"
    shape = (tuple(e), tuple(map(type, e.values())))
    problem = _SHAPES.get(shape, "")
    if problem == "":
        problem = _shape_problem(e)
        if len(_SHAPES) < _SHAPES_KEPT:  # a hostile database of odd shapes is judged slowly, not stored
            _SHAPES[shape] = problem
    if problem is not None:
        return problem
    for key in ("at", "entered", "due"):
        if isinstance(e.get(key), str) and not _TIME.fullmatch(e[key]):
            return f"'{key}' is not a time as the engine writes it (YYYY-MM-DDTHH:MM:SS.ffffffZ)"
    if e["v"] >= 2 and e.get("seq", 0) >= 1 and not all(k in e for k in ("registry", "entered", "due")):
        return "a version 2 entry lacks its registry position, stage entry time or due time"
    if e["v"] >= 3 and not (set(e["data"]) == {"salted_sha256"} and isinstance(e["data"]["salted_sha256"], str)):
        return "a version 3 entry lacks the salted digest of the proposal's data"
    if e["v"] >= 3 and e.get("seq", 0) >= 1 and "calendar" not in e:
        return "a version 3 entry lacks the calendar its due time was counted on"
    problem = record_problem(e.get("calendar"))
    if problem:
        return problem
    for key in ("conditions", "attachments"):
        if not all(isinstance(x, dict) for x in e[key]):
            return f"'{key}' holds something other than objects"
    p = e["pathway"]
    if not (isinstance(p.get("id"), str) and type(p.get("version")) is int and isinstance(p.get("sha256"), str)):
        return "'pathway' does not name an id, a version and a sha256"
    return None


def _shape_problem(e: dict[str, Any]) -> str | None:
    """What is wrong with an entry's keys and the types of their values alone (None: nothing)."""
    for key in ("kind", "actor", "pathway", "at", "input", "conditions", "attachments"):
        if key not in e:
            return f"'{key}' is missing"
    for key, value in e.items():
        types = _TYPES.get(key)
        if types is not None and not isinstance(value, types):
            return f"'{key}' holds a {type(value).__name__}"
    if e["v"] >= 3 and "data" not in e:
        return "a version 3 entry lacks the salted digest of the proposal's data"
    return None


def _position(e: dict[str, Any], registry: Registry, fail: Callable) -> int:
    """The registry seq an entry acted under; it must still be there, with the hash the entry names."""
    named = e.get("registry")
    if named is None and e.get("v", 1) < 2:  # entry version 1: the registry as it stood at the entry's time
        return registry.position_at_time(e["at"])
    seq, head = (named.get("seq"), named.get("head")) if isinstance(named, dict) else (None, None)
    if type(seq) is not int or not isinstance(head, str) or registry.hash_at(seq) != head:
        raise fail(f"the entry acted under registry entry {seq} ({head}), which the registry no longer holds: "
                   "registry entries it relied on were removed or replaced")
    return seq


def _judged(conditions: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, bool]]:
    """What must agree between a recorded and a re-evaluated rule: its text, result, citation, and
    whether it could be evaluated (the error's wording may differ between CEL versions)."""
    return [(c.get("check"), c.get("result"), c.get("cite"), bool(c.get("error"))) for c in conditions]


def _difference(replayed: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> str:
    for mine, theirs in zip(replayed, recorded, strict=False):
        if _judged([mine]) != _judged([theirs]):
            return (f"'{theirs.get('check')}' is recorded as {theirs.get('result')}, "
                    f"the replay gives {mine.get('result')}")
    return f"{len(recorded)} rule result(s) recorded, the rules have {len(replayed)}"

