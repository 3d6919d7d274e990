"""A proposal chain replayed by its pinned rules, without the database in the way: every lawful history
replays to the row it must give, and every unlawful entry (re-sealed and re-linked, so the hash walk alone
cannot see it) is a finding at its seq, with its exact reason."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import MINI, MINI_DATA, FakeClock

from engine import Engine, Refused
from engine.audit import DATA_SECRET, ENTRY_VERSION, REGISTRY, Stored, salted_hash, seal
from engine.errors import VerificationFailed
from engine.machines import Compiled, compile_pathway
from engine.registry import Registry
from engine.replay import Derived, parse_time, replay
from pathways import loads

#: mini, with guards that read every part of the context the replay rebuilds: days in stage, id, stage,
#: actor and roles, the rationale (none: ""), the inputs and the time; and a note needs an attached document.
YAML = MINI.read_text().replace(
    "      - check: proposal.value <= pathway.limits.max_value\n",
    "      - check: proposal.days_in_stage == 1 && proposal.id == 'mini-0001' && proposal.state == 'review'\n"
    "        message: approved a day after screening\n"
    "      - check: actor.name == 'lee' && 'legal' in actor.roles && input.rationale == 'ok'\n"
    "        message: approved by lee, with the rationale ok\n"
    "      - check: now > timestamp('2026-03-03T00:00:00Z')\n"
    "        message: approved after March 2\n"
    "      - check: proposal.value <= pathway.limits.max_value\n",
).replace(
    "    updates: [notes, value]\n    requires: [notes]\n",
    "    updates: [notes, value]\n    requires: [notes, attachment]\n    when:\n"
    "      - check: input.notes == 'site visit' && proposal.value < 99999 && input.rationale == ''\n"
    "        message: notes are a site visit\n",
)
P1, P2 = "mini-0001", "mini-0002"


@dataclass
class World:
    registry: Registry
    compiled: Compiled
    rows: dict[str, list[Stored]]
    secrets: dict[str, dict[tuple[int, str], tuple[str, Any]]]

    def replay(self, chain: str, rows: list[Stored] | None = None, *, secrets: dict | None = None,
               files: Callable[[dict], str | None] | None = None) -> Derived:
        def rules(ref: dict[str, Any], seq: int) -> Compiled:
            if ref.get("version") == 99:
                raise VerificationFailed(chain, seq, "the rules it is pinned to were never published")
            return self.compiled

        extra = {"files": files} if files is not None else {}
        return replay(chain, self.rows[chain] if rows is None else rows, registry=self.registry, rules=rules,
                      secrets=self.secrets[chain] if secrets is None else secrets, **extra)

    def finding(self, chain: str, rows: list[Stored], **kw: Any) -> tuple[int, str]:
        with pytest.raises(VerificationFailed) as caught:
            self.replay(chain, rows, **kw)
        assert caught.value.chain == chain
        return caught.value.seq, caught.value.reason

    def entry(self, chain: str, seq: int) -> dict[str, Any]:
        return json.loads(self.rows[chain][seq - 1].body)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """registry: 1 ana (admin, officer), 2 lee (legal), 3 mini published.
    mini-0001: 1 intake  2 screen (ana)  3 refused approve by ana  4 note by lee, value 13000  5 approve by lee
    a day later.  mini-0002: 1 intake at $30,000  2 screen  3 refused approve (over the cap)  4 expired by
    the clock after 31 days."""
    clock = FakeClock()
    eng = Engine(f"sqlite:///{tmp_path_factory.mktemp('replay') / 'r.db'}", clock=clock)
    eng.add_user("ana", ["officer"])
    eng.add_user("lee", ["legal"], actor="ana")
    rules = loads(YAML, "<mini with context guards>")
    eng.publish(rules, actor="ana")
    eng.intake("mini", MINI_DATA, actor="ana")
    eng.advance(P1, "screen", actor="ana")
    with pytest.raises(Refused):
        eng.advance(P1, "approve", actor="ana", rationale="ok")
    plan = tmp_path_factory.mktemp("files") / "plan.pdf"
    plan.write_bytes(b"%PDF-1.4 site plan")
    eng.advance(P1, "note", actor="lee", updates={"notes": "site visit", "value": "13000"}, attachments=[plan])
    clock.advance(days=1)
    eng.advance(P1, "approve", actor="lee", rationale="ok")
    eng.intake("mini", {**MINI_DATA, "value": "30000"}, actor="ana")
    eng.advance(P2, "screen", actor="ana")
    with pytest.raises(Refused):
        eng.advance(P2, "approve", actor="lee", rationale="ok")
    clock.advance(days=31)
    assert [m["to"] for m in eng.tick()] == ["expired"]
    assert all(r.error is None for r in eng.verify())
    registry = Registry()
    for e in eng.entries(REGISTRY):
        registry.append(Stored(e.seq, e.hash, bytes(e.body)))
    chains = {c: [Stored(e.seq, e.hash, bytes(e.body)) for e in eng.entries(c)] for c in (P1, P2)}
    kept = {c: {(s["seq"], s["field"]): (s["salt"], s["value"]) for s in eng.secrets(c)} for c in (P1, P2)}
    yield World(registry, compile_pathway(rules), chains, kept)
    eng.close()


def forged(rows: list[Stored], seq: int, change: Callable[[dict[str, Any]], dict[str, Any]] | dict) -> list[Stored]:
    """Entry ``seq`` changed and re-sealed, and every later entry re-linked to it: only the replay can tell."""
    out = rows[:seq - 1]
    for row in rows[seq - 1:]:
        e = json.loads(row.body)
        if row.seq == seq:
            e = change(e) if callable(change) else {**e, **change}
        elif out:
            e["prev"] = out[-1].hash
        body, digest = seal(e)
        out.append(Stored(row.seq, digest, body))
    return out


def without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda e: {k: v for k, v in e.items() if k != key}


def test_a_lawful_history_replays_to_the_row_it_must_give(world: World) -> None:
    d = world.replay(P1)
    screened, approved = world.entry(P1, 2)["at"], world.entry(P1, 5)["at"]
    assert d.row() == {"id": P1, "pathway_id": "mini", "version": 1, "sha256": world.compiled.pathway.sha256,
                       "state": "approved", "data": {**MINI_DATA, "value": "13000", "notes": "site visit"},
                       "seq": 5, "head": world.rows[P1][-1].hash, "created_at": world.entry(P1, 1)["at"],
                       "entered_at": approved, "due_at": None}
    assert d.where == {"vendor": 1, "value": 4, "pricing": 1, "notes": 4}
    assert screened < approved
    assert [c["result"] for c in world.entry(P1, 5)["conditions"]] == [True, True, True, True]
    assert [c["result"] for c in world.entry(P1, 3)["conditions"]] == [False, False, False, True]


def test_a_deadline_fired_by_the_clock_replays(world: World) -> None:
    d = world.replay(P2)
    assert (d.state, d.seq, d.due_at, d.entered_at) == ("expired", 4, None, world.entry(P2, 4)["at"])
    screen = world.entry(P2, 2)
    assert parse_time(screen["due"]) - parse_time(screen["at"]) == dt.timedelta(days=30)  # calendar days


def test_a_stage_keeps_its_due_time_through_updates_that_do_not_move_it(world: World) -> None:
    assert world.entry(P1, 4)["due"] == world.entry(P1, 2)["due"] == world.replay(P1, world.rows[P1][:4]).due_at


def test_a_chain_without_entries_is_a_finding(world: World) -> None:
    assert world.finding(P1, []) == (1, "the chain has no entries")


@pytest.mark.parametrize(("seq", "change", "reason"), [
    (2, {"kind": "note"}, "unknown kind of entry 'note'"),
    (2, without("kind"), "the entry is malformed: 'kind' is missing"),
    (2, {"at": None}, "the entry is malformed: 'at' holds a NoneType"),
    (2, {"at": 20260302}, "the entry is malformed: 'at' holds a int"),
    (1, {"kind": "transition"}, "the first entry is not the intake"),
    (1, {"kind": "refusal"}, "the first entry is not the intake"),
    (2, {"kind": "intake"}, "a second intake entry in one chain"),
    (2, lambda e: {**e, "pathway": {**e["pathway"], "version": 2}},
     "entry names another pathway version than the proposal is pinned to"),
    (2, without("pathway"), "the entry is malformed: 'pathway' is missing"),
])
def test_an_entry_out_of_place_is_a_finding(world: World, seq: int, change: Any, reason: str) -> None:
    assert world.finding(P1, forged(world.rows[P1], seq, change)) == (seq, reason)


def test_the_intake_names_a_version_published_where_it_acted(world: World) -> None:
    head2 = world.registry.hash_at(2)
    rows = forged(world.rows[P1], 1, {"registry": {"seq": 2, "head": head2}})
    assert world.finding(P1, rows) == (1, "the intake names mini v1, which was not published at the registry "
                                          "position it acted under (seq 2)")
    rows = forged(world.rows[P1], 1, lambda e: {**e, "pathway": {**e["pathway"], "version": 7}})
    assert world.finding(P1, rows) == (1, "the intake names mini v7, which was not published at the registry "
                                          "position it acted under (seq 3)")


@pytest.mark.parametrize(("registry", "shown"), [
    ({"seq": 2, "head": "ab" * 32}, f"2 ({'ab' * 32})"),
    ({"seq": 0, "head": None}, "0 (None)"),
    ({"seq": 3, "head": None}, "3 (None)"),
    ({"seq": "3"}, "3 (None)"),
    ({"head": "x"}, "None (x)"),
    (None, "None (None)"),
])
def test_an_entry_must_act_under_a_registry_position_that_is_still_there(world: World, registry: Any,
                                                                         shown: str) -> None:
    rows = forged(world.rows[P1], 2, {"registry": registry})
    assert world.finding(P1, rows) == (2, f"the entry acted under registry entry {shown}, which the registry no "
                                          "longer holds: registry entries it relied on were removed or replaced")
    rows = forged(world.rows[P1], 2, {"registry": "3"})
    assert world.finding(P1, rows) == (2, "the entry is malformed: 'registry' holds a str")


def _v1(e: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in e.items() if k not in ("registry", "entered", "due", "data")}, "v": 1}


def data_salt_at(world: World, chain: str, seq: int) -> dict[tuple[int, str], tuple[str, Any]]:
    """The chain's secrets with the data digests' salt kept at ``seq`` (its first version 3 entry)."""
    kept = dict(world.secrets[chain])
    kept[(seq, DATA_SECRET)] = kept.pop((1, DATA_SECRET))
    return kept


def test_a_version_1_entry_acts_under_the_registry_as_it_stood_at_its_time(world: World) -> None:
    rows = forged(world.rows[P1], 1, _v1)
    rows = forged(rows, 2, _v1)
    rows = forged(rows, 3, _v1)
    later = data_salt_at(world, P1, 4)  # the first version 3 entry brings the salt
    assert world.replay(P1, rows, secrets=later).state == "approved"
    early = {"at": "2026-03-01T00:00:00.000000Z"}  # before any user: ana held no role then
    assert world.finding(P1, forged(rows, 1, lambda e: {**e, **early}), secrets=later)[0] == 1  # nobody held a role
    assert world.finding(P1, rows) == (4, "the salt of the digest of the proposal's data is missing (audit_secrets): "
                                          "the data cannot be checked against the entry")


def test_a_registry_position_past_the_end_is_a_finding(world: World) -> None:
    rows = forged(world.rows[P1], 2, {"registry": {"seq": 4, "head": None}})
    assert world.finding(P1, rows) == (2, "the entry acted under registry entry 4 (None), which the registry no "
                                          "longer holds: registry entries it relied on were removed or replaced")


def test_a_kept_value_must_be_there_and_match_its_salted_hash(world: World) -> None:
    assert world.finding(P1, world.rows[P1], secrets={}) == (
        1, "the kept value of confidential 'pricing' is missing (audit_secrets): the record of what was entered "
           "is incomplete")
    salt, _ = world.secrets[P1][(1, "pricing")]
    assert world.finding(P1, world.rows[P1], secrets={(1, "pricing"): (salt, "unit price 1.00")}) == (
        1, "the kept value of confidential 'pricing' does not match the salted hash in the entry")
    other = "00" * 16
    assert world.finding(P1, world.rows[P1], secrets={(1, "pricing"): (other, MINI_DATA["pricing"])})[1] == (
        "the kept value of confidential 'pricing' does not match the salted hash in the entry")
    assert world.replay(P1).data["pricing"] == MINI_DATA["pricing"]


def test_a_value_shaped_like_a_hash_only_counts_when_it_is_one(world: World) -> None:
    rows = forged(world.rows[P1], 4, lambda e: {**e, "input": {**e["input"], "notes": {"sha256": "x"}}})
    assert world.finding(P1, rows) == (4, "the recorded rule results are not what the rules give on the replayed "
                                          "proposal: 1 rule result(s) recorded, the rules have 0")


def test_an_attached_file_must_be_stored_intact(world: World) -> None:
    ref = {"name": "plan.pdf", "sha256": "cd" * 32, "size": 3}
    rows = forged(world.rows[P1], 4, {"attachments": [ref]})
    seen: list[dict] = []
    assert world.finding(P1, rows, files=lambda r: seen.append(r) or "the file is gone") == (4, "the file is gone")
    assert seen == [ref]
    assert world.replay(P1, rows, files=lambda r: None).state == "approved"
    assert world.replay(P1, rows).state == "approved"  # by default nothing is wrong with a file


@pytest.mark.parametrize(("change", "problems"), [
    (lambda i: {k: v for k, v in i.items() if k != "vendor"}, "vendor: required by pathway 'mini' (string)"),
    (lambda i: {**i, "colour": "red"}, None),
])
def test_the_intake_data_must_be_what_the_rules_accept(world: World, change: Any, problems: str | None) -> None:
    rows = forged(world.rows[P1], 1, lambda e: {**e, "input": change(e["input"])})
    seq, reason = world.finding(P1, rows)
    assert seq == 1 and reason.startswith("the intake's data is not what the rules accept: ")
    assert problems is None or problems in reason


def test_intake_data_must_be_in_its_canonical_form_since_entry_version_2(world: World) -> None:
    rows = forged(world.rows[P1], 1, lambda e: {**e, "input": {**e["input"], "value": "12,000.00"}})
    assert world.finding(P1, rows) == (1, "the intake's data is not what the rules accept: a value is not in its "
                                          "canonical form")
    rows = forged(world.rows[P1], 1, lambda e: {**_v1(e), "input": {**e["input"], "value": "12000.5"}})
    rows = forged(forged(rows, 2, _v1), 3, _v1)
    # version 1: taken as recorded (then updated by seq 4, the first version 3 entry, whose digest holds)
    assert world.replay(P1, rows, secrets=data_salt_at(world, P1, 4)).data["value"] == "13000"


def test_a_version_1_intake_in_a_loose_spelling_replays_or_is_a_finding(world: World) -> None:
    rows = forged(world.rows[P1], 1, lambda e: {**e, "v": 1, "input": {**e["input"], "value": "12,000.00"}})
    try:
        world.replay(P1, rows)
    except VerificationFailed:
        pass


@pytest.mark.parametrize("actor", ["kim", "clock"])
def test_the_intake_is_by_a_user(world: World, actor: Any) -> None:
    rows = forged(world.rows[P1], 1, {"actor": actor})
    assert world.finding(P1, rows) == (1, f"the intake is by {actor!r}, who was not a user at that moment")
    rows = forged(world.rows[P1], 1, {"actor": None})
    assert world.finding(P1, rows) == (1, "the entry is malformed: 'actor' holds a NoneType")


def test_the_intake_enters_the_initial_stage(world: World) -> None:
    rows = forged(world.rows[P1], 1, {"to": "review"})
    assert world.finding(P1, rows) == (1, "the intake enters 'review', but the rules start in 'submitted'")


@pytest.mark.parametrize(("seq", "source", "state"), [(2, "review", "submitted"), (5, None, "review"),
                                                       (4, "approved", "review")])
def test_an_entry_moves_from_the_replayed_stage(world: World, seq: int, source: Any, state: str) -> None:
    rows = forged(world.rows[P1], seq, {"from": source})
    assert world.finding(P1, rows) == (seq, f"entry moves from '{source}', but the replay is in '{state}'")


@pytest.mark.parametrize(("conditions", "why"), [
    (lambda c: [{**c[0], "result": True}, *c[1:]],
     "'proposal.days_in_stage == 1 && proposal.id == 'mini-0001' && proposal.state == 'review'' is recorded as "
     "True, the replay gives False"),
    (lambda c: c[:3], "3 rule result(s) recorded, the rules have 4"),
    (lambda c: [*c, c[0]], "5 rule result(s) recorded, the rules have 4"),
    (lambda c: [*c[:3], {**c[3], "cite": "another code"}], "'proposal.value <= pathway.limits.max_value' is "
     "recorded as True, the replay gives True"),
    (lambda c: [*c[:3], {**c[3], "error": "no such key"}], "'proposal.value <= pathway.limits.max_value' is "
     "recorded as True, the replay gives True"),
    (lambda c: [*c[:3], {**c[3], "check": "true"}], "'true' is recorded as True, the replay gives True"),
])
def test_recorded_rule_results_are_what_the_rules_give(world: World, conditions: Any, why: str) -> None:
    rows = forged(world.rows[P1], 3, lambda e: {**e, "conditions": conditions(e["conditions"])})
    assert world.finding(P1, rows) == (3, "the recorded rule results are not what the rules give on the replayed "
                                          "proposal: " + why)


def test_an_error_worded_otherwise_is_the_same_result(world: World) -> None:
    from engine.replay import _judged

    a = [{"check": "x", "result": False, "cite": "", "error": "no such key: notes"}]
    b = [{"check": "x", "result": False, "cite": "", "error": "undeclared reference to 'notes'"}]
    assert _judged(a) == _judged(b) == [("x", False, "", True)]
    assert _judged([{"check": "x", "result": False, "cite": ""}]) == [("x", False, "", False)]


@pytest.mark.parametrize(("seq", "change"), [
    (5, lambda e: {**e, "rationale": "fine"}),  # input.rationale
    (5, lambda e: {**e, "at": "2026-03-02T23:00:00.000000Z", "entered": "2026-03-02T23:00:00.000000Z"}),  # now
    (4, lambda e: {**e, "input": {**e["input"], "notes": "phone call"}}),  # input.notes
])
def test_guards_see_the_replayed_context(world: World, seq: int, change: Any) -> None:
    found, reason = world.finding(P1, forged(world.rows[P1], seq, change))
    assert found == seq and reason.startswith("the recorded rule results are not what the rules give on the "
                                              "replayed proposal: ")


def test_a_refusal_the_rules_would_have_allowed_is_a_finding(world: World) -> None:
    lee = {"actor": "lee", "role": "legal", "rationale": "ok"}
    rows = forged(world.rows[P1], 3, lambda e: {**e, **lee, "conditions": [{**c, "result": True}
                                                                           for c in e["conditions"]]})
    with pytest.raises(VerificationFailed):  # the recorded days_in_stage guard is not what the replay gives
        world.replay(P1, rows)
    screen = forged(world.rows[P1], 3, {"kind": "refusal", "reasons": ["no"], "role": None})
    screen = forged(screen, 2, {"kind": "refusal", "reasons": ["no"], "role": None})
    assert world.finding(P1, screen) == (2, "a refusal of 'screen' that the rules would have allowed")
    for allowed in ({"refused_inputs": ["value"]}, {"v": 1}):
        rows = forged(world.rows[P2], 2, {"kind": "refusal", "reasons": ["no"], **allowed})
        first = world.entry(P2, 1)
        carried = {"entered": first["at"], "due": first["due"], "calendar": first["calendar"]}
        rows = forged(rows, 2, lambda e, carried=carried: {k: v for k, v in e.items() if k not in carried}
                      if e["v"] == 1 else {**e, **carried})
        # (a version 1 entry after newer ones is refused as a downgrade before anything else)
        assert world.finding(P2, rows) == ((3, "entry moves from 'review', but the replay is in 'submitted'")
                                           if "refused_inputs" in allowed else
                                           (2, "the entry is in format version 1, older than the entry before it "
                                               f"({ENTRY_VERSION})"))


@pytest.mark.parametrize("reasons", [[], "drop"])
def test_a_refusal_gives_a_reason(world: World, reasons: Any) -> None:
    rows = forged(world.rows[P1], 3, without("reasons") if reasons == "drop" else {"reasons": reasons})
    assert world.finding(P1, rows) == (3, "a refusal that gives no reason")


def test_a_transition_the_rules_refuse_is_a_finding(world: World) -> None:
    rows = forged(world.rows[P1], 2, {"actor": "lee", "role": "officer"})
    assert world.finding(P1, rows) == (2, "'screen' was recorded as done, but the rules refuse it: lee acts as "
                                          "legal; 'screen' needs one of: officer")
    rows = forged(world.rows[P1], 2, {"actor": "kim"})
    assert world.finding(P1, rows)[1].startswith("'screen' was recorded as done, but the rules refuse it: ")
    rows = forged(world.rows[P2], 3, lambda e: {**without("reasons")(e), "kind": "transition"})
    assert world.finding(P2, rows)[1] == ("'approve' was recorded as done, but the rules refuse it: approved a "
                                          "day after screening; the cost to the city exceeds the $25,000 pilot cap "
                                          "[West Palm Beach Code §66-74]")


@pytest.mark.parametrize(("role", "shown"), [("legal", "'legal'"), (None, "None"), ("admin", "'admin'")])
def test_the_entry_names_the_role_that_allows_it(world: World, role: Any, shown: str) -> None:
    rows = forged(world.rows[P1], 2, {"role": role})
    assert world.finding(P1, rows) == (2, f"the entry says ana acted as {shown}, but the role that allows it is "
                                          "'officer'")


def test_the_clock_fires_only_when_the_stage_is_due(world: World) -> None:
    due = world.entry(P2, 2)["due"]
    early = (parse_time(due) - dt.timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = forged(world.rows[P2], 4, {"at": early, "entered": early})
    assert world.finding(P2, rows) == (4, f"the clock fired 'expire' at {early}, before the stage was due ({due})")
    rows = forged(world.rows[P2], 4, {"at": due, "entered": due})
    assert world.replay(P2, rows).entered_at == due  # at the due time exactly: lawful


def test_the_clock_fires_only_transitions_open_to_it(world: World) -> None:
    rows = forged(world.rows[P1], 4, {"actor": "clock", "role": "clock"})
    assert world.finding(P1, rows) == (4, "'note' was recorded as done, but the rules refuse it: clock acts as "
                                          "clock; 'note' needs one of: legal, officer")


def test_an_entry_reaches_the_destination_of_its_trigger(world: World) -> None:
    rows = forged(world.rows[P1], 2, {"to": "approved"})
    assert world.finding(P1, rows) == (2, "'screen' leads from 'submitted' to 'review', but the entry says "
                                          "'approved'")


@pytest.mark.parametrize(("seq", "change", "recorded", "replayed"), [
    (2, {"due": None}, ("{entered}", "None"), ("{entered}", "{due}")),
    (2, {"entered": "2026-01-01T00:00:00.000000Z"}, ("2026-01-01T00:00:00.000000Z", "{due}"),
     ("{entered}", "{due}")),
    (1, {"due": "2026-03-03T09:00:00.000000Z"}, ("{entered}", "2026-03-03T09:00:00.000000Z"),
     ("{entered}", "{due}")),
    (5, {"due": "2026-04-01T09:00:00.000000Z"}, ("{entered}", "2026-04-01T09:00:00.000000Z"),
     ("{entered}", "None")),
    (4, {"entered": "2026-03-02T09:00:00.000000Z"}, ("2026-03-02T09:00:00.000000Z", "{due}"),
     ("{entered}", "{due}")),
])
def test_each_entry_records_when_the_stage_was_entered_and_is_due(world: World, seq: int, change: dict,
                                                                  recorded: tuple, replayed: tuple) -> None:
    e = world.entry(P1, seq)
    fill = {"entered": e["entered"], "due": e["due"]}
    rows = forged(world.rows[P1], seq, change)
    assert world.finding(P1, rows) == (seq, "the entry records the stage entered at {} and due {}, but the replay "
                                            "gives {} and {}".format(*(x.format(**fill) for x in
                                                                       (*recorded, *replayed))))


def test_the_rules_are_asked_for_at_the_intakes_seq(world: World) -> None:
    rows = forged(world.rows[P1], 1, lambda e: {**e, "pathway": {**e["pathway"], "version": 99}})
    assert world.finding(P1, rows) == (1, "the rules it is pinned to were never published")


def test_an_entry_without_a_trigger_is_judged_as_the_empty_trigger(world: World) -> None:
    rows = forged(world.rows[P1], 2, without("trigger"))
    assert world.finding(P1, rows) == (2, "'' was recorded as done, but the rules refuse it: '' is not a trigger of "
                                          "pathway 'mini'")


def test_a_trigger_that_requires_a_document_needs_one_attached(world: World) -> None:
    rows = forged(world.rows[P1], 4, {"attachments": []})
    assert world.finding(P1, rows) == (4, "'note' was recorded as done, but the rules refuse it: 'note' requires "
                                          "an attached document (--attach FILE)")


def test_every_problem_with_the_intake_data_is_named(world: World) -> None:
    rows = forged(world.rows[P1], 1, lambda e: {**e, "input": {"value": "a lot", "pricing": e["input"]["pricing"]}})
    assert world.finding(P1, rows) == (1, "the intake's data is not what the rules accept: value: 'a lot' is not a "
                                          "number (write a plain decimal amount, e.g. 12000.50 or 12,000.50); "
                                          "vendor: required by pathway 'mini' (string)")


def test_version_1_entries_record_no_stage_dates(world: World) -> None:
    rows = world.rows[P1]
    for seq in range(1, 6):
        rows = forged(rows, seq, lambda e: {**{k: v for k, v in e.items() if k not in ("entered", "due",
                                                                                       "registry")}, "v": 1})
    d = world.replay(P1, rows)
    assert (d.state, d.due_at, d.entered_at) == ("approved", None, world.entry(P1, 5)["at"])


def test_salted_hash_of_the_kept_value_is_what_the_entry_shows(world: World) -> None:
    salt, value = world.secrets[P1][(1, "pricing")]
    assert world.entry(P1, 1)["input"]["pricing"] == {"salted_sha256": salted_hash(value, salt)}


def test_the_clock_never_fires_in_a_stage_without_a_due_time(tmp_path: Path) -> None:
    """submitted and review are due at the end of the ``closes`` day; with no ``closes`` recorded neither has
    a due time (the intake and the screening replay so), and a clock entry firing review's deadline is a
    finding."""
    text = (MINI.read_text().replace("  notes: {type: text}\n", "  notes: {type: text}\n  closes: {type: date}\n")
            .replace("deadline: {calendar_days: 30, on_expiry: expire}",
                     "deadline: {until: closes, on_expiry: expire}")
            .replace("deadline: {business_days: 10, on_expiry: escalate}",
                     "deadline: {until: closes, on_expiry: escalate}"))
    eng = Engine(f"sqlite:///{tmp_path / 'until.db'}", clock=FakeClock())
    try:
        eng.add_user("ana", ["officer"])
        rules = loads(text, "<mini until closes>")
        eng.publish(rules, actor="ana")
        pid = eng.intake("mini", MINI_DATA, actor="ana")
        eng.advance(pid, "screen", actor="ana")
        registry = Registry()
        for e in eng.entries(REGISTRY):
            registry.append(Stored(e.seq, e.hash, bytes(e.body)))
        rows = [Stored(e.seq, e.hash, bytes(e.body)) for e in eng.entries(pid)]
        secrets = {(s["seq"], s["field"]): (s["salt"], s["value"]) for s in eng.secrets(pid)}
    finally:
        eng.close()
    screen = json.loads(rows[1].body)
    assert json.loads(rows[0].body)["due"] is None and screen["due"] is None
    at = "2026-06-01T00:00:00.000000Z"
    fired = {**screen, "seq": 3, "prev": rows[1].hash, "at": at, "actor": "clock", "role": "clock",
             "trigger": "expire", "from": "review", "to": "expired", "rationale": "deadline passed", "entered": at}
    body, digest = seal(fired)
    w = World(registry, compile_pathway(rules), {pid: [*rows, Stored(3, digest, body)]}, {pid: secrets})
    assert w.finding(pid, w.rows[pid]) == (3, f"the clock fired 'expire' at {at}, before the stage was due (the "
                                              "stage has no deadline)")
