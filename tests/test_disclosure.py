"""The one disclosure check: every spelling of every confidential value, in every public output.

Before it, ``export --public`` searched only text of 6+ characters, case-sensitively, the last item of a
list, and never money, dates or short values; ``report --public`` searched nothing; staff text and
attachment names went into hashed entries as typed. Each spelling below leaked then.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Engine, Refused
from engine.disclosure import (
    check,
    date_spellings,
    money_spellings,
    neutral_name,
    scan,
    value_needles,
    views,
)
from engine.errors import DisclosureRisk, InvalidData

SECRETIVE = """\
id: secretive
version: 1
title: A pathway with a confidential value of every kind
kind: unsolicited
summary: For the disclosure tests.
legal_basis:
  - cite: "FAR 15.609"
    note: Restrictive legend on proprietary data.
roles:
  officer: does everything
fields:
  vendor: {type: string, required: true}
  abstract: {type: text, required: true}
  award: {type: money}
  memo: {type: text}
  remark: {type: string}
  price: {type: money, required: true, confidential: true}
  opens_on: {type: date, required: true, confidential: true}
  partner: {type: string, required: true, confidential: true}
  bidders: {type: list, required: true, confidential: true}
  units: {type: integer, required: true, confidential: true}
initial: open
stages:
  open: {description: Open.}
  done: {description: Done., final: true, outcome: contracted}
transitions:
  - trigger: note
    from: open
    to: open
    roles: [officer]
    updates: [award, memo, remark]
  - trigger: close
    from: open
    to: done
    roles: [officer]
    requires: [rationale]
"""

DATA = {"vendor": "Public Vendor Inc.", "abstract": "A public summary.", "price": "585000",
        "opens_on": "2026-03-02", "partner": "Zenith Partners LLC", "bidders": ["Orbital Works", "Kestrel Ltd"],
        "units": 1234}

#: (field, a spelling of its value that the old check missed)
LEAKS = [("price", s) for s in ["585000", "585,000", "$585,000", "585000.00", "$585,000.00", "$585K"]] + [
    ("opens_on", s) for s in ["2026-03-02", "03/02/2026", "3/2/2026", "March 2, 2026", "Mar 2, 2026"]] + [
    ("partner", "zenith partners llc"), ("partner", "ZENITH  PARTNERS\nLLC"),
    ("bidders", "ORBITAL WORKS"), ("bidders", "Orbital Works"), ("units", "1,234")]


def _engine(folder: Path) -> tuple[Engine, FakeClock]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secretive.yaml").write_text(SECRETIVE, encoding="utf-8")
    clock = FakeClock()
    eng = Engine(f"sqlite:///{folder / 'test.db'}", clock=clock)
    eng.add_user("ana", ["officer"])
    eng.publish(folder / "secretive.yaml", actor="ana")
    return eng, clock


def _signed(eng: Engine) -> None:
    """Start the transparency log and sign a checkpoint covering everything (export needs one)."""
    from engine.transparency import checkpoints as cps
    from engine.transparency import generate_key
    from engine.transparency import log as tlog

    origin = "Springfield procurement log"
    key = generate_key(cps.key_name(origin))
    with eng.db.begin() as conn:
        tlog.init(conn, origin, str(key.verifier), "2026-03-02T09:00:00Z")
    with eng.db.begin() as conn:
        cps.checkpoint(conn, [key], "2026-03-02T09:00:00Z")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    eng, _ = _engine(tmp_path_factory.mktemp("disclosure"))
    yield eng
    eng.close()


# --- the spellings --------------------------------------------------------------------------------


def test_money_and_date_spellings_are_the_ones_people_write() -> None:
    assert set(money_spellings("585000")) >= {"585000", "585,000", "$585,000", "585000.00", "$585,000.00"}
    assert set(date_spellings("2026-03-02")) == {"2026-03-02", "03/02/2026", "3/2/2026", "March 2, 2026",
                                                 "Mar 2, 2026"}


@pytest.mark.parametrize(("field", "spelling"), LEAKS, ids=[s for _, s in LEAKS])
def test_each_spelling_that_leaked_before_is_found_naming_the_field_not_the_value(
        shared: Engine, field: str, spelling: str) -> None:
    found = value_needles(shared.pathway("secretive"), {k: DATA[k] for k in
                                                        ("price", "opens_on", "partner", "bidders", "units")},
                          seq=1, public=["Public Vendor Inc."])
    page = f"<p>Staff wrote: {json.dumps('as seen ' + spelling)[1:-1]}</p>"
    with pytest.raises(DisclosureRisk) as caught:
        check({"report.html": page}, found)
    message = str(caught.value)
    assert f"'{field}' (entry 1) appears in report.html line 1" in message
    assert spelling not in message and str(DATA[field]) not in message


@pytest.mark.parametrize("text", [
    "Figures are in section 585 and 5850; 1585000 is another amount; 585000.5 too",
    "hash 0585000f9a and 2026-03-02T10:00:00.000000Z (an act on that day)",
    "Zenith Partners and Orbital are words; Works alone; 123 units",
])
def test_what_is_not_a_spelling_is_not_a_hit(shared: Engine, text: str) -> None:
    found = value_needles(shared.pathway("secretive"), {k: DATA[k] for k in ("price", "opens_on", "partner",
                                                                              "bidders", "units")})
    assert not scan({"page": text}, found)


def test_short_and_common_values_are_not_searched(shared: Engine) -> None:
    pathway = shared.pathway("secretive")
    assert not value_needles(pathway, {"price": "12", "units": 300, "partner": "City", "bidders": ["abc"]})
    assert value_needles(pathway, {"price": "500000"}) and value_needles(pathway, {"price": "12.5"})
    assert value_needles(pathway, {"partner": "Acme"})


def test_a_value_the_record_shows_in_a_public_field_is_not_searched(shared: Engine) -> None:
    """A Swiss challenge's award equals the matched offer: the rules publish it under ``award``."""
    pathway = shared.pathway("secretive")
    assert not value_needles(pathway, {"price": "585000"}, public=["585000"])


