"""The tamper matrix: every cache table and column, edited as an insider would, is named by ``verify``.

Each case plays someone with the database's credentials, on SQLite and on
PostgreSQL: the append-only triggers are taken out of the way (SQLite: ``DROP
TRIGGER``; PostgreSQL: ``ALTER TABLE ... DISABLE TRIGGER ALL``, as the table
owner may) and one thing is changed with plain SQL. A fresh reader
(``Engine(url, create=False)``, what ``pathways verify`` opens) must then
report exactly the chains the change breaks, each at the seq of the entry a
lawyer should look at, with a reason in words. Cases are named for what
they break. The write path's answer to some of them (intake, advance,
tick, users add, publish) is pinned too: refused with ``Tampered`` and
nothing written, never a traceback.

The world every case starts from (registry seqs and proposal entries are
pinned by the expectations below):

registry  1 user ana [admin, officer]   2 user lee [legal]   3 user rob [viewer]
          4 publish mini v1             5 user kim [legal, officer]
          6 revoke kim's legal          7 user zoe [officer] (after the proposals)
mini-0001 1 intake (confidential pricing)  2 screen  3 refused note by rob setting pricing
          4 note by ana with an attached site plan  5 approve by lee (a day later): approved
mini-0002 1 intake at $30,000 (over the cap)  2 screen: in review, due in 30 days
mini-0003 1 intake: submitted
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import MINI, MINI_DATA, FakeClock

from cli import cli
from engine import Engine, Refused
from engine.audit import leaf_hash, timestamp
from engine.errors import Tampered
from pathways import loads
from pathways.canonical import canonical_bytes

#: mini, with the confidential pricing also given at intake and renegotiable by a note, so that a
#: refused attempt keeps a secret too.
YAML = (MINI.read_text().replace("updates: [notes, value]", "updates: [notes, value, pricing]")
        .replace("confidential: true,", "confidential: true, at_intake: true,"))
P1, P2, P3 = "mini-0001", "mini-0002", "mini-0003"
REG = "registry"
APPEND_ONLY = ("audit_log", "audit_secrets", "attachments")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


class Insider:
    """Someone holding the database's credentials: plain SQL, with the append-only triggers out of the way."""

    def __init__(self, url: str) -> None:
        self.db = sa.create_engine(sa_url(url))
        with self.db.begin() as conn:
            if self.db.dialect.name == "sqlite":
                for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'").all():
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            else:
                for table in APPEND_ONLY:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")

    def run(self, statement: str, **params: Any) -> None:
        with self.db.begin() as conn:
            conn.execute(sa.text(statement), params)

    def value(self, statement: str, **params: Any) -> Any:
        with self.db.begin() as conn:
            found = conn.execute(sa.text(statement), params).scalar()
        return bytes(found) if isinstance(found, memoryview) else found

    def entry(self, chain: str, seq: int) -> tuple[dict[str, Any], str]:
        body = self.value("SELECT body FROM audit_log WHERE chain=:c AND seq=:s", c=chain, s=seq)
        return json.loads(body), self.value("SELECT hash FROM audit_log WHERE chain=:c AND seq=:s", c=chain, s=seq)

    def edit_data(self, pid: str, **changes: Any) -> None:
        data = json.loads(self.value("SELECT data FROM proposals WHERE id=:p", p=pid))
        self.run("UPDATE proposals SET data=:d WHERE id=:p", d=json.dumps({**data, **changes}), p=pid)

    def close(self) -> None:
        self.db.dispose()


@dataclass
class World:
    url: str
    clock: FakeClock
    writer: Engine
    insider: Insider
    attachment: Path

    def reader(self) -> Engine:
        """What `pathways verify` opens: a fresh engine that creates nothing and has cached nothing."""
        return Engine(self.url, create=False, clock=self.clock)

    def findings(self, eng: Engine | None = None) -> list[tuple[str, int | None, str]]:
        """(chain, seq, reason) of every failing report, in report order."""
        eng = eng or self.reader()
        try:
            return [(r.chain, r.error.seq, r.error.reason) for r in eng.verify(raise_on_failure=False) if r.error]
        finally:
            if eng is not self.writer:
                eng.close()


