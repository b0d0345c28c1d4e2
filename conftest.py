"""Suite-wide hooks.

The checkout stays clean: ``tests/checkout.py`` keeps Hypothesis's files out of it and fails the run
when a test added, removed or changed a file in it.

The browser tests run last. The browser fixture (``tests/e2e/conftest.py``) drives Chromium through
Playwright's sync API for the whole session, which keeps an event loop running in the main thread
until the session ends; any async test that pytest-asyncio starts after it fails with "Runner.run()
cannot be called from a running event loop". Ordering the browser tests after everything else keeps
``python -m pytest`` green whatever the collection order.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.checkout"]


def _is_browser_test(item: pytest.Item) -> bool:
    return f"{os.sep}tests{os.sep}e2e{os.sep}" in str(item.path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_is_browser_test)  # stable: the order within each group is kept
