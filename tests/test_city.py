"""The city's settings: one file, validated with located problems, used for every text shown to people."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEFINITIONS, MINI_DATA

from cli import cli
from engine import Engine
from pathways.city import check, load
from pathways.display import local_time, money
from pathways.errors import DefinitionError


def test_the_shipped_default_is_austin() -> None:
    city = load()
    assert (city.name, city.time_zone, city.currency) == ("City of Austin", "America/Chicago", "USD")
    assert len(city.sha256) == 64


def test_every_problem_is_located() -> None:
    problems = check("name: Springfield\ntime_zone: Mars/Base\ncurrency: usd\ntimezone: x\n", "city.yaml")[1]
    assert [(p.line, p.col, p.message.split(";")[0]) for p in problems] == [
        (2, 12, "'Mars/Base' is not a time zone name"),
        (3, 11, "'usd' is not an ISO 4217 code"),
        (4, 1, "unknown key 'timezone' in the city file (did you mean 'time_zone'?)")]


def test_a_bad_city_file_is_an_error_not_a_traceback(mini: Engine, db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "city.yaml"
    bad.write_text("name: [\n")
    with pytest.raises(DefinitionError):
        load(bad)
    mini.intake("mini", MINI_DATA, actor="ana")
    result = CliRunner().invoke(cli, ["--city", str(bad), "--db", db_url, "list"])
    assert result.exit_code == 1 and "city.yaml:" in result.stderr and "Traceback" not in result.output


def test_money_and_times_for_people() -> None:
    assert (money("12000.5"), money("1000"), money("-3.25"), money("7", "XYZ")) == (
        "$12,000.50", "$1,000.00", "-$3.25", "7.00 XYZ")
    zone = load().zone
    assert local_time("2026-12-01T15:16:21.799988Z", zone) == "2026-12-01 09:16 CST"
    assert local_time("2026-07-01T15:16:00.000000Z", zone) == "2026-07-01 10:16 CDT"


def test_show_uses_the_city_currency_and_zone(mini: Engine, db_url: str, tmp_path: Path) -> None:
    pid = mini.intake("mini", MINI_DATA, actor="ana")
    city = tmp_path / "city.yaml"
    city.write_text("name: Ciudad\ntime_zone: Europe/Madrid\ncurrency: EUR\n")
    text = CliRunner().invoke(cli, ["--city", str(city), "--db", db_url, "show", pid]).stdout
    assert "  value: €12,000.00\n" in text
    assert "CET" in text or "CEST" in text
    shown = CliRunner().invoke(cli, ["--db", db_url, "show", pid, "--json"]).stdout
    assert '"value": "12000"' in shown  # --json keeps the canonical value


def test_validate_checks_a_city_file_beside_the_definitions(tmp_path: Path) -> None:
    (tmp_path / "pilot.yaml").write_text((DEFINITIONS / "pilot.yaml").read_text())
    (tmp_path / "city.yaml").write_text("name: Springfield\ntime_zone: Mars/Base\ncurrency: USD\n")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'city.yaml'}:2:12: error: 'Mars/Base' is not a time zone name" in result.stderr
    assert "2 file(s): 1 error(s)" in result.stderr


def test_the_open_data_block_is_optional_and_checked_key_by_key() -> None:
    """A city publishes OCDS only with publisher, base URI, licence and its registered ocid prefix; every
    problem in the block is located at its key or value (no traceback, no first-error-only)."""
    plain = check("name: A\ntime_zone: UTC\ncurrency: USD\n", "city.yaml")[0]
    assert plain is not None and plain.open_data is None
    assert load().open_data is not None and load().open_data.ocid_prefix == "ocds-demo00"
    text = ("name: A\ntime_zone: UTC\ncurrency: USD\nopen_data:\n"
            "  publisher: {nme: City of A}\n"
            "  base_uri: ftp://data.a.example\n"
            "  license: see our website\n"
            "  ocid_prefix: OCDS-abc\n"
            "  feed: daily\n")
    city, problems = check(text, "city.yaml")
    assert city is None
    assert [(p.line, p.col, p.message.split(";")[0]) for p in problems] == [
        (5, 14, "'open_data.publisher.name' is required text: the organisation that publishes the data"),
        (5, 15, "unknown key 'nme' in open_data.publisher (did you mean 'name'?)"),
        (6, 13, "'open_data.base_uri': 'ftp://data.a.example' is not an absolute http(s) URL"),
        (7, 12, "'open_data.license': 'see our website' is not an absolute http(s) URL"),
        (8, 16, "'open_data.ocid_prefix': 'OCDS-abc' is not an ocid prefix"),
        (9, 3, "unknown key 'feed' in open_data")]
    missing = check("name: A\ntime_zone: UTC\ncurrency: USD\nopen_data: {publisher: {name: A}}\n", "c.yaml")[1]
    assert sorted(p.message.split(" is required")[0] for p in missing) == [
        "'open_data.base_uri'", "'open_data.license'", "'open_data.ocid_prefix'"]
    good = check("name: A\ntime_zone: UTC\ncurrency: USD\nopen_data:\n  publisher: {name: A, uri: 'https://a.example'}\n"
                 "  base_uri: https://data.a.example/procurement/\n  license: https://a.example/licence\n"
                 "  ocid_prefix: ocds-a1b2c3\n", "city.yaml")[0]
    assert good is not None and good.open_data.base_uri == "https://data.a.example/procurement"
