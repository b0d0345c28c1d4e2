"""The garbage collector's settings for a long-running server (issue 18 item 5).

With CPython's defaults a full collection walks every object the process holds, the thousands of
module, class and function objects of the imported libraries included; with 200 live streams that took
200-400 ms, during which nothing else ran. After start-up, ``server_gc`` moves everything alive into
the permanent generation (``gc.freeze``: those objects are never walked again) and raises the
thresholds, so young collections are rarer and a full one walks only what was made since.
``bench/gcpauses.py`` measures the pauses.
"""

from __future__ import annotations

import gc

# gen0: allocations (net) between young collections; gen1, gen2: collections of the generation below
# between two of this one. CPython's defaults are (700, 10, 10).
SERVER_THRESHOLDS = (50_000, 20, 100)


def server_gc() -> None:
    """Freeze what start-up made and set the server thresholds; call once the app has started."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_THRESHOLDS)
