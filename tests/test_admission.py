"""The checks before the guards, as a pure function: every reason at once, no database."""

from __future__ import annotations

from conftest import MINI

from engine.admission import admit
from engine.audit import conceal, salted_hash
from pathways import load, loads

PATHWAY = load(MINI)


def test_a_good_request_is_admitted_with_its_role() -> None:
    a = admit(PATHWAY, "review", "approve", actor="lee", roles=["legal"], rationale="fine", updates={},
              attached=False)
    assert (a.reasons, a.role, a.inputs_ok) == ([], "legal", True)


def test_every_reason_is_given_at_once() -> None:
    a = admit(PATHWAY, "review", "note", actor="ana", roles=["auditor"], rationale=None,
              updates={"vendor": "Evil", "value": "lots"}, attached=False)
    assert a.role is None and a.inputs_ok is False
    assert [r.split(":")[0] for r in a.reasons] == [
        "ana acts as auditor; 'note' needs one of", "--set vendor", "--set value", "'note' requires --set notes=..."]


def test_wrong_stage_and_unknown_trigger_name_what_is_possible() -> None:
    wrong = admit(PATHWAY, "submitted", "approve", actor="lee", roles=["legal"], rationale="x", updates={},
                  attached=False)
    assert wrong.reasons == ["'approve' cannot be fired from stage 'submitted'; from here: screen, decline"]
    unknown = admit(PATHWAY, "review", "aprove", actor="lee", roles=["legal"], rationale="x", updates={},
                    attached=False)
    assert unknown.reasons == ["'aprove' is not a trigger of pathway 'mini' (did you mean 'approve'?)"]


def test_conceal_keeps_confidential_values_aside() -> None:
    shown, kept = conceal({"vendor": "Acme", "pricing": "7.10"}, frozenset({"pricing"}))
    assert shown["vendor"] == "Acme"
    salt, value = kept["pricing"]
    assert value == "7.10" and shown["pricing"] == {"salted_sha256": salted_hash("7.10", salt)}


def _admit(state: str, trigger: str, pathway=PATHWAY, **kw: object):  # noqa: ANN001, ANN202 - test helper
    args = {"actor": "ana", "roles": ["officer"], "rationale": "x", "updates": {}, "attached": False, **kw}
    return admit(pathway, state, trigger, **args)


def test_a_final_stage_says_nothing_can_be_fired_from_it() -> None:
    assert _admit("approved", "decline").reasons == [
        "'decline' cannot be fired from stage 'approved'; from here: none: the stage is final"]


def test_an_unknown_user_is_refused_and_acts_in_no_role() -> None:
    a = _admit("review", "note", roles=None, updates={"notes": "x"})
    assert (a.reasons, a.role) == (["unknown user 'ana': add them first with 'pathways users add'"], None)
    clock = _admit("review", "expire", actor="clock", roles=None)
    assert clock.reasons == ["'clock' acts only through 'pathways tick', when a deadline is due"]


def test_a_wrong_role_names_every_role_held_and_every_role_allowed() -> None:
    many = _admit("review", "note", roles=["auditor", "clerk"], updates={"notes": "x"})
    assert many.reasons == ["ana acts as auditor, clerk; 'note' needs one of: legal, officer"]
    assert many.role is None
    none = _admit("review", "approve", roles=[])
    assert none.reasons == ["ana acts as no role; 'approve' needs one of: legal"]


def test_a_required_attachment_is_refused_when_missing_and_admitted_when_given() -> None:
    text = MINI.read_text(encoding="utf-8").replace("    roles: [legal]\n    requires: [rationale]\n",
                                                    "    roles: [legal]\n    requires: [rationale, attachment]\n")
    pathway = loads(text)
    assert _admit("review", "approve", pathway, roles=["legal"]).reasons == [
        "'approve' requires an attached document (--attach FILE)"]
    assert _admit("review", "approve", pathway, roles=["legal"], attached=True).reasons == []
    assert _admit("review", "approve", roles=["legal"], attached=False).reasons == []  # mini needs none


def test_a_field_the_trigger_does_not_set_names_what_it_may_set() -> None:
    assert _admit("submitted", "screen", updates={"notes": "x"}).reasons == [
        "--set notes: 'screen' does not change 'notes'; it sets no fields"]
    assert _admit("review", "note", updates={"notes": "x", "vendor": "Evil"}).reasons == [
        "--set vendor: 'note' does not change 'vendor'; it may set: notes, value"]


def test_inputs_are_ok_only_when_every_field_is_known_and_valid() -> None:
    assert _admit("review", "note", updates={"notes": "x"}).inputs_ok is True
    assert _admit("review", "note", updates={"notes": "x", "vendor": "Evil"}).inputs_ok is False  # unknown only
    assert _admit("review", "note", updates={"notes": "x", "value": "lots"}).inputs_ok is False  # invalid only
    clean = _admit("review", "note", updates={"notes": "x", "value": "24999.99"})
    assert (clean.inputs_ok, clean.updates) == (True, {"notes": "x", "value": "24999.99"})
