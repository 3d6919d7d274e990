"""Export bundles: what legal receives must verify offline, and a tampered one must not.

Every bundle here is checked by its own ``verify.py`` in a separate Python
process started with ``-I -S`` (isolated: no environment, no user or site
packages, so nothing of this project can be imported) from a folder outside
the repository. The tamper matrix names each case for what it breaks.
"""

from __future__ import annotations

import ast
import hashlib
import html
import importlib.util
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, FakeClock, console_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MINI_YAML = """\
id: mini
version: 1
title: Unsolicited proposal review (test pathway)
kind: unsolicited
summary: A small pathway for the export tests. Citations are references for counsel to confirm, not legal advice.
legal_basis:
  - cite: "FAR 15.609"
    note: Restrictive legend on proprietary data; outside evaluators sign non-disclosure agreements.
  - cite: "FAR 15.606-1"
    note: Initial review of unsolicited proposals.
limits: {max_value: 50000}
roles:
  intake_officer: receives proposals
  evaluator: evaluates proposals
fields:
  vendor: {type: string, required: true}
  abstract: {type: text, required: true, description: "Public, non-proprietary summary"}
  value: {type: money, required: true}
  pricing: {type: text, confidential: true, at_intake: true,
            description: "Data marked under the FAR 15.609 restrictive legend"}
  score: {type: integer, minimum: 0, maximum: 100}
initial: received
stages:
  received:
    description: Received and logged.
    deadline: {business_days: 10, on_expiry: escalate, cite: "48 CFR 1315.606(b)"}
  review:
    description: Evaluated against the criteria.
    deadline: {calendar_days: 60, on_expiry: escalate, cite: "HSAR 3015.606-2(a)"}
  accepted: {description: Accepted for negotiation., final: true, outcome: contracted}
  returned: {description: Returned with reasons., final: true, outcome: returned}
transitions:
  - trigger: start_review
    from: received
    to: review
    roles: [intake_officer]
  - trigger: score
    from: review
    to: review
    roles: [evaluator]
    updates: [score, pricing]
    requires: [score]
  - trigger: accept
    from: review
    to: accepted
    roles: [evaluator]
    requires: [rationale]
    when:
      - check: proposal.value <= pathway.limits.max_value
        message: the value exceeds the cap
        cite: "FAR 15.607"
      - check: has(proposal.score) && proposal.score >= 50
        message: the evaluation score is below 50
  - trigger: return_proposal
    from: [received, review]
    to: returned
    roles: [intake_officer, evaluator]
    requires: [rationale]
"""

#: Vendor-supplied text that must stay text: markup, template syntax, Markdown links.
HOSTILE = "Acme <script>alert('x')</script> {{ 7*7 }} {% raw %} [click](javascript:alert(1))"
PRICING = "Unit price 4.20 USD per sensor, volume discount 12% (proprietary)"
REVISED = "Revised: unit price 3.90 USD per sensor after pilot"
#: The scenario below writes exactly this many entries.
ENTRIES = 6


@dataclass
class Record:
    engine: Any
    proposal: str
    secrets: list[str]
    attachments: dict[str, bytes]


