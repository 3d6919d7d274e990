"""``history`` in text says what happened: values set (confidential ones as hashes only), files attached,
roles granted and revoked, rules published."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import MINI_DATA

from cli import cli
from engine import Engine


def test_history_text_shows_values_attachments_grants_and_publications(mini: Engine, db_url: str,
                                                                        tmp_path: Path) -> None:
    doc = tmp_path / "site-plan.pdf"
    doc.write_bytes(b"%PDF-1.4 plan")
    pid = mini.intake("mini", MINI_DATA, actor="ana", attachments=[doc])
    mini.revoke("lee", ["legal"], actor="ana")
    runner = CliRunner()
    text = runner.invoke(cli, ["--db", db_url, "history", pid]).stdout
    assert "       set vendor: Acme Sensors\n" in text
    assert "       set pricing: (confidential: salted hash only)\n" in text
    assert "unit price" not in text
    assert "       attached attachment-1.pdf (13 bytes, sha256 " in text
    registry = runner.invoke(cli, ["--db", db_url, "history", "registry"]).stdout
    assert "ana (-)  ana now holds: admin, officer\n" in registry
    assert "ana (-)  lee now holds (revoked legal): no roles\n" in registry
    assert "published mini v1 (sha256 " in registry
