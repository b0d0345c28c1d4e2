"""Instructions (issue 14 item 2) over the API: personas under Hermes WebUI's ``/api/personalities``,
the global ``system_prompt`` setting, project and session ``instructions``, and a session's effective
prompt. Bad input is a 400 (404 for unknown names) and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import chat_session, new_draft

REVIEWER = {
    "name": "Reviewer", "description": "Terse code review", "prompt": "Review code. Be terse.",
    "model": "openai/test-model-2", "temperature": 0.2, "max_tokens": 300, "reasoning_effort": "high",
    "tools": ["read_file", "search_files"],
}


async def personas(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/personalities")
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.json()["personalities"]
    return listed


async def test_persona_crud(client: httpx.AsyncClient) -> None:
    assert await personas(client) == []
    saved = await client.post("/api/personalities", json=REVIEWER)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"ok": True, "personality": REVIEWER}
    plain = await client.post("/api/personalities", json={"name": "plain", "prompt": "Be plain."})
    assert plain.json()["personality"] == {
        "name": "plain", "description": "", "prompt": "Be plain.", "model": None, "temperature": None,
        "max_tokens": None, "reasoning_effort": None, "tools": None,
    }
    listing = (await client.get("/api/personalities")).json()
    assert [p["name"] for p in listing["personalities"]] == ["plain", "Reviewer"]
    assert {"read_file", "write_file", "run_shell"} <= set(listing["available_tools"])

    edited = await client.post("/api/personalities", json={**REVIEWER, "temperature": 1, "tools": []})
    assert edited.json()["personality"]["temperature"] == 1.0 and edited.json()["personality"]["tools"] == []
    assert len(await personas(client)) == 2

    assert (await client.post("/api/personalities/delete", json={"name": "plain"})).json() == {"ok": True}
    assert [p["name"] for p in await personas(client)] == ["Reviewer"]
    missing = await client.post("/api/personalities/delete", json={"name": "plain"})
    assert missing.status_code == 404 and "persona not found" in missing.json()["error"]


@pytest.mark.parametrize("body, message", [
    ({"prompt": "x"}, "name is required"),
    ({"name": "../etc", "prompt": "x"}, "name must be"),
    ({"name": "a" * 65}, "name must be"),
    ({"name": "x", "prompt": 3}, "prompt must be a string"),
    ({"name": "x", "prompt": "p" * 20_001}, "prompt is longer"),
    ({"name": "x", "temperature": 2.5}, "temperature must be"),
    ({"name": "x", "temperature": "hot"}, "temperature must be"),
    ({"name": "x", "temperature": True}, "temperature must be"),
    ({"name": "x", "max_tokens": 0}, "max_tokens must be"),
    ({"name": "x", "max_tokens": 1.5}, "max_tokens must be"),
    ({"name": "x", "reasoning_effort": "extreme"}, "reasoning_effort must be"),
    ({"name": "x", "tools": "read_file"}, "tools must be a list"),
    ({"name": "x", "tools": [1]}, "tools: each entry"),
    ({"name": "x", "model": ["m"]}, "model must be a string"),
    ({"name": "x", "colour": "red"}, "unknown persona fields: colour"),
])
async def test_bad_personas_are_refused_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], message: str,
) -> None:
    await client.post("/api/personalities", json=REVIEWER)
    response = await client.post("/api/personalities", json={**body} if "name" in body else body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert await personas(client) == [REVIEWER]


async def test_non_object_bodies_are_400(client: httpx.AsyncClient) -> None:
    for path in ("/api/personalities", "/api/personalities/delete", "/api/personality/set"):
        response = await client.post(path, json=["not", "an", "object"])
        assert 400 <= response.status_code < 500, (path, response.text)
    assert (await client.post("/api/personalities", content=b"\xff\xfe", headers={"content-type": "application/json"})
            ).status_code == 400


async def test_system_prompt_setting(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/settings")).json()["system_prompt"] is None
    saved = await client.post("/api/settings", json={"system_prompt": "Answer in French."})
    assert saved.status_code == 200 and saved.json()["system_prompt"] == "Answer in French."
    too_long = await client.post("/api/settings", json={"system_prompt": "x" * 20_001})
    assert too_long.status_code == 400 and "system_prompt" in too_long.json()["error"]
    assert (await client.post("/api/settings", json={"system_prompt": 7})).status_code == 400
    assert (await client.get("/api/settings")).json()["system_prompt"] == "Answer in French."


async def test_project_instructions(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/projects/create", json={"name": "Lab", "instructions": "Use metric units."})
    project = created.json()["project"]
    assert project["instructions"] == "Use metric units."
    pid = project["project_id"]
    kept = await client.post("/api/projects/rename", json={"project_id": pid, "name": "Lab 2"})
    assert kept.json()["project"]["instructions"] == "Use metric units."
    bad = await client.post("/api/projects/rename", json={"project_id": pid, "name": "Lab 3", "instructions": 5})
    assert bad.status_code == 400 and "instructions must be a string" in bad.json()["error"]
    assert (await client.get("/api/projects")).json()["projects"][0] | {"created_at": 0} == {
        "project_id": pid, "name": "Lab 2", "color": None, "created_at": 0, "instructions": "Use metric units.",
    }
    cleared = await client.post("/api/projects/rename", json={"project_id": pid, "name": "Lab", "instructions": ""})
    assert cleared.json()["project"]["instructions"] == ""
    await client.post("/api/projects/rename", json={"project_id": pid, "name": "Lab", "instructions": "Again."})
    await client.post("/api/projects/delete", json={"project_id": pid})
    again = (await client.post("/api/projects/create", json={"name": "New"})).json()["project"]
    assert again["instructions"] == ""


async def test_session_instructions_and_persona(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.post("/api/personalities", json=REVIEWER)
    draft = await new_draft(client)
    updated = await client.post("/api/session/update", json={"session_id": draft, "instructions": "Be brief."})
    assert updated.status_code == 200
    session = updated.json()["session"]
    assert session["is_draft"] is True and session["instructions"] == "Be brief." and session["persona"] is None
    assert (await client.get("/api/sessions")).json()["sessions"] == []  # still a draft: no row

    chosen = await client.post("/api/personality/set", json={"session_id": draft, "name": "Reviewer"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["personality"] == "Reviewer" and chosen.json()["prompt"] == REVIEWER["prompt"]
    session = (await client.get("/api/session", params={"session_id": draft})).json()["session"]
    assert session["persona"] == session["personality"] == "Reviewer"
    assert session["model"] == "openai/test-model-2"  # the persona's model

    sid = await chat_session(client, app)
    for body, status in [
        ({"instructions": 12}, 400), ({"instructions": "x" * 20_001}, 400), ({"persona": "Nobody"}, 404),
        ({"persona": ["Reviewer"]}, 404), ({"persona": "Reviewer", "instructions": False}, 400),
    ]:
        response = await client.post("/api/session/update", json={"session_id": sid, **body})
        assert response.status_code == status, (body, response.text)
    unknown = await client.post("/api/personality/set", json={"session_id": sid, "name": "Nobody"})
    assert unknown.status_code == 404
    assert (await client.post("/api/personality/set", json={"name": "Reviewer"})).status_code == 400
    assert (await client.post("/api/personality/set",
                              json={"session_id": "feedfacecafe", "name": "Reviewer"})).status_code == 404
    stored = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
    assert stored["instructions"] == "" and stored["persona"] is None  # nothing changed

    both = await client.post("/api/session/update", json={"session_id": sid, "instructions": "Cite files.",
                                                           "persona": "Reviewer", "model": "openai/test-model"})
    session = both.json()["session"]
    assert (session["instructions"], session["persona"], session["model"]) == (
        "Cite files.", "Reviewer", "openai/test-model")  # a model named in the update wins
    cleared = await client.post("/api/personality/set", json={"session_id": sid, "name": ""})
    assert cleared.json() == cleared.json() | {"ok": True, "personality": None, "prompt": ""}
    session = (await client.post("/api/session/update", json={"session_id": sid, "instructions": ""})).json()["session"]
    assert session["instructions"] == "" and session["persona"] is None and "extra" not in session


async def test_effective_prompt(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.post("/api/settings", json={"system_prompt": "GLOBAL RULE"})
    await client.post("/api/personalities", json=REVIEWER)
    project = (await client.post("/api/projects/create", json={"name": "P", "instructions": "PROJECT RULE"})).json()
    sid = await chat_session(client, app)
    await client.post("/api/session/move", json={"session_id": sid, "project_id": project["project"]["project_id"]})
    await client.post("/api/session/update", json={"session_id": sid, "instructions": "SESSION RULE",
                                                   "persona": "Reviewer"})
    prompt = (await client.get("/api/session/prompt", params={"session_id": sid})).json()
    names = [s["name"] for s in prompt["sections"]]
    assert names[:5] == ["base", "system_prompt", "persona", "project", "session"]
    system = prompt["system"]
    order = [system.index(text) for text in ("GLOBAL RULE", "Review code. Be terse.", "PROJECT RULE", "SESSION RULE")]
    assert order == sorted(order)
    assert system == "\n\n".join(s["text"] for s in prompt["sections"])
    assert prompt["persona"] == "Reviewer" and prompt["parameters"] == {
        "temperature": 0.2, "max_tokens": 300, "reasoning_effort": "high"}
    assert prompt["tools"] == ["read_file", "search_files"]
    # No provider is configured here: no model, so no request fields (tests/runs/test_instructions.py has them)
    assert prompt["model"] is None and "no provider" in prompt["model_error"] and prompt["request"] is None

    await client.post("/api/personalities/delete", json={"name": "Reviewer"})
    after = (await client.get("/api/session/prompt", params={"session_id": sid})).json()
    assert after["persona"] is None and after["persona_missing"] is True and "Review code" not in after["system"]
    assert after["parameters"] == {"temperature": None, "max_tokens": None, "reasoning_effort": None}

    draft = await new_draft(client)
    shown = (await client.get("/api/session/prompt", params={"session_id": draft})).json()
    assert "GLOBAL RULE" in shown["system"] and "PROJECT RULE" not in shown["system"]
    assert (await client.get("/api/session/prompt", params={"session_id": "feedfacecafe"})).status_code == 404
    assert (await client.get("/api/session/prompt", params={"session_id": "../x"})).status_code == 404


async def test_instructions_and_persona_survive_export_and_import(client: httpx.AsyncClient, app: FastAPI) -> None:
    sid = await chat_session(client, app)
    await client.post("/api/personalities", json=REVIEWER)
    await client.post("/api/session/update", json={"session_id": sid, "instructions": "Keep it short.",
                                                   "persona": "Reviewer"})
    exported = (await client.get("/api/session/export", params={"session_id": sid})).json()
    assert exported["instructions"] == "Keep it short." and exported["persona"] == "Reviewer"
    imported = (await client.post("/api/session/import", json=exported)).json()["session"]
    assert imported["session_id"] != sid
    assert (imported["instructions"], imported["persona"]) == ("Keep it short.", "Reviewer")
