"""Memory in runs, through the real chat API and the scripted LLM over HTTP: the documents are in the
model's instructions (within their budget, a cut shown as such), and the ``memory`` tool changes them
under its policy (ask by default, allow, off)."""

from __future__ import annotations

import httpx

from tests.llm_server import ScriptedLLM, Turn
from tests.memory_skills_tasks.helpers import new_session, set_preference, system_of, tool_results, turn


async def test_memory_is_in_the_instructions_and_the_tool_changes_it(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    await chat.post("/api/memory/write", json={"section": "memory", "content": "The repo uses pnpm."})
    await chat.post("/api/memory/write", json={"section": "user", "content": "The user is called Ada."})
    await set_preference(chat, memory_tool="allow")
    sid = await new_session(chat)
    llm.script(Turn(tool_calls=[("memory", {"action": "add", "target": "user", "content": "Ada prefers tea."})]),
               Turn(text="Noted."))
    events = await turn(chat, sid, "Remember that I prefer tea.")
    assert "approval" not in events
    system = system_of(llm.requests[0])
    assert "The repo uses pnpm." in system and "The user is called Ada." in system
    assert "memory" in [t["function"]["name"] for t in llm.requests[0]["tools"]]
    assert (await chat.get("/api/memory")).json()["user"] == "The user is called Ada.\n§\nAda prefers tea."
    assert "Added the entry. user: 2 entries" in tool_results(llm.requests[1])[0]
    # The change is a tool call in the transcript, and a revision made by the agent in this session.
    messages = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["messages"]
    calls = [c for m in messages for c in m.get("tool_calls") or []]
    assert [c["name"] for c in calls] == ["memory"]
    latest = (await chat.get("/api/memory/history", params={"section": "user"})).json()["revisions"][0]
    assert (latest["source"], latest["session_id"], latest["note"]) == ("agent", sid, "add: Ada prefers tea.")
    # The next run's instructions have the new entry.
    llm.script(Turn(text="Hello Ada."))
    await turn(chat, sid, "hi")
    assert "Ada prefers tea." in system_of(llm.requests[-1])


async def test_by_default_the_tool_asks_and_a_denial_changes_nothing(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    sid = await new_session(chat)
    call = ("memory", {"action": "add", "content": "The build uses make."})
    llm.script(Turn(tool_calls=[call]), Turn(text="ok"))
    events = await turn(chat, sid, "remember the build", approve="deny")
    assert "approval" in events
    assert (await chat.get("/api/memory")).json()["memory"] == ""
    llm.script(Turn(tool_calls=[call]), Turn(text="ok"))
    await turn(chat, sid, "remember the build", approve="once")
    assert (await chat.get("/api/memory")).json()["memory"] == "The build uses make."


async def test_off_leaves_the_tool_out_but_keeps_the_notes(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    await chat.post("/api/memory/write", json={"section": "memory", "content": "Deploys happen on Fridays."})
    await set_preference(chat, memory_tool="off")
    llm.script(Turn(text="ok"))
    await turn(chat, await new_session(chat), "hello")
    request = llm.requests[-1]
    assert "memory" not in [t["function"]["name"] for t in request.get("tools") or []]
    assert "Deploys happen on Fridays." in system_of(request) and "read-only" in system_of(request)
    assert (await chat.post("/api/settings", json={"memory_tool": "sometimes"})).status_code == 400


async def test_a_document_over_its_budget_is_cut_visibly(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    entries = [f"fact number {i:04d} " + "x" * 80 for i in range(40)]  # about 3,900 characters
    await chat.post("/api/memory/write", json={"section": "memory", "content": "\n§\n".join(entries)})
    llm.script(Turn(text="ok"))
    await turn(chat, await new_session(chat), "hello")
    system = system_of(llm.requests[-1])
    assert entries[0] in system and entries[-1] not in system
    assert "characters left out" in system and "over its 2,200-character budget" in system


async def test_a_failing_tool_call_tells_the_model_and_changes_nothing(
    chat: httpx.AsyncClient, llm: ScriptedLLM,
) -> None:
    await chat.post("/api/memory/write", json={"section": "memory", "content": "likes tea\n§\nlikes coffee"})
    await set_preference(chat, memory_tool="allow")
    llm.script(Turn(tool_calls=[("memory", {"action": "remove", "old_text": "likes"})]), Turn(text="ok"))
    await turn(chat, await new_session(chat), "forget")
    assert "2 entries contain 'likes'" in tool_results(llm.requests[-1])[0]
    assert (await chat.get("/api/memory")).json()["memory_revision"] == 1


async def test_project_memory_for_sessions_in_the_project(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    project = (await chat.post("/api/projects/create", json={"name": "Garden"})).json()["project"]["project_id"]
    await set_preference(chat, memory_tool="allow")
    sid = await new_session(chat)
    llm.script(Turn(text="ok"))
    await turn(chat, sid, "hello")
    assert (await chat.post("/api/session/move", json={"session_id": sid, "project_id": project})).status_code == 200
    llm.script(Turn(tool_calls=[("memory", {"action": "add", "scope": "project", "content": "Beds face south."})]),
               Turn(text="ok"))
    await turn(chat, sid, "note the beds")
    scoped = (await chat.get("/api/memory", params={"project_id": project})).json()
    assert scoped["memory"] == "Beds face south." and (await chat.get("/api/memory")).json()["memory"] == ""
    llm.script(Turn(text="ok"))
    await turn(chat, sid, "again")
    assert "About this project (Garden)" in system_of(llm.requests[-1])
    llm.script(Turn(text="ok"))
    await turn(chat, await new_session(chat), "elsewhere")
    assert "Beds face south." not in system_of(llm.requests[-1])
