"""Suite-wide hooks.

The checkout stays clean: ``tests/checkout.py`` keeps Hypothesis's files out of it and fails the run
when a test added, removed or changed a file in it.

The browser tests run last. The browser fixture (``tests/e2e/conftest.py``) drives Chromium through
Playwright's sync API for the whole session, which keeps an event loop running in the main thread
until the session ends; any async test that pytest-asyncio starts after it fails with "Runner.run()
cannot be called from a running event loop". Ordering the browser tests after everything else keeps
``python -m pytest`` green whatever the collection order.

Tests that do not depend on the database backend (agent runtimes and tools, MCP and ACP processes,
redaction, installs of other agents) are marked ``backend_independent``, and slow tests (subprocesses,
seconds of waiting) are marked ``once``, except the schemathesis fuzz and the Hermes import, whose
database work is worth repeating: the PostgreSQL pass of CI (``-m "not e2e and not backend_independent
and not once"``) runs everything else again on PostgreSQL. The cluster tests run on PostgreSQL and
Redis in the first pass already; the crash, kill and load tests are about processes, not the backend.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.checkout"]


def _is_browser_test(item: pytest.Item) -> bool:
    return f"{os.sep}tests{os.sep}e2e{os.sep}" in str(item.path)


BACKEND_INDEPENDENT = (
    f"{os.sep}tests{os.sep}agent{os.sep}",
    f"{os.sep}tests{os.sep}acp{os.sep}",
    f"{os.sep}tests{os.sep}mcp{os.sep}",
    f"{os.sep}tests{os.sep}security{os.sep}test_redact",
    f"{os.sep}tests{os.sep}security{os.sep}test_shell_approvals",
)


SLOW_BUT_AGAIN_ON_POSTGRESQL = (f"{os.sep}tests{os.sep}test_fuzz.py", f"{os.sep}tests{os.sep}test_hermes_import.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in str(item.path) for part in BACKEND_INDEPENDENT):
            item.add_marker(pytest.mark.backend_independent)
        if item.get_closest_marker("slow") and not str(item.path).endswith(SLOW_BUT_AGAIN_ON_POSTGRESQL):
            item.add_marker(pytest.mark.once)
    items.sort(key=_is_browser_test)  # stable: the order within each group is kept