def build_record(engine: Any, clock: FakeClock, folder: Path, *, vendor: str = HOSTILE,
                 rationale: str = "Meets the criteria; see the scoring sheet.") -> Record:
    """A proposal with every kind of entry: intake with a confidential value and a file, a move,
    a refused attempt carrying a file, a recorded score with a new confidential value, a refusal
    for a missing rationale, and the final acceptance with a file."""
    from engine import Refused

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mini.yaml").write_text(MINI_YAML, encoding="utf-8")
    files = {"legend.pdf": b"%PDF-1.4 proprietary technical volume",
             "draft-award.pdf": b"draft award memo (attached to an attempt that was refused: kept as evidence)",
             "award.pdf": b"%PDF-1.4 signed award memo"}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    engine.add_user("ana", ["intake_officer"])
    engine.add_user("eve", ["evaluator"], actor="ana")
    engine.publish(folder / "mini.yaml", actor="ana")
    pid = engine.intake("mini", {"vendor": vendor, "abstract": "Smart sensors *for* the [river](http://x) walk",
                                 "value": "12000", "pricing": PRICING}, actor="ana",
                        attachments=[folder / "legend.pdf"])
    clock.advance(days=3, hours=2)
    engine.advance(pid, "start_review", actor="ana")
    clock.advance(days=1)
    with pytest.raises(Refused):
        engine.advance(pid, "accept", actor="eve", rationale="looks fine", attachments=[folder / "draft-award.pdf"])
    clock.advance(hours=5)
    engine.advance(pid, "score", actor="eve", updates={"score": "80", "pricing": REVISED})
    with pytest.raises(Refused):
        engine.advance(pid, "return_proposal", actor="ana")
    clock.advance(days=2)
    engine.advance(pid, "accept", actor="eve", rationale=rationale, attachments=[folder / "award.pdf"])
    assert len(engine.entries(pid)) == ENTRIES
    return Record(engine, pid, [PRICING, REVISED], files)


@pytest.fixture
def record(engine: Any, clock: FakeClock, tmp_path: Path) -> Record:
    return build_record(engine, clock, tmp_path / "input")


@pytest.fixture
def private_bundle(record: Record, tmp_path: Path) -> Path:
    from engine.export import export

    return export(record.engine, record.proposal, tmp_path / "bundles" / "private").folder


@pytest.fixture
def public_bundle(record: Record, tmp_path: Path) -> Path:
    from engine.export import export

    return export(record.engine, record.proposal, tmp_path / "bundles" / "public", public=True).folder