def build(url: str, tmp_path: Path) -> World:
    clock = FakeClock()
    eng = Engine(url, clock=clock)
    eng.add_user("ana", ["officer"])
    eng.add_user("lee", ["legal"], actor="ana")
    eng.add_user("rob", ["viewer"], actor="ana")
    eng.publish(loads(YAML, "<mini with renegotiable pricing>"), actor="ana")
    eng.add_user("kim", ["legal", "officer"], actor="ana")
    eng.revoke("kim", ["legal"], actor="ana")
    assert eng.intake("mini", MINI_DATA, actor="ana") == P1
    eng.advance(P1, "screen", actor="ana")
    with pytest.raises(Refused):
        eng.advance(P1, "note", actor="rob", updates={"notes": "cheaper", "pricing": "unit price 1.00"})
    plan = tmp_path / "site-plan.pdf"
    plan.write_bytes(b"%PDF-1.4 site plan for the corridor sensors")
    eng.advance(P1, "note", actor="ana", updates={"notes": "site visit done"}, attachments=[plan])
    clock.advance(days=1)
    eng.advance(P1, "approve", actor="lee", rationale="within the pilot cap; form approved")
    assert eng.intake("mini", {**MINI_DATA, "value": "30000"}, actor="ana") == P2
    eng.advance(P2, "screen", actor="ana")
    assert eng.intake("mini", MINI_DATA, actor="ana") == P3
    eng.add_user("zoe", ["officer"], actor="ana")
    world = World(url, clock, eng, Insider(url), plan)
    assert world.findings() == []
    return world


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'matrix.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def world(url: str, tmp_path: Path) -> Iterator[World]:
    w = build(url, tmp_path)
    yield w
    w.writer.close()
    w.insider.close()


# --- the registry's caches: pathway_versions, users, meta ---------------------------------------------------


def raise_the_cap_in_the_stored_rules_and_rehash(w: World) -> None:
    """The classic: $25,000 becomes $50,000 in the stored text, and the sha256 column is recomputed to match."""
    source = w.insider.value("SELECT source FROM pathway_versions WHERE pathway_id='mini'")
    edited = source.replace("max_value: 25000", "max_value: 50000")
    assert edited != source
    w.insider.run("UPDATE pathway_versions SET source=:s, sha256=:h WHERE pathway_id='mini'", s=edited,
                  h=loads(edited, "<edited>").sha256)


def change_the_published_sha256(w: World) -> None:
    w.insider.run("UPDATE pathway_versions SET sha256=:h WHERE pathway_id='mini'", h="ab" * 32)


def retitle_the_published_rules(w: World) -> None:
    w.insider.run("UPDATE pathway_versions SET title='Emergency purchase (no competition)'")


def backdate_the_publication(w: World) -> None:
    w.insider.run("UPDATE pathway_versions SET published_at='2025-01-01T00:00:00.000000Z'")


def credit_someone_else_with_the_publication(w: World) -> None:
    w.insider.run("UPDATE pathway_versions SET published_by='lee'")


def delete_the_pinned_rules(w: World) -> None:
    w.insider.run("DELETE FROM pathway_versions WHERE pathway_id='mini' AND version=1")


def renumber_the_published_version(w: World) -> None:
    w.insider.run("UPDATE pathway_versions SET version=2 WHERE pathway_id='mini'")


def give_back_a_revoked_role(w: World) -> None:
    w.insider.run("""UPDATE users SET roles='["legal", "officer"]' WHERE name='kim'""")


def insert_a_user_around_the_engine(w: World) -> None:
    w.insider.run("""INSERT INTO users (name, roles, created_at) VALUES ('mallory', '["admin", "legal"]',
                     '2026-03-02T09:00:00.000001Z')""")


def delete_a_user_row(w: World) -> None:
    w.insider.run("DELETE FROM users WHERE name='lee'")


def rename_a_user(w: World) -> None:
    w.insider.run("UPDATE users SET name='leo' WHERE name='lee'")


def backdate_a_user(w: World) -> None:
    w.insider.run("UPDATE users SET created_at='2025-01-01T00:00:00.000000Z' WHERE name='lee'")


