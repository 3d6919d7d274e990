"""Attacks found by a security review (h-attack), each now a test of what the engine does about it.
Those still marked xfail(strict=True) are known gaps, said in the marker's reason.

Insider model: write access to the SQLite file. Forged entries are inserted with valid hashes and links,
then the caches are made to agree with the chain (as an insider would), so only the rules can catch them.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Engine
from engine import storage as st
from engine.audit import seal
from engine.errors import PathwaysError, Tampered, VerificationFailed
from engine.verification import derive

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini.yaml"
CAP = {"check": "proposal.value <= pathway.limits.max_value", "result": True, "cite": "West Palm Beach Code §66-74"}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)
        return self.now

    def advance(self, **d: float) -> None:
        self.now += dt.timedelta(**d)


@pytest.fixture
def world(tmp_path: Path):
    path = tmp_path / "att.db"
    clock = Clock()
    e = Engine(f"sqlite:///{path}", clock=clock)
    e.add_user("ana", ["officer"])
    e.add_user("olly", ["officer"], actor="ana")
    e.add_user("lee", ["legal"], actor="ana")
    e.publish(MINI, actor="ana")
    pid = e.intake("mini", {"vendor": "Acme", "value": "30000", "pricing": "secret unit pricing"}, actor="olly")
    e.advance(pid, "screen", actor="olly")
    yield e, clock, path, pid
    e.close()


def _last(path: Path, chain: str) -> tuple[int, dict, str]:
    c = sqlite3.connect(path)
    seq, body, h = c.execute("select seq, body, hash from audit_log where chain=? order by seq desc limit 1",
                             (chain,)).fetchone()
    c.close()
    return seq, json.loads(body), h


def _position(path: Path) -> dict:
    c = sqlite3.connect(path)
    s, h = c.execute("select seq, hash from audit_log where chain='registry' order by seq desc limit 1").fetchone()
    c.close()
    return {"seq": s, "head": h}


def _forge(path: Path, chain: str, drop: tuple[str, ...] = (), **changes) -> None:
    """Append the chain's last entry, changed, as its next entry (valid hash and link)."""
    seq, entry, h = _last(path, chain)
    entry = {**entry, "seq": seq + 1, "prev": h, **changes}
    for k in drop:
        entry.pop(k, None)
    body, digest = seal(entry)
    c = sqlite3.connect(path)
    c.execute("insert into audit_log(chain, seq, hash, body) values (?,?,?,?)", (chain, seq + 1, digest, body))
    c.commit()
    c.close()


def _resync(path: Path) -> None:
    """The insider makes the caches agree with the (forged) chains, without a rebuild entry."""
    e = Engine(f"sqlite:///{path}")
    with e.db.begin() as conn:
        d = derive(conn, compiled={}, keep=True)
        for key, value in (("registry_head", d.registry.head), ("registry_seq", str(d.registry.seq))):
            conn.execute(st.meta.update().where(st.meta.c.key == key).values(value=value))
        for pid, p in d.proposals.items():
            conn.execute(st.proposals.delete().where(st.proposals.c.id == pid))
            conn.execute(st.proposals.insert().values(**{**p.row(), "data": json.dumps(p.data)}))
    e.close()


def _verify(path: Path) -> None:
    e = Engine(f"sqlite:///{path}", create=False)
    try:
        e.verify(workers=1)
    finally:
        e.close()


def _decline(**changes) -> dict:
    return {"kind": "transition", "actor": "olly", "role": "officer", "trigger": "decline", "from": "review",
            "to": "declined", "rationale": "no", "input": {}, "conditions": [], "due": None, **changes}


# --- forged records that verify -------------------------------------------------------------------


def test_revoked_user_acts_by_naming_a_stale_registry_position(world) -> None:
    e, clock, path, pid = world
    old = _position(path)
    clock.advance(days=1)
    e.revoke("olly", ["officer"], actor="ana")
    e.close()
    at = "2026-03-05T09:00:00.000000Z"
    _forge(path, pid, registry=old, **_decline(at=at, entered=at))
    _resync(path)
    with pytest.raises(VerificationFailed):
        _verify(path)