def test_views_decode_json_html_and_markdown_escapes() -> None:
    decoded = [v for _, v in views('a \\"Q\\" &amp; Zenith\\-Partners<br>LLC')]
    assert any('"q" & zenith-partners llc' in v for v in decoded)


def test_neutral_names_keep_only_plain_extensions() -> None:
    assert neutral_name(1, "Acme-pricing.PDF") == "attachment-1.pdf"
    assert neutral_name(2, "Zenith.secret") == "attachment-2"
    assert neutral_name(3, "README") == "attachment-3"


# --- when staff text is recorded -----------------------------------------------------------------


def test_a_rationale_quoting_a_confidential_value_is_refused_recorded_and_withheld(tmp_path: Path) -> None:
    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", DATA, actor="ana")
    with pytest.raises(Refused, match=r"the rationale quotes a confidential value \(price\)"):
        eng.advance(pid, "close", actor="ana", rationale="Beats the others at $585,000.")
    last = eng.history(pid)[-1]
    assert last["kind"] == "refusal" and set(last["rationale"]) == {"salted_sha256"}
    assert last["withheld"] == [{"what": "rationale", "quotes": ["price"]}]
    # not as a number: a salted hash or a salt is hex and may hold the digits 585 by chance
    assert not re.search(r"(?<![0-9a-f])585(?![0-9a-f])", json.dumps(last)) and "Beats" not in json.dumps(last)
    (kept,) = [s for s in eng.secrets(pid) if s["field"] == ":rationale"]
    assert kept["value"] == "Beats the others at $585,000."
    eng.verify([pid])
    eng.advance(pid, "close", actor="ana", rationale="Beats the others.")
    eng.verify([pid])
    private = [e.rationale for e in __import__("engine.report").report.build_report(eng, pid, public=False).events]
    assert any("Beats the others at $585,000." in r for r in private)


