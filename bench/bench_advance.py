"""How much one durable transition costs in the engine, against raw sqlite3 and the Django peer.

Run ``python bench/bench_advance.py`` (``--quick`` for a < 30 s smoke run).

Contenders, each with its own SQLite file in WAL mode, once with
``synchronous=FULL`` and once with ``NORMAL``:

* ``raw sqlite3`` - the floor: the same durable work as ``Engine.advance``
  written by hand with the standard library (``BEGIN IMMEDIATE``; read the
  proposal row; run the same compiled CEL guard; build an entry with
  ``make_entry``'s keys; RFC 8785 bytes via ``rfc8785``; ``sha256(0x00 ||
  bytes)``; INSERT the entry; UPDATE state/seq/head; COMMIT).
* ``engine`` - ``engine.Engine.advance`` on a tiny two-stage pathway.
* ``django-fsm-log`` - what a user would otherwise pick: django-fsm-2 with
  django-fsm-log (``by`` and ``description``), ``transaction.atomic()``,
  ``select_for_update()``, ``transaction_mode="IMMEDIATE"``.

Twenty proposals per contender ping-pong between stages ``a`` and ``b``,
fired round-robin. Machines are noisy, so only medians and ratios are
quoted, and the contenders take turns in rounds (the order rotating every
round) so that drift in the machine hits every contender alike.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import cel
import rfc8785

PROPOSALS = 20
ACTOR = "ann"
ROLE = "officer"
GUARD = "proposal.value <= pathway.limits.max_value"
MAX_VALUE = 25000
INTAKE = {"vendor": "Acme", "value": "12000.00"}
#: (stage, trigger) -> next stage: the ping-pong every contender runs.
PING_PONG = {("a", "go"): "b", ("b", "back"): "a"}
NEXT_TRIGGER = {"a": "go", "b": "back"}
#: The chain-growth check: transitions 1..GROWTH_N against GROWTH_AT..GROWTH_AT+GROWTH_N-1 of one chain.
GROWTH_AT = 1000
GROWTH_N = 50

TARGET_FULL, STRETCH_FULL, TARGET_NORMAL, TARGET_PEER = 2.0, 1.5, 3.0, 2.0

PATHWAY_YAML = f"""\
# Benchmark fixture written by bench/bench_advance.py: two stages a proposal ping-pongs between.
id: bench
version: 1
title: Benchmark ping-pong
kind: pilot
summary: Two stages that a proposal moves between, for timing one durable transition.
legal_basis:
  - cite: "n/a"
    note: benchmark fixture, not a real pathway
limits: {{max_value: {MAX_VALUE}}}
roles:
  {ROLE}: fires every transition
fields:
  vendor: {{type: string, required: true}}
  value: {{type: money, required: true}}
initial: a
stages:
  a: {{description: first stage, waiting_on: vendor}}
  b: {{description: second stage, waiting_on: vendor}}
  done: {{description: closed, final: true, outcome: completed}}
transitions:
  - trigger: go
    from: a
    to: b
    roles: [{ROLE}]
    when:
      - check: {GUARD}
        message: value exceeds the cap
  - trigger: back
    from: b
    to: a
    roles: [{ROLE}]
    when:
      - check: {GUARD}
        message: value exceeds the cap
  - trigger: finish
    from: [a, b]
    to: done
    roles: [{ROLE}]
    requires: [rationale]
"""


class Contender(Protocol):
    """One way of doing a durable transition; ``step`` fires the next one of its round-robin."""

    name: str
    sync: str

    def step(self) -> None: ...

    def close(self) -> None: ...


class RoundRobin:
    """The ping-pong schedule shared by every contender: proposal i % 20, whichever trigger moves it."""

    def __init__(self, ids: Sequence[Any]) -> None:
        self.ids = list(ids)
        self.state = dict.fromkeys(self.ids, "a")
        self.i = 0

    def next(self) -> tuple[Any, str]:
        pid = self.ids[self.i % len(self.ids)]
        self.i += 1
        return pid, NEXT_TRIGGER[self.state[pid]]

    def moved(self, pid: Any, trigger: str) -> None:
        self.state[pid] = PING_PONG[(self.state[pid], trigger)]


# --- raw sqlite3 ------------------------------------------------------------------------------------------

#: The shape of engine/storage.py's two hot tables (as SQLAlchemy creates them), plus the append-only triggers.
RAW_SCHEMA = """
CREATE TABLE proposals (
    id VARCHAR NOT NULL, pathway_id VARCHAR NOT NULL, version INTEGER NOT NULL, sha256 VARCHAR NOT NULL,
    state VARCHAR NOT NULL, data VARCHAR NOT NULL, seq INTEGER NOT NULL, head VARCHAR NOT NULL,
    created_at VARCHAR NOT NULL, entered_at VARCHAR NOT NULL, due_at VARCHAR, PRIMARY KEY (id));
