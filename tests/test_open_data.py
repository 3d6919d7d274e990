"""Open data: every shipped pathway, walked to each outcome, publishes OCDS 1.1.5 that validates and ties to the trail.

The packages are validated here with the official schemas copied into
``tests/data/ocds`` (with their notice), through a validator built in this
file, not the engine's own (``engine/open_data/validation.py``), so a broken
engine validator cannot pass its own output. ``ocdskit compile`` must read the
release package offline (``--schema`` with the local release schema) and
compile the same records as ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import test_challenge_entries as entry_walks
import test_family_walks as bid_walks
import test_opportunities
import test_walk
from click.testing import CliRunner
from test_walk import ROUTES

from cli import cli
from engine import Engine
from engine.open_data.bids import BID_EXTENSION
from pathways import load

FIXTURES = Path(__file__).parent / "data" / "ocds"
BASE = "https://data.austintexas.gov/procurement"


def _validator(name: str) -> Any:
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*-1.1.5.json"))]
    registry = Registry().with_resources(
        (d["id"], Resource.from_contents(d, default_specification=DRAFT4)) for d in docs
    )
    return Draft4Validator(
        json.loads((FIXTURES / f"{name}-schema-1.1.5.json").read_text(encoding="utf-8")), registry=registry
    )


RELEASE_PACKAGE, RECORD_PACKAGE = _validator("release-package"), _validator("record-package")


def errors(validator: Any, document: Any) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def publish(db: str, out: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["--db", db, "ocds", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    releases = json.loads((out / "release-package.json").read_text(encoding="utf-8"))
    records = json.loads((out / "record-package.json").read_text(encoding="utf-8"))
    return releases, records, result.stderr


#: How each final stage ends the process in OCDS: (tender status, award status or None, contract status or None).
ENDINGS = {
    ("challenge", "archived"): ("complete", "active", None),
    ("challenge", "cancelled"): ("cancelled", None, None),
    ("challenge", "no_award"): ("unsuccessful", None, None),
    ("pilot", "declined"): ("unsuccessful", None, None),
    ("pilot", "follow_on_procurement"): ("complete", "active", "terminated"),
    ("pilot", "terminated"): ("complete", "active", "terminated"),
    ("pilot", "withdrawn"): ("withdrawn", None, None),
    ("rfp", "cancelled"): ("cancelled", None, None),
    ("rfp", "closed"): ("complete", "active", "terminated"),
    ("rfp", "unsuccessful"): ("unsuccessful", None, None),
    ("sandbox", "closed"): ("complete", "active", "terminated"),
    ("sandbox", "rejected"): ("unsuccessful", None, None),
    ("sandbox", "withdrawn"): ("withdrawn", None, None),
    ("unsolicited", "cancelled"): ("cancelled", None, None),
    ("unsolicited", "contract"): ("complete", "active", "active"),
    ("unsolicited", "returned"): ("unsuccessful", None, None),
    ("unsolicited", "withdrawn"): ("withdrawn", None, None),
}


#: The opportunities, walked with real responses (the walkers of test_family_walks.py and
#: test_challenge_entries.py), by final stage.
BID_WALKS = {
    "closed": bid_walks.test_rfp_to_closed_awards_one_bid_rejects_one_and_the_other_loses,
    "unsuccessful": bid_walks.test_rfp_declared_unsuccessful_closes_every_bid_unsuccessful,
    "cancelled": bid_walks.test_rfp_cancelled_cancels_its_bids_and_a_withdrawn_bid_stays_withdrawn,
}
FAMILIES = [("rfp", f) for f in BID_WALKS] + [("challenge", f) for f in entry_walks.WALKS]
#: bidStatus by the final stage a response was left in (bid extension's closed bidStatus codelist).
BID_STATUS = {
    "awarded": "valid",
    "unsuccessful": "valid",
    "rejected": "disqualified",
    "withdrawn": "withdrawn",
    "cancelled": "pending",
    "winner": "valid",
    "not_selected": "valid",
    "ineligible": "disqualified",
    "no_award": "valid",
}


def test_every_final_stage_has_an_expected_ending() -> None:
    """Every single-case route and every opportunity's family walk has its expected OCDS ending; the family
    walks reach every final stage of the opportunity pathways (so a new one needs a walk and an ending)."""
    assert sorted(ENDINGS) == sorted([(p.stem, f) for p, f in ROUTES] + FAMILIES)
    for stem in ("rfp", "challenge"):
        assert {f for s, f in FAMILIES if s == stem} == set(load(test_walk.DEFINITIONS / f"{stem}.yaml").finals)
    responses = {"rfp-bid", "challenge-entry"}
    finals = {f for s, f in bid_walks.FAMILY_FINALS if s in responses}
    finals |= {f for s, fs in entry_walks.FAMILY_FINALS.items() if s in responses for f in fs}
    assert set(BID_STATUS) == finals


def walk_family(stem: str, final: str, folder: Path) -> tuple[str, str, dict[str, str]]:
    """An opportunity walked with real responses to ``final`` in a fresh database under ``folder``: the
    database URL, the opportunity's id and each response's id -> final stage, in the order received."""
    url = f"sqlite:///{folder / 'family.db'}"
    if stem == "rfp":
        clock: Any = test_opportunities.Clock()
        staff, defs = test_opportunities.STAFF, ("rfp.yaml", "rfp-bid.yaml")
    else:
        clock, staff, defs = entry_walks.Clock(), entry_walks.STAFF, ("challenge.yaml", "challenge-entry.yaml")
    e = Engine(url, clock=clock)
    try:
        e.add_user("admin", ["admin"])
        for name, roles in staff.items():
            e.add_user(name, roles, actor="admin")
        e.publish_all([load(test_walk.DEFINITIONS / d) for d in defs], actor="admin")
        if stem == "rfp":
            BID_WALKS[final](e)
            oid = next(p["id"] for p in e.list() if p["pathway"] == "rfp")
        else:
            oid, _ = entry_walks.walk(e, clock, folder, final)
        assert e.show(oid)["state"] == final
        answers = {r["id"]: e.show(r["id"])["state"] for r in e.show(oid)["responses"]}
    finally:
        e.close()
    return url, oid, answers


@pytest.mark.parametrize(("stem", "final"), FAMILIES, ids=[f"{s}->{f}" for s, f in FAMILIES])
def test_each_opportunity_walked_with_responses_publishes_valid_ocds_with_its_bids(
    stem: str, final: str, tmp_path: Path
) -> None:
    """An rfp with real bids and a challenge with real entries, to each outcome: the packages validate, the
    responses are the tender's bids (status from each response's outcome, counted as numberOfTenderers) and
    not processes of their own, the releases tie to the opportunity's chain, and no sealed or confidential
    value of a response (a bid's price and pricing details, an entry's solution and cost sheet) is published."""
    db, oid, answers = walk_family(stem, final, tmp_path)
    releases, records, _ = publish(db, tmp_path / "od", "--all")
    assert errors(RELEASE_PACKAGE, releases) == [] and errors(RECORD_PACKAGE, records) == []
    assert [r["ocid"] for r in records["records"]] == [f"ocds-demo00-{oid}"]
    made = releases["releases"]
    chains = {
        chain: {
            e["seq"]: e for e in json.loads(CliRunner().invoke(cli, ["--db", db, "history", chain, "--json"]).stdout)
        }
        for chain in (oid, *answers)
    }
    for r in made:  # each release names a real entry of the opportunity's chain or of one of its responses'
        entry = chains[r["auditEntry"]["chain"]][r["auditEntry"]["seq"]]
        assert (r["auditEntry"]["hash"], r["date"]) == (entry["hash"], entry["at"])
        assert entry["kind"] in ("intake", "transition")
    assert len({r["id"] for r in made}) == len(made)
    # Every response's receipt is a release of its own, tied to the response's intake.
    assert {r["auditEntry"]["chain"] for r in made if r["auditEntry"]["seq"] == 1} == {oid, *answers}
    by_seq = chains[oid]
    made_own = [r for r in made if r["auditEntry"]["chain"] == oid]
    pending = [
        by_seq[r["auditEntry"]["seq"]]["to"]
        for r in made_own
        if any(a["status"] == "pending" for a in r.get("awards", []))
    ]
    assert set(pending) <= {"protest_window", "award_pending"}
    assert bool(pending) is ((stem, final) == ("rfp", "closed"))
    compiled = records["records"][0]["compiledRelease"]
    tender_status, award, contract = ENDINGS[(stem, final)]
    assert compiled["tender"]["status"] == tender_status
    assert [a["status"] for a in compiled.get("awards", [])] == ([award] if award else [])
    assert [c["status"] for c in compiled.get("contracts", [])] == ([contract] if contract else [])
    bids = compiled["bids"]["details"]
    assert [b["id"] for b in bids] == list(answers)
    assert [b["status"] for b in bids] == [BID_STATUS[state] for state in answers.values()]
    assert compiled["tender"]["numberOfTenderers"] == len(answers)
    assert compiled["bids"]["statistics"][0] == {"id": "bids", "measure": "bids", "value": len(answers)}
    assert all("value" not in b for r in made for b in (r.get("bids") or {}).get("details", []))
    assert releases["extensions"] == [f"{BASE}/ocds/extension/extension.json", BID_EXTENSION]
    if award:  # the award names responses; its suppliers are their tenderers
        names = {b["id"]: b["tenderers"][0]["name"] for b in bids}
        winners = [i for i, state in answers.items() if state in ("awarded", "winner", "not_selected")]
        if stem == "challenge":  # every prize winner, first place first (the walk gives two prizes)
            winners = [i for i in answers if answers[i] in ("winner", "not_selected")]
        assert [s["name"] for s in compiled["awards"][0]["suppliers"]] == [names[i] for i in winners]
    text = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "od").rglob("*.json")).casefold()
    if stem == "rfp":
        secret = [t for _, _, tech, details in test_opportunities.BIDS for t in (tech, details)]
    else:
        secret = [t for _, solution, costs in entry_walks.ENTRIES for t in (solution, costs)]
    assert [t for t in secret if t.casefold() in text] == []
    assert "walker" not in text and "maria" not in text  # staff and evaluators are never parties


@pytest.mark.parametrize(("path", "final"), ROUTES, ids=[f"{p.stem}->{f}" for p, f in ROUTES])
def test_each_walked_outcome_publishes_valid_ocds_tied_to_its_trail(
    path: Path, final: str, tmp_path: Path, runner: CliRunner
) -> None:
    test_walk.test_walk_to_final_stage(path, final, tmp_path, runner)  # leaves tmp_path/walk.db, verified, at `final`
    db = f"sqlite:///{tmp_path / 'walk.db'}"
    releases, records, _ = publish(db, tmp_path / "od", "--all")
    assert errors(RELEASE_PACKAGE, releases) == []
    assert errors(RECORD_PACKAGE, records) == []
    history = json.loads(CliRunner().invoke(cli, ["--db", db, "history", f"{path.stem}-0001", "--json"]).stdout)
    by_seq = {e["seq"]: e for e in history}
    made = releases["releases"]
    assert made and made[0]["tag"][0] == "planning" and made[0]["auditEntry"]["seq"] == 1
    for r in made:  # each release names a real entry of its chain, at that entry's time
        entry = by_seq[r["auditEntry"]["seq"]]
        assert (r["auditEntry"]["hash"], r["date"], r["auditEntry"]["chain"]) == (
            entry["hash"],
            entry["at"],
            f"{path.stem}-0001",
        )
        assert entry["kind"] in ("intake", "transition")
    assert len({r["id"] for r in made}) == len(made)
    # A recommendation stays internal until the notice of intent (the rfp's protest window) announces it.
    pending = [
        by_seq[r["auditEntry"]["seq"]]["to"] for r in made if any(a["status"] == "pending" for a in r.get("awards", []))
    ]
    assert set(pending) <= {"protest_window", "award_pending"}
    assert bool(pending) is ((path.stem, final) == ("rfp", "closed"))
    assert releases["publishedDate"] == made[-1]["date"]
    compiled = records["records"][0]["compiledRelease"]
    tender_status, award, contract = ENDINGS[(path.stem, final)]
    assert compiled["tender"]["status"] == tender_status
    assert [a["status"] for a in compiled.get("awards", [])] == ([award] if award else [])
    assert [c["status"] for c in compiled.get("contracts", [])] == ([contract] if contract else [])
    assert "walker" not in json.dumps(records)  # staff (and evaluators) are never parties


def test_the_route_decides_the_unsolicited_method(tmp_path: Path, runner: CliRunner) -> None:
    """Swiss challenge -> open; sole source -> direct (DOMAIN.md); before the decision, no method yet."""
    seen = {}
    for final in ("contract", "returned"):
        folder = tmp_path / final
        folder.mkdir()
        path = next(p for p, f in ROUTES if p.stem == "unsolicited" and f == final)
        test_walk.test_walk_to_final_stage(path, final, folder, runner)
        _, records, _ = publish(f"sqlite:///{folder / 'walk.db'}", folder / "od", "--all")
        seen[final] = records["records"][0]["compiledRelease"]["tender"].get("procurementMethod")
    routes = json.loads(runner.invoke(cli, ["paths", str(path), "--json"]).stdout)
    to_contract = next(r for r in routes if r["final"] == "contract")["steps"]
    expected = "direct" if any(s["to"] == "sole_source_negotiation" for s in to_contract) else "open"
    assert seen == {"contract": expected, "returned": None}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(folder / "run")])
    assert result.exit_code == 0, result.output
    return f"sqlite:///{folder / 'run' / 'demo.db'}"


def test_the_same_database_gives_byte_identical_files(demo_db: str, tmp_path: Path) -> None:
    publish(demo_db, tmp_path / "a", "--all")
    publish(demo_db, tmp_path / "b", "--all")
    names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert [str(n) for n in names] == [
        "extension/README.md",
        "extension/extension.json",
        "extension/release-schema.json",
        "record-package.json",
        "release-package.json",
    ]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    stdout = CliRunner().invoke(cli, ["--db", demo_db, "ocds", "--all", "-o", "-"]).stdout_bytes
    assert stdout == (tmp_path / "a" / "release-package.json").read_bytes()


def test_ocdskit_compiles_the_release_package_offline(demo_db: str, tmp_path: Path) -> None:
    releases, records, _ = publish(demo_db, tmp_path / "od", "--all")
    ocdskit = str(Path(sys.executable).parent / "ocdskit")
    done = subprocess.run(
        [ocdskit, "compile", "--schema", str(FIXTURES / "release-schema-1.1.5.json")],
        input=(tmp_path / "od" / "release-package.json").read_bytes(),
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    compiled = [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]
    assert sorted(c["ocid"] for c in compiled) == sorted(r["ocid"] for r in records["records"])
    ours = {r["ocid"]: r["compiledRelease"] for r in records["records"]}
    for theirs in compiled:
        assert theirs == ours[theirs["ocid"]]
    assert errors(RELEASE_PACKAGE, releases) == [] and errors(RECORD_PACKAGE, records) == []


def test_the_extension_describes_the_audit_entry_of_every_release(demo_db: str, tmp_path: Path) -> None:
    """The shipped extension is an OCDS extension (extension.json + a release-schema patch), and the patched
    release schema accepts our releases and rejects a release whose auditEntry hash is not a hash."""
    from jsonschema import Draft4Validator

    releases, _, _ = publish(demo_db, tmp_path / "od", "--all")
    meta = json.loads((tmp_path / "od" / "extension" / "extension.json").read_text(encoding="utf-8"))
    assert meta["schemas"] == ["release-schema.json"] and meta["compatibility"] == ["1.1"]
    assert meta["documentationUrl"]["en"] == f"{BASE}/ocds/extension/README.md"
    # The demo's rfp has bids: the bid extension is named with ours.
    assert releases["extensions"] == [f"{BASE}/ocds/extension/extension.json", BID_EXTENSION]
    assert any("bids" in r for r in releases["releases"])
    patch = json.loads((tmp_path / "od" / "extension" / "release-schema.json").read_text(encoding="utf-8"))
    release_schema = json.loads((FIXTURES / "release-schema-1.1.5.json").read_text(encoding="utf-8"))
    release_schema["properties"].update(patch["properties"])
    release_schema["required"] = [*release_schema["required"], "auditEntry"]
    check = Draft4Validator(release_schema)
    for r in releases["releases"]:
        assert list(check.iter_errors(r)) == []
    bad = dict(releases["releases"][0], auditEntry={"chain": "x", "seq": 1, "hash": "not-a-hash"})
    assert list(check.iter_errors(bad))


def test_since_keeps_later_releases_and_the_records_they_belong_to(demo_db: str, tmp_path: Path) -> None:
    everything, _, _ = publish(demo_db, tmp_path / "all", "--all")
    cut = everything["releases"][len(everything["releases"]) // 2]["date"]
    later, records, _ = publish(demo_db, tmp_path / "later", "--all", "--since", cut)
    assert [r["id"] for r in later["releases"]] == [r["id"] for r in everything["releases"] if r["date"] >= cut]
    assert {r["ocid"] for r in records["records"]} == {r["ocid"] for r in later["releases"]}
    assert later["uri"].endswith("?since=" + cut.replace(":", "%3A"))
    assert errors(RELEASE_PACKAGE, later) == [] and errors(RECORD_PACKAGE, records) == []


def test_a_refusal_is_not_a_public_change(tmp_path: Path, runner: CliRunner) -> None:
    path = next(p for p, f in ROUTES if p.stem == "pilot")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    pathway = load(path)
    roles = [a for r in pathway.roles for a in ("--role", r)]
    assert runner.invoke(cli, ["--db", db, "users", "add", "ana", *roles]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "publish", str(path), "--as", "ana"]).exit_code == 0
    sample = runner.invoke(cli, ["sample", str(path)]).stdout
    (tmp_path / "p.yaml").write_text(sample, encoding="utf-8")
    assert (
        runner.invoke(cli, ["--db", db, "intake", "pilot", "--data", str(tmp_path / "p.yaml"), "--as", "ana"]).exit_code
        == 0
    )
    before, _, _ = publish(db, tmp_path / "before", "pilot-0001")
    refused = runner.invoke(cli, ["--db", db, "advance", "pilot-0001", "sign_agreement", "--as", "ana"])
    assert refused.exit_code == 1
    history = json.loads(runner.invoke(cli, ["--db", db, "history", "pilot-0001", "--json"]).stdout)
    assert [e["kind"] for e in history] == ["intake", "refusal"]  # on the record, not in the open data
    publish(db, tmp_path / "after", "pilot-0001")
    assert (tmp_path / "after" / "release-package.json").read_bytes() == (
        tmp_path / "before" / "release-package.json"
    ).read_bytes()
    assert before["releases"][0]["tender"]["procurementMethod"] == "direct"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name the proposals to publish (ID...) or pass --all"),
        (["--all", "pilot-0001"], "name the proposals to publish (ID...) or pass --all"),
        (["--all", "--since", "next tuesday"], "--since next tuesday: not a date"),
        (["--all", "--prefix", "ocds-TOO-LONG"], "--prefix ocds-TOO-LONG: not an ocid prefix"),
        (["nobody-0001"], "no proposal 'nobody-0001'"),
    ],
)
def test_bad_options_are_usage_errors(demo_db: str, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--db", demo_db, "ocds", *args, "-o", str(tmp_path / "od")])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "od").exists()


def test_a_city_without_open_data_settings_is_told_what_to_add(demo_db: str, tmp_path: Path) -> None:
    city = tmp_path / "city.yaml"
    city.write_text("name: Springfield\ntime_zone: America/Chicago\ncurrency: USD\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--city", str(city), "--db", demo_db, "ocds", "--all", "-o", "-"])
    assert result.exit_code == 2 and "no open_data block" in result.stderr


def test_the_prefix_option_and_the_city_settings_name_the_process(demo_db: str, tmp_path: Path) -> None:
    city = tmp_path / "city.yaml"
    city.write_text(
        "name: Springfield\ntime_zone: America/Chicago\ncurrency: EUR\nopen_data:\n"
        "  publisher: {name: Springfield Open Data}\n  base_uri: https://data.springfield.example/\n"
        "  license: https://opendatacommons.org/licenses/pddl/1-0/\n  ocid_prefix: ocds-spr123\n",
        encoding="utf-8",
    )
    out = tmp_path / "od"
    result = CliRunner().invoke(
        cli, ["--city", str(city), "--db", demo_db, "ocds", "rfp-0001", "--prefix", "ocds-abc123", "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    package = json.loads((out / "release-package.json").read_text(encoding="utf-8"))
    assert {r["ocid"] for r in package["releases"]} == {"ocds-abc123-rfp-0001"}
    assert package["publisher"] == {"name": "Springfield Open Data"}
    assert package["uri"] == "https://data.springfield.example/ocds/releases?id=rfp-0001"
    assert package["license"] == "https://opendatacommons.org/licenses/pddl/1-0/"
    values = [r["tender"]["value"] for r in package["releases"] if "value" in r["tender"]]
    assert values and {v["currency"] for v in values} == {"EUR"}


@pytest.mark.postgres
def test_postgresql_publishes_what_sqlite_publishes(pg_url: str, tmp_path: Path) -> None:
    """The same steps at the same times on both databases give the same open data, but for the entries' hashes
    (each database draws its own salts for the confidential values, so its entries hash differently)."""
    import datetime as dt

    from conftest import DEFINITIONS, FakeClock

    from engine import Engine

    def steps(url: str) -> None:
        clock = FakeClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
        eng = Engine(url, clock=clock)
        try:
            eng.add_user("ana", roles=["program_manager", "department_sponsor"])
            eng.publish(DEFINITIONS / "pilot.yaml", actor="ana")
            data = {
                "vendor": "Acme Sensors",
                "title": "Curb sensors",
                "scope": "Twelve sensors",
                "department": "Transportation",
                "value": "12000",
                "start_date": "2026-04-01",
                "end_date": "2026-09-30",
                "exclusive": False,
                "vendor_pricing": "Zq unit price basis",
            }
            pid = eng.intake("pilot", data, actor="ana")
            eng.advance(pid, "screen", actor="ana")
        finally:
            eng.close()

    sqlite = f"sqlite:///{tmp_path / 's.db'}"
    steps(sqlite)
    steps(pg_url)
    on_sqlite, _, _ = publish(sqlite, tmp_path / "s", "--all")
    on_pg, records, _ = publish(pg_url, tmp_path / "p", "--all")
    assert errors(RELEASE_PACKAGE, on_pg) == [] and errors(RECORD_PACKAGE, records) == []
    hashes = [r["auditEntry"].pop("hash") for p in (on_sqlite, on_pg) for r in p["releases"]]
    assert len(set(hashes)) == len(hashes)
    assert on_sqlite == on_pg


def test_a_pathway_without_a_profile_publishes_planning_only(mini: Any, db_url: str, tmp_path: Path) -> None:
    """A new kind gets no procurement method, no value and no parties but the buyer until a profile, cited,
    says how it maps: its stages still show as milestones, and its outcome as the tender's status."""
    from conftest import MINI_DATA

    pid = mini.intake("mini", MINI_DATA, actor="ana")
    mini.advance(pid, "screen", actor="ana")
    mini.advance(pid, "decline", actor="ana", rationale="out of scope")
    releases, records, _ = publish(db_url, tmp_path / "od", "--all")
    assert errors(RELEASE_PACKAGE, releases) == [] and errors(RECORD_PACKAGE, records) == []
    compiled = records["records"][0]["compiledRelease"]
    assert "procurementMethod" not in compiled["tender"] and "value" not in compiled["tender"]
    assert compiled["tender"]["status"] == "unsuccessful"
    assert [p["id"] for p in compiled["parties"]] == ["buyer"]
    assert [m["id"] for m in compiled["planning"]["milestones"]] == ["submitted-1", "review-1"]
    assert "Acme" not in json.dumps(records) and "12000" not in json.dumps(records)