def test_a_public_value_that_overflows_a_decimal_does_not_break_an_advance_or_a_public_export(tmp_path: Path) -> None:
    """``1e999999999`` in a public text field raised ``decimal.Overflow`` from the needles (a traceback on every
    advance with a rationale, every replay and every public export)."""
    from engine.export import export

    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", {**DATA, "vendor": "1e999999999"}, actor="ana")
    eng.advance(pid, "close", actor="ana", rationale="Best value for the city.")
    assert eng.history(pid)[-1]["to"] == "done"
    eng.verify([pid])
    _signed(eng)
    bundle = export(eng, pid, tmp_path / "public", public=True).folder
    assert "1e999999999" in (bundle / "trail.jsonl").read_text(encoding="utf-8")  # public, so it is shown


def test_an_attachment_name_is_neutral_and_one_quoting_a_value_is_refused(tmp_path: Path) -> None:
    eng, _ = _engine(tmp_path)
    doc = tmp_path / "Zenith Partners LLC pricing.pdf"
    doc.write_bytes(b"%PDF-1.4")
    with pytest.raises(InvalidData, match=r"the name of attachment-1 quotes a confidential value \(partner\)"):
        eng.intake("secretive", DATA, actor="ana", attachments=[doc])
    pid = eng.intake("secretive", DATA, actor="ana")
    with pytest.raises(Refused, match=r"the name of attachment-1 quotes a confidential value \(partner\)"):
        eng.advance(pid, "note", actor="ana", attachments=[doc])
    last = eng.history(pid)[-1]
    assert last["attachments"][0]["name"] == "attachment-1.pdf" and "Zenith" not in json.dumps(last)
    assert last["withheld"] == [{"what": "attachment-1", "quotes": ["partner"]}]
    eng.verify([pid])
    from engine.report import build_report

    assert [a.name for a in build_report(eng, pid, public=False).attachments] == [doc.name]
    assert [a.name for a in build_report(eng, pid, public=True).attachments] == ["attachment-1.pdf"]


def test_report_public_refuses_in_every_format(tmp_path: Path) -> None:
    from dataclasses import replace

    from engine.report import Shown, build_report, report_bytes

    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", DATA, actor="ana")
    report = build_report(eng, pid, public=True)
    leaky = replace(report, data=[*report.data, Shown("abstract", "ORBITAL WORKS at 3/2/2026")])
    for fmt in ("html", "md", "pdf"):
        assert report_bytes(report, fmt) if fmt != "pdf" else True
        with pytest.raises(DisclosureRisk, match="item 1 of confidential 'bidders'"):
            report_bytes(leaky, fmt)


# --- values given with --set ----------------------------------------------------------------------

QUOTE = "Zenith Partners LLC came in at $585,000."


def test_a_set_value_quoting_a_confidential_value_is_refused_recorded_and_withheld(tmp_path: Path) -> None:
    """Free text staff give a public field is checked like a rationale: refused, on the record, withheld."""
    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", DATA, actor="ana")
    with pytest.raises(Refused, match=r"the value given for memo quotes a confidential value \(partner, price\)"):
        eng.advance(pid, "note", actor="ana", updates={"memo": QUOTE, "award": "1000"})
    last = eng.history(pid)[-1]
    assert last["kind"] == "refusal" and set(last["input"]["memo"]) == {"salted_sha256"}
    assert last["input"]["award"] == "1000"  # what did not quote anything stays in clear
    assert last["withheld"] == [{"what": "input.memo", "quotes": ["partner", "price"]}]
    text = re.sub(r"[0-9a-f]{64}", "#", json.dumps(last))  # hashes and salts may hold any digits by chance
    assert "585" not in text and "zenith" not in text.lower()
    assert [s["value"] for s in eng.secrets(pid) if s["field"] == "memo"] == [QUOTE]
    assert "memo" not in eng.show(pid)["data"]
    eng.verify([pid])  # the replay re-checks the ground against the kept text
    eng.advance(pid, "note", actor="ana", updates={"memo": "The partner's offer is on file."})
    assert eng.show(pid)["data"]["memo"] == "The partner's offer is on file."
    eng.verify([pid])


