"""``threadline serve`` from whichever ``threadline`` package is on ``PYTHONPATH`` (the checkout's, or an
older revision's unpacked by ``bench/open_session.py``), on a database used as it is: the migrations
are not run, because an older revision does not know the newest ones, and reading needs none.

Usage: ``PYTHONPATH=<src> python bench/serve_as_is.py --home DIR --port N`` (the ``serve`` options).
"""

from __future__ import annotations

import sys

from threadline.cli import main
from threadline.store.engine import Store


async def _as_is(_store: Store) -> None:
    return None


if __name__ == "__main__":
    Store.migrate = _as_is  # type: ignore[method-assign,assignment]
    raise SystemExit(main(["serve", *sys.argv[1:]]))