CREATE INDEX ix_proposals_pathway_id ON proposals (pathway_id);
CREATE INDEX ix_proposals_state ON proposals (state);
CREATE TABLE audit_log (
    chain VARCHAR NOT NULL, seq INTEGER NOT NULL, hash VARCHAR NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (chain, seq));
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def raw_entry(pid: str, seq: int, prev: str, kind: str, trigger: str | None, source: str | None, dest: str,
              ref: dict[str, Any], conditions: list[dict[str, Any]], data: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """An entry with exactly ``engine.audit.make_entry``'s keys (checked at start-up), built inline."""
    return {"v": 1, "proposal": pid, "seq": seq, "prev": prev, "at": _now(), "kind": kind, "actor": ACTOR,
            "role": ROLE, "trigger": trigger, "from": source, "to": dest, "pathway": ref,
            "conditions": conditions, "rationale": None, "input": data or {}, "attachments": []}


class RawSqlite:
    """The floor: what ``Engine.advance`` must do durably, in plain sqlite3 with no layers in between.

    Deliberately lean where a hand-written hot path would be: it passes the
    guard only the two variables it reads, skips the NFC pass (the text here
    is ASCII), does not look up the actor's roles, and sets only
    state/seq/head. The engine does all of these; they are part of what the
    ratio charges it for.
    """

    def __init__(self, path: Path, sync: str, ref: dict[str, Any]) -> None:
        self.name, self.sync, self.ref = "raw sqlite3", sync, ref
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)  # autocommit: we issue BEGIN ourselves
        for pragma in ("journal_mode=WAL", f"synchronous={sync}", "foreign_keys=ON", "busy_timeout=30000"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(RAW_SCHEMA)
        self.program = cel.compile(GUARD)  # the same compiled CEL program type the engine caches
        ids = [f"bench-{i:04d}" for i in range(1, PROPOSALS + 1)]
        for pid in ids:
            self.intake(pid)
        self.rr = RoundRobin(ids)

    def intake(self, pid: str) -> None:
        body = rfc8785.dumps(raw_entry(pid, 1, "0" * 64, "intake", None, None, "a", self.ref, [], INTAKE))
        digest = hashlib.sha256(b"\x00" + body).hexdigest()
        now = _now()
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO audit_log (chain, seq, hash, body) VALUES (?, 1, ?, ?)", (pid, digest, body))
        self.db.execute("INSERT INTO proposals VALUES (?, 'bench', 1, ?, 'a', ?, 1, ?, ?, ?, NULL)",
                        (pid, self.ref["sha256"], json.dumps(INTAKE), digest, now, now))
        self.db.execute("COMMIT")

    def advance(self, pid: str, trigger: str) -> str:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            state, seq, head, data = db.execute(
                "SELECT state, seq, head, data FROM proposals WHERE id = ?", (pid,)).fetchone()
            values = json.loads(data)
            context = {"proposal": {"value": float(Decimal(values["value"]))},
                       "pathway": {"limits": {"max_value": MAX_VALUE}}}
            if self.program.execute(context) is not True:
                raise RuntimeError("guard refused")
            dest = PING_PONG[(state, trigger)]
            entry = raw_entry(pid, seq + 1, head, "transition", trigger, state, dest, self.ref,
                              [{"check": GUARD, "result": True, "cite": ""}])
            body = rfc8785.dumps(entry)
            digest = hashlib.sha256(b"\x00" + body).hexdigest()
            db.execute("INSERT INTO audit_log (chain, seq, hash, body) VALUES (?, ?, ?, ?)",
                       (pid, seq + 1, digest, body))
            db.execute("UPDATE proposals SET state = ?, seq = ?, head = ? WHERE id = ?", (dest, seq + 1, digest, pid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return dest

    def step(self) -> None:
        pid, trigger = self.rr.next()
        self.advance(pid, trigger)
        self.rr.moved(pid, trigger)

    def close(self) -> None:
        self.db.close()


# --- the engine ---------------------------------------------------------------------------------------------


class EngineContender:
    """``Engine.advance`` exactly as the CLI calls it (default clock, no rationale, no updates)."""

    def __init__(self, path: Path, sync: str, pathway_file: Path) -> None:
        from engine import Engine

        self.name, self.sync = "engine", sync
        self.engine = Engine(f"sqlite:///{path}", synchronous=sync)
        self.engine.add_user(ACTOR, [ROLE])
        self.engine.publish(pathway_file, actor=ACTOR)
        self.rr = RoundRobin([self.intake() for _ in range(PROPOSALS)])

    def intake(self) -> str:
        return self.engine.intake("bench", INTAKE, actor=ACTOR)

    def advance(self, pid: str, trigger: str) -> str:
        return self.engine.advance(pid, trigger, actor=ACTOR)["to"]

    def step(self) -> None:
        pid, trigger = self.rr.next()
        self.engine.advance(pid, trigger, actor=ACTOR)
        self.rr.moved(pid, trigger)

    def close(self) -> None:
        self.engine.close()


# --- django-fsm-2 + django-fsm-log ---------------------------------------------------------------------------


class AliasRouter:
    """Send every query to the alias being measured.

    django-fsm-log writes its ``StateLog`` through ``StateLog.objects.create``
    with no ``using``, so without a router the NORMAL contender's log rows
    would land in the default (FULL) database, outside its transaction.
    """

    alias = "default"

    def db_for_read(self, model: type, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: type, **hints: Any) -> str:
        return self.alias

    def allow_relation(self, *args: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, *args: Any, **hints: Any) -> bool:
        return True


ROUTER = AliasRouter()
DJANGO_ALIAS = {"FULL": "default", "NORMAL": "normal"}


def setup_django(workdir: Path) -> None:
    """Configure Django standalone: one SQLite file per synchronous setting, WAL, BEGIN IMMEDIATE."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    sys.path.insert(0, str(Path(__file__).resolve().parent / "_django"))

    def database(sync: str) -> dict[str, Any]:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(workdir / f"django-{sync.lower()}.db"),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30,
                            "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}"}}

    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="bench-only",
        DATABASES={alias: database(sync) for sync, alias in DJANGO_ALIAS.items()},
        DATABASE_ROUTERS=[ROUTER],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_fsm_log", "fsmapp"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    for alias in DJANGO_ALIAS.values():
        ROUTER.alias = alias
        call_command("migrate", database=alias, run_syncdb=True, verbosity=0, interactive=False)


class DjangoFsmLog:
    """The peer, used as its docs show: lock the row, call the transition method, save, in one atomic block."""

    def __init__(self, sync: str) -> None:
        from django.contrib.auth.models import User
        from django.db import connections
        from fsmapp.models import Proposal

        self.name, self.sync, self.alias = "django-fsm-log", sync, DJANGO_ALIAS[sync]
        ROUTER.alias = self.alias
        with connections[self.alias].cursor() as cur:  # the settings promise these; check they took
            cur.execute("PRAGMA journal_mode")
            journal = cur.fetchone()[0]
            cur.execute("PRAGMA synchronous")
            level = cur.fetchone()[0]
        if journal != "wal" or level != {"FULL": 2, "NORMAL": 1}[sync]:
            raise RuntimeError(f"Django connection has journal_mode={journal}, synchronous={level}")
        self.model = Proposal
        self.user = User.objects.create(username=ACTOR)
        ids = [Proposal.objects.create(vendor=INTAKE["vendor"], value=Decimal(INTAKE["value"])).pk
               for _ in range(PROPOSALS)]
        self.rr = RoundRobin(ids)

    def step(self) -> None:
        from django.db import transaction

        ROUTER.alias = self.alias
        pid, trigger = self.rr.next()
        with transaction.atomic(using=self.alias):
            proposal = self.model.objects.using(self.alias).select_for_update().get(pk=pid)
            getattr(proposal, trigger)(by=self.user, description="ping-pong")
            proposal.save()
        self.rr.moved(pid, trigger)

    def close(self) -> None:
        from django.db import connections

        connections.close_all()


# --- measuring ---------------------------------------------------------------------------------------------


@dataclass
class Samples:
    """Per-transition times (ns) of one contender, kept per round for the ratio spread."""

    rounds: list[list[int]] = field(default_factory=list)

    @property
    def all(self) -> list[int]:
        return [t for r in self.rounds for t in r]


def timed(step: Callable[[], None], n: int) -> list[int]:
    out = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        step()
        out.append(clock() - start)
    return out


def run_rounds(contenders: list[Contender], rounds: int, per_round: int, progress: bool) -> dict[str, Samples]:
    """Rounds of ``per_round`` transitions per contender; the order rotates each round to spread drift."""
    samples = {key(c): Samples() for c in contenders}
    for c in contenders:  # warm caches, the WAL file and the CPU before anything counts
        timed(c.step, min(per_round, 100))
    for r in range(rounds):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            gc.collect()  # a collection owed by one contender should not land on the next
            samples[key(c)].rounds.append(timed(c.step, per_round))
        if progress:
            print(f"\r  round {r + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return samples


def growth(contender: RawSqlite | EngineContender, pairs: int) -> tuple[float, float]:
    """Median µs of transitions 1..N of new chains and GROWTH_AT.. of long ones, interleaved pairwise.

    Each pair is two proposals in the contender's database: one is first
    grown to GROWTH_AT - 1 transitions (untimed), then the new one's k-th
    and the long one's (GROWTH_AT + k - 1)-th transitions alternate, so
    drift and database size are shared and only the chain's length differs.
    Several pairs, because a FULL commit's fsync is noisy.
    """
    first: list[int] = []
    later: list[int] = []
    for n in range(pairs):
        if isinstance(contender, RawSqlite):
            new, long = f"growth-new-{n}", f"growth-long-{n}"
            contender.intake(new)
            contender.intake(long)
        else:
            new, long = contender.intake(), contender.intake()
        states = {new: "a", long: "a"}

        def fire(pid: str, states: dict[str, str] = states) -> None:
            states[pid] = contender.advance(pid, NEXT_TRIGGER[states[pid]])

        for _ in range(GROWTH_AT - 1):
            fire(long)
        for _ in range(GROWTH_N):
            first += timed(lambda: fire(new), 1)  # noqa: B023 - called at once, inside this iteration
            later += timed(lambda: fire(long), 1)  # noqa: B023
    return statistics.median(first) / 1000, statistics.median(later) / 1000


def key(c: Contender) -> str:
    return f"{c.name} {c.sync}"


def us(ns: float) -> float:
    return ns / 1000


def spread(num: Samples, den: Samples) -> tuple[float, float]:
    """Quartiles of the per-round ratio of medians: how much the ratio itself moved during the run."""
    ratios = [statistics.median(a) / statistics.median(b) for a, b in zip(num.rounds, den.rounds, strict=True)]
    if len(ratios) < 2:
        return ratios[0], ratios[0]
    q = statistics.quantiles(ratios, n=4)
    return q[0], q[2]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def filesystem(path: Path) -> str:
    """The filesystem type under ``path``: on tmpfs fsync is free and FULL measures nothing."""
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and str(path.resolve()).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def versions() -> str:
    names = ["sqlalchemy", "common-expression-language", "rfc8785", "django", "django-fsm-2", "django-fsm-log"]
    out = []
    for n in names:
        try:
            out.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            out.append(f"{n} -")
    return ", ".join(out)


def check_entry_shape(ref: dict[str, Any]) -> None:
    """Fail loudly if the raw baseline's entry drifts from the engine's (it would no longer be the same work)."""
    from engine.audit import make_entry

    ours = raw_entry("x", 2, "0" * 64, "transition", "go", "a", "b", ref, [])
    theirs = make_entry(chain="x", seq=2, prev="0" * 64, at=ours["at"], kind="transition", actor=ACTOR, role=ROLE,
                        trigger="go", source="a", dest="b", pathway=ref)
    if list(ours) != list(theirs):
        raise SystemExit(f"raw entry keys {list(ours)} differ from engine.audit.make_entry {list(theirs)}")


#: Own time in the profile is charged to the first group whose marker appears in "file function".
PROFILE_GROUPS = [
    ("sqlite3 C calls (the database's own work)", ("sqlite3.",)),
    ("CEL evaluation (Rust)", ("builtins.Program",)),
    ("sqlalchemy (statement building, compiling, result rows, pool)", ("sqlalchemy",)),
    ("rfc8785 canonical JSON", ("rfc8785",)),
    ("transitions.Machine", ("/transitions/",)),
    ("json, datetime, hashlib, unicodedata", ("json", "datetime", "hashlib", "sha256", "hexdigest", "strftime",
                                              "normalize", "fromisoformat", "isoformat")),
    ("engine/ and pathways/ own code", ("/engine/", "/pathways/")),
]


def profile_engine(contender: EngineContender, n: int, top: int = 15) -> None:
    """cProfile ``n`` engine transitions: own time by library, then the hottest functions.

    Deterministic profiling charges a fixed cost per Python call, so code
    made of many small calls (SQLAlchemy) looks somewhat bigger than it is:
    read the shares as a ranking, and the µs columns of the main table as
    the truth. A sampling profiler (pyinstrument, py-spy) agrees on the order.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        contender.step()
    profiler.disable()
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) or 1.0
    groups: dict[str, float] = {}
    for (file, _line, func), (_cc, _calls, own, _cum, _callers) in stats.items():
        where = f"{file} {func}"
        group = next((g for g, marks in PROFILE_GROUPS if any(m in where for m in marks)), "other Python")
        groups[group] = groups.get(group, 0.0) + own
    print(f"\nprofile: {n} engine transitions ({contender.sync}), own time by library (cProfile)")
    for group, own in sorted(groups.items(), key=lambda kv: kv[1], reverse=True):
        print(f"  {100 * own / total:5.1f}%  {group}")
    print("  hottest functions (own %, cumulative %, calls per transition):")
    for (file, line, func), (_cc, calls, own, cum, _callers) in sorted(
            stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else "built-in"
        print(f"  {100 * own / total:5.1f}% {100 * cum / total:5.1f}% {calls / n:5.1f}  {func}  ({where})")


# --- main ------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds of interleaved measurement (default 40; 6 with --quick)")
    parser.add_argument("--per-round", type=int,
                        help="transitions per contender per round (default 600; 40 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run in well under 30 s (for CI)")
    parser.add_argument("--dir", type=Path, help="where the database files go (default: a new temporary folder; "
                        "it must be on a real disk, since fsync on tmpfs costs nothing)")
    parser.add_argument("--no-django", action="store_true", help="skip the django-fsm-log peer")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="afterwards cProfile N engine transitions per synchronous setting and print where "
                        "the time goes")
    parser.add_argument("--keep", action="store_true", help="keep the database files")
    args = parser.parse_args(argv)
    rounds = args.rounds or (6 if args.quick else 40)
    per_round = args.per_round or (40 if args.quick else 600)
    pairs = 1 if args.quick else 4
    if rounds < 1 or per_round < 1:
        parser.error("--rounds and --per-round must be positive")

    workdir = Path(tempfile.mkdtemp(prefix="bench-advance-", dir=args.dir))
    started = time.perf_counter()
    try:
        return run(args, rounds, per_round, pairs, workdir, started)
    finally:
        if args.keep:
            print(f"database files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, rounds: int, per_round: int, pairs: int, workdir: Path, started: float) -> int:
    from pathways import load

    pathway_file = workdir / "bench.yaml"
    pathway_file.write_text(PATHWAY_YAML)
    ref = load(pathway_file).ref  # also proves the fixture passes the project's validator
    check_entry_shape(ref)

    contenders: list[Contender] = []
    for sync in ("FULL", "NORMAL"):
        contenders.append(RawSqlite(workdir / f"raw-{sync.lower()}.db", sync, ref))
        contenders.append(EngineContender(workdir / f"engine-{sync.lower()}.db", sync, pathway_file))
    peer_problem = "skipped (--no-django)" if args.no_django else None
    if not args.no_django:
        try:
            setup_django(workdir)
            contenders += [DjangoFsmLog("FULL"), DjangoFsmLog("NORMAL")]
        except Exception as exc:  # noqa: BLE001 - the peer is optional: say why and measure the rest
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            peer_problem = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
            if isinstance(exc, ImportError):
                peer_problem += " (pip install '.[bench]')"

    fs = filesystem(workdir)
    print("bench_advance: one durable transition (lock, 1 CEL guard, chained canonical entry, update, commit)")
    print(f"  python {platform.python_version()} ({platform.python_implementation()}), sqlite {sqlite3.sqlite_version},"
          f" {os.cpu_count()} CPUs, {platform.system()} {platform.release()} {platform.machine()}")
    print(f"  {versions()}")
    print(f"  databases in {workdir} ({fs}){'  WARNING: tmpfs, fsync is free' if fs == 'tmpfs' else ''}")
    print(f"  {PROPOSALS} proposals per contender, ping-pong round-robin; {rounds} rounds x {per_round} "
          f"transitions per contender, order rotating each round")
    if peer_problem:
        print(f"  django-fsm-log peer NOT measured: {peer_problem}")
    samples = run_rounds(contenders, rounds, per_round, progress=sys.stderr.isatty())

    medians = {k: statistics.median(s.all) for k, s in samples.items()}
    print(f"\n{'contender':<16} {'sync':<7} {'n':>7} {'median µs':>10} {'p10 µs':>8} {'p90 µs':>8} "
          f"{'tx/s':>7} {'x raw':>6}")
    for c in contenders:
        k = key(c)
        deciles = statistics.quantiles(samples[k].all, n=10)
        base = medians[f"raw sqlite3 {c.sync}"]
        print(f"{c.name:<16} {c.sync:<7} {len(samples[k].all):>7} {us(medians[k]):>10.1f} {us(deciles[0]):>8.1f} "
              f"{us(deciles[-1]):>8.1f} {1e9 / medians[k]:>7.0f} {medians[k] / base:>6.2f}")

    print("\nratios of medians [quartiles of the per-round ratio]")
    ok = True
    for sync, target in (("FULL", TARGET_FULL), ("NORMAL", TARGET_NORMAL)):
        e, r = f"engine {sync}", f"raw sqlite3 {sync}"
        ratio = medians[e] / medians[r]
        lo, hi = spread(samples[e], samples[r])
        note = f"; stretch <= {STRETCH_FULL}: {verdict(ratio <= STRETCH_FULL)}" if sync == "FULL" else ""
        print(f"  engine / raw sqlite3       {sync:<6} {ratio:6.2f}  [{lo:.2f}-{hi:.2f}]  target <= {target}: "
              f"{verdict(ratio <= target)}{note}")
        ok &= ratio <= target
    for sync in ("FULL", "NORMAL"):
        d, e = f"django-fsm-log {sync}", f"engine {sync}"
        if d not in medians:
            print(f"  engine vs django-fsm-log   {sync:<6}    n/a  ({peer_problem})")
            continue
        ratio = medians[d] / medians[e]
        lo, hi = spread(samples[d], samples[e])
        print(f"  engine vs django-fsm-log   {sync:<6} {ratio:5.2f}x  [{lo:.2f}-{hi:.2f}]  throughput, target >= "
              f"{TARGET_PEER}x: {verdict(ratio >= TARGET_PEER)}")
        ok &= ratio >= TARGET_PEER
    overhead = ", ".join(f"+{us(medians[f'engine {s}'] - medians[f'raw sqlite3 {s}']):.0f} µs ({s})"
                         for s in ("FULL", "NORMAL"))
    print(f"  engine's own cost over raw sqlite3 per transition: {overhead}")

    print(f"\nchain growth: median µs of transitions 1-{GROWTH_N} of {pairs} new chain(s) vs {GROWTH_AT}-"
          f"{GROWTH_AT + GROWTH_N - 1} of {pairs} long one(s), interleaved, same database")
    growable = [c for c in contenders if isinstance(c, RawSqlite | EngineContender)]
    for c in growable:
        first, later = growth(c, pairs)
        print(f"  {c.name:<14} {c.sync:<7} 1st: {first:7.1f}   {GROWTH_AT}th: {later:7.1f}   "
              f"{GROWTH_AT}th / 1st {later / first:5.2f}")

    if args.profile:
        for c in growable:
            if isinstance(c, EngineContender):
                profile_engine(c, args.profile)

    for c in contenders:
        c.close()
    print(f"\n{'all targets met' if ok else 'some targets MISSED'}; wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
