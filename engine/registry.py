"""The registry chain replayed: who held which roles, and which rules were published, at every position.

The registry is the chain of users, role grants and revocations,
publications, rebuilds and the refusals among them. Its replay is the only
source of roles and of published versions: the ``users`` and
``pathway_versions`` tables are caches of it. The write path keeps one
:class:`Registry` in memory and catches it up entry by entry (registry
entries are rare: users and publications, never one per proposal), so a
transition is judged by what the chain says, not by an editable table; and
``verify`` replays it from the start, judging each entry by the rules of the
registry itself:

- the first ``user`` entry creates the first user, who holds ``admin``;
  every later grant and every revocation is by someone who held ``admin``
  just before it, and the last admin cannot be revoked;
- a ``publish`` is by a user who held ``admin`` or ``publisher`` (entry
  version 2; version 1 entries, written before publishing needed a role,
  need only a known user), and an id and version are published once;
- a ``refusal`` must be one the rules would have refused.

Proposal entries (version 2) name the registry position they acted under
(``{"seq", "head"}``): roles and publications are judged as of that
position, and a registry entry that later entries rely on cannot disappear
unnoticed. Everything here is pure; nothing touches the database.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pathways.model import ADMIN, CLOCK

from .audit import GENESIS, REGISTRY, Stored, linked
from .errors import VerificationFailed

#: How long after a registry entry (a revocation, say) an entry may still act under the position before
#: it: a writer reads the registry once, inside its transaction, and a registry writer's own time is taken
#: before it commits, so on PostgreSQL the two can cross by the length of a commit; this allows for that
#: and for clock differences between the engine's hosts, and no more.
SETTLE = dt.timedelta(seconds=60)


def _later(at: str) -> str:
    """``at`` plus ``SETTLE``, in the engine's format (times compare as text); unparsable stays as it is."""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return at
    return (moment + SETTLE).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: The role that may publish pathway versions, besides ``admin``.
PUBLISHER = "publisher"
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
ROLE_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Publication:
    """A publish entry: which rules, when, by whom, at which registry seq."""

    id: str
    version: int
    sha256: str
    seq: int
    at: str
    actor: str


