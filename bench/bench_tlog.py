"""What the transparency log costs: on ``advance``, with concurrent writers, and for a proof in a big tree.

Run ``python bench/bench_tlog.py`` (``--quick`` for a smoke run; ``--pg URL``
adds the PostgreSQL part, default ``$PATHWAYS_TEST_PG``). Three parts:

1. ``advance`` on bench/bench_advance.py's shape (its ``EngineContender``:
   20 proposals ping-ponging on SQLite, FULL and NORMAL), once with the log
   started and once with the hook stubbed out, interleaved in rotating
   rounds; medians and the ratio. Target: the log adds <= 10%.
2. PostgreSQL, 4 processes each advancing its own proposal for a few
   seconds: no log, the log in each writer's transaction (a global advisory
   lock: ``PATHWAYS_LOG_PG=transaction``), and the sequencer (the default).
   Throughput in transitions/s and median latency. This decides the mode.
3. An inclusion proof in a tree of 1,000,000 leaves, generated from the
   database (SQLite), against 50 leaf-hash computations (sha256 of 0x00 and
   a typical entry's bytes), in the same run. Target: proof <= 50 hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


# --- 1. advance, with and without the log -------------------------------------------------------------


class _NoLog:
    @staticmethod
    def append(*_: object) -> None:
        return None


class Stubbed:
    """A contender whose steps run with the runtime's log hook replaced by a no-op."""

    def __init__(self, inner: object) -> None:
        self.inner, self.name, self.sync = inner, "engine, no log", inner.sync  # type: ignore[attr-defined]

    def step(self) -> None:
        import engine.runtime as rt

        real, rt.tlog = rt.tlog, _NoLog
        try:
            self.inner.step()  # type: ignore[attr-defined]
        finally:
            rt.tlog = real

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def bench_advance(workdir: Path, rounds: int, per_round: int) -> None:
    import bench_advance as ba

    from engine.transparency import generate_key
    from engine.transparency import log as tlog

    pathway_file = workdir / "bench.yaml"
    pathway_file.write_text(ba.PATHWAY_YAML)
    contenders = []
    for sync in ("FULL", "NORMAL"):
        logged = ba.EngineContender(workdir / f"log-{sync}.db", sync, pathway_file)
        logged.name = "engine + log"
        with logged.engine.db.begin() as conn:
            tlog.init(conn, "Bench procurement log", str(generate_key("Bench").verifier), "2026-01-01T00:00:00Z")
        plain = ba.EngineContender(workdir / f"plain-{sync}.db", sync, pathway_file)
        contenders += [logged, Stubbed(plain)]
    samples = ba.run_rounds(contenders, rounds, per_round, progress=True)
    print("\n1. advance on bench_advance's shape (SQLite WAL; median µs per transition)")
    for sync in ("FULL", "NORMAL"):
        a = statistics.median(samples[f"engine + log {sync}"].all) / 1000
        b = statistics.median(samples[f"engine, no log {sync}"].all) / 1000
        print(f"   {sync:<6} with log {a:7.1f}   without {b:7.1f}   ratio {a / b:.3f}  "
              f"({'ok' if a / b <= 1.10 else 'OVER'} <= 1.10)")
    for c in contenders:
        c.close()


# --- 2. PostgreSQL: concurrent writers -------------------------------------------------------------------


