"""A racing writer for ``tests/test_concurrency.py``: run as ``python racer.py``.

Speaks JSON lines: it prints ``{"ready": true}`` once imported, then answers
each command read from stdin with one line on stdout.

- ``{"op": "open", "url", "unlocked", "warm"}``: open (and cache) an Engine on
  ``url`` and read proposal ``warm`` once, so the pathway is compiled and a
  connection is pooled before the race. Answers ``{"ok": true}``.
- ``{"op": "fire", "url", "unlocked", "pid", "trigger", "actor", "at"}``: sleep
  until the wall-clock time ``at`` (the barrier: every racer gets the same
  one), call ``advance`` once, and answer ``{"outcome": "won", "to", "seq",
  "hash"}``, ``{"outcome": "refused", "reasons", "seq", "hash"}`` or
  ``{"outcome": "error", "error": "Type: message"}``, each with ``started``
  and ``ended`` (wall-clock times around the ``advance`` call).
- ``{"op": "call", "url", "method", "args", "kwargs", "at"}``: like ``fire``
  for any other Engine method (``intake``, ``publish``, ``add_user``);
  answers ``{"outcome": "won", "result"}``, ``refused`` or ``error``.
- ``{"op": "forget", "url"}``: dispose the engines opened on ``url``.

``unlocked: true`` is the NEGATIVE CONTROL only: the engine with its lock
taken out, from here, without any switch in the engine itself (see
``UnlockedEngine``).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from sqlalchemy import event

from engine import Engine, Refused, hotpath
from pathways import loads


class UnlockedEngine(Engine):
    """The engine minus its lock: what ``advance`` would be without ``FOR UPDATE`` / ``BEGIN IMMEDIATE``.

    PostgreSQL: ``_lock`` reads the proposal with a plain SELECT. SQLite: the
    engine's ``begin`` listener (``BEGIN IMMEDIATE``) is swapped for a plain,
    deferred ``BEGIN``, so two writers both read the proposal and find out
    about each other only when they write.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        if self.db.dialect.name == "sqlite":
            begins = [fn for fn in self.db.dispatch.begin if getattr(fn, "__name__", "") == "_begin"]
            if len(begins) != 1:  # the engine changed: fail loudly rather than test the locked engine
                raise RuntimeError(f"expected the engine's one 'begin' listener, found {begins!r}")
            event.remove(self.db, "begin", begins[0])
            event.listen(self.db, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))

    def _lock(self, conn: Any, proposal_id: str) -> Any:
        row = conn.execute(hotpath.LOCK, {"pid": proposal_id}).first()  # no FOR UPDATE
        assert row is not None, proposal_id
        return row


_engines: dict[tuple[str, bool], Engine] = {}


def _engine(url: str, unlocked: bool) -> Engine:
    key = (url, unlocked)
    if key not in _engines:
        _engines[key] = UnlockedEngine(url) if unlocked else Engine(url)
    return _engines[key]


def _fire(cmd: dict[str, Any]) -> dict[str, Any]:
    eng = _engine(cmd["url"], cmd["unlocked"])
    delay = cmd["at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    started = time.time()
    timing = {"started": started}
    try:
        done = eng.advance(cmd["pid"], cmd["trigger"], actor=cmd["actor"])
    except Refused as refused:
        return {"outcome": "refused", "reasons": refused.reasons, "seq": refused.seq, "hash": refused.hash,
                "ended": time.time(), **timing}
    except Exception as exc:  # the point: report unclean failures instead of dying
        return {"outcome": "error", "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
                "ended": time.time(), **timing}
    return {"outcome": "won", "to": done["to"], "seq": done["seq"], "hash": done["hash"], "ended": time.time(),
            **timing}


def _call(cmd: dict[str, Any]) -> dict[str, Any]:
    eng = _engine(cmd["url"], False)
    delay = cmd["at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    args = list(cmd["args"])
    if cmd["method"] == "publish":  # the definition travels as YAML text
        args[0] = loads(args[0], "<raced definition>")
    try:
        result = getattr(eng, cmd["method"])(*args, **cmd["kwargs"])
    except Refused as refused:
        return {"outcome": "refused", "reasons": refused.reasons}
    except Exception as exc:  # report unclean failures instead of dying
        return {"outcome": "error", "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    if isinstance(result, tuple):  # publish: (Pathway, created)
        result = [result[0].sha256, result[1]]
    return {"outcome": "won", "result": result}


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "open":
            _engine(cmd["url"], cmd["unlocked"]).show(cmd["warm"])
            reply: dict[str, Any] = {"ok": True}
        elif cmd["op"] == "fire":
            reply = _fire(cmd)
        elif cmd["op"] == "call":
            reply = _call(cmd)
        elif cmd["op"] == "forget":
            for key in [k for k in _engines if k[0] == cmd["url"]]:
                _engines.pop(key).close()
            reply = {"ok": True}
        else:
            reply = {"error": f"unknown op {cmd['op']!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
