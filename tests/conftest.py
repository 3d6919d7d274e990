"""Shared fixtures: temporary databases, the CLI runner, the shipped definitions.

PostgreSQL tests use the server named by ``PATHWAYS_TEST_PG`` (``.ci/run``
sets it). When it is set and the server is unreachable they FAIL, so a broken
CI service cannot pass as skipped; they skip only where it is unset.

Optional system tools (Chromium, pdftotext, WeasyPrint's Pango) may be missing
on a laptop: those tests call :func:`need_tool`, which skips, unless
``PATHWAYS_REQUIRE_TOOLS=1`` (``.ci/run`` sets it, after installing them),
where a missing tool FAILS. Hard dependencies (``cel``, the installed
``pathways`` console script) never skip: see :func:`console_script`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

# No per-example deadlines: a loaded 2-core machine can pause any example past
# hypothesis's 200 ms default. In CI the examples are derandomized, so a run
# is reproducible; locally they stay random, to keep finding new cases.
settings.register_profile("pathways", deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("pathways")

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
SHIPPED = sorted(DEFINITIONS.glob("*.yaml"))
PG_ENV = "PATHWAYS_TEST_PG"
TOOLS_ENV = "PATHWAYS_REQUIRE_TOOLS"


def need_tool(missing: str) -> None:
    """A needed optional system tool is ``missing``: skip here, fail where ``.ci/run`` promised to install it."""
    if os.environ.get(TOOLS_ENV) == "1":
        pytest.fail(f"{missing}, but {TOOLS_ENV}=1 requires every optional tool (.ci/run installs them)")
    pytest.skip(missing)


def console_script() -> str:
    """The installed ``pathways`` script beside this Python; its absence is a broken install, so a failure."""
    beside = Path(sys.executable).parent / "pathways"
    if not beside.exists():
        pytest.fail(f"the 'pathways' console script is not installed at {beside}: run pip install -e '.[test]'")
    return str(beside)


class FakeClock:
    """A controllable clock for the engine: deadlines without waiting."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)  # strictly increasing timestamps
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(db_url: str, clock: FakeClock) -> Iterator[object]:
    from engine import Engine

    eng = Engine(db_url, clock=clock)
    yield eng
    eng.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, or skip if PATHWAYS_TEST_PG is unset."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    import sqlalchemy as sa

    base = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    admin = sa.create_engine(base)
    schema = f"t_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:  # set but unreachable: a failure, not a skip
        pytest.fail(f"{PG_ENV}={url} is set but PostgreSQL is unreachable: {exc}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def installed_definitions() -> list[Path]:
    """The definitions as installed with the package (what `pip install .` carries)."""
    from pathways.resources import definitions

    folder = definitions()
    return sorted(Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml"))


MINI = Path(__file__).parent / "data" / "mini.yaml"
MINI_DATA = {"vendor": "Acme Sensors", "value": "12000", "pricing": "unit price 7.10 (proprietary)"}


@pytest.fixture
def mini(engine: object) -> object:
    """An engine with the mini pathway published and staff: ana (officer, and admin as the first user),
    lee (legal)."""
    engine.add_user("ana", ["officer"])
    engine.add_user("lee", ["legal"], actor="ana")
    engine.publish(MINI, actor="ana")
    return engine