def test_a_set_value_equal_to_a_confidential_value_does_not_make_it_public(tmp_path: Path) -> None:
    """A value the record shows in a public field is not searched; a note set to the price must not be one."""
    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", DATA, actor="ana")
    with pytest.raises(Refused, match=r"the value given for remark quotes a confidential value \(price\)"):
        eng.advance(pid, "note", actor="ana", updates={"remark": "585000"})
    eng.verify([pid])


def test_intake_text_quoting_a_confidential_value_is_invalid_data(tmp_path: Path) -> None:
    """No chain exists yet to record a refusal on: the intake is refused as invalid, and nothing is written."""
    eng, _ = _engine(tmp_path)
    with pytest.raises(InvalidData, match=r"the value given for abstract quotes a confidential value \(partner\)"):
        eng.intake("secretive", {**DATA, "abstract": "Teaming with ZENITH PARTNERS LLC."}, actor="ana")
    assert eng.list() == []


def test_the_cli_refuses_a_quoting_set_with_the_plain_reason(tmp_path: Path, runner: Any) -> None:
    from cli import cli

    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", DATA, actor="ana")
    eng.close()
    url = f"sqlite:///{tmp_path / 'test.db'}"
    done = runner.invoke(cli, ["--db", url, "advance", pid, "note", "--set", f"memo={QUOTE}", "--as", "ana"])
    assert done.exit_code == 1, done.output
    assert "the value given for memo quotes a confidential value (partner, price)" in done.stderr
    assert "585" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("forged", "finding"), [
    ({"drop": ("withheld",)}, "text is withheld outside a refusal, or without its ground"),
    ({"withheld": [{"what": "input.remark", "quotes": ["price"]}]},
     "a value of a non-confidential field is withheld without its ground"),
], ids=["no-ground", "other-field"])
def test_a_withheld_value_without_its_ground_is_a_finding(tmp_path: Path, forged: dict, finding: str) -> None:
    """A public field's value concealed in an entry that names no ground for it: not what the engine writes."""
    import sqlite3

    from test_attacks_found import _forge, _resync

    from engine.errors import VerificationFailed

    eng, _ = _engine(tmp_path)
    pid = eng.intake("secretive", DATA, actor="ana")
    with pytest.raises(Refused):
        eng.advance(pid, "note", actor="ana", updates={"memo": QUOTE})
    eng.close()
    path = tmp_path / "test.db"
    last = json.loads(sqlite3.connect(path).execute(
        "select body from audit_log where chain=? order by seq desc limit 1", (pid,)).fetchone()[0])
    _forge(path, pid, at="2026-03-03T09:00:00.000000Z", **forged)
    c = sqlite3.connect(path)
    c.execute("insert into audit_secrets(chain, seq, field, salt, value) select chain, seq + 1, field, salt, value "
              "from audit_secrets where chain=? and seq=? and field='memo'", (pid, last["seq"]))
    c.commit()
    c.close()
    _resync(path)
    again = Engine(f"sqlite:///{path}", create=False)
    try:
        with pytest.raises(VerificationFailed, match=finding):
            again.verify([pid])
    finally:
        again.close()


