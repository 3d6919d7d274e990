"""The registry's rules, entry by entry, without a database: each lawful entry stands, each unlawful one is
refused at its seq with its exact reason, and a refused entry leaves the replay as it was."""

from __future__ import annotations

from typing import Any

import pytest

from engine.audit import GENESIS, REGISTRY, REGISTRY_VERSION, Stored, make_entry, seal
from engine.errors import VerificationFailed
from engine.registry import Publication, Registry

AT = "2026-03-02T09:00:00.{:06d}Z"


def entry(reg: Registry, kind: str, actor: str, *, at: str | None = None, **keys: Any) -> Stored:
    """The next registry entry, sealed and linked after ``reg``'s head."""
    seq = reg.seq + 1
    body, digest = seal(make_entry(chain=REGISTRY, seq=seq, prev=reg.head, at=at or AT.format(seq), kind=kind,
                                   actor=actor, **keys))
    return Stored(seq, digest, body)


def user(reg: Registry, actor: str, name: str, roles: list[str], kind: str = "user") -> dict[str, Any]:
    return reg.append(entry(reg, kind, actor, input={"name": name, "roles": roles}))


def publish(reg: Registry, actor: str, pid: str = "mini", version: int = 1,
            v: int = REGISTRY_VERSION) -> dict[str, Any]:
    return reg.append(entry(reg, "publish", actor, v=v,
                            pathway={"id": pid, "version": version, "sha256": "ab" * 32}))


def refused(reg: Registry, row: Stored) -> str:
    """The reason ``row`` is refused; the replay is unchanged by it."""
    before = (reg.seq, reg.head, reg.users(), dict(reg.publications))
    with pytest.raises(VerificationFailed) as caught:
        reg.append(row)
    assert (caught.value.chain, caught.value.seq) == (REGISTRY, row.seq)
    assert (reg.seq, reg.head, reg.users(), dict(reg.publications)) == before
    return caught.value.reason


@pytest.fixture
def reg() -> Registry:
    """ana the first admin, lee with legal, pia a publisher; mini v1 published by ana at seq 4."""
    r = Registry()
    user(r, "ana", "ana", ["admin", "officer"])
    user(r, "ana", "lee", ["legal"])
    user(r, "ana", "pia", ["publisher"])
    publish(r, "ana")
    return r


def test_an_empty_registry_knows_nobody_and_starts_at_genesis() -> None:
    r = Registry()
    assert (r.seq, r.head, r.hash_at(0), r.hash_at(1), r.users(), r.admins()) == (0, GENESIS, GENESIS, None, {},
                                                                                set())
    assert (r.roles("ana"), r.latest("mini"), r.position_at_time(AT.format(9))) == (None, None, 0)


def test_the_replay_answers_as_of_any_position(reg: Registry) -> None:
    heads = [reg.hash_at(s) for s in range(0, 6)]
    assert heads[0] == GENESIS and heads[5] is None and None not in heads[1:5] and heads[4] == reg.head
    assert reg.hash_at(-1) is None
    assert (reg.roles("lee", 1), reg.roles("lee", 2), reg.roles("lee")) == (None, {"legal"}, {"legal"})
    assert reg.roles("nobody") is None
    assert reg.users() == {"ana": {"admin", "officer"}, "lee": {"legal"}, "pia": {"publisher"}}
    assert (reg.admins(0), reg.admins(1), reg.admins()) == (set(), {"ana"}, {"ana"})
    assert reg.created == {"ana": AT.format(1), "lee": AT.format(2), "pia": AT.format(3)}
    assert reg.set_by == {"ana": 1, "lee": 2, "pia": 3}
    pub = Publication("mini", 1, "ab" * 32, 4, AT.format(4), "ana")
    assert reg.publications == {("mini", 1): pub}
    assert (reg.published("mini", 1), reg.published("mini", 1, 4), reg.published("mini", 1, 3)) == (pub, pub, None)
    assert reg.published("mini", 2) is None
    assert (reg.latest("mini"), reg.latest("mini", 4), reg.latest("mini", 3), reg.latest("other")) == (
        pub, pub, None, None)
    assert [reg.position_at_time(AT.format(n)) for n in (0, 1, 3, 4, 9)] == [0, 1, 3, 4, 4]


def test_the_latest_publication_is_the_highest_version_not_the_last_entry(reg: Registry) -> None:
    publish(reg, "ana", version=3)
    publish(reg, "pia", version=2)
    assert reg.latest("mini").version == 3 and reg.latest("mini", 5).version == 3
    assert reg.latest("mini", 4).version == 1


