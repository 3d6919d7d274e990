"""Verifying the database: every chain walked and re-judged, every cache re-derived from the chains.

``verify`` trusts no table but the entries. In one read snapshot it

1. replays the registry chain (``registry.Registry``): roles, grants,
   revocations and publications, each judged by the registry's rules; then
   compares the caches built from it: ``users`` (names and roles),
   ``pathway_versions`` (one row per publish entry, whose stored source
   re-hashes to the published sha256) and ``meta`` (the registry's head and
   length);
2. replays every proposal chain by its pinned rules (``replay.replay``),
   with its kept confidential values and attached files, and compares the
   ``proposals`` row with what the chain derives (stage, data, seq, head,
   pin, dates); a chain without a row, a row without a chain and a proposal
   counter behind the numbers in use are findings too.

Entries, rows and secrets are streamed in id order and merged, so memory
does not grow with the number of entries. Each finding names the chain and
the seq of the first bad entry, with a reason a lawyer can read. What the
database cannot show by itself (a chain rewritten whole, the very last
entries removed) is the transparency log's part.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from pathways import Pathway, loads
from pathways.errors import NotFound, PathwaysError

from . import storage as st
from .audit import REGISTRY, Stored
from .errors import VerificationFailed
from .family import Links
from .family import check as check_family
from .machines import Compiled, compile_pathway
from .registry import Registry
from .replay import Derived, replay

BATCH = 2000
#: Below this many proposals, one process verifies all (starting another costs more than it saves).
PARALLEL_FROM = 2000


@dataclass(frozen=True)
class ChainReport:
    chain: str
    entries: int
    head: str | None
    error: VerificationFailed | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"chain": self.chain, "ok": self.error is None, "entries": self.entries, "head": self.head,
                "seq": self.error.seq if self.error else None,
                "error": self.error.reason if self.error else None}


@dataclass
class Derivation:
    """What the chains say every cache must hold, and where they disagree."""

    registry: Registry
    reports: list[ChainReport] = field(default_factory=list)
    proposals: dict[str, Derived] = field(default_factory=dict)  # filled only when asked (rebuild)
    counters: dict[str, int] = field(default_factory=dict)
    rules: dict[tuple[str, int], Pathway] = field(default_factory=dict)
    links: list[Links] = field(default_factory=list)  # opportunities and responses, for ``family.check``


def _stream(conn: Any, query: Any) -> Iterator[Any]:
    """Rows of ``query`` fetched in batches (a server-side cursor on PostgreSQL): flat memory."""
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    yield from result


def _ordered(conn: Any, column: Any) -> Any:
    """ORDER BY in code-point order on both backends (PostgreSQL's default collation is not), for merging."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _registry(conn: Any) -> tuple[Registry, VerificationFailed | None]:
    reg = Registry()
    a = st.audit_log
    for r in _stream(conn, select(a.c.seq, a.c.hash, a.c.body).where(a.c.chain == REGISTRY).order_by(a.c.seq)):
        try:
            reg.append(Stored(r.seq, r.hash, bytes(r.body)))
        except VerificationFailed as failure:
            return reg, failure
    return reg, None


def _registry_caches(conn: Any, reg: Registry, compiled: dict[tuple[str, int, str], Compiled]) -> None:
    """The registry's caches against its replay; raises the first difference."""
    meta = {r.key: r.value for r in conn.execute(select(st.meta))}
    if meta.get("registry_head") != reg.head or meta.get("registry_seq") != str(reg.seq):
        raise VerificationFailed(REGISTRY, reg.seq or 1,
                                 f"the database records the registry's last entry as seq {meta.get('registry_seq')} "
                                 f"({meta.get('registry_head')}), but the registry chain ends at seq {reg.seq} "
                                 f"({reg.head}): registry entries or the recorded head were removed or changed")
    users = {r.name: r for r in conn.execute(select(st.users))}
    granted = reg.users()
    for name in sorted(set(users) | set(granted)):
        row, roles = users.get(name), granted.get(name)
        if row is None:
            raise VerificationFailed(REGISTRY, reg.set_by[name], f"user {name} is granted {', '.join(sorted(roles))} "
                                     "here, but the users table has no such user: the table was edited")
        if roles is None:
            raise VerificationFailed(REGISTRY, reg.seq or 1, f"the users table lists {name}, whom no registry entry "
                                     "ever added: the user was inserted around the engine")
        stored = st.cell(row.roles, list)
        if isinstance(stored, st.Unreadable) or sorted(map(str, stored)) != sorted(roles) \
                or row.created_at != reg.created[name]:
            raise VerificationFailed(REGISTRY, reg.set_by[name],
                                     f"the users table gives {name} the roles {row.roles} (since {row.created_at}), "
                                     f"but the registry grants {json.dumps(sorted(roles))} (since "
                                     f"{reg.created[name]}): the users table was edited")
    pv = st.pathway_versions
    stored = {(r.pathway_id, r.version): r for r in conn.execute(select(pv))}
    for key in sorted(set(stored) | set(reg.publications)):
        row, pub = stored.get(key), reg.publications.get(key)
        if pub is None:
            raise VerificationFailed(REGISTRY, reg.seq or 1, f"pathway {key[0]} v{key[1]} is stored, but no registry "
                                     "entry published it: it was inserted around the engine")
        if row is None:
            raise VerificationFailed(REGISTRY, pub.seq, f"the rules of {pub.id} v{pub.version} published here "
                                     "are missing from the database (pathway_versions)")
        problem = _rules_problem(row, pub.sha256, compiled)
        if problem is None and (row.sha256, row.published_at, row.published_by) != (pub.sha256, pub.at, pub.actor):
            problem = (f"the stored record of {pub.id} v{pub.version} says sha256 {row.sha256}, published "
                       f"{row.published_at} by {row.published_by}; the registry entry says {pub.sha256}, "
                       f"{pub.at} by {pub.actor}")
        title = compiled[(pub.id, pub.version, pub.sha256)].pathway.title if problem is None else None
        if problem is None and row.title != title:
            problem = (f"the stored title of {pub.id} v{pub.version} is {row.title!r}, but its rules say {title!r}: "
                       "the title was edited")
        if problem:
            raise VerificationFailed(REGISTRY, pub.seq, problem)


def _rules_problem(row: Any, sha256: str, compiled: dict[tuple[str, int, str], Compiled]) -> str | None:
    """Why a stored version's source is not the published rules (None: it is, and it is compiled)."""
    key = (row.pathway_id, row.version, sha256)
    if key in compiled and compiled[key].pathway.source == row.source:  # the very text already checked
        return None
    try:
        pathway = loads(row.source, f"<{row.pathway_id} v{row.version}>")
    except PathwaysError:
        return f"the stored rules of {row.pathway_id} v{row.version} no longer load: the stored text was edited"
    if pathway.sha256 != sha256 or (pathway.id, pathway.version) != key[:2]:
        return (f"the stored rules of {row.pathway_id} v{row.version} hash to {pathway.sha256}, but the registry "
                f"published {sha256}: the stored rules were edited")
    compiled[key] = compile_pathway(pathway)
    return None


def _files(conn: Any) -> dict[str, tuple[int, str | None]]:
    """Each stored attachment's sha256 -> (size, None if its content hashes to it, else what is wrong)."""
    out: dict[str, tuple[int, str | None]] = {}
    a = st.attachments
    for r in _stream(conn, select(a.c.sha256, a.c.size, a.c.content)):
        content = bytes(r.content)
        ok = hashlib.sha256(content).hexdigest() == r.sha256 and len(content) == r.size
        out[r.sha256] = (r.size, None if ok else f"the stored file {r.sha256} does not match its hash and size: "
                         "it was altered")
    return out


def _merged(conn: Any, ids: list[str], lo: str | None = None,
            hi: str | None = None) -> Iterator[tuple[str, list[Stored], Any, dict]]:
    """(chain, its entries, its proposal row or None, its secrets) for every chain and every row, in id order
    (those named, or those with ids in [lo, hi))."""
    a, p, s = st.audit_log, st.proposals, st.secrets
    entries = select(a.c.chain, a.c.seq, a.c.hash, a.c.body).where(a.c.chain != REGISTRY)
    rows, kept = select(p), select(s)
    for column, query in ((a.c.chain, "entries"), (p.c.id, "rows"), (s.c.chain, "kept")):
        key = _ordered(conn, column)
        clauses = ([key >= lo] if lo is not None else []) + ([key < hi] if hi is not None else [])
        if clauses:
            if query == "entries":
                entries = entries.where(*clauses)
            elif query == "rows":
                rows = rows.where(*clauses)
            else:
                kept = kept.where(*clauses)
    if ids:
        entries, rows = entries.where(a.c.chain.in_(ids)), rows.where(p.c.id.in_(ids))
        kept = kept.where(s.c.chain.in_(ids))
    chains = itertools.groupby(_stream(conn, entries.order_by(_ordered(conn, a.c.chain), a.c.seq)), lambda r: r.chain)
    props = iter(_stream(conn, rows.order_by(_ordered(conn, p.c.id))))
    secrets = itertools.groupby(_stream(conn, kept.order_by(_ordered(conn, s.c.chain))), lambda r: r.chain)
    nxt: dict[str, Any] = {"chain": next(chains, None), "row": next(props, None), "secret": next(secrets, None)}
    while nxt["chain"] is not None or nxt["row"] is not None:
        candidates = [k for k in (nxt["chain"] and nxt["chain"][0], nxt["row"] and nxt["row"].id) if k]
        chain = min(candidates)
        stored: list[Stored] = []
        if nxt["chain"] is not None and nxt["chain"][0] == chain:
            stored = [Stored(r.seq, r.hash, bytes(r.body)) for r in nxt["chain"][1]]
            nxt["chain"] = next(chains, None)
        row = None
        if nxt["row"] is not None and nxt["row"].id == chain:
            row, nxt["row"] = nxt["row"], next(props, None)
        while nxt["secret"] is not None and nxt["secret"][0] < chain:
            nxt["secret"] = next(secrets, None)
        found: dict[tuple[int, str], tuple[str, Any]] = {}
        if nxt["secret"] is not None and nxt["secret"][0] == chain:
            found = {(x.seq, x.field): (x.salt, st.cell(x.value)) for x in nxt["secret"][1]}
            nxt["secret"] = next(secrets, None)
        yield chain, stored, row, found


def compare(d: Derived, row: Any) -> VerificationFailed | None:
    """The first difference between a proposal's row and what its chain derives, in words."""
    pinned = (row.pathway_id, row.version, row.sha256)
    if pinned != (d.pathway_id, d.version, d.sha256):
        return VerificationFailed(d.id, 1, f"the proposal is pinned to {row.pathway_id} v{row.version} "
                                  f"({row.sha256}), but its intake names {d.pathway_id} v{d.version} ({d.sha256}): "
                                  "the proposal was re-pinned without an entry")
    if row.seq > d.seq:
        return VerificationFailed(d.id, d.seq + 1, f"entry seq {d.seq + 1} is missing at the end: {d.seq} entries "
                                  f"stored, but the proposal records {row.seq}")
    if row.seq < d.seq:
        return VerificationFailed(d.id, row.seq + 1, f"entry seq {row.seq + 1} is stored, but the proposal records "
                                  f"only {row.seq}: an entry was appended outside the engine")
    if row.head != d.head:
        return VerificationFailed(d.id, d.seq, f"the recorded head is {row.head}, but the last entry (seq {d.seq}) "
                                  f"hashes to {d.head}: the last entry was replaced or removed, or the head was "
                                  "changed")
    if row.state != d.state:
        return VerificationFailed(d.id, d.seq, f"the proposal's stage is '{row.state}', but its entries end in "
                                  f"'{d.state}': the stage was changed without an entry")
    stored = st.cell(row.data, dict)
    if isinstance(stored, st.Unreadable):
        return VerificationFailed(d.id, d.seq, "the proposal's data is not the JSON object the engine writes: "
                                  "the data was changed without an entry")
    for name in sorted(set(stored) | set(d.data)):
        if stored.get(name) != d.data.get(name) or (name in stored) != (name in d.data):
            return VerificationFailed(d.id, d.where.get(name, d.seq), f"field '{name}' holds a value the entries "
                                      "do not record: the data was changed without an entry")
    for column, want in (("created_at", d.created_at), ("entered_at", d.entered_at), ("due_at", d.due_at)):
        if getattr(row, column) != want:
            return VerificationFailed(d.id, d.seq, f"the proposal's {column} is {getattr(row, column)}, but its "
                                      f"entries give {want}: the dates were changed without an entry")
    return None


def derive(conn: Any, ids: Iterable[str] = (), *, compiled: dict[tuple[str, int, str], Compiled],
           keep: bool = False, url: str | None = None, workers: int = 1,
           split_from: int = PARALLEL_FROM) -> Derivation:
    """Replay everything (or the named proposals and the registry) in the caller's snapshot.

    With ``url`` and ``workers`` > 1, a whole-database check splits the
    proposal chains into id ranges, one per process (the caller's process
    takes the first). Each range is read in one snapshot of its own, with its
    rows, secrets, registry and counters, so it agrees with itself; the
    registry's caches and the files are checked once, here.
    """
    ids = [i for i in ids if i != REGISTRY]
    reg, broken = _registry(conn)
    out = Derivation(reg)
    if broken is None:
        try:
            _registry_caches(conn, reg, compiled)
        except VerificationFailed as failure:
            broken = failure
    out.reports.append(ChainReport(REGISTRY, reg.seq, reg.head if reg.seq else None, broken))
    files = _files(conn)
    ranges = _split(conn, workers, split_from) if url and workers > 1 and not ids and not keep else [(None, None)]
    if len(ranges) == 1:
        _chains(conn, out, compiled, files, ids=ids, keep=keep)
    else:
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        with ProcessPoolExecutor(len(ranges) - 1, mp_context=context) as pool:
            futures = [pool.submit(_range_worker, url, lo, hi, files) for lo, hi in ranges[1:]]
            _chains(conn, out, compiled, files, lo=ranges[0][0], hi=ranges[0][1])
            for future in futures:
                reports, links = future.result()
                out.reports.extend(ChainReport(c, n, h, None if seq is None else VerificationFailed(c, seq, why))
                                   for c, n, h, seq, why in reports)
                out.links.extend(links)
    if not ids:  # a family's chains are checked against each other only when all of them are replayed
        _check_families(conn, out)
    return out


def _check_families(conn: Any, out: Derivation) -> None:
    """Each claim one chain makes on another (``family``); the first finding per chain replaces its report."""
    r = st.responses
    cached = {row.child: row.parent for row in conn.execute(select(r.c.child, r.c.parent))}
    failures = {}
    broken = {r.chain for r in out.reports if r.error is not None}
    for failure in check_family(out.links, cached, broken):
        failures.setdefault(failure.chain, failure)
    if not failures:
        return
    for i, report in enumerate(out.reports):
        failure = failures.pop(report.chain, None)
        if failure is not None and report.error is None:
            out.reports[i] = ChainReport(report.chain, report.entries, report.head, failure)
    out.reports.extend(ChainReport(c, 0, None, f) for c, f in sorted(failures.items())
                       if not any(x.chain == c for x in out.reports))


def _split(conn: Any, workers: int, split_from: int) -> list[tuple[str | None, str | None]]:
    """Proposal id ranges of about equal size; one range below ``split_from`` proposals (too few to gain)."""
    p = st.proposals
    count = conn.execute(select(func.count()).select_from(p)).scalar()
    if count < max(split_from, workers):
        return [(None, None)]
    bounds = [conn.execute(select(p.c.id).order_by(_ordered(conn, p.c.id)).offset(count * i // workers).limit(1))
              .scalar() for i in range(1, workers)]
    edges = [None, *bounds, None]
    return list(itertools.pairwise(edges))


def _range_worker(url: str, lo: str | None, hi: str | None,
                  files: dict[str, tuple[int, str | None]]) -> tuple[list[tuple[str, int, str | None, int | None,
                                                                                 str]], list[Links]]:
    """One id range, verified in a process of its own (both cores), returned as plain tuples."""
    engine = st.connect(url, create=False)
    try:
        with st.reading(engine) as conn:
            out = Derivation(_registry(conn)[0])
            _chains(conn, out, {}, files, lo=lo, hi=hi)
    finally:
        engine.dispose()
    return ([(r.chain, r.entries, r.head, r.error.seq if r.error else None, r.error.reason if r.error else "")
             for r in out.reports], out.links)


def _chains(conn: Any, out: Derivation, compiled: dict[tuple[str, int, str], Compiled],
            files: dict[str, tuple[int, str | None]], *, ids: list[str] = (),  # type: ignore[assignment]
            lo: str | None = None, hi: str | None = None, keep: bool = False) -> None:
    """Replay the proposal chains (named, or in [lo, hi)) and compare each with its row; into ``out``."""
    reg = out.registry

    def rules(ref: dict[str, Any], seq: int, chain: str) -> Compiled:
        key = (ref.get("id"), ref.get("version"), ref.get("sha256"))
        if key not in compiled:
            pub = reg.published(key[0], key[1])
            if pub is None or pub.sha256 != key[2]:
                raise VerificationFailed(chain, seq, f"the proposal is pinned to {key[0]} v{key[1]} ({key[2]}), "
                                         "which the registry never published")
            pv = st.pathway_versions
            row = conn.execute(select(pv).where(pv.c.pathway_id == key[0], pv.c.version == key[1])).first()
            problem = "its stored rules are missing" if row is None else _rules_problem(row, key[2], compiled)
            if problem:
                raise VerificationFailed(chain, seq, f"the rules it is pinned to cannot be checked: {problem}")
        return compiled[key]

    def file_problem(ref: dict[str, Any]) -> str | None:
        sha = ref.get("sha256")
        if sha not in files:
            return f"the attached file {ref.get('name')} ({sha}) is missing from the database"
        size, problem = files[sha]
        return problem or (None if ref.get("size") == size else
                           f"the attached file {sha} is stored with another size than the entry records")

    seen, first = set(), len(out.reports)
    for chain, stored, row, secrets in _merged(conn, ids, lo, hi):
        seen.add(chain)
        if not stored:
            out.reports.append(ChainReport(chain, 0, None, VerificationFailed(
                chain, 1, "the proposal has no entries: its row was inserted around the engine")))
            continue
        try:
            d = replay(chain, stored, registry=reg, rules=lambda ref, seq, c=chain: rules(ref, seq, c),
                       secrets=secrets, files=file_problem)
        except VerificationFailed as failure:
            out.reports.append(ChainReport(chain, 0, None, failure))
            continue
        number = chain.rpartition("-")[2]
        if number.isascii() and number.isdigit():
            out.counters[d.pathway_id] = max(out.counters.get(d.pathway_id, 0), int(number))
        if keep:
            out.proposals[chain] = d
        if d.links is not None:
            out.links.append(d.links)
        problem = (VerificationFailed(chain, d.seq, "the chain has no proposal row: the row was deleted")
                   if row is None else compare(d, row))
        out.reports.append(ChainReport(chain, d.seq, d.head, problem))
    for pid in ids:
        if pid not in seen:
            raise NotFound(f"no proposal '{pid}' (see 'pathways list')")
    if not ids:
        _check_counters(conn, out, first)


def _check_counters(conn: Any, out: Derivation, first: int) -> None:
    """Each pathway's proposal counter must be at or past every number in use, or intake would reuse one."""
    meta = {r.key: r.value for r in conn.execute(select(st.meta).where(st.meta.c.key.like("next_id:%")))}
    for pathway_id, last in sorted(out.counters.items()):
        have = meta.get(f"next_id:{pathway_id}")
        if st.number(have) is None or st.number(have) < last:
            chain = f"{pathway_id}-{last:04d}"
            i = next((n for n in range(first, len(out.reports))
                      if out.reports[n].chain == chain and out.reports[n].error is None), None)
            if i is not None:
                r = out.reports[i]
                out.reports[i] = ChainReport(chain, r.entries, r.head, VerificationFailed(
                    chain, 1, f"the proposal counter of {pathway_id} is {have}, below {last}, a number in use: "
                    "the counter was changed (intake would reuse numbers)"))


def verify_chains(conn: Any, ids: list[str], compiled: dict[tuple[str, int, str], Compiled], *,
                  url: str | None = None, workers: int = 1,
                  split_from: int = PARALLEL_FROM) -> list[ChainReport]:
    """Verify the named proposals (everything, registry first, when none are named)."""
    derivation = derive(conn, ids, compiled=compiled, url=url, workers=workers, split_from=split_from)
    reports = derivation.reports
    if ids and REGISTRY not in ids:  # the registry is always replayed (roles come from it); shown when it fails
        reports = [r for r in reports if r.chain != REGISTRY or r.error is not None]
    return reports
