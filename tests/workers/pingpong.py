"""A writer to be SIGKILLed, for ``tests/test_crash.py``: run as ``python pingpong.py URL PID``.

A fork server, so that each writer starts in milliseconds rather than paying
the ~0.5 s of imports every time: this process imports the engine once (it
opens no database), then for each ``run`` line on stdin forks a writer and
waits for it. The writer opens its own ``Engine``, prints ``ready <pid>``
and then loops forever, printing nothing: ``go`` from stage ``a``, ``back``
from ``b`` (each as the next officer), and every third time an ``approve``
that is refused (it cannot be fired from ``a`` or ``b``), so refusal entries
are written as well. It resumes from whatever state the proposal is in. The
test kills the writer with SIGKILL at a random moment; this process reports
``exit <pid> <status>`` once it has reaped it (the writer is gone, its
database connections with it). Anything unexpected in the writer is
reported as ``error <pid> <message>`` instead.
"""

from __future__ import annotations

import os
import sys
import traceback

from pathway import OFFICERS

from engine import Engine, Refused


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def writer(url: str, pid: str) -> None:
    eng = Engine(url)
    state = eng.show(pid)["state"]
    import cel  # noqa: F401 - the guard evaluator's import (~200 ms) is paid before "ready", not inside the kill window

    say(f"ready {os.getpid()}")
    i = 0
    while True:
        i += 1
        actor = OFFICERS[i % len(OFFICERS)]
        if i % 3 == 0:  # a refusal early in every run: even a writer killed soon records one
            try:
                eng.advance(pid, "approve", actor=actor)
            except Refused:
                continue
            raise AssertionError(f"'approve' was not refused from stage '{state}'")
        state = eng.advance(pid, "go" if state == "a" else "back", actor=actor)["to"]


def main() -> None:
    url, pid = sys.argv[1:3]
    for line in sys.stdin:
        if line.strip() != "run":
            say(f"error {os.getpid()} unknown command {line.strip()!r}")
            continue
        child = os.fork()
        if child == 0:
            try:
                writer(url, pid)
            except BaseException:
                say(f"error {os.getpid()} " + traceback.format_exc().replace("\n", " | "))
            os._exit(1)
        _, status = os.waitpid(child, 0)
        say(f"exit {child} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
