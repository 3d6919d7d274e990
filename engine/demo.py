"""``pathways demo``: every shipped pathway, end to end, on a fresh database.

The first thing a newcomer runs, so it has to show the whole product in a
few seconds: the five shipped pathways published from the installed package,
city staff in their roles, realistic proposals that succeed, fail and get
refused, deadlines fired by the engine's clock, and audit chains that verify.

It runs on a *simulated calendar*: the engine's clock is an object the demo
moves forward ("three business days later"), so a six-month pilot and a
45-day challenge period take milliseconds, and the clock actor
(``Engine.tick``) fires deadline transitions as it would in production.

Each story is a generator that yields the moment it next acts; the stories
run side by side in calendar order, as they would in a real city office, and
the clock runs before every step, like a cron job. The stories live in
``demo_stories.py`` (a worked example of the Python API); what they act
through, in ``demo_support.py``; this module runs them and prints the summary.
"""

from __future__ import annotations

import datetime as dt
import heapq
import shlex
import textwrap
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pathways import loads
from pathways.errors import UsageError
from pathways.resources import definitions, definitions_folder

from .audit import timestamp
from .demo_stories import STAFF, STORIES
from .demo_support import ClockMove, Demo, DemoResult, Refusal, SimulatedCalendar, Story
from .runtime import Engine
from .transparency import SigningKey, generate_key, save_key
from .transparency import log as tlog
from .transparency.checkpoints import checkpoint, key_name
from .verification import ChainReport

#: Width the summary wraps long lines at.
WIDTH = 100

#: Monday 5 January 2026, 09:00 UTC: the first day of the simulated calendar.
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
#: The demo's transparency log's name (its origin line).
DEMO_ORIGIN = "Pathways demo procurement log"



def run_stories(demo: Demo, stories: Iterable[Story]) -> None:
    """Run the stories side by side in calendar order, the clock acting before every step."""
    queue = [(demo.cal.now, order, story(demo)) for order, story in enumerate(stories)]
    heapq.heapify(queue)
    while queue:
        moment, order, steps = heapq.heappop(queue)
        demo.cal.move_to(moment)
        demo.tick()
        wake = next(steps, None)
        if wake is not None:
            heapq.heappush(queue, (wake, order, steps))


def set_up(eng: Engine) -> list[str]:
    """Add the staff (the first user before anything else), then publish the installed definitions."""
    first = STAFF[0][0]
    for name, roles in STAFF:
        eng.add_user(name, roles, actor=first)
    published = []
    for item in sorted(definitions().iterdir(), key=lambda f: f.name):
        if item.name.endswith(".yaml"):
            pathway, _ = eng.publish(loads(item.read_text(encoding="utf-8"), path=item.name), actor=first)
            published.append(f"{pathway.id} v{pathway.version}")
    return published


def fresh_database(folder: Path) -> Path:
    """The demo database path in ``folder``, with any earlier demo database removed."""
    db = folder / "demo.db"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in (db, db.with_name("demo.db-wal"), db.with_name("demo.db-shm"), *log_files(folder).values()):
            leftover.unlink(missing_ok=True)
        (folder / "attachments").mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--dir {folder}: cannot use this folder ({exc.strerror})") from None
    return db


def log_files(folder: Path) -> dict[str, Path]:
    """The demo's transparency-log files: its signing key, the key's public half, the signed checkpoint."""
    return {"key": folder / "log.key", "pub": folder / "log.key.pub", "checkpoint": folder / "checkpoint.txt"}


def start_log(eng: Engine, folder: Path) -> SigningKey:
    """Name the demo's log and make its key in ``folder`` (the tree itself starts with the database)."""
    files = log_files(folder)
    key = generate_key(key_name(DEMO_ORIGIN))
    with eng.db.begin() as conn:
        tlog.init(conn, DEMO_ORIGIN, str(key.verifier), timestamp(eng.clock()))
    save_key(key, files["key"])
    files["pub"].write_text(f"{key.verifier}\n", encoding="ascii")
    return key


def sign_checkpoint(eng: Engine, key: SigningKey, folder: Path) -> dict[str, object]:
    """Sign the tree as the demo left it and write the checkpoint a city would publish."""
    with eng.db.begin() as conn:
        done = checkpoint(conn, [key], timestamp(eng.clock()))
    log_files(folder)["checkpoint"].write_text(done["note"], encoding="utf-8")
    return done


def run_demo(folder: Path, echo: Callable[[str], None] = print) -> DemoResult:
    """Run every shipped pathway end to end in ``folder``/demo.db and print what happened."""
    began = time.perf_counter()
    folder = folder.resolve()
    db = fresh_database(folder)
    attachments = folder / "attachments"
    calendar = SimulatedCalendar(START)
    url = f"sqlite:///{db}"
    with Engine(url, clock=calendar) as eng:
        key = start_log(eng, folder)
        published = set_up(eng)
        demo = Demo(eng, calendar, attachments)
        run_stories(demo, STORIES)
        reports = eng.verify(raise_on_failure=False)
        signed = sign_checkpoint(eng, key, folder)
        result = DemoResult(url, demo.proposals, reports, demo.stories, demo.refusals, demo.clock_moves)
        lines = summary(eng, result, published, calendar.today(), time.perf_counter() - began,
                        int(signed["size"]), log_files(folder))
    for line in lines:
        echo(line)
    return result