def drop_the_last_registry_entry_and_its_head(w: World) -> None:
    w.insider.run("DELETE FROM audit_log WHERE chain='registry' AND seq=7")
    w.insider.run("DELETE FROM meta WHERE key='registry_head'")


def rewind_the_registry_seq(w: World) -> None:
    w.insider.run("UPDATE meta SET value='5' WHERE key='registry_seq'")


def move_the_registry_head(w: World) -> None:
    _, head6 = w.insider.entry(REG, 6)
    w.insider.run("UPDATE meta SET value=:h WHERE key='registry_head'", h=head6)


def lower_the_proposal_counter(w: World) -> None:
    w.insider.run("UPDATE meta SET value='1' WHERE key='next_id:mini'")


def delete_the_proposal_counter(w: World) -> None:
    w.insider.run("DELETE FROM meta WHERE key='next_id:mini'")


# --- proposals ------------------------------------------------------------------------------------------------


def re_pin_a_proposal(w: World) -> None:
    w.insider.run("UPDATE proposals SET version=2, sha256=:h WHERE id=:p", h="cd" * 32, p=P2)


def re_pin_a_proposal_to_another_pathway(w: World) -> None:
    w.insider.run("UPDATE proposals SET pathway_id='emergency' WHERE id=:p", p=P2)


def move_the_stage_without_an_entry(w: World) -> None:
    w.insider.run("UPDATE proposals SET state='approved' WHERE id=:p", p=P2)


def lower_the_value_without_an_entry(w: World) -> None:
    w.insider.edit_data(P2, value="9000")


def change_a_confidential_value_in_the_row(w: World) -> None:
    w.insider.edit_data(P2, pricing="unit price 1.00")


def claim_an_entry_that_is_not_there(w: World) -> None:
    w.insider.run("UPDATE proposals SET seq=3 WHERE id=:p", p=P2)


def forget_the_last_entry(w: World) -> None:
    w.insider.run("UPDATE proposals SET seq=1 WHERE id=:p", p=P2)


def move_the_head(w: World) -> None:
    w.insider.run("UPDATE proposals SET head=:h WHERE id=:p", h="ef" * 32, p=P2)


def backdate_created_at(w: World) -> None:
    w.insider.run("UPDATE proposals SET created_at='2026-01-01T09:00:00.000000Z' WHERE id=:p", p=P2)


def backdate_entered_at(w: World) -> None:
    w.insider.run("UPDATE proposals SET entered_at='2026-01-01T09:00:00.000000Z' WHERE id=:p", p=P2)


def bring_the_due_date_forward(w: World) -> None:
    w.insider.run("UPDATE proposals SET due_at=:d WHERE id=:p", d=timestamp(w.clock.now - dt.timedelta(days=1)),
                  p=P2)


def delete_a_whole_proposal(w: World) -> None:
    w.insider.run("DELETE FROM proposals WHERE id=:p", p=P3)


def insert_a_proposal_row_without_a_chain(w: World) -> None:
    w.insider.run("""INSERT INTO proposals (id, pathway_id, version, sha256, state, data, seq, head, created_at,
                     entered_at, due_at) SELECT 'mini-0009', pathway_id, version, sha256, 'approved', data, seq,
                     head, created_at, entered_at, NULL FROM proposals WHERE id=:p""", p=P3)


def rename_a_proposal(w: World) -> None:
    w.insider.run("UPDATE proposals SET id='mini-0009' WHERE id=:p", p=P3)


def forge_an_approval_by_someone_without_the_role(w: World) -> None:
    """A well-formed `approve` entry (right seq, prev and hash; no trigger touched) by rob, who holds no
    `legal` role, recording the cap guard as failed; the proposals row is updated to match."""
    forge_approval(w)


def forge_approval(w: World) -> dict[str, Any]:
    last, head = w.insider.entry(P2, 2)
    approve, _ = w.insider.entry(P1, 5)
    at = timestamp(w.clock.now + dt.timedelta(hours=1))
    forged = {**last, "seq": 3, "prev": head, "at": at, "kind": "transition", "actor": "rob", "role": "legal",
              "trigger": "approve", "from": "review", "to": "approved", "rationale": "approved as discussed",
              "conditions": [{**c, "result": False} for c in approve["conditions"]], "input": {},
              "attachments": [], "entered": at, "due": None}
    body = canonical_bytes(forged)
    w.insider.run("INSERT INTO audit_log (chain, seq, hash, body) VALUES (:c, 3, :h, :b)", c=P2,
                  h=leaf_hash(body), b=body)
    w.insider.run("UPDATE proposals SET state='approved', seq=3, head=:h, entered_at=:a, due_at=NULL WHERE id=:p",
                  h=leaf_hash(body), a=at, p=P2)
    return forged


