"""The instructions reach the model (issue 14 item 2): the scripted LLM's request log shows the global
``system_prompt``, the persona, the project's and the session's instructions in the documented order
(DESIGN §8), the persona's ``temperature`` / ``max_tokens`` / reasoning effort where the model takes
it, and only the persona's tools; the effective prompt endpoint shows that same system text."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import make_settings
from tests.llm_server import Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from threadline.web.app import create_app

RULES = ("GLOBAL: answer in French.", "PERSONA: you review code.", "PROJECT: use metric units.",
         "SESSION: cite file names.")


async def set_up(client: httpx.AsyncClient, persona: dict[str, Any]) -> str:
    """A session in a project, with a persona and instructions at every level; returns its id."""
    assert (await client.post("/api/settings", json={"system_prompt": RULES[0]})).status_code == 200
    saved = await client.post("/api/personalities", json={"name": "Reviewer", "prompt": RULES[1], **persona})
    assert saved.status_code == 200, saved.text
    project = (await client.post("/api/projects/create", json={"name": "Lab", "instructions": RULES[2]})).json()
    sid: str = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    updated = await client.post("/api/session/update", json={"session_id": sid, "instructions": RULES[3],
                                                             "persona": "Reviewer"})
    assert updated.status_code == 200, updated.text
    moved = await client.post("/api/session/move", json={"session_id": sid,
                                                         "project_id": project["project"]["project_id"]})
    assert moved.status_code == 200
    return sid


async def run_turn(client: httpx.AsyncClient, sid: str, message: str) -> None:
    started = await client.post("/api/chat/start", json={"session_id": sid, "message": message})
    assert started.status_code == 200, started.text
    frames = await read_events(client, started.json()["stream_id"])
    assert frames[-1][1] == "stream_end" and not [f for f in frames if f[1] == "apperror"], frames
    await wait_idle(client, sid)


def assert_in_order(system: str) -> None:
    positions = [system.index(rule) for rule in RULES]
    assert positions == sorted(positions), system


async def test_openai_request_carries_instructions_and_persona_parameters(chat, llm):
    sid = await set_up(chat, {"temperature": 0.3, "max_tokens": 321, "reasoning_effort": "high",
                              "tools": ["read_file", "list_files"]})
    llm.script(Turn(text="D'accord."))
    await run_turn(chat, sid, "Bonjour")
    body = llm.requests[-1]
    assert body["_path"].endswith("/chat/completions")
    system = body["messages"][0]
    assert system["role"] == "system"
    assert_in_order(system["content"])
    assert body["messages"][-1] == {"role": "user", "content": "Bonjour"}
    assert body["temperature"] == 0.3 and body["max_tokens"] == 321
    assert "reasoning_effort" not in body  # test-model has no reasoning effort: left out, not an error
    assert sorted(t["function"]["name"] for t in body["tools"]) == ["list_files", "read_file"]

    prompt = (await chat.get("/api/session/prompt", params={"session_id": sid})).json()
    assert prompt["system"] == system["content"]  # the effective prompt is exactly what was sent
    assert prompt["model"] == "openai/test-model"
    assert prompt["request"] == {"max_tokens": 321, "temperature": 0.3}  # test-model takes no reasoning effort

    # A reasoning model gets the effort; a persona without tools sends none.
    await chat.post("/api/personalities", json={"name": "Reviewer", "prompt": RULES[1], "model": "openai/o4-mini",
                                                "reasoning_effort": "low", "tools": []})
    await chat.post("/api/personality/set", json={"session_id": sid, "name": "Reviewer"})
    llm.script(Turn(text="Bien."))
    await run_turn(chat, sid, "Encore")
    body = llm.requests[-1]
    assert body["model"] == "o4-mini" and body["reasoning_effort"] == "low"
    assert "tools" not in body and "temperature" not in body and "max_tokens" not in body
    assert_in_order(body["messages"][0]["content"])


async def test_anthropic_request_carries_instructions_and_persona_parameters(home, llm):
    app = create_app(make_settings(home, default_model="anthropic/test-model"), env=llm_env(llm, "anthropic"))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid = await set_up(client, {"temperature": 1.7, "max_tokens": 999})
        llm.script(Turn(text="Oui."))
        await run_turn(client, sid, "Salut")
        body = llm.requests[-1]
        assert body["_path"].endswith("/v1/messages")
        system = body["system"] if isinstance(body["system"], str) else "".join(b["text"] for b in body["system"])
        assert_in_order(system)
        assert body["temperature"] == 1.0 and body["max_tokens"] == 999  # Anthropic's temperature stops at 1
        assert "thinking" not in body

        thinker = {"name": "Reviewer", "prompt": RULES[1], "temperature": 0.5, "model": "anthropic/claude-sonnet-4-5",
                   "reasoning_effort": "medium"}
        await client.post("/api/personalities", json=thinker)
        await client.post("/api/personality/set", json={"session_id": sid, "name": "Reviewer"})
        llm.script(Turn(text="Bon."))
        await run_turn(client, sid, "Pense")
        body = llm.requests[-1]
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
        assert body["max_tokens"] > 8192 and "temperature" not in body  # thinking takes no temperature


def test_request_fields_follow_what_each_model_takes():
    from threadline.agent.params import ModelParams, anthropic_fields, openai_fields

    chosen = ModelParams(temperature=1.5, max_tokens=100, reasoning_effort="high")
    assert openai_fields("llama3.1", chosen) == {"max_tokens": 100, "temperature": 1.5}
    assert openai_fields("openrouter/openai/gpt-oss-120b", chosen) == {
        "max_tokens": 100, "temperature": 1.5, "reasoning_effort": "high"}
    assert openai_fields("o3-mini", chosen) == {"max_completion_tokens": 100, "reasoning_effort": "high"}
    assert openai_fields("gpt-5", ModelParams(temperature=0.2)) == {}
    assert openai_fields("gpt-4o", ModelParams(), default_max_tokens=50) == {"max_tokens": 50}
    assert anthropic_fields("claude-3-5-haiku-latest", chosen) == {"max_tokens": 100, "temperature": 1.0}
    assert anthropic_fields("claude-opus-4-1", chosen) == {
        "max_tokens": 24576 + 1024, "thinking": {"type": "enabled", "budget_tokens": 24576}}
    assert anthropic_fields("claude-sonnet-4-5", ModelParams()) == {"max_tokens": 8192}


async def test_the_effective_prompt_of_an_acp_session_says_the_agent_has_its_own(chat, chat_app):
    from tests.runs.test_runtime_seam import EchoRuntime

    class AcpLike(EchoRuntime):
        name = "acp-like"
        kind = "acp"

    chat_app.state.services.runtimes.register(AcpLike())
    await chat.post("/api/settings", json={"system_prompt": RULES[0]})
    sid = (await chat.post("/api/session/new", json={"runtime": "acp-like"})).json()["session"]["session_id"]
    prompt = (await chat.get("/api/session/prompt", params={"session_id": sid})).json()
    assert prompt["runtime"] == "acp-like" and prompt["system"] == "" and prompt["sections"] == []
    assert "its own instructions" in prompt["note"] and prompt["tools"] is None and prompt["request"] is None