def test_a_public_bundle_shows_the_withheld_value_as_withheld_and_verifies(tmp_path: Path) -> None:
    import subprocess
    import sys

    from engine.export import export

    eng, _ = _engine(tmp_path)
    try:
        pid = eng.intake("secretive", DATA, actor="ana")
        with pytest.raises(Refused):
            eng.advance(pid, "note", actor="ana", updates={"memo": QUOTE})
        _signed(eng)
        public = export(eng, pid, tmp_path / "public", public=True).folder
        private = export(eng, pid, tmp_path / "private").folder
    finally:
        eng.close()
    page = (public / "report.html").read_text()
    assert "[withheld: it quotes a confidential value (partner, price)]" in page and "Zenith" not in page
    assert QUOTE.replace("'", "&#39;") in (private / "report.html").read_text()
    for bundle in (public, private):
        done = subprocess.run([sys.executable, "-I", str(bundle / "verify.py"), str(bundle)], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr


# --- the property ---------------------------------------------------------------------------------

_word = st.text(st.sampled_from("bcdfghjklmnpqrstvwxz"), min_size=3, max_size=6).map(
    lambda w: w.capitalize() + "ao"[len(w) % 2] + "n")
_name = st.tuples(_word, _word).map(lambda t: f"{t[0]} {t[1]} Group")
_secret = st.fixed_dictionaries({
    "price": st.integers(10_000, 10**9).map(str),
    "opens_on": st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat),
    "partner": _name, "bidders": st.lists(_name, min_size=1, max_size=3, unique=True),
    "units": st.integers(100_000, 10**9),
})


def _spellings(field: str, value: Any) -> list[str]:
    if field == "price":
        return money_spellings(value)
    if field == "opens_on":
        return date_spellings(value)
    if field == "units":
        return [str(value), f"{value:,}"]
    items = value if isinstance(value, list) else [value]
    return [form for v in items for form in (v, v.upper(), v.lower())]


def _contains(content: bytes, spelling: str) -> bool:
    """An independent search: a spelling bounded by non-alphanumerics, in the file as written or decoded."""
    pattern = re.compile(r"(?<![0-9a-z])" + re.escape(spelling.casefold()) + r"(?![0-9a-z])")
    return any(pattern.search(v) for _, v in views(content.decode("utf-8", "replace")))


@settings(max_examples=8, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(secret=_secret, pick=st.integers(0, 10**6), quoted=st.integers(0, 10**6))
def test_public_outputs_never_contain_any_spelling_of_any_confidential_value(
        tmp_path_factory: pytest.TempPathFactory, secret: dict[str, Any], pick: int, quoted: int) -> None:
    from engine.export import export
    from engine.report import build_report, report_bytes

    folder = tmp_path_factory.mktemp("prop") / uuid.uuid4().hex
    eng, clock = _engine(folder)
    try:
        pid = eng.intake("secretive", {**DATA, **secret}, actor="ana")
        fields = sorted(secret)
        field = fields[pick % len(fields)]
        forms = _spellings(field, secret[field])
        spelled = forms[quoted % len(forms)]
        doc = folder / f"about {spelled.replace('/', '-')}.txt"
        doc.write_text("notes", encoding="utf-8")
        with pytest.raises(Refused, match="quotes a confidential value"):
            eng.advance(pid, "note", actor="ana", rationale=f"As agreed: {spelled}.")
        with pytest.raises(Refused):
            eng.advance(pid, "note", actor="ana", attachments=[doc])
        clock.advance(days=1)
        eng.advance(pid, "close", actor="ana", rationale="Closed without quoting anything.")
        eng.verify([pid])
        _signed(eng)
        bundle = export(eng, pid, folder / "public", public=True).folder
        outputs = {p.name: p.read_bytes() for p in bundle.rglob("*") if p.is_file() and p.name != "verify.py"}
        report = build_report(eng, pid, public=True)
        outputs.update({f"report.{fmt}": report_bytes(report, fmt) for fmt in ("html", "md")})
        for name, content in outputs.items():
            for f in fields:
                for form in _spellings(f, secret[f]):
                    assert not _contains(content, form), (name, f, form)
            for s in eng.secrets(pid):
                assert s["salt"].encode() not in content, name
    finally:
        eng.close()


def test_the_reports_own_stylesheet_is_not_a_spelling(shared: Engine) -> None:
    """The CSS says '190mm' and '10mm': 190,000,000 and 10,000,000 are not written '190mm' (found by the property)."""
    found = value_needles(shared.pathway("secretive"), {"units": 190_000_000, "price": "10000000"})
    assert not scan({"report.html": "@page { size: 210mm 297mm; margin: 190mm 10mm; }"}, found)
    assert scan({"page": "about 190M units"}, found)
