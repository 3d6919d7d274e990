"""The engine's contract, through its Python API: every step and every refusal on the record."""

from __future__ import annotations

import json

import pytest
from conftest import MINI, MINI_DATA, FakeClock

from engine import Conflict, Engine, InvalidData, Refused
from engine.audit import salted_hash
from pathways.errors import NotFound, UsageError


def test_intake_pins_the_latest_version_and_records_entry_one(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    shown = mini.show(pid)
    assert (pid, shown["pathway"], shown["version"], shown["state"]) == ("mini-0001", "mini", 1, "submitted")
    (entry,) = mini.history(pid)
    assert entry["kind"] == "intake" and entry["seq"] == 1 and entry["prev"] == "0" * 64
    assert entry["pathway"] == {"id": "mini", "version": 1, "sha256": shown["sha256"]}
    assert entry["input"]["value"] == "12000"  # money as a string, never a float


def test_confidential_values_are_salted_hashes_in_the_entry(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    (entry,) = mini.history(pid)
    assert set(entry["input"]["pricing"]) == {"salted_sha256"}
    raw = b"".join(row.body for row in mini.entries(pid))
    assert b"proprietary" not in raw
    data_salt, secret = mini.secrets(pid)  # the salt of the data digests (no value), then the kept value
    assert data_salt["field"] == ":data" and data_salt["value"] is None
    assert secret["field"] == "pricing" and secret["value"] == MINI_DATA["pricing"]


def test_advance_moves_and_chains(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    result = mini.advance(pid, "screen", actor="ana")
    assert {k: result[k] for k in ("id", "trigger", "from", "to", "seq")} == {
        "id": pid, "trigger": "screen", "from": "submitted", "to": "review", "seq": 2}
    entries = mini.history(pid)
    assert entries[1]["prev"] == entries[0]["hash"] and entries[1]["hash"] == result["hash"]
    assert entries[1]["role"] == "officer"


@pytest.mark.parametrize(("actor", "trigger", "kwargs", "fragment"), [
    ("ana", "approve", {"rationale": "ok"}, "'approve' needs one of: legal"),
    ("lee", "approve", {}, "requires a written rationale"),
    ("mallory", "screen", {}, "unknown user 'mallory'"),
    ("ana", "aprove", {}, "did you mean 'approve'"),
    ("ana", "screen", {}, "cannot be fired from stage 'review'"),
    ("ana", "note", {"updates": {"notes": "x", "vendor": "Evil Corp"}}, "does not change 'vendor'"),
    ("ana", "note", {"updates": {"value": "lots"}}, "'lots' is not a number"),
    ("ana", "note", {}, "requires --set notes"),
])
def test_refusals_are_recorded_with_every_reason(mini: Engine, actor: str, trigger: str, kwargs: dict,
                                                 fragment: str) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    with pytest.raises(Refused) as info:
        mini.advance(pid, trigger, actor=actor, **kwargs)
    assert any(fragment in r for r in info.value.reasons), info.value.reasons
    last = mini.history(pid)[-1]
    assert last["kind"] == "refusal" and last["reasons"] == info.value.reasons
    assert last["actor"] == actor and last["trigger"] == trigger
    assert mini.show(pid)["state"] == "review"
    mini.verify([pid])


def test_guard_refusal_carries_condition_results_and_citation(mini: Engine) -> None:
    pid = mini.intake("mini", {**MINI_DATA, "value": "30000"}, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    with pytest.raises(Refused) as info:
        mini.advance(pid, "approve", actor="lee", rationale="good value")
    assert info.value.reasons == ["the cost to the city exceeds the $25,000 pilot cap [West Palm Beach Code §66-74]"]
    last = mini.history(pid)[-1]
    assert last["conditions"] == [{"check": "proposal.value <= pathway.limits.max_value", "result": False,
                                   "cite": "West Palm Beach Code §66-74"}]
    # the value is lowered on the record, then the same approval passes
    mini.advance(pid, "note", actor="lee", updates={"value": "24999.99", "notes": "renegotiated"})
    assert mini.advance(pid, "approve", actor="lee", rationale="good value")["to"] == "approved"
    assert mini.history(pid)[-1]["conditions"][0]["result"] is True


def test_intake_data_is_validated_per_field(mini: Engine) -> None:
    with pytest.raises(InvalidData) as info:
        mini.intake("mini", {"vendr": "x", "value": "12,000.123"}, actor="ana")
    text = "\n".join(info.value.problems)
    assert "vendr: not a field of pathway 'mini' (did you mean 'vendor'?)" in text
    assert "value: '12,000.123' has more than two decimals" in text
    assert "vendor: required" in text
    assert mini.list() == []  # nothing half-written


def test_intake_by_unknown_user_is_refused_and_recorded_in_the_registry(mini: Engine) -> None:
    with pytest.raises(Refused) as info:
        mini.intake("mini", MINI_DATA, actor="mallory")
    assert info.value.reasons == ["unknown user 'mallory': add them first with 'pathways users add'"]
    assert mini.list() == []
    registry = [json.loads(r.body) for r in mini.entries("registry")]
    assert registry[-1]["kind"] == "refusal" and registry[-1]["actor"] == "mallory"


def test_publish_is_idempotent_and_refuses_changed_content(mini: Engine, tmp_path) -> None:
    _, created = mini.publish(MINI, actor="ana")
    assert created is False
    changed = tmp_path / "mini.yaml"
    changed.write_text(MINI.read_text().replace("max_value: 25000", "max_value: 50000"), encoding="utf-8")
    with pytest.raises(Conflict, match="raise 'version'"):
        mini.publish(changed, actor="ana")


def test_running_proposals_keep_their_version(mini: Engine, tmp_path) -> None:
    """Editing the rules never changes a running proposal: it stays pinned to its sha256."""
    old = mini.intake("mini", MINI_DATA, actor="ana")
    v2 = tmp_path / "mini.yaml"
    v2.write_text(MINI.read_text().replace("version: 1", "version: 2").replace("max_value: 25000", "max_value: 9000"),
                  encoding="utf-8")
    mini.publish(v2, actor="ana")
    new = mini.intake("mini", MINI_DATA, actor="ana")
    assert (mini.show(old)["version"], mini.show(new)["version"]) == (1, 2)
    for pid in (old, new):
        mini.advance(pid, "screen", actor="ana")
    assert mini.advance(old, "approve", actor="lee", rationale="within the v1 cap")["to"] == "approved"
    with pytest.raises(Refused) as info:
        mini.advance(new, "approve", actor="lee", rationale="over the v2 cap")
    # refused by v2's cap (9,000) that the proposal is pinned to; the message text was not changed in v2
    assert info.value.reasons == ["the cost to the city exceeds the $25,000 pilot cap [West Palm Beach Code §66-74]"]
    assert mini.history(new)[-1]["conditions"] == [{"check": "proposal.value <= pathway.limits.max_value",
                                                    "result": False, "cite": "West Palm Beach Code §66-74"}]


def test_show_lists_available_triggers_with_roles(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    available = {a["trigger"]: a for a in mini.show(pid)["available"]}
    assert set(available) == {"note", "approve", "decline", "expire"}
    assert available["approve"]["to"] == "approved" and available["approve"]["roles"] == ["legal"]
    assert available["expire"]["roles"] == ["clock"]


def test_clock_fires_due_deadlines(mini: Engine, clock: FakeClock) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    assert mini.tick() == []
    clock.advance(days=31)
    assert mini.list(overdue=True)[0]["id"] == pid
    (fired,) = mini.tick()
    assert fired["to"] == "expired"
    last = mini.history(pid)[-1]
    assert (last["actor"], last["role"], last["trigger"]) == ("clock", "clock", "expire")
    mini.verify([pid])


def test_staff_cannot_impersonate_the_clock(mini: Engine) -> None:
    with pytest.raises(UsageError):
        mini.add_user("clock", ["officer"])
    with pytest.raises(UsageError):
        mini.add_user("eve", ["clock"])


def test_attachments_are_stored_by_hash(mini: Engine, tmp_path) -> None:
    doc = tmp_path / "agreement.pdf"
    doc.write_bytes(b"%PDF-1.4 signed agreement")
    pid = mini.intake("mini", MINI_DATA, actor="ana", attachments=[doc])
    (entry,) = mini.history(pid)
    (ref,) = entry["attachments"]
    assert ref["name"] == "attachment-1.pdf" and ref["size"] == doc.stat().st_size  # the original is kept aside
    (kept,) = [s for s in mini.secrets(pid) if s["field"] == ":attachment-1"]
    assert kept["value"] == "agreement.pdf"
    assert ref["original"] == {"salted_sha256": salted_hash("agreement.pdf", kept["salt"])}
    assert mini.attachment(ref["sha256"]) == doc.read_bytes()


def test_unknown_ids_are_not_found(mini: Engine) -> None:
    for call in (lambda: mini.show("nope-1"), lambda: mini.history("nope-1"),
                 lambda: mini.advance("nope-1", "screen", actor="ana"), lambda: mini.intake("nope", {}, actor="ana"),
                 lambda: mini.verify(["nope-1"])):
        with pytest.raises(NotFound):
            call()


def test_database_url_errors_are_usage_errors(tmp_path) -> None:
    for url in ("nonsense", "mysql://x/y", "sqlite://", f"sqlite:///{tmp_path}/no/such/dir/x.db"):
        with pytest.raises(UsageError):
            Engine(url)


@pytest.mark.postgres
def test_same_engine_works_on_postgresql(pg_url: str, clock: FakeClock) -> None:
    eng = Engine(pg_url, clock=clock)
    try:
        eng.add_user("ana", ["officer"])
        eng.add_user("lee", ["legal"], actor="ana")
        eng.publish(MINI, actor="ana")
        pid = eng.intake("mini", MINI_DATA, actor="ana")
        eng.advance(pid, "screen", actor="ana")
        with pytest.raises(Refused) as info:
            eng.advance(pid, "approve", actor="lee")
        assert info.value.reasons == ["'approve' requires a written rationale (--rationale)"]
        assert eng.history(pid)[-1]["kind"] == "refusal"
        assert eng.advance(pid, "approve", actor="lee", rationale="fine")["to"] == "approved"
        assert all(r.error is None for r in eng.verify())
    finally:
        eng.close()


def test_a_refused_clock_firing_is_recorded_once(mini: Engine, clock: FakeClock, tmp_path) -> None:
    """An hourly cron must not fill the trail with the same refusal; it retries after a change."""
    v2 = tmp_path / "mini-v2.yaml"
    v2.write_text(MINI.read_text().replace("version: 1", "version: 2").replace(
        "    to: expired\n    requires: [rationale]",
        "    to: expired\n    requires: [rationale]\n    when:\n      - check: has(proposal.notes)\n"
        "        message: write a closing note first"), encoding="utf-8")
    mini.publish(v2, actor="ana")
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    clock.advance(days=31)
    assert mini.tick()[0]["refused"] is True
    assert mini.tick() == [] and mini.tick() == []
    mini.advance(pid, "note", actor="ana", updates={"notes": "closing"})
    assert mini.tick()[0]["to"] == "expired"
    kinds = [(e["kind"], e["actor"]) for e in mini.history(pid)]
    assert kinds.count(("refusal", "clock")) == 1


def test_refusal_reasons_never_quote_a_confidential_value(mini: Engine, tmp_path) -> None:
    """Reasons are hashed into the trail and exported publicly: a bad confidential value is not repeated."""
    v2 = tmp_path / "mini-v2.yaml"
    v2.write_text(MINI.read_text().replace("version: 1", "version: 2")
                  .replace("  notes: {type: text}",
                           "  notes: {type: text}\n  sealed_bid: {type: money, confidential: true}")
                  .replace("    to: review\n    roles: [officer]\n", "    to: review\n    roles: [officer]\n"
                                                                  "    updates: [sealed_bid]\n"), encoding="utf-8")
    mini.publish(v2, actor="ana")
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    with pytest.raises(Refused) as info:
        mini.advance(pid, "screen", actor="ana", updates={"sealed_bid": "ninety-one thousand"})
    assert info.value.reasons == ["--set sealed_bid: the value given is not a valid money (value withheld: "
                                  "confidential)"]
    assert b"ninety-one" not in b"".join(row.body for row in mini.entries(pid))


def test_publish_by_unknown_user_is_refused_and_recorded(mini: Engine, tmp_path) -> None:
    v2 = tmp_path / "mini-v2.yaml"
    v2.write_text(MINI.read_text().replace("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(Refused, match="unknown user 'mallory'"):
        mini.publish(v2, actor="mallory")
    last = json.loads(mini.entries("registry")[-1].body)
    assert (last["kind"], last["actor"], last["trigger"]) == ("refusal", "mallory", "publish")
    assert [p["version"] for p in mini.pathways()] == [1]


def test_intake_cannot_set_what_staff_record_later(mini: Engine) -> None:
    """A vendor's intake data must not skip a step: fields a transition records are refused at intake."""
    with pytest.raises(InvalidData) as info:
        mini.intake("mini", {**MINI_DATA, "notes": "approved already"}, actor="ana")
    assert info.value.problems == ["notes: recorded by staff with 'note' (officer, legal), not at intake "
                                   "(a definition can allow it with 'at_intake: true')"]


def test_only_an_admin_grants_roles_and_refusals_are_recorded(mini: Engine) -> None:
    assert [u["roles"] for u in mini.users() if u["name"] == "ana"] == [["admin", "officer"]]
    with pytest.raises(Refused, match="only a user with the 'admin' role"):
        mini.add_user("lee", ["officer"], actor="lee")  # self-promotion
    with pytest.raises(Refused) as info:
        mini.add_user("mallory", ["legal"], actor="mallory")
    assert info.value.reasons == ["mallory may not grant roles: only a user with the 'admin' role may"]
    last = json.loads(mini.entries("registry")[-1].body)
    assert (last["kind"], last["actor"], last["trigger"]) == ("refusal", "mallory", "users add")
    assert [u["name"] for u in mini.users()] == ["ana", "lee"]
    assert mini.add_user("lee", ["officer"], actor="ana") == ["legal", "officer"]


@pytest.mark.parametrize("name", ["bad name!", "", "-x", "a" * 65])
def test_user_names_are_plain(mini: Engine, name: str) -> None:
    with pytest.raises(UsageError, match="cannot be a user name"):
        mini.add_user(name, ["officer"], actor="ana")


def test_money_is_not_negative_unless_the_field_allows_it(mini: Engine) -> None:
    with pytest.raises(InvalidData, match="value: -5 is negative"):
        mini.intake("mini", {**MINI_DATA, "value": "-5"}, actor="ana")


def test_misspelt_list_filters_are_errors_with_hints(mini: Engine) -> None:
    with pytest.raises(NotFound, match="did you mean 'mini'"):
        mini.list(pathway="mnii")
    with pytest.raises(UsageError, match="did you mean 'review'"):
        mini.list(state="reveiw")
    assert mini.list(pathway="mini", state="review") == []


def test_the_clock_cannot_be_named_with_as(mini: Engine) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    with pytest.raises(Refused, match="acts only through 'pathways tick'"):
        mini.advance(pid, "decline", actor="clock", rationale="x")


def test_the_clock_does_nothing_when_its_view_is_stale(mini: Engine, clock: FakeClock) -> None:
    """Between the clock's scan and its firing, staff may act; the firing then waits for the next tick."""
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")  # seq 2
    clock.advance(days=31)
    mini.advance(pid, "note", actor="ana", updates={"notes": "late"})  # seq 3, after a scan that saw seq 2
    assert mini._advance(pid, "expire", "clock", "deadline passed", {}, [], clock=True, expect_seq=2) is None
    assert len(mini.history(pid)) == 3
    assert mini.tick()[0]["to"] == "expired"