# --- the evidence beside the entries: audit_secrets, attachments, audit_log -----------------------------------


def delete_the_kept_value_of_the_intake(w: World) -> None:
    w.insider.run("DELETE FROM audit_secrets WHERE chain=:p AND seq=1", p=P1)


def delete_the_kept_value_of_a_refused_attempt(w: World) -> None:
    w.insider.run("DELETE FROM audit_secrets WHERE chain=:p AND seq=3", p=P1)


def change_a_kept_value(w: World) -> None:
    w.insider.run("""UPDATE audit_secrets SET value='"unit price 1.00"' WHERE chain=:p AND seq=1""", p=P1)


def change_a_salt(w: World) -> None:
    w.insider.run("UPDATE audit_secrets SET salt=:s WHERE chain=:p AND seq=3", s="00" * 16, p=P1)


def alter_an_attached_file(w: World) -> None:
    w.insider.run("UPDATE attachments SET content=:c", c=b"%PDF-1.4 a different site plan, same length!")


def delete_an_attached_file(w: World) -> None:
    w.insider.run("DELETE FROM attachments")


def change_an_attachment_size(w: World) -> None:
    w.insider.run("UPDATE attachments SET size=size+1")


def flip_a_byte_of_an_entry(w: World) -> None:
    body = bytearray(w.insider.value("SELECT body FROM audit_log WHERE chain=:p AND seq=2", p=P2))
    body[body.index(b'"to":"') + 6] ^= 0x01
    w.insider.run("UPDATE audit_log SET body=:b WHERE chain=:p AND seq=2", b=bytes(body), p=P2)


def delete_a_registry_entry_proposals_relied_on(w: World) -> None:
    w.insider.run("DELETE FROM audit_log WHERE chain='registry' AND seq=5")


# --- what verify must say ----------------------------------------------------------------------------------------

RULES_EDITED = "the stored rules were edited"
UNCHECKABLE = "the rules it is pinned to cannot be checked"
Expect = list[tuple[str, int, str]]
Case = tuple[Callable[[World], None], Expect]