def run_verify(bundle: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """verify.py as a reviewer runs it: its own process, isolated (-I) and without site packages (-S)."""
    return subprocess.run([sys.executable, "-I", "-S", str(bundle / "verify.py"), str(bundle)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def lines_of(bundle: Path) -> list[bytes]:
    return (bundle / "trail.jsonl").read_bytes().split(b"\n")[:-1]


def write_lines(bundle: Path, lines: list[bytes]) -> None:
    (bundle / "trail.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


# --- intact bundles verify ---------------------------------------------------------------------


def test_private_bundle_verifies_offline(private_bundle: Path, tmp_path: Path) -> None:
    done = run_verify(private_bundle, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: mini-0001: 6 entries intact")
    # 2 confidential values and the 3 attachments' original names (entries record neutral names)
    assert "5 confidential value(s), 3 attachment(s) and the rules in pathway.json re-checked" in done.stdout
    assert "Traceback" not in done.stderr


def test_public_bundle_verifies_offline(public_bundle: Path, tmp_path: Path) -> None:
    done = run_verify(public_bundle, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "public bundle" in done.stdout


def test_trail_holds_the_stored_bytes_exactly(record: Record, private_bundle: Path) -> None:
    stored = [bytes(e.body) for e in record.engine.entries(record.proposal)]
    assert lines_of(private_bundle) == stored
    last = record.engine.entries(record.proposal)[-1]
    assert hashlib.sha256(b"\x00" + stored[-1]).hexdigest() == last.hash


def test_manifest_carries_the_rules_in_force(record: Record, private_bundle: Path) -> None:
    from pathways import loads

    m = json.loads((private_bundle / "manifest.json").read_text(encoding="utf-8"))
    shown = record.engine.show(record.proposal)
    assert (m["proposal"], m["entries"], m["head"], m["public"]) == (record.proposal, ENTRIES, shown["head"], False)
    assert m["exported_at"].endswith("Z")
    assert {k: m["pathway"][k] for k in ("id", "version", "sha256")} == {"id": "mini", "version": 1,
                                                                         "sha256": shown["sha256"]}
    assert loads(m["pathway"]["yaml"], "<manifest>").sha256 == shown["sha256"]


def test_private_bundle_holds_secrets_and_kept_files(record: Record, private_bundle: Path) -> None:
    names = sorted(p.relative_to(private_bundle).as_posix() for p in private_bundle.rglob("*") if p.is_file())
    kept = {hashlib.sha256(c).hexdigest() for c in record.attachments.values()}
    assert names == sorted(["README.txt", "manifest.json", "pathway.json", "registry.jsonl", "report.html",
                            "secrets.json", "trail.jsonl", "verify.py", *(f"attachments/{sha}" for sha in kept)])
    secrets = json.loads((private_bundle / "secrets.json").read_text(encoding="utf-8"))["secrets"]
    assert [(s["seq"], s["field"], s["value"]) for s in secrets if s["field"] == "pricing"] == [
        (1, "pricing", PRICING), (4, "pricing", REVISED)]
    assert [(s["seq"], s["field"], s["value"]) for s in secrets if s["field"].startswith(":")] == [
        (1, ":attachment-1", "legend.pdf"), (1, ":data", None), (3, ":attachment-1", "draft-award.pdf"),
        (6, ":attachment-1", "award.pdf")]  # ":data": the salt of the data digests (entry version 3), no value


def test_verify_py_is_the_shipped_file_and_stdlib_only(private_bundle: Path) -> None:
    from engine.export import verifier_source

    shipped = verifier_source()  # templates/verify.py with the engine's stdlib log verifiers inserted
    assert (private_bundle / "verify.py").read_bytes() == shipped
    tree = ast.parse(shipped)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported and imported <= sys.stdlib_module_names
    doc = ast.get_docstring(tree) or ""
    assert "RFC 8785" in doc and "RFC 6962" in doc


# --- the tamper matrix -------------------------------------------------------------------------


def flip_byte(n: int) -> Callable[[Path], None]:
    def tamper(bundle: Path) -> None:
        lines = lines_of(bundle)
        line = bytearray(lines[n - 1])
        line[len(line) // 2] ^= 0x01
        lines[n - 1] = bytes(line)
        write_lines(bundle, lines)
    return tamper


def edit_lines(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[Path], None]:
    return lambda bundle: write_lines(bundle, change(lines_of(bundle)))


def splice_from(other: str, n: int) -> Callable[[Path], None]:
    """Replace line n with line n of another bundle (built by the test as ``other``)."""
    def tamper(bundle: Path) -> None:
        lines = lines_of(bundle)
        lines[n - 1] = lines_of(bundle.parent / other)[n - 1]
        write_lines(bundle, lines)
    return tamper


def on_manifest(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    return lambda bundle: edit_json(bundle / "manifest.json", change)


def _pricing(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The kept values of 'pricing' (secrets.json also keeps the attachments' original names)."""
    return [s for s in doc["secrets"] if s["field"] == "pricing"]


def on_secrets(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    return lambda bundle: edit_json(bundle / "secrets.json", change)


def on_attachment(change: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda bundle: change(sorted((bundle / "attachments").iterdir())[0])


def reformat_line(n: int) -> Callable[[Path], None]:
    def tamper(bundle: Path) -> None:
        lines = lines_of(bundle)
        lines[n - 1] = json.dumps(json.loads(lines[n - 1]), ensure_ascii=False).encode()  # ", " and ": "
        write_lines(bundle, lines)
    return tamper


TAMPERS: list[tuple[str, Callable[[Path], None], str | re.Pattern[str]]] = [
    *[(f"flip_one_byte_in_line_{n}", flip_byte(n), re.compile(f"^FAILED: line {n}[: ]"))
      for n in range(1, ENTRIES + 1)],
    ("delete_first_line", edit_lines(lambda ls: ls[1:]), "line 1: seq is 2, expected 1"),
    ("delete_middle_line", edit_lines(lambda ls: ls[:2] + ls[3:]), "line 3: seq is 4, expected 3"),
    ("delete_last_line", edit_lines(lambda ls: ls[:-1]), f"line {ENTRIES}: missing"),
    ("swap_lines_2_and_5", edit_lines(lambda ls: [ls[0], ls[4], ls[2], ls[3], ls[1], ls[5]]),
     "line 2: seq is 5, expected 2"),
    ("swap_adjacent_lines_3_and_4", edit_lines(lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:]),
     "line 3: seq is 4, expected 3"),
    ("duplicate_line_3", edit_lines(lambda ls: ls[:3] + [ls[2]] + ls[3:]), "line 4: seq is 3, expected 4"),
    ("append_a_copy_of_the_last_line", edit_lines(lambda ls: [*ls, ls[-1]]), f"line {ENTRIES + 1}: seq is"),
    ("splice_line_from_another_proposal", splice_from("other-proposal", 2),
     "line 2: names proposal 'mini-0002', but manifest.json names 'mini-0001'"),
    ("splice_line_from_same_id_in_another_database", splice_from("other-database", 3), "line 3: altered"),
    ("reformat_a_line_non_canonical", reformat_line(2), "line 2: not in canonical form"),
    ("truncate_the_trail", lambda b: (b / "trail.jsonl").write_bytes((b / "trail.jsonl").read_bytes()[:-40]),
     "trail.jsonl: empty, or the last line does not end with a newline"),
    ("trail_not_utf8", edit_lines(lambda ls: ls[:1] + [b"\xff" + ls[1]] + ls[2:]), "line 2: not UTF-8"),
    ("trail_line_not_an_object", edit_lines(lambda ls: ls[:4] + [b"[1,2]"] + ls[5:]), "line 5: not a JSON object"),
    ("edit_manifest_head", on_manifest(lambda m: m.update(head="ab" * 32)),
     f"line {ENTRIES} (the last): hashes to"),
    ("edit_manifest_count_up", on_manifest(lambda m: m.update(entries=ENTRIES + 1)),
     f"manifest.json: records {ENTRIES + 1} entries, but trail.jsonl has {ENTRIES}"),
    ("edit_manifest_count_down", on_manifest(lambda m: m.update(entries=ENTRIES - 1)),
     f"manifest.json: records {ENTRIES - 1} entries, but trail.jsonl has {ENTRIES}"),
    ("edit_manifest_pathway_sha256", on_manifest(lambda m: m["pathway"].update(sha256="cd" * 32)),
     "line 1: names another pathway version"),
    ("edit_manifest_proposal", on_manifest(lambda m: m.update(proposal="mini-0009")),
     "line 1: names proposal 'mini-0001', but manifest.json names 'mini-0009'"),
    ("manifest_missing", lambda b: (b / "manifest.json").unlink(), "manifest.json: cannot read"),
    ("manifest_not_json", lambda b: (b / "manifest.json").write_text("{oops"), "manifest.json: not valid JSON"),
    ("manifest_head_wrong_type", on_manifest(lambda m: m.update(head=7)), "manifest.json: 'head'"),
    ("trail_missing", lambda b: (b / "trail.jsonl").unlink(), "trail.jsonl: cannot read"),
    ("edit_the_rules", lambda b: (b / "pathway.json").write_bytes(
        (b / "pathway.json").read_bytes().replace(b"\"max_value\":50000", b"\"max_value\":99000")),
     "pathway.json: hashes to"),
    ("rules_missing", lambda b: (b / "pathway.json").unlink(), "pathway.json: cannot read"),
    ("edit_a_confidential_value", on_secrets(lambda s: _pricing(s)[0].update(value="Unit price 1.00")),
     "line 1: the kept value of confidential 'pricing' does not match"),
    ("edit_a_salt", on_secrets(lambda s: _pricing(s)[1].update(salt="00" * 16)),
     "line 4: the kept value of confidential 'pricing' does not match"),
    ("drop_a_confidential_value", on_secrets(lambda s: s["secrets"].remove(_pricing(s)[1])),
     "line 4: no kept value for confidential"),
    ("secrets_malformed", on_secrets(lambda s: s["secrets"][0].update(seq="1")), "secrets.json item 1"),
    ("delete_secrets_from_private_bundle", lambda b: (b / "secrets.json").unlink(),
     "secrets.json: missing from a private bundle"),
    ("edit_an_attachment", on_attachment(lambda p: p.write_bytes(p.read_bytes() + b"!")),
     "does not match the sha256 and size"),
    ("delete_an_attachment", on_attachment(lambda p: p.unlink()), "is missing from a private bundle"),
    ("add_an_unrecorded_attachment",
     lambda b: (b / "attachments" / ("ee" * 32)).write_bytes(b"x"), "no entry records this attachment"),
]


@pytest.fixture
def tamper_target(record: Record, private_bundle: Path, engine: Any, clock: FakeClock, tmp_path: Path) -> Path:
    """The private bundle, with two others beside it to splice lines from."""
    from engine import Engine
    from engine.export import export

    other = record.engine.intake("mini", {"vendor": "Other Co", "abstract": "another", "value": "10"}, actor="ana")
    record.engine.advance(other, "start_review", actor="ana")
    export(record.engine, other, private_bundle.parent / "other-proposal")
    with Engine(f"sqlite:///{tmp_path / 'other.db'}", clock=FakeClock()) as twin_engine:
        twin = build_record(twin_engine, FakeClock(), tmp_path / "twin-input")
        assert twin.proposal == record.proposal
        export(twin_engine, twin.proposal, private_bundle.parent / "other-database")
    return private_bundle


@pytest.mark.parametrize(("tamper", "expected"), [(t, e) for _, t, e in TAMPERS], ids=[n for n, _, _ in TAMPERS])
def test_tampered_bundle_fails_naming_the_first_bad_line(tamper_target: Path, tmp_path: Path,
                                                         tamper: Callable[[Path], None],
                                                         expected: str | re.Pattern[str]) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not outside.resolve().is_relative_to(ROOT)
    tamper(tamper_target)
    done = run_verify(tamper_target, cwd=outside)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    first = done.stderr.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("FAILED: ")
    assert expected.search(first[0]) if isinstance(expected, re.Pattern) else expected in first[0], first[0]


def test_verify_without_a_folder_is_a_usage_error(tmp_path: Path, private_bundle: Path) -> None:
    for args in ([], [str(tmp_path / "nope")], [str(private_bundle), "extra"]):
        done = subprocess.run([sys.executable, "-I", "-S", str(private_bundle / "verify.py"), *args],
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.startswith("usage: python3 -I verify.py DIR")


def _load_verifier(bundle: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bundle_verify", bundle / "verify.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the log verifiers' annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_is_caught_at_its_line(private_bundle: Path, data: st.DataObject) -> None:
    """Whatever byte of whichever line changes (to anything but a newline), verification fails at that line."""
    verifier = _load_verifier(private_bundle)
    lines = lines_of(private_bundle)
    n = data.draw(st.integers(1, len(lines)), label="line")
    pos = data.draw(st.integers(0, len(lines[n - 1]) - 1), label="position")
    new = data.draw(st.integers(0, 255).filter(lambda b: b not in (lines[n - 1][pos], 0x0A)), label="byte")
    changed = list(lines)
    changed[n - 1] = lines[n - 1][:pos] + bytes([new]) + lines[n - 1][pos + 1:]
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "b"
        shutil.copytree(private_bundle, copy)
        write_lines(copy, changed)
        manifest = verifier.load_manifest(str(copy))
        with pytest.raises(verifier.Bad) as failed:
            verifier.check_trail(str(copy), manifest)
    assert str(failed.value).startswith(f"line {n}:") or str(failed.value).startswith(f"line {n} (the last)")


# --- public bundles leak nothing ---------------------------------------------------------------


def test_public_bundle_contains_no_confidential_value_anywhere(record: Record, public_bundle: Path) -> None:
    files = [p for p in public_bundle.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == ["README.txt", "manifest.json", "pathway.json", "registry.jsonl",
                                             "report.html", "trail.jsonl", "verify.py"]
    kept = record.engine.secrets(record.proposal)
    needles = {v.encode() for v in record.secrets}
    needles |= {html.escape(v).encode() for v in record.secrets}
    needles |= {json.dumps(v)[1:-1].encode() for v in record.secrets}
    needles |= {s["salt"].encode() for s in kept}
    needles |= set(record.attachments.values())
    needles |= {b"unit price", b"3.90", b"4.20"}
    for path in files:
        content = path.read_bytes().lower()
        for needle in needles:
            assert needle.lower() not in content, f"{needle!r} leaked into {path.name}"


def test_public_report_says_what_was_withheld_and_why(public_bundle: Path) -> None:
    page = (public_bundle / "report.html").read_text(encoding="utf-8")
    assert "Withheld from this public version" in page
    assert "declared confidential in pathway mini v1 (Data marked under the FAR 15.609 restrictive legend)" in page
    assert "FAR 15.609" in page and "name and hash only" in page
    m = json.loads((public_bundle / "manifest.json").read_text(encoding="utf-8"))
    assert m["public"] is True
    assert m["withheld"] == [{"field": "pricing", "entries": [1, 4], "rule": "declared confidential in pathway "
                              "mini v1 (Data marked under the FAR 15.609 restrictive legend)"}]
    assert all(a["included"] is False for a in m["attachments"])


def test_a_value_typed_into_a_rationale_is_refused_and_withheld_so_the_public_export_goes_out(
        engine: Any, clock: FakeClock, tmp_path: Path) -> None:
    """It used to be recorded in the hashed entry, and every public export refused for good."""
    from engine import Refused
    from engine.export import export

    with pytest.raises(Refused, match=r"the rationale quotes a confidential value \(pricing\)"):
        build_record(engine, clock, tmp_path / "input", rationale=f"Accepted at {REVISED}")
    pid = "mini-0001"
    last = engine.history(pid)[-1]
    assert last["kind"] == "refusal" and set(last["rationale"]) == {"salted_sha256"}
    assert last["withheld"] == [{"what": "rationale", "quotes": ["pricing"]}]
    engine.verify([pid])  # the replay accepts the refusal on its recorded ground
    folder = export(engine, pid, tmp_path / "public", public=True).folder
    assert not any(REVISED.encode() in p.read_bytes() for p in folder.rglob("*") if p.is_file())


# --- export refuses what it cannot vouch for ----------------------------------------------------


def test_export_refuses_a_chain_that_does_not_verify(record: Record, db_url: str, tmp_path: Path) -> None:
    from engine import VerificationFailed
    from engine.export import export

    db = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET body = CAST(replace(CAST(body AS TEXT), 'ana', 'bob') AS BLOB) "
               "WHERE chain = ? AND seq = 2",
               (record.proposal,))
    db.commit()
    db.close()
    with pytest.raises(VerificationFailed, match="seq 2"):
        export(record.engine, record.proposal, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_into_a_non_empty_folder_or_a_file_is_refused(record: Record, tmp_path: Path) -> None:
    from engine.export import export
    from pathways.errors import UsageError

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="folder exists and is not empty"):
        export(record.engine, record.proposal, tmp_path / "full")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        export(record.engine, record.proposal, tmp_path / "file")
    with pytest.raises(UsageError, match="cannot create"):
        export(record.engine, record.proposal, tmp_path / "file" / "bundle")
    (tmp_path / "empty").mkdir()
    assert export(record.engine, record.proposal, tmp_path / "empty").entries == ENTRIES


# --- the command line ----------------------------------------------------------------------------


def test_cli_export_then_verify(record: Record, db_url: str, runner: Any, tmp_path: Path) -> None:
    from cli import cli

    out = tmp_path / "cli-bundle"
    result = runner.invoke(cli, ["--db", db_url, "export", record.proposal, "-o", str(out), "--public", "--json"])
    assert result.exit_code == 0, result.output
    shape = json.loads(result.stdout)
    assert shape["entries"] == ENTRIES and shape["public"] is True and shape["withheld"] == ["pricing"]
    assert run_verify(out, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(("args", "message"), [
    (["export", "mini-0404", "-o", "{tmp}/b"], "Error: no proposal 'mini-0404' (see 'pathways list')"),
    (["export", "{pid}", "-o", "{tmp}/a-file/b"], "Error: -o {tmp}/a-file/b: cannot create"),
    (["export", "{pid}", "-o", "{tmp}/a-file"], "Error: -o {tmp}/a-file: exists and is not a folder"),
    (["report", "mini-0404", "-o", "{tmp}/r.html"], "Error: no proposal 'mini-0404'"),
    (["report", "{pid}", "-o", "{tmp}"], "Error: -o {tmp}: cannot write (Is a directory)"),
    (["report", "{pid}", "-o", "{tmp}/a-file/r.html"], "Error: -o {tmp}/a-file/r.html: cannot write"),
    (["docs", "{tmp}/missing.yaml", "-o", "{tmp}/d.html"], "Error: {tmp}/missing.yaml: no such file"),
])
def test_cli_errors_are_one_line_exit_2(record: Record, db_url: str, runner: Any, tmp_path: Path,
                                        args: list[str], message: str) -> None:
    from cli import cli

    (tmp_path / "a-file").write_text("x")
    fill = {"tmp": str(tmp_path), "pid": record.proposal}
    result = runner.invoke(cli, ["--db", db_url, *(a.format(**fill) for a in args)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message.format(**fill))
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr


def test_installed_command_exports_from_another_folder(record: Record, db_url: str, tmp_path: Path) -> None:
    """The console script as a user runs it, from a folder outside the repository."""
    script = console_script()
    work = tmp_path / "desk"
    work.mkdir()
    done = subprocess.run([str(script), "--db", db_url, "export", record.proposal, "-o", "bundle"], cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "check it with: python3 -I bundle/verify.py bundle" in done.stdout
    assert run_verify(work / "bundle", cwd=work).returncode == 0


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=JSON | st.fixed_dictionaries({"proposal": JSON, "entries": JSON, "head": JSON, "pathway": JSON,
                                              "public": JSON}),
       secrets=JSON | st.fixed_dictionaries({"secrets": st.lists(JSON | st.fixed_dictionaries(
           {"seq": JSON, "field": JSON, "salt": JSON, "value": JSON}), max_size=3)}))
def test_malformed_manifest_or_secrets_fail_cleanly(private_bundle: Path, manifest: Any, secrets: Any) -> None:
    """Whatever JSON a manifest or secrets file holds, verify.py answers with a failed check, never a crash."""
    verifier = _load_verifier(private_bundle)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "b"
        shutil.copytree(private_bundle, copy)
        (copy / "secrets.json").write_text(json.dumps(secrets), encoding="utf-8")
        good = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
        for target in (manifest, good):
            (copy / "manifest.json").write_text(json.dumps(target), encoding="utf-8")
            # neither a generated manifest nor generated secrets can match this trail: it must fail, located
            with pytest.raises(verifier.Bad) as info:
                m = verifier.load_manifest(str(copy))
                entries = verifier.check_trail(str(copy), m)
                verifier.check_secrets(str(copy), m, entries)
            message = str(info.value)
            assert re.match(r"(manifest\.json|secrets\.json|trail\.jsonl|line \d+)[: ]", message), message
            if target is good:  # the trail is intact: what fails is the secrets file
                assert "secrets.json" in message or "confidential" in message, message
