"""What the demo's stories act through: a simulated calendar and a recording helper.

The demo runs on a *simulated calendar*: the engine's clock is an object the
demo moves forward ("three business days later"), so a six-month pilot and a
45-day challenge period take milliseconds, and the clock actor
(``Engine.tick``) fires deadline transitions as it would in production.
:class:`Demo` wraps the engine calls a story makes and remembers what
happened (refusals, clock moves) for the summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .deadlines import add_business_days
from .errors import Refused
from .runtime import Engine
from .verification import ChainReport


class DemoBug(RuntimeError):
    """A scripted step did not go as written: a bug in this script or the engine, never a user error."""


class SimulatedCalendar:
    """The engine's clock: a time the demo moves forward instead of waiting for it."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def today(self) -> dt.date:
        return self.now.date()

    def move_to(self, moment: dt.datetime) -> None:
        """Jump ahead (never back: audit timestamps and deadlines only move forward)."""
        self.now = max(self.now, moment)

    def later(self, *, days: int = 0, business_days: int = 0, hours: int = 0, minutes: int = 0) -> dt.datetime:
        """A moment after now, as people say it: "3 business days later", "2 hours later"."""
        moment = add_business_days(self.now, business_days)
        return moment + dt.timedelta(days=days, hours=hours, minutes=minutes)

    def office_open(self) -> dt.datetime:
        """Now if it is a working hour (weekdays 09:00-17:00), else 09:00 on the next weekday."""
        if self.now.weekday() < 5 and 9 <= self.now.hour < 17:
            return self.now
        day = self.today() + dt.timedelta(days=1 if self.now.hour >= 17 else 0)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return self.on(day, 9)

    @staticmethod
    def on(day: dt.date, hour: int = 10) -> dt.datetime:
        """A working hour on a given day."""
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Refusal:
    """An attempt the rules refused, as the summary shows it."""

    proposal: str
    trigger: str
    actor: str
    reasons: list[str]


@dataclass(frozen=True)
class ClockMove:
    """A deadline transition the clock actor fired."""

    on: dt.date
    proposal: str
    trigger: str
    to: str


@dataclass(frozen=True)
class DemoResult:
    """What the demo left behind: where, which proposals, and whether every chain verifies."""

    db_url: str
    proposals: dict[str, list[str]]
    reports: list[ChainReport]
    stories: dict[str, str] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    clock_moves: list[ClockMove] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self.reports)


class Demo:
    """The engine and calendar the stories act on, and a record of what happened for the summary."""

    def __init__(self, eng: Engine, calendar: SimulatedCalendar, attachments: Path) -> None:
        self.eng = eng
        self.cal = calendar
        self.attachments = attachments
        self.proposals: dict[str, list[str]] = {}
        self.stories: dict[str, str] = {}
        self.refusals: list[Refusal] = []
        self.clock_moves: list[ClockMove] = []

    def intake(self, pathway: str, actor: str, story: str, data: dict[str, Any]) -> str:
        """Open a proposal and remember its one-line story."""
        pid = self.eng.intake(pathway, data, actor=actor)
        self.proposals.setdefault(pathway, []).append(pid)
        self.stories[pid] = story
        return pid

    def act(self, pid: str, trigger: str, actor: str, *, rationale: str | None = None, doc: str | None = None,
            **updates: Any) -> str:
        """Fire a transition the story expects to succeed; ``doc`` becomes an attached document."""
        files = [self.document(pid, trigger, doc)] if doc else []
        try:
            return self.eng.advance(pid, trigger, actor=actor, rationale=rationale, updates=updates,
                                    attachments=files)["to"]
        except Refused as refused:
            raise DemoBug(f"{pid} {trigger} by {actor} was refused: {'; '.join(refused.reasons)}") from refused

    def refused(self, pid: str, trigger: str, actor: str, *, rationale: str | None = None, **updates: Any) -> None:
        """Attempt a transition the rules must refuse; the refusal lands in the trail and the summary."""
        try:
            self.eng.advance(pid, trigger, actor=actor, rationale=rationale, updates=updates)
        except Refused as refused:
            self.refusals.append(Refusal(pid, trigger, actor, refused.reasons))
            return
        raise DemoBug(f"{pid} {trigger} by {actor} should have been refused")

    def respond(self, parent: str, pathway: str, actor: str, story: str, data: dict[str, Any]) -> str:
        """Take a response (a bid, an entry) in for the opportunity ``parent``."""
        pid = self.eng.intake(pathway, data, actor=actor, parent=parent)
        self.proposals.setdefault(pathway, []).append(pid)
        self.stories[pid] = story
        return pid

    def panel(self, action: str, pid: str, actor: str, **kwargs: Any) -> None:
        """An evaluation action the story expects to succeed (``Engine.assign``, ``declare``, ``score`` ...)."""
        try:
            getattr(self.eng, action)(pid, actor=actor, **kwargs)
        except Refused as refused:
            raise DemoBug(f"{pid} {action} by {actor} was refused: {'; '.join(refused.reasons)}") from refused

    def panel_refused(self, action: str, pid: str, actor: str, **kwargs: Any) -> None:
        """An evaluation action the rules must refuse; it lands in the trail and the summary."""
        try:
            getattr(self.eng, action)(pid, actor=actor, **kwargs)
        except Refused as refused:
            self.refusals.append(Refusal(pid, action, actor, refused.reasons))
            return
        raise DemoBug(f"{pid} {action} by {actor} should have been refused")

    def document(self, pid: str, trigger: str, text: str) -> Path:
        """Write a stand-in for a real document (its sha256 and size go into the entry)."""
        path = self.attachments / f"{pid}-{self.cal.today()}-{trigger}.txt"
        path.write_text(f"{text}\n", encoding="utf-8")
        return path

    def wait_for_clock(self, pid: str, stage: str) -> Iterator[dt.datetime]:
        """Wait until the proposal's deadline, let the clock move it to ``stage``, resume next working hour.

        The clock acts at the due moment itself (often midnight or a weekend);
        staff pick the proposal up when the office opens.
        """
        due = self.eng.show(pid)["due_at"]
        if due is None:
            raise DemoBug(f"{pid} has no deadline to wait for")
        yield dt.datetime.fromisoformat(due.replace("Z", "+00:00"))
        state = self.eng.show(pid)["state"]
        if state != stage:
            raise DemoBug(f"{pid} is in '{state}' after its deadline, expected the clock to move it to '{stage}'")
        yield self.cal.office_open()

    def tick(self) -> None:
        """Run the clock actor, as a cron job would, and note what it moved."""
        for moved in self.eng.tick():
            if moved.get("refused"):
                raise DemoBug(f"the clock was refused on {moved['id']}: {'; '.join(moved['reasons'])}")
            self.clock_moves.append(ClockMove(self.cal.today(), moved["id"], moved["trigger"], moved["to"]))


Story = Callable[[Demo], Iterator[dt.datetime]]


# --- pilot --------------------------------------------------------------------------------

