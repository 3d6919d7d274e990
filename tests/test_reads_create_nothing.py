"""Reads create nothing: a read command on a database that is not there exits 2 and leaves nothing behind.

A mistyped ``--db`` must not leave an empty database that then "verifies"
(an empty registry is a clean one). Only writing commands and ``demo``
create the schema; the Python API takes ``Engine(url, create=False)``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import Engine
from pathways.errors import UsageError

READS = [["verify"], ["show", "mini-0001"], ["list"], ["history", "mini-0001"]]


@pytest.mark.parametrize("args", READS, ids=[a[0] for a in READS])
def test_a_read_on_a_missing_file_exits_2_and_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", "sqlite:///missing.db", *args])
    assert (result.exit_code, (tmp_path / "missing.db").exists()) == (2, False), result.output
    assert "no pathways database at sqlite:///missing.db" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no -wal, no -shm either


def test_the_api_reader_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(UsageError, match="no pathways database at"):
        Engine(f"sqlite:///{missing}", create=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_the_api_reader_on_a_schema_less_postgres_creates_nothing(pg_url: str) -> None:
    with pytest.raises(UsageError, match="no pathways database at"):
        Engine(pg_url, create=False)
    import sqlalchemy as sa

    db = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with db.connect() as conn:
        assert not sa.inspect(conn).get_table_names()
    db.dispose()
