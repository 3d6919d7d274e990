"""Entries recorded before staff text was checked: a public bundle carries one that quotes a confidential
value by its hash alone, marked redacted with the reason, and verify.py links the chain through it.

Before, such a database could never be exported publicly: the value sat in hashed bytes, and the export
refused for good. The database here is written as the engine wrote it in entry format 1 (no registry
position, no stage times, staff text unchecked), from before the transparency log, which is then started
and signed, as a city upgrading would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_disclosure import DATA, _contains, _engine, _signed, _spellings
from test_tlog import before_the_log

from engine import Engine
from engine import storage as st
from engine.audit import GENESIS, conceal, make_entry, seal
from engine.export import export
from engine.verification import derive

PID = "secretive-0001"
QUOTING = "Noted: Zenith Partners LLC offered $585,000."  # partner and price, typed by staff in format 1
CONFIDENTIAL = ("price", "opens_on", "partner", "bidders", "units")


def _v1_steps(case: str) -> list[dict[str, Any]]:
    """The three entries of the proposal (intake, note, close); ``case`` says which one quotes a value."""
    abstract = f"A public summary. {QUOTING}" if case == "intake" else DATA["abstract"]
    return [
        {"kind": "intake", "at": "2026-03-03T09:00:00.000000Z", "dest": "open", "data": {**DATA, "abstract": abstract}},
        {
            "kind": "transition",
            "at": "2026-03-04T09:00:00.000000Z",
            "role": "officer",
            "trigger": "note",
            "source": "open",
            "dest": "open",
            "rationale": QUOTING if case == "rationale" else "Noted.",
        },
        {
            "kind": "transition",
            "at": "2026-03-05T09:00:00.000000Z",
            "role": "officer",
            "trigger": "close",
            "source": "open",
            "dest": "done",
            "rationale": "Closed as agreed.",
        },
    ]


def v1_database(folder: Path, case: str) -> Engine:
    """A proposal whose chain is in entry format 1, one entry quoting a kept value; the log started after."""
    eng, clock = _engine(folder)
    pathway = eng.pathway("secretive")
    prev = GENESIS
    with eng.db.begin() as conn:
        for seq, step in enumerate(_v1_steps(case), 1):
            shown, kept = conceal(step.pop("data", {}), pathway.confidential)
            entry = make_entry(
                v=1, chain=PID, seq=seq, prev=prev, actor="ana", pathway=pathway.ref, input=shown, **step
            )
            body, prev = seal(entry)
            conn.execute(st.audit_log.insert().values(chain=PID, seq=seq, hash=prev, body=body))
            for name, (salt, value) in kept.items():
                conn.execute(
                    st.secrets.insert().values(chain=PID, seq=seq, field=name, salt=salt, value=json.dumps(value))
                )
        row = derive(conn, [PID], compiled={}, keep=True).proposals[PID].row()
        conn.execute(st.proposals.insert().values(**{**row, "data": json.dumps(row["data"])}))
        conn.execute(st.meta.insert().values(key="next_id:secretive", value="1"))
    before_the_log(eng)  # written before the log: it sequences them when started
    _signed(eng)
    clock.advance(days=30)  # exported later (a local time on the day of confidential 'opens_on' is not it)
    eng.verify()  # the city's own check judges every entry whole
    return eng


@pytest.fixture(params=["rationale", "intake"])
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    eng = v1_database(tmp_path / "db", request.param)
    yield eng, request.param, tmp_path
    eng.close()


def run_verify(bundle: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(bundle / "verify.py"), str(bundle)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def lines(bundle: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (bundle / "trail.jsonl").read_bytes().splitlines()]


def test_the_quoting_entry_is_redacted_and_the_bundle_verifies(old: Any) -> None:
    eng, case, tmp = old
    seq = 1 if case == "intake" else 2
    bundle = export(eng, PID, tmp / "public", public=True)
    assert bundle.redacted == [seq]
    stored = eng.entries(PID)
    trail = lines(bundle.folder)
    assert trail[seq - 1] == {
        "hash": stored[seq - 1].hash,
        "prev": json.loads(stored[seq - 1].body)["prev"],
        "proposal": PID,
        "reason": trail[seq - 1]["reason"],
        "redacted": True,
        "seq": seq,
    }
    assert "confidential 'partner'" in trail[seq - 1]["reason"] and "confidential 'price'" in trail[seq - 1]["reason"]
    assert "entry format 1" in trail[seq - 1]["reason"]
    others = [bytes(r.body) for r in stored if r.seq != seq]
    assert [x for x in (bundle.folder / "trail.jsonl").read_bytes().splitlines() if b'"redacted"' not in x] == others
    outside = tmp / "elsewhere"
    outside.mkdir()
    done = run_verify(bundle.folder, outside)
    assert done.returncode == 0, done.stderr
    assert "3 entries intact and linked; 2 lawful by the rules in pathway.json, 1 redacted" in done.stdout
    assert f"redacted: line {seq}: its hashed bytes quote" in done.stdout
    assert "log: all 3 entries" in done.stdout  # the redacted entry's hash is proven a leaf of the signed tree
    manifest = json.loads((bundle.folder / "manifest.json").read_text())
    assert manifest["redacted"] == [{"entry": seq, "reason": trail[seq - 1]["reason"]}]
    assert "1 line(s) of trail.jsonl stand for entries left out whole" in (bundle.folder / "README.txt").read_text()
    assert f'#{seq}</span> <span class="badge redacted">redacted' in (bundle.folder / "report.html").read_text()


def test_no_spelling_of_any_confidential_value_is_anywhere_in_the_bundle(old: Any) -> None:
    eng, _, tmp = old
    folder = export(eng, PID, tmp / "public", public=True).folder
    for path in folder.rglob("*"):
        if not path.is_file() or path.name == "verify.py":
            continue
        content = path.read_bytes()
        for field in CONFIDENTIAL:
            for spelling in _spellings(field, DATA[field]):
                assert not _contains(content, spelling), (path.name, field, spelling)


def test_the_public_field_that_quotes_a_value_is_shown_withheld(tmp_path: Path) -> None:
    eng = v1_database(tmp_path / "db", "intake")
    try:
        page = (export(eng, PID, tmp_path / "public", public=True).folder / "report.html").read_text()
    finally:
        eng.close()
    assert "[withheld: it quotes a confidential value (partner, price)]" in page
    assert "Opened</th><td>entry 1 is redacted in this public version" in page


def test_a_private_bundle_redacts_nothing_and_holds_the_entry_whole(old: Any) -> None:
    eng, _, tmp = old
    bundle = export(eng, PID, tmp / "private")
    assert bundle.redacted == []
    assert (bundle.folder / "trail.jsonl").read_bytes() == b"".join(bytes(r.body) + b"\n" for r in eng.entries(PID))
    assert run_verify(bundle.folder, tmp).returncode == 0


def _rewrite(bundle: Path, n: int, **changes: Any) -> None:
    raw = (bundle / "trail.jsonl").read_bytes().splitlines()
    line = {**json.loads(raw[n - 1]), **changes}
    raw[n - 1] = json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    (bundle / "trail.jsonl").write_bytes(b"".join(x + b"\n" for x in raw))


def _manifest(bundle: Path, **changes: Any) -> None:
    m = json.loads((bundle / "manifest.json").read_text())
    (bundle / "manifest.json").write_text(json.dumps({**m, **changes}))


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda b: _rewrite(b, 2, hash="ab" * 32), "line 2: altered: it hashes to abab"),
        (lambda b: _rewrite(b, 2, prev="cd" * 32), "line 2 (redacted) states prev cdcd"),
        (lambda b: _rewrite(b, 2, seq=3), "line 2: seq is 3, expected 2"),
        (lambda b: _rewrite(b, 2, reason=""), "line 2: a redacted line must hold exactly"),
        (lambda b: _rewrite(b, 2, note="extra"), "line 2: a redacted line must hold exactly"),
        (lambda b: _manifest(b, redacted=[]), "manifest.json: lists redacted entries [], but trail.jsonl has [2]"),
        (lambda b: _manifest(b, public=False), "line 2: redacted, but this is a private bundle"),
    ],
    ids=["hash", "prev", "seq", "no-reason", "extra-key", "manifest-list", "private"],
)
def test_a_tampered_redacted_line_fails_naming_it(tmp_path: Path, tamper: Any, expected: str) -> None:
    eng = v1_database(tmp_path / "db", "rationale")
    try:
        folder = export(eng, PID, tmp_path / "public", public=True).folder
    finally:
        eng.close()
    tamper(folder)
    done = run_verify(folder, tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"FAILED: {expected}"), done.stderr
