"""``verify`` beside live writers reports nothing false: it reads one snapshot on both backends.

Four writer processes (``tests/workers/busy.py``, public API only) advance
their own proposals, record refusals and open new proposals for
``DURATION`` seconds, while this process runs ``verify`` over the whole
database again and again. A verify that read a proposal's row and its chain
(or the counter and the chains, or the registry and its head) from
different moments would report tampering that is not there: every such
report fails the test. The test also shows both sides really ran: verify
many times, each writer many entries, and a final verify after the load
counts every entry the writers say they made.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workers.pathway import OFFICERS, new_proposal, prepare

from engine import Engine

WORKERS = Path(__file__).resolve().parent / "workers"
#: Seconds the writers write (and verify keeps verifying) on each backend.
DURATION = 20.0
WRITERS = 4
MIN_VERIFIES = 20  # about 80 on PostgreSQL and 250 on SQLite here (2 cores, 4 writers)
MIN_ENTRIES_PER_WRITER = 100  # about 3,500 each here

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'busy.db'}"
    return request.getfixturevalue("pg_url")


def test_verify_beside_four_writers_reports_nothing_false(url: str, tmp_path: Path) -> None:
    with Engine(url) as eng:
        prepare(eng)
        pids = []
        for _ in range(WRITERS):
            pid = new_proposal(eng)
            eng.advance(pid, "start", actor=OFFICERS[0])
            pids.append(pid)
        before = sum(r.entries for r in eng.verify())
    logs = [tmp_path / f"writer{i}.stderr" for i in range(WRITERS)]
    procs = []
    for pid, log in zip(pids, logs, strict=True):
        with open(log, "wb") as err:
            procs.append(subprocess.Popen([sys.executable, str(WORKERS / "busy.py"), url, pid, str(DURATION)],
                                          cwd=WORKERS, stdout=subprocess.PIPE, stderr=err))
    false_reports: list[str] = []
    runs = 0
    reader = Engine(url, create=False)
    try:
        deadline = time.monotonic() + DURATION + 60  # imports, and a slow last verify, on a loaded machine
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            reports = reader.verify(raise_on_failure=False)
            runs += 1
            false_reports += [f"run {runs}: {r.chain} seq {r.error.seq}: {r.error.reason}" for r in reports if r.error]
        final = reader.verify(raise_on_failure=False)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        reader.close()
    outs = []
    for i, p in enumerate(procs):
        assert p.returncode == 0, f"writer {i} failed:\n{logs[i].read_text()[-4000:]}"
        outs.append(json.loads(p.stdout.read()))  # type: ignore[union-attr]
        p.stdout.close()  # type: ignore[union-attr]
    assert false_reports == [], f"{len(false_reports)} false findings in {runs} runs:\n" + "\n".join(false_reports[:20])
    assert [r.chain for r in final if r.error] == []
    assert runs >= MIN_VERIFIES, f"verify ran only {runs} times beside the writers"
    made = [o["transitions"] + o["refusals"] + o["intakes"] for o in outs]
    assert min(made) >= MIN_ENTRIES_PER_WRITER, outs
    assert all(o["refusals"] and o["intakes"] for o in outs), outs
    assert sum(r.entries for r in final) == before + sum(made)  # every entry the writers made is on the record