def test_a_grant_extends_roles_and_a_revocation_takes_them_back(reg: Registry) -> None:
    user(reg, "ana", "lee", ["legal", "officer"])
    user(reg, "ana", "lee", ["legal"], kind="revoke")
    assert (reg.roles("lee", 5), reg.roles("lee")) == ({"legal", "officer"}, {"legal"})
    assert reg.set_by["lee"] == 6 and reg.created["lee"] == AT.format(2)  # created once, set many times
    user(reg, "ana", "lee", ["admin", "legal"])
    user(reg, "lee", "ana", ["officer"], kind="revoke")  # ana is no longer the last admin
    assert reg.admins() == {"lee"}


def _untimed(reg: Registry) -> Stored:
    body, digest = seal(make_entry(chain=REGISTRY, seq=reg.seq + 1, prev=reg.head, at=None, kind="user",
                                   actor="ana", input={"name": "kim", "roles": ["legal"]}))
    return Stored(reg.seq + 1, digest, body)


def test_an_entry_without_a_time_is_refused(reg: Registry) -> None:
    assert refused(reg, _untimed(reg)) == "the entry has no time"


@pytest.mark.parametrize("target", [
    {"name": "kim"}, {"roles": ["legal"]}, {"name": 7, "roles": ["legal"]}, {"name": "kim", "roles": "legal"},
    {"name": "-kim", "roles": ["legal"]}, {"name": "k" * 65, "roles": ["legal"]}, {"name": "clock", "roles": []},
    {"name": "kim", "roles": ["Legal"]}, {"name": "kim", "roles": [3]}, {"name": "kim", "roles": ["clock"]},
    {"name": "kim", "roles": ["legal", "x y"]},
], ids=str)
@pytest.mark.parametrize("kind", ["user", "revoke"])
def test_a_grant_or_revocation_must_name_a_valid_user_and_roles(reg: Registry, kind: str, target: dict) -> None:
    assert refused(reg, entry(reg, kind, "ana", input=target)) == "the entry names no valid user and roles"


def test_names_and_roles_at_the_edges_of_their_patterns_are_valid(reg: Registry) -> None:
    user(reg, "ana", "K" + "a" * 63, ["legal"])
    user(reg, "ana", "9.kim_o@x-y", ["r2_d2"])
    assert reg.roles("9.kim_o@x-y") == {"r2_d2"}


def test_an_entry_without_input_names_no_user(reg: Registry) -> None:
    assert refused(reg, entry(reg, "user", "ana")) == "the entry names no valid user and roles"


def test_the_first_user_must_be_an_admin() -> None:
    r = Registry()
    assert refused(r, entry(r, "user", "ana", input={"name": "ana", "roles": ["officer"]})) == (
        "the first user ana was not given the 'admin' role")


def test_the_first_user_may_be_created_by_anyone_named() -> None:
    r = Registry()
    user(r, "setup", "ana", ["admin"])
    assert r.users() == {"ana": {"admin"}}


def test_only_an_admin_grants(reg: Registry) -> None:
    assert refused(reg, entry(reg, "user", "lee", input={"name": "kim", "roles": ["legal"]})) == (
        "lee granted roles to kim without holding 'admin' at that moment")
    assert refused(reg, entry(reg, "user", "kim", input={"name": "kim", "roles": ["admin"]})) == (
        "kim granted roles to kim without holding 'admin' at that moment")
    assert refused(reg, entry(reg, "user", 7, input={"name": "kim", "roles": ["legal"]})) == (
        "the entry is malformed: its format version, kind or actor is not one the engine writes")
    assert refused(reg, entry(reg, "user", ["ana"], input={"name": "kim", "roles": ["legal"]})) == (
        "the entry is malformed: its format version, kind or actor is not one the engine writes")  # not a string


@pytest.mark.parametrize(("roles", "held"), [(["legal"], "legal"), (["officer"], "legal"), ([], "legal")])
def test_a_grant_must_add_roles(reg: Registry, roles: list[str], held: str) -> None:
    assert refused(reg, entry(reg, "user", "ana", input={"name": "lee", "roles": roles})) == (
        f"a grant to lee must add roles to those held ({held})")


def test_a_grant_that_adds_nothing_lists_every_role_held(reg: Registry) -> None:
    assert refused(reg, entry(reg, "user", "ana", input={"name": "ana", "roles": ["admin"]})) == (
        "a grant to ana must add roles to those held (admin, officer)")