CASES: list[Case] = [
    (raise_the_cap_in_the_stored_rules_and_rehash,
     [(REG, 4, RULES_EDITED), (P1, 1, UNCHECKABLE), (P2, 1, UNCHECKABLE), (P3, 1, UNCHECKABLE)]),
    (change_the_published_sha256,
     [(REG, 4, "the stored record of mini v1 says sha256 " + "ab" * 32)]),
    (backdate_the_publication, [(REG, 4, "published 2025-01-01T00:00:00.000000Z by ana; the registry entry says")]),
    (credit_someone_else_with_the_publication, [(REG, 4, "by lee; the registry entry says")]),
    (delete_the_pinned_rules,
     [(REG, 4, "the rules of mini v1 published here are missing from the database (pathway_versions)")]
     + [(p, 1, "its stored rules are missing") for p in (P1, P2, P3)]),
    (renumber_the_published_version,
     [(REG, 4, "the rules of mini v1 published here are missing from the database")]
     + [(p, 1, "its stored rules are missing") for p in (P1, P2, P3)]),
    (give_back_a_revoked_role, [(REG, 6, 'gives kim the roles ["legal", "officer"]')]),
    (insert_a_user_around_the_engine, [(REG, 7, "lists mallory, whom no registry entry ever added")]),
    (delete_a_user_row, [(REG, 2, "user lee is granted legal here, but the users table has no such user")]),
    (rename_a_user, [(REG, 2, "user lee is granted legal here, but the users table has no such user")]),
    (backdate_a_user, [(REG, 2, "the users table gives lee the roles")]),
    (drop_the_last_registry_entry_and_its_head,
     [(REG, 6, "the database records the registry's last entry as seq 7 (None), but the registry chain ends at "
               "seq 6")]),
    (rewind_the_registry_seq, [(REG, 7, "records the registry's last entry as seq 5")]),
    (move_the_registry_head, [(REG, 7, "registry entries or the recorded head were removed or changed")]),
    (delete_a_registry_entry_proposals_relied_on,
     [(REG, 5, "entry seq 5 is missing")]
     + [(p, 1, "which the registry no longer holds: registry entries it relied on were removed")
        for p in (P1, P2, P3)]),
    (lower_the_proposal_counter, [(P3, 1, "the proposal counter of mini is 1, below 3, a number in use")]),
    (delete_the_proposal_counter, [(P3, 1, "the proposal counter of mini is None, below 3")]),
    (re_pin_a_proposal, [(P2, 1, "the proposal was re-pinned without an entry")]),
    (re_pin_a_proposal_to_another_pathway, [(P2, 1, "pinned to emergency v1")]),
    (move_the_stage_without_an_entry, [(P2, 2, "the stage was changed without an entry")]),
    (lower_the_value_without_an_entry, [(P2, 1, "field 'value' holds a value the entries do not record")]),
    (change_a_confidential_value_in_the_row, [(P2, 1, "field 'pricing' holds a value the entries do not record")]),
    (claim_an_entry_that_is_not_there, [(P2, 3, "entry seq 3 is missing at the end")]),
    (forget_the_last_entry, [(P2, 2, "entry seq 2 is stored, but the proposal records only 1")]),
    (move_the_head, [(P2, 2, "the recorded head is " + "ef" * 32)]),
    (backdate_created_at, [(P2, 2, "created_at is 2026-01-01T09:00:00.000000Z, but its entries give")]),
    (backdate_entered_at, [(P2, 2, "entered_at is 2026-01-01T09:00:00.000000Z, but its entries give")]),
    (bring_the_due_date_forward, [(P2, 2, "the proposal's due_at is")]),
    (delete_a_whole_proposal, [(P3, 1, "the chain has no proposal row")]),
    (insert_a_proposal_row_without_a_chain,
     [("mini-0009", 1, "the proposal has no entries: its row was inserted around the engine")]),
    (rename_a_proposal, [(P3, 1, "the chain has no proposal row"),
                         ("mini-0009", 1, "the proposal has no entries")]),
    (forge_an_approval_by_someone_without_the_role,
     [(P2, 3, "'approve' was recorded as done, but the rules refuse it: rob acts as viewer")]),
    (delete_the_kept_value_of_the_intake, [(P1, 1, "the kept value of confidential 'pricing' is missing")]),
    (delete_the_kept_value_of_a_refused_attempt, [(P1, 3, "the kept value of confidential 'pricing' is missing")]),
    (change_a_kept_value, [(P1, 1, "does not match the salted hash in the entry")]),
    (change_a_salt, [(P1, 3, "does not match the salted hash in the entry")]),
    (alter_an_attached_file, [(P1, 4, "does not match its hash and size: it was altered")]),
    (delete_an_attached_file, [(P1, 4, "the attached file attachment-1.pdf")]),  # entries record neutral names
    (change_an_attachment_size, [(P1, 4, "does not match its hash and size")]),
    (flip_a_byte_of_an_entry, [(P2, 2, "the entry was altered")]),
]


def check(found: list[tuple[str, int | None, str]], expected: Expect) -> None:
    assert [(c, s) for c, s, _ in found] == [(c, s) for c, s, _ in expected], found
    for (_, _, reason), (chain, seq, fragment) in zip(found, expected, strict=True):
        assert fragment in reason, f"{chain} seq {seq}: {reason!r} lacks {fragment!r}"


@pytest.mark.parametrize(("tamper", "expected"), CASES, ids=[c[0].__name__ for c in CASES])
def test_verify_names_every_chain_the_change_breaks(world: World, tamper: Callable[[World], None],
                                                     expected: Expect) -> None:
    tamper(world)
    check(world.findings(), expected)


def test_a_retitled_version_is_named(world: World) -> None:
    retitle_the_published_rules(world)
    check(world.findings(), [(REG, 4, "title")])