# --- the summary --------------------------------------------------------------------------


def summary(eng: Engine, result: DemoResult, published: list[str], ended: dt.date, seconds: float,
            logged: int, files: dict[str, Path]) -> list[str]:
    """The whole printout: kept under ~60 lines so it fits a terminal."""
    return [
        f"pathways demo: every shipped pathway, end to end, on a simulated calendar from {START:%a %d %b %Y}",
        f"to {ended:%a %d %b %Y}: the clock jumps ahead between steps, so deadlines fire without waiting.",
        f"Published {', '.join(published)}; {len(STAFF)} staff added.",
        *proposal_lines(eng, result),
        *refusal_lines(result.refusals),
        *clock_lines(result.clock_moves),
        *verification_lines(result.reports, seconds),
        f"Transparency log: {logged} entries; signed checkpoint {files['checkpoint']} "
        f"(key {files['key'].name}, public key {files['pub'].name})",
        *next_steps(result, files),
    ]


def proposal_lines(eng: Engine, result: DemoResult) -> list[str]:
    """Per pathway: each proposal's story, where it ended, and how much its trail holds; an opportunity's
    responses on one line beneath it (each has its own trail too)."""
    lines = []
    for pathway, ids in sorted(result.proposals.items()):
        if eng.pathway(pathway).responds_to:
            continue  # shown under their opportunity
        lines += ["", f"{pathway}: {eng.pathway(pathway).title}"]
        for pid in ids:
            shown = eng.show(pid)
            history = eng.history(pid)
            refused = sum(e["kind"] == "refusal" for e in history)
            lines += [f"  {pid:<16} {result.stories[pid]}",
                      f"  {'':<16} -> {shown['state']} ({shown['outcome'] or 'open'}); "
                      f"{len(history)} entries, {refused} refused"]
            if shown.get("responses"):
                answers = ", ".join(f"{r['id']} {r['state']}" for r in shown["responses"])
                lines += textwrap.wrap(f"responses: {answers}", WIDTH, initial_indent=" " * 19,
                                       subsequent_indent=" " * 19)
    return lines


def refusal_lines(refusals: list[Refusal]) -> list[str]:
    """The rules at work: each refused attempt with its first reason."""
    lines = ["", "Refused attempts (each is recorded in the proposal's trail):"]
    for r in refusals:  # the first reason, without its how-to hint (the trail has it whole)
        more = f" (+{len(r.reasons) - 1} more)" if len(r.reasons) > 1 else ""
        reason = r.reasons[0].split("; declare first")[0]
        lines += textwrap.wrap(f"{r.trigger} by {r.actor}: {reason}{more}", WIDTH,
                               initial_indent=f"  {r.proposal:<16} ", subsequent_indent=" " * 21)
    return lines


def clock_lines(moves: list[ClockMove]) -> list[str]:
    """Deadline transitions the clock fired, in calendar order."""
    lines = ["", "Fired by the clock when a deadline fell due (Engine.tick, recorded as actor 'clock'):"]
    lines += [f"  {m.on}  {m.proposal:<16} {m.trigger} -> {m.to}" for m in moves]
    return lines


def verification_lines(reports: list[ChainReport], seconds: float) -> list[str]:
    """The verification result: all chains or the first failure."""
    entries = sum(r.entries for r in reports)
    failed = [r for r in reports if r.error is not None]
    if not failed:
        return ["", f"Verified: all {len(reports)} audit chains OK (the registry and {len(reports) - 1} proposals, "
                    f"{entries} entries), in {seconds:.1f} s of wall time."]
    return ["", f"VERIFICATION FAILED for {len(failed)} of {len(reports)} chains:",
            *(f"  {r.chain}: {r.error}" for r in failed)]


def next_steps(result: DemoResult, files: dict[str, Path]) -> list[str]:
    """Copy-pasteable commands against the demo database."""
    cli = f"pathways --db {shlex.quote(result.db_url)}"
    return ["", "What to try next:",
            f"  {cli} list",
            f"  {cli} show unsolicited-0001",
            f"  {cli} history pilot-0001",
            f"  {cli} evaluation rfp-bid-0001          # the panel's sheet: a recusal, a flagged spread",
            f"  {cli} letters rfp-bid-0002             # the letter the city sent an unsuccessful bidder",
            f"  {cli} verify --against {shlex.quote(str(files['checkpoint']))} "
            f"--key-file {shlex.quote(str(files['pub']))}",
            f"  {cli} graph pilot",
            f"  pathways validate {shipped_folder()}"]


def shipped_folder() -> str:
    """Where the installed definitions live, for ``validate``, quoted for a shell."""
    return shlex.quote(str(definitions_folder()))