def test_a_grant_to_a_new_user_of_no_roles_adds_nothing(reg: Registry) -> None:
    assert refused(reg, entry(reg, "user", "ana", input={"name": "kim", "roles": []})) == (
        "a grant to kim must add roles to those held ()")


def test_only_an_admin_revokes(reg: Registry) -> None:
    assert refused(reg, entry(reg, "revoke", "lee", input={"name": "lee", "roles": []})) == (
        "lee revoked roles of lee without holding 'admin' at that moment")


@pytest.mark.parametrize(("name", "roles", "held"), [
    ("kim", [], ""), ("lee", ["legal"], "legal"), ("lee", ["officer"], "legal"),
    ("ana", ["admin", "officer", "legal"], "admin, officer"),
])
def test_a_revocation_must_remove_roles_held(reg: Registry, name: str, roles: list[str], held: str) -> None:
    assert refused(reg, entry(reg, "revoke", "ana", input={"name": name, "roles": roles})) == (
        f"a revocation must remove roles {name} held ({held})")


def test_the_last_admin_is_never_revoked(reg: Registry) -> None:
    assert refused(reg, entry(reg, "revoke", "ana", input={"name": "ana", "roles": ["officer"]})) == (
        "the last admin (ana) was revoked")
    user(reg, "ana", "ana", ["admin"], kind="revoke")  # removing another role keeps the admin
    user(reg, "ana", "lee", ["admin", "legal"])
    user(reg, "ana", "ana", [], kind="revoke")  # lee is an admin too
    assert reg.admins() == {"lee"}


@pytest.mark.parametrize("pathway", [
    None, {"version": 1, "sha256": "x"}, {"id": 1, "version": 1, "sha256": "x"}, {"id": "m", "sha256": "x"},
    {"id": "m", "version": "1", "sha256": "x"}, {"id": "m", "version": True, "sha256": "x"},
    {"id": "m", "version": 1}, {"id": "m", "version": 1, "sha256": 1},
], ids=str)
def test_a_publish_must_name_a_pathway(reg: Registry, pathway: Any) -> None:
    assert refused(reg, entry(reg, "publish", "ana", pathway=pathway)) == (
        "the publish entry names no pathway (id, version, sha256)")


def test_a_publish_is_by_a_user(reg: Registry) -> None:
    assert refused(reg, entry(reg, "publish", "kim", pathway={"id": "m", "version": 1, "sha256": "x"})) == (
        "kim published m v1 without being a user")


def test_a_publish_needs_admin_or_publisher_since_entry_version_2(reg: Registry) -> None:
    assert refused(reg, entry(reg, "publish", "lee", pathway={"id": "m", "version": 2, "sha256": "x"})) == (
        "lee published m v2 without the 'admin' or 'publisher' role")
    publish(reg, "pia", "m", 2)
    # a version 1 entry after version 2 ones is a downgrade (to escape the role version 2 requires)
    assert refused(reg, entry(reg, "publish", "lee", v=1, pathway={"id": "m", "version": 3, "sha256": "x"})) == (
        "the entry is in format version 1, older than the entry before it")
    old = Registry()  # a registry written before version 2: publishing needed only a known user
    for n, (kind, actor, keys) in enumerate([("user", "ana", {"input": {"name": "ana", "roles": ["admin"]}}),
                                             ("user", "ana", {"input": {"name": "lee", "roles": ["legal"]}}),
                                             ("publish", "lee", {"pathway": {"id": "m", "version": 4,
                                                                            "sha256": "x"}})], 1):
        body, digest = seal(make_entry(chain=REGISTRY, seq=n, prev=old.head, at=AT.format(n), kind=kind,
                                       actor=actor, v=1, **keys))
        old.append(Stored(n, digest, body))
    assert sorted(old.publications) == [("m", 4)]
    assert sorted(reg.publications) == [("m", 2), ("mini", 1)]


def test_a_version_is_published_once(reg: Registry) -> None:
    assert refused(reg, entry(reg, "publish", "pia", v=REGISTRY_VERSION,
                              pathway={"id": "mini", "version": 1, "sha256": "x"})) == (
        "mini v1 was already published at registry seq 4")


def _refusal(reg: Registry, actor: Any, trigger: str, *, reasons: list[str] | None = None, v: int = REGISTRY_VERSION,
             **keys: Any) -> Stored:
    return entry(reg, "refusal", actor, trigger=trigger, v=v, reasons=["no"] if reasons is None else reasons,
                 **keys)