def test_a_running_engine_sees_edited_rules_too(world: World) -> None:
    """The writer (which compiled mini v1 while working) verifies as strictly as a fresh reader."""
    source = world.insider.value("SELECT source FROM pathway_versions WHERE pathway_id='mini'")
    world.insider.run("UPDATE pathway_versions SET source=:s", s=source.replace("max_value: 25000",
                                                                                 "max_value: 50000"))
    assert world.findings()[0][:2] == (REG, 4)  # a fresh reader sees it
    assert world.findings(world.writer)[:1] and world.findings(world.writer)[0][:2] == (REG, 4)


# --- what the write path does after each kind of change -------------------------------------------------------


def entries(w: World, chain: str) -> int:
    return w.insider.value("SELECT count(*) FROM audit_log WHERE chain=:c", c=chain)


def test_rules_edited_and_rehashed_new_intake_is_refused(world: World) -> None:
    """A fresh engine refuses both a new intake and an advance on an old proposal: the stored rules no
    longer re-hash to what the registry published. The writer, which compiled the real rules before the
    edit, keeps judging by them: the $30,000 proposal is still refused at the real cap."""
    raise_the_cap_in_the_stored_rules_and_rehash(world)
    fresh = world.reader()
    try:
        with pytest.raises(Tampered, match="do not re-hash to the sha256"):
            fresh.intake("mini", {**MINI_DATA, "value": "40000"}, actor="ana")
        with pytest.raises(Tampered, match="do not re-hash to the sha256"):
            fresh.advance(P2, "approve", actor="lee", rationale="the cap is $50,000 now")
    finally:
        fresh.close()
    assert entries(world, "mini-0004") == 0 and entries(world, P2) == 2
    assert world.insider.value("SELECT value FROM meta WHERE key='next_id:mini'") == "3"
    with pytest.raises(Refused, match=r"exceeds the \$25,000 pilot cap"):
        world.writer.advance(P2, "approve", actor="lee", rationale="the cap is $50,000 now")
    new = world.writer.intake("mini", {**MINI_DATA, "value": "40000"}, actor="ana")
    world.writer.advance(new, "screen", actor="ana")
    with pytest.raises(Refused, match=r"exceeds the \$25,000 pilot cap"):
        world.writer.advance(new, "approve", actor="lee", rationale="the cap is $50,000 now")
    found = world.findings()
    assert found[0][:2] == (REG, 4) and (new, 1) in [f[:2] for f in found]  # verify names the new one too


@pytest.mark.parametrize("tamper", [re_pin_a_proposal, delete_the_pinned_rules])
def test_a_re_pinned_or_rule_less_proposal_cannot_advance(world: World, tamper: Callable[[World], None]) -> None:
    tamper(world)
    fresh = world.reader()
    try:
        with pytest.raises(Tampered):
            fresh.advance(P2, "decline", actor="ana", rationale="over the cap")
    finally:
        fresh.close()
    assert entries(world, P2) == 2


def test_edited_roles_and_inserted_users_give_no_power(world: World) -> None:
    """Roles come from the registry's replay: kim's revoked `legal` put back in the table does not let
    her approve, and mallory, inserted as an admin, cannot grant roles (the refusal is recorded)."""
    give_back_a_revoked_role(world)
    insert_a_user_around_the_engine(world)
    world.writer.advance(P2, "note", actor="ana", updates={"notes": "value to be renegotiated", "value": "20000"})
    for eng in (world.writer, world.reader()):
        with pytest.raises(Refused, match="kim acts as officer; 'approve' needs one of: legal"):
            eng.advance(P2, "approve", actor="kim", rationale="looks fine")
        with pytest.raises(Refused, match="mallory may not grant roles: only a user with the 'admin' role may"):
            eng.add_user("eve", ["legal"], actor="mallory")
    assert world.writer.show(P2)["state"] == "review"


def test_a_forged_approval_is_named_with_every_rule_it_broke(world: World) -> None:
    forge_approval(world)
    check(world.findings(), [(P2, 3, "rob acts as viewer; 'approve' needs one of: legal")])
    assert "the cost to the city exceeds the $25,000 pilot cap" in world.findings()[0][2]