def test_write_path_takes_roles_from_a_rolled_back_meta_position(world) -> None:
    e, clock, path, pid = world
    old = _position(path)
    e.revoke("olly", ["officer"], actor="ana")
    e.close()
    c = sqlite3.connect(path)
    c.execute("update meta set value=? where key='registry_seq'", (str(old["seq"]),))
    c.execute("update meta set value=? where key='registry_head'", (old["head"],))
    c.commit()
    c.close()
    fresh = Engine(f"sqlite:///{path}", clock=clock)  # a new process: nothing read yet
    try:
        with pytest.raises(PathwaysError):
            fresh.advance(pid, "decline", actor="olly", rationale="after revocation")
    finally:
        fresh.close()


def test_non_publisher_publishes_by_sealing_v1(world) -> None:
    e, clock, path, pid = world
    e.close()
    from pathways import loads

    p = loads(MINI.read_text().replace("version: 1", "version: 2"), "<forged>")
    _forge(path, "registry", kind="publish", actor="olly", v=1, pathway=p.ref, input={}, trigger=None,
           at="2026-03-03T09:00:00.000000Z")
    c = sqlite3.connect(path)
    c.execute("insert into pathway_versions(pathway_id, version, sha256, source, title, published_at, published_by) "
              "values (?,?,?,?,?,?,?)", (p.id, p.version, p.sha256, p.source, p.title, "2026-03-03T09:00:00.000000Z",
                                         "olly"))
    c.commit()
    c.close()
    _resync(path)
    with pytest.raises(VerificationFailed):
        _verify(path)


REFUSED_SCREEN = {"kind": "refusal", "actor": "olly", "role": "officer", "trigger": "decline", "from": "review",
                  "to": "declined", "rationale": "complete", "input": {}, "conditions": [], "reasons": ["made up"]}


def test_allowed_refusal_sealed_v1(world) -> None:
    e, clock, path, pid = world
    e.close()
    _forge(path, pid, drop=("registry", "entered", "due"), v=1, at="2026-03-03T09:00:00.000000Z", **REFUSED_SCREEN)
    _resync(path)
    with pytest.raises(VerificationFailed):
        _verify(path)


def test_a_refusal_resting_on_a_refused_input_stands(world) -> None:
    """A refusal that names a --set the trigger does not record (``refused_inputs``) is an attempt the rules
    do refuse ("'decline' does not change 'nothing'"); the value itself is never recorded, so a refusal
    resting on an invalid value cannot be re-judged further. It records an attempt, changes nothing, and
    stays on the record: verify accepts it."""
    e, clock, path, pid = world
    e.close()
    _forge(path, pid, at="2026-03-03T09:00:00.000000Z", refused_inputs=["nothing"], **REFUSED_SCREEN)
    _resync(path)
    _verify(path)


def test_backdated_v1_entry_by_revoked_user(world) -> None:
    e, clock, path, pid = world
    clock.advance(days=2)
    e.revoke("olly", ["officer"], actor="ana")
    e.close()
    _forge(path, pid, drop=("registry", "entered", "due"), v=1, **_decline(at="2026-03-02T10:00:00.000000Z"))
    _resync(path)
    with pytest.raises(VerificationFailed):
        _verify(path)


def test_clock_fires_early_with_an_offset_time(world) -> None:
    e, clock, path, pid = world
    e.close()
    due = _last(path, pid)[1]["due"]
    at = due[:11] + "10:00:00.000000+14:00"
    _forge(path, pid, kind="transition", actor="clock", role="clock", trigger="expire", to="expired",
           rationale="deadline passed", at=at, entered=at, due=None, conditions=[], input={}, **{"from": "review"})
    _resync(path)
    with pytest.raises(VerificationFailed):
        _verify(path)


def test_write_path_judges_guards_on_cached_data(world) -> None:
    e, clock, path, pid = world
    c = sqlite3.connect(path)
    data = json.loads(c.execute("select data from proposals where id=?", (pid,)).fetchone()[0])
    c.execute("update proposals set data=? where id=?", (json.dumps({**data, "value": "20000"}), pid))
    c.commit()
    c.close()
    before = _last(path, pid)[0]
    with pytest.raises(Tampered, match="data was changed without an entry"):  # the cap judged on the chain's data
        e.advance(pid, "approve", actor="lee", rationale="ok")
    assert _last(path, pid)[0] == before  # nothing written


# --- crashes: a finding, never a traceback ----------------------------------------------------------

