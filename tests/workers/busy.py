"""A writer for ``tests/test_verify_concurrent.py``: run as ``python busy.py URL PID SECONDS``.

Through the public API only, for SECONDS: ``go`` from stage ``a`` and ``back``
from ``b`` on proposal PID (each as the next officer), every seventh time an
``approve`` that is refused (so refusal entries and their kept values are
written too), and every 25th time an intake of a new proposal (so the
proposal counter, new chains and new rows move under the verifier as well).
Then prints one JSON line: how many transitions, refusals and intakes it
made. Anything unexpected is a traceback on stderr and exit 1.
"""

from __future__ import annotations

import json
import sys
import time

from pathway import DATA, OFFICERS, PATHWAY_ID

from engine import Engine, Refused


def main() -> None:
    url, pid, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    done = {"transitions": 0, "refusals": 0, "intakes": 0}
    with Engine(url) as eng:
        state = eng.show(pid)["state"]
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            i += 1
            actor = OFFICERS[i % len(OFFICERS)]
            if i % 25 == 0:
                eng.intake(PATHWAY_ID, DATA, actor=actor)
                done["intakes"] += 1
            elif i % 7 == 0:
                try:
                    eng.advance(pid, "approve", actor=actor, rationale="not from here")
                except Refused:
                    done["refusals"] += 1
                else:
                    raise AssertionError(f"'approve' was not refused from stage '{state}'")
            else:
                state = eng.advance(pid, "go" if state == "a" else "back", actor=actor)["to"]
                done["transitions"] += 1
    print(json.dumps(done), flush=True)


if __name__ == "__main__":
    main()