def _pg_writer(url: str, pid: str, mode: str, seconds: float, out: mp.Queue) -> None:
    if mode == "transaction":
        os.environ["PATHWAYS_LOG_PG"] = "transaction"
    from engine import Engine

    eng = Engine(url)
    state, lat, end = eng.show(pid)["state"], [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter_ns()
        state = eng.advance(pid, "go" if state == "a" else "back", actor="ann")["to"]
        lat.append(time.perf_counter_ns() - t)
    eng.close()
    out.put(lat)


def _pg_setup(base: str, schema: str, pathway_file: Path, writers: int, log: bool) -> tuple[str, list[str]]:
    import sqlalchemy as sa

    from engine import Engine
    from engine.transparency import generate_key
    from engine.transparency import log as tlog

    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    eng = Engine(url)
    if not log:  # a new database logs from its first entry: switch it off before there is one
        with eng.db.begin() as conn:
            conn.exec_driver_sql("DELETE FROM meta WHERE key = 'log'")
    eng.add_user("ann", ["officer"])
    eng.publish(pathway_file, actor="ann")
    ids = [eng.intake("bench", {"vendor": "Acme", "value": "12000.00"}, actor="ann") for _ in range(writers)]
    if log:
        with eng.db.begin() as conn:
            tlog.init(conn, "Bench procurement log", str(generate_key("Bench").verifier), "2026-01-01T00:00:00Z")
    eng.close()
    return url, ids


def bench_pg(base: str, workdir: Path, writers: int, seconds: float, repeats: int) -> None:
    import bench_advance as ba

    pathway_file = workdir / "bench.yaml"
    pathway_file.write_text(ba.PATHWAY_YAML)
    ctx = mp.get_context("fork")
    results: dict[str, list[tuple[float, float]]] = {}
    modes = ("no log", "transaction", "sequencer")
    for r in range(repeats):
        for mode in modes[r % 3:] + modes[:r % 3]:
            url, ids = _pg_setup(base, "bench_tlog", pathway_file, writers, mode != "no log")
            out = ctx.Queue()
            procs = [ctx.Process(target=_pg_writer, args=(url, pid, mode, seconds, out)) for pid in ids]
            for p in procs:
                p.start()
            lat = [t for _ in procs for t in out.get()]
            for p in procs:
                p.join()
            results.setdefault(mode, []).append((len(lat) / seconds, statistics.median(lat) / 1e6))
            if mode != "no log":
                _pg_check(url)
    print(f"\n2. PostgreSQL, {writers} processes each advancing its own proposal, {seconds:.0f} s x {repeats}")
    base_tput = statistics.median(t for t, _ in results["no log"])
    for mode in modes:
        tput = statistics.median(t for t, _ in results[mode])
        lat = statistics.median(m for _, m in results[mode])
        print(f"   {mode:<12} {tput:7.0f} transitions/s  ({tput / base_tput:.2f}x)   median latency {lat:6.2f} ms")


def _pg_check(url: str) -> None:
    """After a run: integrate the queue and re-derive the tree (it must hold every entry, in order)."""
    from engine import Engine
    from engine.storage import reading
    from engine.transparency import log as tlog
    from engine.transparency import logcheck

    eng = Engine(url)
    with reading(eng.db) as conn:
        pending = conn.exec_driver_sql("SELECT count(*) FROM log_pending").scalar()
    with eng.db.begin() as conn:
        size = tlog.integrate(conn)
    with reading(eng.db) as conn:
        report = logcheck.check_tree(conn)
    eng.close()
    assert not report.failures, report.failures
    print(f"   (checked: {size} leaves, {pending} were pending after the run)", file=sys.stderr)


# --- 3. a proof in a tree of 1,000,000 leaves ----------------------------------------------------------


def bench_proof(workdir: Path, leaves: int, n: int) -> None:
    import sqlite3

    from engine import Engine
    from engine.storage import reading
    from engine.transparency import log as tlog
    from engine.transparency import merkle, tree, verify_inclusion

    path = workdir / "proof.db"
    Engine(f"sqlite:///{path}", synchronous="OFF").close()
    raw = sqlite3.connect(path)
    t0 = time.perf_counter()
    leaf_rows, tile_rows, bottoms = [], [], [[] for _ in range(8)]  # bottoms[t]: the open tile's bottom row
    for i in range(leaves):
        h = hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest()
        leaf_rows.append((i, f"bench-{i // 6:07d}", i % 6 + 1, h))
        t, node = 0, h
        while True:  # as the engine stores them (engine/transparency/tree.py): tiles, partial tiles above level 0
            bottoms[t].append(node)
            if t and len(bottoms[t]) < tree.WIDTH:
                j, w = i >> (tree.HEIGHT * (t + 1)), len(bottoms[t])
                tile_rows.append((tree.part_key(t, j, w), t, (j << tree.HEIGHT) + w, tree.build_part(bottoms[t])))
            if len(bottoms[t]) < tree.WIDTH:
                break
            row = tree.build_tile(bottoms[t])
            j = i >> (tree.HEIGHT * (t + 1))
            tile_rows.append((tree.tile_key(t, j), t, j, row))
            bottoms[t], t, node = [], t + 1, row[-32:]
    raw.execute("PRAGMA synchronous=OFF")
    raw.executemany("INSERT INTO log_leaves VALUES (?,?,?,?)", leaf_rows)
    raw.executemany("INSERT INTO log_tiles VALUES (?,?,?,?)", tile_rows)
    raw.commit()
    raw.close()
    print(f"\n3. inclusion proof, tree of {leaves:,} leaves (built in {time.perf_counter() - t0:.0f} s)")
    body = _typical_entry()
    eng = Engine(f"sqlite:///{path}", create=False)
    targets = [hashlib.sha256(b"\x00" + (i * 7919 % leaves).to_bytes(8, "big")).hexdigest() for i in range(n)]
    proof_t, rooted_t, hash_t = [], [], []
    with reading(eng.db) as conn:
        root = tlog.root(conn, leaves)
        for h in targets:
            t = time.perf_counter_ns()
            p = tlog.prove(conn, h, leaves, with_root=False)
            proof_t.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            tlog.prove(conn, h, leaves)
            rooted_t.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            for _ in range(50):
                hashlib.sha256(b"\x00" + body).digest()
            hash_t.append(time.perf_counter_ns() - t)
        verify_inclusion(bytes.fromhex(h), p["index"], leaves, [bytes.fromhex(x) for x in p["proof"]], root)
    eng.close()
    a, b = statistics.median(proof_t) / 1000, statistics.median(hash_t) / 1000
    c = statistics.median(rooted_t) / 1000
    lookups = merkle.count_lookups(leaves)
    print(f"   proof from the database {a:7.1f} µs ({lookups['inclusion']} nodes from tiles; 2 queries)\n"
          f"   proof and root          {c:7.1f} µs\n"
          f"   50 leaf hashes ({len(body)}-byte entry) {b:7.1f} µs   ratio proof/50 hashes {a / b:.2f} "
          f"({'ok' if a <= b else 'OVER'} <= 1), with the root {c / b:.2f}")


def _typical_entry() -> bytes:
    """A transition entry as the engine writes it (about 900 bytes)."""
    from engine.audit import make_entry, seal

    ref = {"id": "bench", "version": 1, "sha256": "0" * 64}
    entry = make_entry(chain="bench-0001", seq=2, prev="0" * 64, at="2026-03-02T09:00:00.000000Z",
                       kind="transition", actor="ann", role="officer", trigger="go", source="a", dest="b",
                       pathway=ref, conditions=[{"check": "proposal.value <= pathway.limits.max_value",
                                                  "result": True, "cite": "bench"}],
                       rationale="complete submission", input={}, attachments=[],
                       registry={"seq": 2, "head": "0" * 64}, entered="2026-03-02T09:00:00.000000Z", due=None)
    return seal(entry)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pg", default=os.environ.get("PATHWAYS_TEST_PG"), help="PostgreSQL URL (part 2)")
    ap.add_argument("--only", choices=["advance", "pg", "proof"], action="append")
    args = ap.parse_args()
    only = set(args.only or ["advance", "pg", "proof"])
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        if "advance" in only:
            bench_advance(work, 4 if args.quick else 12, 100 if args.quick else 300)
        if "pg" in only and args.pg:
            bench_pg(args.pg, work, 4, 2 if args.quick else 5, 1 if args.quick else 3)
        if "proof" in only:
            bench_proof(work, 20_000 if args.quick else 1_000_000, 50 if args.quick else 500)


if __name__ == "__main__":
    main()
