"""The agent's pages in Chromium (issue 15): Memory (edit, save, history, undo, the write policy),
Skills (create, enable/disable, edit, import a folder, delete), Tasks (create a one-shot that fires,
its result and the sidebar's notice, run now, pause, resume, delete). A server of their own, so the
memory, skills and tasks they leave never reach the other browser tests; state is checked through
the JSON API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, open_page, screenshot, start_server, stop_server
from tests.e2e.helpers import ready
from tests.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_server(chromium_path: str, llm: ScriptedLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("agent-pages") / "home"
    running = start_server(home, {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": llm.openai_url,
                                  "THREADLINE_DEFAULT_MODEL": "openai/test-model"})
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def page(browser: Any, own_server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from open_page(browser, own_server, request)


@pytest.fixture
def api(own_server: Server) -> Iterator[httpx.Client]:
    with own_server.api() as client:
        yield client


def wait_for(check: Any, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


def shown(page: Any, api: httpx.Client, section: str) -> None:
    """Wait until the page has reloaded ``section`` at the server's current revision (a save or an undo
    reloads the sections; an edit made before that lands in the old editor)."""
    revision = api.get("/api/memory").json()[f"{section}_revision"] or 0
    page.wait_for_selector(f"section[data-section='{section}'][data-revision='{revision}']")


def expect_refused(page: Any, status: int, path: str) -> None:
    """The browser logs a refused request as a console error; take out the one the test caused."""
    refused = [e for e in page.errors.items if f"status of {status}" in e and path in e]
    assert len(refused) == 1, page.errors.items
    page.errors.items.remove(refused[0])


def test_memory_page_edits_saves_restores_and_sets_the_policy(page: Any, api: httpx.Client) -> None:
    api.post("/api/memory/write", json={"section": "memory", "content": "Uses pnpm."}).raise_for_status()
    ready(page)
    page.locator("#memory-open").click()
    editor = page.locator("textarea[data-section='memory']")
    assert editor.input_value() == "Uses pnpm."
    editor.fill("Uses pnpm.\n§\nDeploys on Fridays.")
    page.locator("section[data-section='memory'] button:has-text('Save')").click()
    wait_for(lambda: api.get("/api/memory").json()["memory"] == "Uses pnpm.\n§\nDeploys on Fridays.", what="saved")
    shown(page, api, "memory")
    page.locator("textarea[data-section='user']").fill("Name: Ada")
    page.locator("section[data-section='user'] button:has-text('Save')").click()
    wait_for(lambda: api.get("/api/memory").json()["user"] == "Name: Ada", what="user saved")
    shown(page, api, "user")
    # The budget is shown, and going over it is marked.
    # (Filled again until marked: the page reloads the sections after the save above.)
    wait_for(lambda: page.locator("textarea[data-section='user']").fill("x" * 1400) is None and "over" in (
        page.locator("section[data-section='user'] .memory-count").get_attribute("class") or ""), what="over budget")
    page.locator("textarea[data-section='user']").fill("Name: Ada")
    # History and restore.
    memory = page.locator("section[data-section='memory']")
    memory.locator("summary:has-text('History')").click()
    memory.locator("li[data-revision='1'] button:has-text('Restore')").click()
    wait_for(lambda: api.get("/api/memory").json()["memory"] == "Uses pnpm.", what="restored")
    editor.and_(page.locator("textarea[data-section='memory']")).wait_for()
    wait_for(lambda: page.locator("textarea[data-section='memory']").input_value() == "Uses pnpm.", what="reloaded")
    page.locator("section[data-section='memory'] button:has-text('Undo last change')").click()
    wait_for(lambda: api.get("/api/memory").json()["memory"].endswith("Deploys on Fridays."), what="undone")
    shown(page, api, "memory")  # reloaded after the undo before the agent writes (else it would load that too)
    # A save from a stale page is refused, and says so.
    api.post("/api/memory/write", json={"section": "memory", "content": "Changed by the agent."}).raise_for_status()
    page.locator("textarea[data-section='memory']").fill("My stale edit")
    page.locator("section[data-section='memory'] button:has-text('Save')").click()
    page.wait_for_selector("text=Memory changed meanwhile")
    page.locator("button:has-text('Reload')").click()
    wait_for(lambda: page.locator("textarea[data-section='memory']").input_value() == "Changed by the agent.",
             what="reloaded after the conflict")
    assert api.get("/api/memory").json()["memory"] == "Changed by the agent."
    expect_refused(page, 409, "/api/memory/write")
    # The write policy is the memory_tool preference.
    page.locator("[aria-label='Memory tool policy'] button:has-text('Allow')").click()
    wait_for(lambda: api.get("/api/settings").json()["memory_tool"] == "allow", what="policy")
    screenshot(page, "memory-page")


def test_skills_page_creates_toggles_edits_imports_and_deletes(page: Any, api: httpx.Client, tmp_path: Path) -> None:
    ready(page)
    page.locator("#skills-open").click()
    page.locator("button:has-text('New skill')").click()
    page.locator("input[aria-label='Skill name']").fill("standup")
    text = page.locator("textarea[aria-label='SKILL.md']")
    assert "name: standup" in text.input_value()
    text.fill("---\nname: standup\ndescription: Write the daily standup\n---\n\nYesterday, today, blockers.\n")
    page.locator("button:has-text('Create skill')").click()
    page.wait_for_selector("[data-skill='standup']")
    assert api.get("/api/skills/content", params={"name": "standup"}).json()["body"] == "Yesterday, today, blockers."
    # A bad SKILL.md is refused with the server's reason, and nothing is written.
    page.locator("button:has-text('New skill')").click()
    page.locator("input[aria-label='Skill name']").fill("broken")
    page.locator("textarea[aria-label='SKILL.md']").fill("no front matter")
    page.locator("button:has-text('Create skill')").click()
    page.wait_for_selector(".skill-editor .field-error:has-text('front matter')")
    assert [s["name"] for s in api.get("/api/skills").json()["skills"]] == ["standup"]
    expect_refused(page, 400, "/api/skills/save")
    page.locator(".skill-editor button:has-text('Cancel')").click()
    # Disable, then edit.
    page.locator("[aria-label='Enable standup']").click()
    wait_for(lambda: api.get("/api/skills").json()["skills"][0]["enabled"] is False, what="disabled")
    page.locator("[aria-label='Edit standup']").click()
    page.locator("textarea[aria-label='SKILL.md']").fill(
        "---\nname: standup\ndescription: Write the standup note\n---\n\nThree bullets.\n")
    page.locator("button:has-text('Save changes')").click()
    page.wait_for_selector("[data-skill='standup'] .skill-desc:has-text('Write the standup note')")
    # Import a folder picked in the browser.
    folder = tmp_path / "hermes-skills"
    (folder / "writing" / "summarize" / "references").mkdir(parents=True)
    (folder / "writing" / "summarize" / "SKILL.md").write_text(
        "---\nname: summarize\ndescription: Summarize text\n---\nShort.\n")
    (folder / "writing" / "summarize" / "references" / "tips.md").write_text("Be brief.")
    page.locator("input[aria-label='Skills folder']").set_input_files(str(folder))
    page.wait_for_selector("[data-skill='summarize']")
    imported = {s["name"]: s for s in api.get("/api/skills").json()["skills"]}["summarize"]
    assert imported["category"] == "writing" and imported["files"] == ["references/tips.md"]
    screenshot(page, "skills-page")
    page.locator("[aria-label='Delete summarize']").click()
    page.locator(".modal-small button:has-text('Delete skill')").click()
    page.wait_for_selector("[data-skill='summarize']", state="detached")
    assert [s["name"] for s in api.get("/api/skills").json()["skills"]] == ["standup"]


def test_tasks_page_a_one_shot_fires_with_a_notice_then_run_pause_resume_delete(
    page: Any, api: httpx.Client, llm: ScriptedLLM,
) -> None:
    llm.reset()
    llm.script(Turn(text="Inbox zero."), Turn(text="Inbox has two mails."))
    ready(page)
    page.locator("#tasks-open").click()
    page.locator("button:has-text('New task')").click()
    page.locator("input[aria-label='Task name']").fill("Inbox check")
    page.locator("textarea[aria-label='Prompt']").fill("Check my inbox")
    at = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    page.locator("input[aria-label='Schedule']").fill(at)
    page.locator("button:has-text('Create task')").click()
    row = page.locator(".task-row", has_text="Inbox check")
    row.wait_for()
    job = api.get("/api/crons").json()["jobs"][0]
    assert job["prompt"] == "Check my inbox" and job["schedule"]["kind"] == "once"
    # It fires: the row shows the result, the sidebar a notice with the unread badge.
    row.locator(".task-last:has-text('Inbox zero.')").wait_for(timeout=20_000)
    page.locator(".modal-page .modal-head button[aria-label='Close']").click()
    page.locator("#notices .notice", has_text="Inbox check").wait_for(timeout=25_000)
    assert page.locator("#tasks-badge").inner_text() == "1"
    screenshot(page, "notices")
    page.locator("#notices .notice-main").first.click()
    page.wait_for_url(f"**/s/{job['session_id']}")
    page.locator(".msg", has_text="Inbox zero.").wait_for()
    page.locator("#notices").wait_for(state="hidden")
    assert api.get("/api/notices").json()["unread"] == 0
    # Run now fires it again, once.
    page.locator("#tasks-open").click()
    page.locator("[aria-label='Run Inbox check now']").click()
    def fired_twice() -> bool:
        outputs = api.get("/api/crons/output", params={"job_id": job["job_id"]}).json()["outputs"]
        return len(outputs) == 2 and all(o["finished_at"] for o in outputs)

    wait_for(fired_twice, what="run now")
    row = page.locator(".task-row", has_text="Inbox check")
    row.locator("summary:has-text('Recent firings')").click()
    row.locator(".task-output", has_text="Inbox has two mails.").wait_for()
    # A recurring one: pause and resume.
    api.post("/api/crons/create", json={"prompt": "Water the plants", "schedule": "0 8 * * *", "name": "Plants"})
    page.locator(".task-row", has_text="Plants").wait_for()
    page.locator("[aria-label='Pause Plants']").click()
    wait_for(lambda: {j["name"]: j for j in api.get("/api/crons").json()["jobs"]}["Plants"]["state"] == "paused",
             what="paused")
    page.locator("[aria-label='Resume Plants']").click()
    wait_for(lambda: {j["name"]: j for j in api.get("/api/crons").json()["jobs"]}["Plants"]["state"] == "scheduled",
             what="resumed")
    screenshot(page, "tasks-page")
    for name in ("Plants", "Inbox check"):
        page.locator(f"[aria-label='Delete {name}']").click()
        page.locator(".modal-small button:has-text('Delete task')").click()
        page.locator(".task-row", has_text=name).wait_for(state="detached")
    assert api.get("/api/crons").json()["jobs"] == []
