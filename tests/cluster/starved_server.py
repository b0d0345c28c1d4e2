"""``threadline serve`` whose event loop can be starved on demand, for tests/cluster/test_starvation.py.

``SIGUSR1`` runs a CPU hog on the event loop's thread (a signal handler runs there, between two
bytecodes of whatever the loop was doing): a busy loop that never awaits, for ``STARVE_SECONDS``
(default 8), as a request handler or task stuck in CPU work would. Usage: ``python
tests/cluster/starved_server.py serve --home ... --port ...``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType


def hog(_signum: int, _frame: FrameType | None) -> None:
    until = time.monotonic() + float(os.environ.get("STARVE_SECONDS", "8"))
    spins = 0
    while time.monotonic() < until:
        spins += 1  # pure Python: other threads get the interpreter at its switch interval, the loop never


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, hog)
    from threadline.cli import main

    raise SystemExit(main(sys.argv[1:]))