def test_advance_does_not_build_on_a_forged_approval(world: World) -> None:
    forge_approval(world)
    with pytest.raises(Tampered):
        world.reader().advance(P2, "decline", actor="ana", rationale="over the cap")
    assert entries(world, P2) == 3


def test_tick_does_not_fire_early_after_due_at_is_edited(world: World) -> None:
    """The review stage runs 30 days; due_at edited to yesterday does not let the clock expire it on day 0.
    On day 31 the clock fires as the chain says."""
    bring_the_due_date_forward(world)
    backdate_entered_at(world)
    for eng in (world.writer, world.reader()):
        assert eng.tick() == []
    assert (world.writer.show(P2)["state"], entries(world, P2)) == ("review", 2)
    world.clock.advance(days=31)
    fired = world.writer.tick()
    assert [(f["id"], f["trigger"], f["to"]) for f in fired if f["id"] == P2] == [(P2, "expire", "expired")]


def test_registry_head_gone_users_add_and_publish_fail_cleanly(world: World, tmp_path: Path) -> None:
    drop_the_last_registry_entry_and_its_head(world)
    definition = tmp_path / "mini2.yaml"
    definition.write_text(YAML.replace("version: 1", "version: 2"))
    runner = CliRunner()
    for args in (["users", "add", "newcomer", "--role", "officer", "--as", "ana"],
                 ["publish", str(definition), "--as", "ana"]):
        result = runner.invoke(cli, ["--db", world.url, *args])
        assert result.exit_code == 1, (args, result.output, result.exception)
        # (the writing CLI does not put a registry head back: the chain holds entries, so only rebuild may)
        assert "the registry's head is missing from the database (meta)" in result.stderr
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert entries(world, REG) == 6


def test_a_lowered_counter_refuses_intake_cleanly(world: World) -> None:
    """No IntegrityError, no reused number: intake says the counter is behind and writes nothing."""
    lower_the_proposal_counter(world)
    for eng in (world.writer, world.reader()):
        with pytest.raises(Tampered, match="the proposal counter of mini .1. is behind the audit trail: "
                                           "mini-0002 exists"):
            eng.intake("mini", MINI_DATA, actor="ana")
    assert world.insider.value("SELECT value FROM meta WHERE key='next_id:mini'") == "1"
    assert world.insider.value("SELECT count(*) FROM proposals") == 3


@pytest.mark.parametrize("deleted", [P3, P1])
def test_intake_after_a_proposal_row_is_deleted_gives_a_new_id(world: World, deleted: str) -> None:
    """Numbers are never reused, whichever row went; verify keeps naming the orphaned chain."""
    world.insider.run("DELETE FROM proposals WHERE id=:p", p=deleted)
    assert world.writer.intake("mini", MINI_DATA, actor="ana") == "mini-0004"
    fresh = world.reader()
    assert fresh.intake("mini", MINI_DATA, actor="ana") == "mini-0005"
    fresh.close()
    orphan = [f for f in world.findings() if f[0] == deleted]
    assert len(world.findings()) == 1 and orphan and "the chain has no proposal row" in orphan[0][2]


CLI_CASES = [
    (forge_an_approval_by_someone_without_the_role, P2, 3, "'approve' was recorded as done"),
    (raise_the_cap_in_the_stored_rules_and_rehash, REG, 4, RULES_EDITED),
    (delete_a_whole_proposal, P3, 1, "the chain has no proposal row"),
    (delete_the_kept_value_of_a_refused_attempt, P1, 3, "the kept value of confidential 'pricing' is missing"),
    (lower_the_proposal_counter, P3, 1, "the proposal counter of mini is 1"),
]


@pytest.mark.parametrize(("tamper", "chain", "seq", "fragment"), CLI_CASES, ids=[c[0].__name__ for c in CLI_CASES])
def test_cli_verify_exits_1_with_the_fail_line(world: World, tamper: Callable[[World], None], chain: str, seq: int,
                                               fragment: str) -> None:
    tamper(world)
    result = CliRunner().invoke(cli, ["--db", world.url, "verify"])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stderr.splitlines() if x.startswith(f"FAIL {chain}: "))
    assert line.startswith(f"FAIL {chain}: seq {seq}: ") and fragment in line