class Registry:
    """The registry chain, replayed one verified entry at a time.

    ``append`` checks the entry's link (seq, hash, canonical bytes, prev) and
    judges it; a bad entry raises :class:`VerificationFailed` naming its seq
    and leaves the replay as it was.
    """

    def __init__(self) -> None:
        self.seq = 0
        self.head = GENESIS
        self._hashes: list[str] = []
        self._ats: list[str] = []
        self._versions: list[int] = []
        self._settled: list[str] = []
        self._roles: dict[str, list[tuple[int, frozenset[str]]]] = {}
        self.created: dict[str, str] = {}
        self.set_by: dict[str, int] = {}  # user -> seq of the entry that last set their roles
        self.publications: dict[tuple[str, int], Publication] = {}

    # --- reading the replay ---------------------------------------------------------------------

    def hash_at(self, seq: int) -> str | None:
        """The hash of registry entry ``seq`` (GENESIS for 0), or None past the end."""
        if seq == 0:
            return GENESIS
        return self._hashes[seq - 1] if 1 <= seq <= self.seq else None

    def position_at_time(self, at: str) -> int:
        """The last registry seq recorded at or before ``at`` (for entries that do not name one)."""
        return bisect.bisect_right(self._ats, at)

    def position_settled_by(self, at: str) -> int:
        """The last registry seq recorded at least ``SETTLE`` before ``at``: every entry made at ``at`` had
        to see it (see ``replay.STALE_AFTER``). Kept as shifted times, so a check costs one bisect."""
        return bisect.bisect_right(self._settled, at)

    def roles(self, name: str, seq: int | None = None) -> frozenset[str] | None:
        """The roles ``name`` held after registry entry ``seq`` (the end by default); None: not a user."""
        changes = self._roles.get(name)
        if not changes:
            return None
        at = self.seq if seq is None else seq
        i = bisect.bisect_right(changes, at, key=lambda c: c[0])
        return changes[i - 1][1] if i else None

    def users(self) -> dict[str, frozenset[str]]:
        """Every user and their roles now (what the ``users`` table caches)."""
        return {name: changes[-1][1] for name, changes in sorted(self._roles.items())}

    def admins(self, seq: int | None = None) -> set[str]:
        return {n for n in self._roles if ADMIN in (self.roles(n, seq) or ())}

    def published(self, pathway_id: str, version: int, seq: int | None = None) -> Publication | None:
        """The publication of (id, version) made at or before ``seq``, if any."""
        pub = self.publications.get((pathway_id, version))
        return pub if pub is not None and (seq is None or pub.seq <= seq) else None

    def latest(self, pathway_id: str, seq: int | None = None) -> Publication | None:
        """The highest published version of a pathway at ``seq`` (what intake starts on)."""
        found = [p for (pid, _), p in self.publications.items()
                 if pid == pathway_id and (seq is None or p.seq <= seq)]
        return max(found, key=lambda p: p.version, default=None)

    # --- growing it -------------------------------------------------------------------------------

    def append(self, row: Stored) -> dict[str, Any]:
        """Verify and apply the next registry entry; returns it parsed."""
        seq = self.seq + 1
        entry = linked(REGISTRY, row, seq, self.head)
        changes = self._judge(entry)
        for name, roles in changes.items():
            self._roles.setdefault(name, []).append((seq, roles))
            self.created.setdefault(name, entry["at"])
            self.set_by[name] = seq
        if entry["kind"] == "publish":
            p = entry["pathway"]
            self.publications[(p["id"], p["version"])] = Publication(p["id"], p["version"], p["sha256"], seq,
                                                                     entry["at"], entry["actor"])
        self.seq, self.head = seq, row.hash
        self._hashes.append(row.hash)
        self._ats.append(entry["at"])
        self._settled.append(_later(entry["at"]))
        self._versions.append(entry["v"])
        return entry

    def _judge(self, e: dict[str, Any]) -> dict[str, frozenset[str]]:
        """Why an entry may stand; returns the role changes it makes. Raises at the entry otherwise."""
        seq, kind, actor, v = e["seq"], e.get("kind"), e.get("actor"), e.get("v", 1)

        def bad(reason: str) -> VerificationFailed:
            return VerificationFailed(REGISTRY, seq, reason)

        if type(v) is not int or v not in (1, 2) or not isinstance(kind, str) or not isinstance(actor, str):
            raise bad("the entry is malformed: its format version, kind or actor is not one the engine writes")
        for key, types in (("input", (dict, type(None))), ("pathway", (dict, type(None))),
                           ("reasons", (list, type(None)))):
            if not isinstance(e.get(key), types):
                raise bad(f"the entry is malformed: '{key}' holds a {type(e.get(key)).__name__}")
        if self._ats and v < self._versions[-1]:
            raise bad(f"the entry is in format version {v}, older than the entry before it")

        if not isinstance(e.get("at"), str):
            raise bad("the entry has no time")
        roles_before = self.roles(actor, self.seq) if isinstance(actor, str) else None
        is_admin = ADMIN in (roles_before or ())
        if kind in ("user", "revoke"):
            target = e.get("input") or {}
            name, roles = target.get("name"), target.get("roles")
            if not (isinstance(name, str) and USER_NAME.fullmatch(name) and name != CLOCK and isinstance(roles, list)
                    and all(isinstance(r, str) and ROLE_NAME.fullmatch(r) and r != CLOCK for r in roles)):
                raise bad("the entry names no valid user and roles")
            new, old = frozenset(roles), self.roles(name) or frozenset()
            if kind == "user":
                if not self._roles:
                    if ADMIN not in new:
                        raise bad(f"the first user {name} was not given the '{ADMIN}' role")
                elif not is_admin:
                    raise bad(f"{actor} granted roles to {name} without holding '{ADMIN}' at that moment")
                if not new >= old or new == old:
                    raise bad(f"a grant to {name} must add roles to those held ({', '.join(sorted(old))})")
            else:
                if not is_admin:
                    raise bad(f"{actor} revoked roles of {name} without holding '{ADMIN}' at that moment")
                if name not in self._roles or not new < old:
                    raise bad(f"a revocation must remove roles {name} held ({', '.join(sorted(old))})")
                if ADMIN in old and ADMIN not in new and self.admins() == {name}:
                    raise bad(f"the last admin ({name}) was revoked")
            return {name: new}
        if kind == "publish":
            p = e.get("pathway") or {}
            if not (isinstance(p.get("id"), str) and type(p.get("version")) is int
                    and isinstance(p.get("sha256"), str)):
                raise bad("the publish entry names no pathway (id, version, sha256)")
            if roles_before is None:
                raise bad(f"{actor} published {p['id']} v{p['version']} without being a user")
            if v >= 2 and not roles_before & {ADMIN, PUBLISHER}:
                raise bad(f"{actor} published {p['id']} v{p['version']} without the '{ADMIN}' or "
                          f"'{PUBLISHER}' role")
            if (p["id"], p["version"]) in self.publications:
                raise bad(f"{p['id']} v{p['version']} was already published at registry seq "
                          f"{self.publications[(p['id'], p['version'])].seq}")
            return {}
        if kind == "refusal":
            trigger = e.get("trigger")
            target = e.get("input") or {}
            if not isinstance(target.get("roles", []), list) or not all(
                    isinstance(r, str) for r in target.get("roles", [])):
                raise bad("the entry is malformed: 'roles' is not a list of role names")
            if trigger == "users revoke" and is_admin:
                held = self.roles(target.get("name")) if isinstance(target.get("name"), str) else None
                asked = set(target.get("roles") or ())
                last_admin = ADMIN in asked and self.admins() == {target.get("name")}
                if held is not None and asked <= held and not last_admin:
                    raise bad(f"a refusal of '{trigger}' by {actor}, who held '{ADMIN}': the rules would have "
                              "allowed it")
            if trigger in ("users add", "rebuild") and is_admin:
                raise bad(f"a refusal of '{trigger}' by {actor}, who held '{ADMIN}': the rules would have allowed it")
            if trigger in ("publish", "intake") and roles_before is not None and (
                    trigger == "intake" or v < 2 or roles_before & {ADMIN, PUBLISHER}):
                raise bad(f"a refusal of '{trigger}' by {actor}, who may do it: the rules would have allowed it")
            if not e.get("reasons"):
                raise bad("a refusal that gives no reason")
            return {}
        if kind == "rebuild":
            if not is_admin:
                raise bad(f"{actor} rebuilt the caches without holding '{ADMIN}'")
            return {}
        raise bad(f"unknown kind of registry entry {kind!r}")