BODIES = {
    "proposal input a list": (None, {"input": [1]}),
    "proposal attachments ['x']": (None, {"attachments": ["x"]}),
    "proposal actor a list": (None, {"actor": ["olly"]}),
    "proposal conditions ['x']": (None, {"conditions": ["x"]}),
    "proposal trigger a list": (None, {"trigger": ["decline"]}),
    "proposal v '2'": (None, {"v": "2"}),
    "proposal at 'yesterday'": (None, {"at": "yesterday"}),
    "proposal at naive, guarded": (None, {"at": "2026-03-03", "entered": "2026-03-03", "trigger": "approve",
                                          "actor": "lee", "role": "legal", "to": "approved", "conditions": [CAP]}),
    "registry input a list": ("registry", {"kind": "user", "input": ["x"]}),
    "registry publish v '2'": ("registry", {"kind": "publish", "v": "2",
                                            "pathway": {"id": "x", "version": 9, "sha256": "a" * 64}}),
    "registry refusal roles an int": ("registry", {"kind": "refusal", "trigger": "users revoke",
                                                   "input": {"name": "olly", "roles": 5}, "reasons": ["r"]}),
}


@pytest.mark.parametrize("case", sorted(BODIES))
def test_hostile_entry_shapes_are_findings(world, case: str) -> None:
    e, clock, path, pid = world
    e.close()
    chain, changes = BODIES[case]
    if chain is None:
        _forge(path, pid, **_decline(**{"at": "2026-03-03T09:00:00.000000Z",
                                        "entered": "2026-03-03T09:00:00.000000Z", **changes}))
    else:
        _forge(path, "registry", actor="ana", **changes)
    with pytest.raises(VerificationFailed):
        _verify(path)


CELLS = {
    "users.roles not JSON": ("update users set roles='[' where name='olly'", ["verify"]),
    "meta next_id '²'": ("update meta set value='²' where key='next_id:mini'", ["verify"]),
    "proposals.data not JSON": ("update proposals set data='['", ["verify"]),
    "proposals.data a list": ("update proposals set data='[1]'", ["verify"]),
    "audit_secrets.salt not hex": ("drop trigger audit_secrets_no_update; update audit_secrets set salt='zz'",
                                   ["verify"]),
    "audit_secrets.value not JSON": ("drop trigger audit_secrets_no_update; update audit_secrets set value='{'",
                                     ["verify"]),
    "proposals.state unknown (show)": ("update proposals set state='nowhere'", ["show", "mini-0001"]),
    "proposals.state unknown (tick)": ("update proposals set state='nowhere', due_at='2000-01-01'", ["tick"]),
}


@pytest.mark.parametrize("case", sorted(CELLS))
def test_edited_cells_give_a_finding_not_a_traceback(world, case: str) -> None:
    e, clock, path, pid = world
    e.close()
    sql, cmd = CELLS[case]
    c = sqlite3.connect(path)
    c.executescript(sql)
    c.commit()
    c.close()
    script = Path(sys.executable).parent / "pathways"
    r = subprocess.run([str(script), "--db", f"sqlite:///{path}", *cmd], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-400:]


# --- the bundle's verify.py ----------------------------------------------------------------------


def _bundle(e: Engine, pid: str, tmp: Path) -> Path:
    from engine.export import export

    export(e, pid, tmp / "bundle")
    return tmp / "bundle"


def _rewrite(folder: Path, *, trail=None, registry=None) -> None:
    import hashlib

    def canon(v):
        return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def relink(entries):
        prev, out = "0" * 64, []
        for x in entries:
            x["prev"] = prev
            out.append(canon(x))
            prev = hashlib.sha256(b"\x00" + out[-1]).hexdigest()
        return out, prev

    m = json.loads((folder / "manifest.json").read_text())
    if registry is not None:
        lines, head = relink(registry)
        (folder / "registry.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
        m["registry"] = {"entries": len(lines), "head": head}
    if trail is not None:
        lines, head = relink(trail)
        (folder / "trail.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
        m["head"], m["entries"] = head, len(lines)
    (folder / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("case", ["registry v '2'", "trail line without input"])
def test_bundle_verifier_never_prints_a_traceback(world, tmp_path: Path, case: str) -> None:
    e, clock, path, pid = world
    folder = _bundle(e, pid, tmp_path)
    load = lambda name: [json.loads(x) for x in (folder / name).read_bytes().splitlines()]  # noqa: E731
    if case == "registry v '2'":
        reg = load("registry.jsonl")
        publish = next(x for x in reg if x["kind"] == "publish")
        publish["v"] = "2"
        _rewrite(folder, registry=reg)
    else:
        trail = load("trail.jsonl")
        trail[1].pop("input")
        _rewrite(folder, trail=trail)
    r = subprocess.run([sys.executable, "-I", str(folder / "verify.py"), str(folder)], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-400:]
