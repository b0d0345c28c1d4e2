"""Providers in Settings: each shows the state of its model list (an error in red, never a green badge),
and can be edited and deleted from the UI."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import ready
from tests.llm_server import BAD_KEY, ScriptedLLM

pytestmark = pytest.mark.e2e


@pytest.fixture
def provider_ids(api: httpx.Client) -> Iterator[list[str]]:
    """Ids of providers a test adds; whatever is left of them is deleted afterwards."""
    ids: list[str] = []
    yield ids
    for provider_id in ids:
        api.post("/api/providers/delete", json={"id": provider_id})


def providers(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in api.get("/api/providers").json()["providers"]}


def open_providers(page: Any) -> Any:
    page.locator("#settings-open").click()
    page.locator("#tab-providers").click()
    panel = page.locator("#panel-providers")
    panel.locator(".provider").first.wait_for()
    return panel


def test_a_provider_whose_model_list_fails_shows_the_error(
    page: Any, api: httpx.Client, llm: ScriptedLLM, provider_ids: list[str]
) -> None:
    ready(page)
    # Added after the page loaded (another tab, the API): Settings reads the model lists afresh.
    broken = f"broken-{uuid.uuid4().hex[:6]}"
    provider_ids.append(broken)
    api.post("/api/providers", json={"id": broken, "kind": "openai", "base_url": llm.openai_url,
                                     "api_key": BAD_KEY}).raise_for_status()
    group = next(g for g in api.get("/api/models").json()["providers"] if g["id"] == broken)
    assert group["error"]
    panel = open_providers(page)
    row = panel.locator(".provider", has=page.locator(".provider-name", has_text=broken))
    row.wait_for()
    assert row.locator(".tag-ok").count() == 0
    assert row.locator(".tag-error").inner_text() == "Unavailable"
    assert row.locator(".provider-problem").inner_text().strip() == group["error"]
    env_name = page.locator(".provider-name > span:first-child", has_text=re.compile("^openai$"))
    healthy = panel.locator(".provider", has=env_name)
    assert healthy.locator(".tag-ok").inner_text() == f"{len(llm.models)} models"
    # The provider set by environment variables cannot be deleted from here, and says why.
    assert healthy.locator("button", has_text="Delete").is_disabled()


def test_edit_and_delete_a_provider(
    page: Any, api: httpx.Client, llm: ScriptedLLM, provider_ids: list[str]
) -> None:
    extra = f"extra-{uuid.uuid4().hex[:6]}"
    provider_ids.append(extra)
    api.post("/api/providers", json={"id": extra, "kind": "openai", "base_url": llm.openai_url,
                                     "api_key": "sk-edit-test-123456", "models": ["fixed-model"]}).raise_for_status()
    key_before = providers(api)[extra]["api_key"]
    ready(page)
    panel = open_providers(page)
    row = panel.locator(".provider", has=page.locator(".provider-name", has_text=extra))
    row.locator("button", has_text="Edit").click()
    form = panel.locator(".provider-form")
    assert panel.locator(".section-title", has_text=f"Edit provider “{extra}”").is_visible()
    assert form.get_by_label("Name").input_value() == extra and form.get_by_label("Name").is_disabled()
    new_url = llm.openai_url.replace("127.0.0.1", "localhost")
    form.get_by_label("Base URL").fill(new_url)
    form.locator("button", has_text="Save changes").click()
    page.locator(".toast", has_text="Provider saved").wait_for()
    saved = providers(api)[extra]
    # The new URL; the key and the fixed model list the form does not show are kept.
    assert saved["base_url"] == new_url
    assert saved["api_key"] == key_before and saved["has_key"]
    assert saved["models"] == [{"id": "fixed-model", "label": "fixed-model"}] and saved["models_fixed"]
    row.locator(".provider-meta", has_text="localhost").wait_for()

    row.locator("button", has_text="Delete").click()
    page.locator("dialog .btn-danger", has_text="Delete provider").click()
    page.locator(".toast", has_text="Provider deleted").wait_for()
    row.wait_for(state="detached")
    assert extra not in providers(api)
    assert extra not in {g["id"] for g in api.get("/api/models").json()["providers"]}