@pytest.mark.parametrize(("actor", "trigger", "keys"), [
    ("lee", "users revoke", {"input": {"name": "ana", "roles": ["admin"]}}),
    ("ana", "users revoke", {"input": {"name": "ana", "roles": ["admin"]}}),  # the last admin
    ("ana", "users revoke", {"input": {"name": "lee", "roles": ["officer"]}}),  # not held
    ("ana", "users revoke", {"input": {"name": "kim", "roles": []}}),  # not a user
    ("ana", "users revoke", {"input": {"name": 7, "roles": []}}),
    ("ana", "users revoke", {"input": {"name": ["lee"], "roles": []}}),
    ("ana", "users revoke", {}),
    ("lee", "users add", {}), ("nobody", "users add", {}), ("lee", "rebuild", {}),
    ("nobody", "publish", {}), ("nobody", "intake", {}), ("lee", "publish", {}), ("lee", "advance", {}),
    ("ana", "advance", {}),
], ids=lambda x: x if isinstance(x, str) else "")
def test_a_refusal_stands_when_the_rules_would_have_refused(reg: Registry, actor: str, trigger: str,
                                                            keys: dict) -> None:
    reg.append(_refusal(reg, actor, trigger, **keys))
    assert reg.seq == 5 and reg.users()["ana"] == {"admin", "officer"}


def test_a_refusal_of_revoking_the_last_admin_stands_and_of_another_admin_does_not(reg: Registry) -> None:
    user(reg, "ana", "lee", ["admin", "legal"])
    row = _refusal(reg, "ana", "users revoke", input={"name": "lee", "roles": ["admin"]})
    assert refused(reg, row) == (
        "a refusal of 'users revoke' by ana, who held 'admin': the rules would have allowed it")


@pytest.mark.parametrize("keys", [{"input": {"name": "lee", "roles": ["legal"]}},
                                  {"input": {"name": "lee"}}, {"input": {"name": "lee", "roles": []}}], ids=str)
def test_a_refusal_of_a_lawful_revocation_is_a_finding(reg: Registry, keys: dict) -> None:
    assert refused(reg, _refusal(reg, "ana", "users revoke", **keys)) == (
        "a refusal of 'users revoke' by ana, who held 'admin': the rules would have allowed it")


@pytest.mark.parametrize("trigger", ["users add", "rebuild"])
def test_a_refusal_of_an_admin_act_to_an_admin_is_a_finding(reg: Registry, trigger: str) -> None:
    assert refused(reg, _refusal(reg, "ana", trigger)) == (
        f"a refusal of '{trigger}' by ana, who held 'admin': the rules would have allowed it")


@pytest.mark.parametrize(("actor", "trigger", "v"), [
    ("ana", "publish", 2), ("pia", "publish", 2), ("lee", "publish", 1), ("lee", "intake", 2), ("ana", "intake", 1),
])
def test_a_refusal_of_what_the_actor_may_do_is_a_finding(reg: Registry, actor: str, trigger: str, v: int) -> None:
    assert refused(reg, _refusal(reg, actor, trigger, v=v)) == (  # registry entries are at version 2
        f"a refusal of '{trigger}' by {actor}, who may do it: the rules would have allowed it" if v == 2 else
        f"the entry is in format version {v}, older than the entry before it")  # after version 2 entries


def test_a_refusal_gives_a_reason(reg: Registry) -> None:
    assert refused(reg, _refusal(reg, "lee", "users add", reasons=[])) == "a refusal that gives no reason"
    assert refused(reg, entry(reg, "refusal", "lee", trigger="users add")) == "a refusal that gives no reason"


def test_a_rebuild_is_an_admins_act(reg: Registry) -> None:
    reg.append(entry(reg, "rebuild", "ana", input={"changed": []}))
    assert refused(reg, entry(reg, "rebuild", "lee")) == "lee rebuilt the caches without holding 'admin'"
    assert refused(reg, entry(reg, "rebuild", "kim")) == "kim rebuilt the caches without holding 'admin'"


@pytest.mark.parametrize("kind", ["transition", "grant", None])
def test_an_unknown_kind_is_refused(reg: Registry, kind: Any) -> None:
    assert refused(reg, entry(reg, kind, "ana")) == (f"unknown kind of registry entry {kind!r}" if kind else
                                                     "the entry is malformed: its format version, kind or actor is "
                                                     "not one the engine writes")


def test_a_broken_link_is_refused_before_it_is_judged(reg: Registry) -> None:
    row = entry(reg, "rebuild", "ana")
    assert refused(reg, Stored(row.seq, "00" * 32, row.body)).startswith("stored bytes hash to ")
