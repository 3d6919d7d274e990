"""The checks before the guards, as a pure function: every reason at once, no database."""

from __future__ import annotations

from conftest import MINI

from engine.admission import admit
from engine.audit import conceal, salted_hash
from pathways import load

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
