"""``/openapi.json`` documents the answers of the session, message, run and list routes (issue 12 item 5),
and the documents are true: real answers, from a real server running real turns through the scripted
model (tool calls, a cancelled answer, a queued message, a regenerated version), validate against the
schema the server serves for that route. The shapes allow keys they do not name, so fields added later
are documented as allowed and never stripped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_type_hints

import httpx
import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from starlette.responses import Response
from typing_extensions import is_typeddict

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from threadline.web.app import create_app
from threadline.web.routes import chat as chat_routes
from threadline.web.routes import sessions as session_routes

# (method, path) -> the component its 200 answer is, and keys that component must name.
DOCUMENTED = {
    ("post", "/api/session/new"): ("SessionAnswer", {"session"}),
    ("get", "/api/session"): ("SessionAnswer", {"session"}),
    ("get", "/api/sessions"): ("SessionsPublic", {"sessions", "next_cursor"}),
    ("get", "/api/sessions/search"): ("SearchPublic", {"sessions", "query", "count"}),
    ("post", "/api/session/rename"): ("SessionChanged", {"ok", "session"}),
    ("post", "/api/session/pin"): ("SessionChanged", {"ok", "session"}),
    ("post", "/api/session/archive"): ("SessionChanged", {"ok", "session"}),
    ("post", "/api/session/move"): ("SessionChanged", {"ok", "session"}),
    ("post", "/api/session/clear"): ("SessionChanged", {"ok", "session"}),
    ("post", "/api/session/duplicate"): ("SessionChanged", {"ok", "session"}),
    ("post", "/api/session/update"): ("SessionChangedWithMessages", {"ok", "session"}),
    ("post", "/api/session/truncate"): ("SessionChangedWithMessages", {"ok", "session"}),
    ("post", "/api/session/branch"): ("SessionChangedWithMessages", {"ok", "session"}),
    ("post", "/api/session/import"): ("SessionChangedWithMessages", {"ok", "session"}),
    ("post", "/api/session/delete"): ("SessionDeleted", {"ok", "deleted"}),
    ("post", "/api/session/retry"): ("TurnRetried", {"ok", "last_user_text", "removed_count"}),
    ("post", "/api/session/undo"): ("TurnUndone", {"ok", "removed_count", "removed_preview"}),
    ("get", "/api/session/branches"): ("MessageVersions", {"message_id", "index", "count", "versions"}),
    ("post", "/api/chat/regenerate"): ("RunStarted", {"stream_id", "session_id", "effective_model"}),
    ("get", "/api/chat/stream/status"): ("RunStatus", {"stream_id", "active", "status", "replay_available"}),
    ("post", "/api/chat/cancel"): ("RunCancelled", {"ok", "cancelled", "stream_id"}),
    ("get", "/api/chat/cancel"): ("RunCancelled", {"ok", "cancelled", "stream_id"}),
    ("post", "/api/chat/steer"): ("SteerAnswer", {"accepted", "fallback", "stream_id"}),
    ("post", "/api/chat/dequeue"): ("Dequeued", {"ok", "removed"}),
}
SHAPES = {
    "SessionPublic": {"session_id", "title", "workspace", "model", "runtime", "project_id", "pinned", "archived",
                      "kind", "created_at", "updated_at", "last_message_at", "message_count", "input_tokens",
                      "output_tokens", "estimated_cost", "active_stream_id", "is_streaming", "pending_approval",
                      "pending_clarify", "is_draft", "instructions", "persona", "personality"},
    "SessionDetail": {"messages", "_messages_offset", "_messages_truncated", "branches_after", "queue"},
    "MessagePublic": {"id", "parent_id", "seq", "role", "content", "status", "timestamp", "tool_calls",
                      "tool_call_id", "reasoning", "run_id", "_partial", "_error", "_interrupted", "in_context",
                      "sibling_ids", "sibling_index", "sibling_count"},
    "QueuedMessage": {"id", "message", "created_at"},
    "RunQueued": {"queued", "queue_id", "session_id", "active_stream_id"},
    "SearchHit": {"match_type", "snippet", "message_id", "on_active_path"},
    "MessageVersion": {"message_id", "role", "preview", "status", "timestamp", "active"},
}


class Answers:
    """Checks answers against the schemas of one ``/openapi.json``."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked: set[tuple[str, str]] = set()

    def schema(self, method: str, path: str) -> dict[str, Any]:
        documented: dict[str, Any] = self.document["paths"][path][method]["responses"]["200"]
        return documented["content"]["application/json"]["schema"]

    def validator(self, method: str, path: str) -> Draft202012Validator:
        # The component references (#/components/schemas/...) resolve against the whole document.
        return Draft202012Validator({**self.schema(method, path), "components": self.document["components"]})

    def check(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        method, path = response.request.method.lower(), response.request.url.path
        body: dict[str, Any] = response.json()
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in self.validator(method, path).iter_errors(body)]
        assert not errors, f"{method.upper()} {path} answers outside its documented schema: {errors[:5]}"
        self.checked.add((method, path))
        return body


@pytest.fixture
async def served(home: Path, llm: ScriptedLLM) -> AsyncIterator[tuple[httpx.AsyncClient, Answers]]:
    settings = make_settings(home, default_model="openai/test-model", checkpoint_interval_seconds=0.2,
                             heartbeat_seconds=1.0)
    (settings.resolved_default_workspace / "notes.txt").write_text("the notes\n")
    app = create_app(settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        document = (await client.get("/openapi.json")).json()
        yield client, Answers(document)


async def test_openapi_documents_each_answer_with_its_keys(served: tuple[httpx.AsyncClient, Answers]) -> None:
    _client, answers = served
    components = answers.document["components"]["schemas"]
    for (method, path), (name, keys) in DOCUMENTED.items():
        assert answers.schema(method, path) == {"$ref": f"#/components/schemas/{name}"}, (method, path)
        assert keys <= set(components[name]["properties"]), (name, keys - set(components[name]["properties"]))
    start = answers.schema("post", "/api/chat/start")
    assert {ref["$ref"] for ref in start["anyOf"]} == {"#/components/schemas/RunStarted",
                                                        "#/components/schemas/RunQueued"}
    for name, keys in SHAPES.items():
        assert keys <= set(components[name]["properties"]), (name, keys - set(components[name]["properties"]))
    for name in {*SHAPES, *(name for name, _keys in DOCUMENTED.values()), "RunStarted", "RunStatus"}:
        assert components[name]["additionalProperties"] is True, name  # new fields are allowed, never stripped
    message = components["MessagePublic"]["properties"]
    assert message["status"]["enum"] == ["complete", "partial", "error", "interrupted", "cancelled"]


def test_typed_routes_answer_with_a_response_not_a_dict() -> None:
    """A typed route returns its response itself, so its model documents and FastAPI copies nothing
    through pydantic (``web/answers.py``): what keeps opening a long session fast."""
    typed = []
    for route in [*session_routes.router.routes, *chat_routes.router.routes]:
        assert isinstance(route, APIRoute)
        model = route.response_model
        members = getattr(model, "__args__", (model,))
        if any(is_typeddict(member) for member in members):
            returned = get_type_hints(route.endpoint)["return"]
            assert issubclass(returned, Response), route.path
            typed.append(route.path)
    assert {path for _method, path in DOCUMENTED} | {"/api/chat/start"} <= set(typed)


async def test_real_answers_validate_against_the_documented_schemas(
    served: tuple[httpx.AsyncClient, Answers], llm: ScriptedLLM
) -> None:
    client, answers = served
    llm.script(
        Turn(reasoning="look first", tool_calls=[("read_file", {"path": "notes.txt"})], usage=(12, 3)),
        Turn(text="The notes say hello.", usage=(20, 5)),
        Turn(text="Slow answer ", chunk=4, fail="hang"),
        Turn(text="The queued answer."),
        Turn(text="Another version."),
    )
    draft = answers.check(await client.post("/api/session/new", json={}))
    sid = draft["session"]["session_id"]
    assert draft["session"]["is_draft"] is True and draft["session"]["messages"] == []
    answers.check(await client.get("/api/session", params={"session_id": sid}))

    started = answers.check(await client.post("/api/chat/start", json={"session_id": sid, "message": "read it",
                                                                        "attachments": ["notes.txt"]}))
    await read_events(client, started["stream_id"])
    await wait_idle(client, sid)
    ended = answers.check(await client.get("/api/chat/stream/status", params={"stream_id": started["stream_id"]}))
    assert ended["active"] is False and ended["replay_available"] is True

    hanging = answers.check(await client.post("/api/chat/start", json={"session_id": sid, "message": "go slow"}))
    await read_events(client, hanging["stream_id"], until={"token"})
    queued = answers.check(await client.post("/api/chat/start", json={"session_id": sid, "message": "then this",
                                                                       "queue": True}))
    assert queued["queued"] is True
    answers.check(await client.post("/api/chat/dequeue", json={"session_id": sid, "queue_id": "not-queued"}))
    live = answers.check(await client.get("/api/chat/stream/status", params={"stream_id": hanging["stream_id"]}))
    assert live["active"] is True and isinstance(live["last_seq"], int)
    busy = answers.check(await client.get("/api/session", params={"session_id": sid}))
    assert busy["session"]["is_streaming"] is True and busy["session"]["queue"][0]["message"] == "then this"
    answers.check(await client.post("/api/chat/cancel", json={"stream_id": hanging["stream_id"]}))
    answers.check(await client.get("/api/chat/cancel", params={"stream_id": hanging["stream_id"]}))
    for _ in range(200):  # the queued message starts once the cancelled run has ended, and is answered
        session = await wait_idle(client, sid)
        if not session["queue"] and session["messages"][-1]["content"] == "The queued answer.":
            break
        await asyncio.sleep(0.05)

    last_user = [m for m in session["messages"] if m["role"] == "user"][-1]
    again = answers.check(await client.post("/api/chat/regenerate", json={"session_id": sid,
                                                                          "message_id": last_user["id"]}))
    await read_events(client, again["stream_id"])
    whole = answers.check(await client.get("/api/session", params={"session_id": sid}))["session"]
    messages = whole["messages"]
    assert {m["role"] for m in messages} >= {"user", "assistant", "tool"}
    assert any(m.get("tool_calls") for m in messages) and any(m.get("reasoning") for m in messages)
    assert any(m.get("_error") for m in messages)  # the cancelled answer
    assert messages[0]["attachments"] == ["notes.txt"]  # a meta key, kept as an extra key of the shape
    versioned = [m for m in messages if m.get("sibling_count") == 2]  # the regenerated version
    assert versioned
    answers.check(await client.get("/api/session/branches", params={"session_id": sid,
                                                                     "message_id": versioned[0]["id"]}))
    idle = answers.check(await client.post("/api/chat/steer", json={"session_id": sid, "text": "and then?"}))
    assert idle["accepted"] is False and idle["fallback"] == "not_running"
    page = answers.check(await client.get("/api/session", params={"session_id": sid, "msg_limit": 2}))
    assert page["session"]["_messages_truncated"] is True
    answers.check(await client.get("/api/session", params={"session_id": sid, "messages": 0}))

    answers.check(await client.get("/api/sessions"))
    answers.check(await client.get("/api/sessions", params={"archived": "all", "limit": 1}))
    answers.check(await client.get("/api/sessions/search", params={"q": "notes"}))
    answers.check(await client.get("/api/sessions/search", params={"q": ""}))
    answers.check(await client.post("/api/session/rename", json={"session_id": sid, "title": "the notes"}))
    answers.check(await client.get("/api/sessions/search", params={"q": "notes"}))
    answers.check(await client.post("/api/session/pin", json={"session_id": sid}))
    answers.check(await client.post("/api/session/archive", json={"session_id": sid, "archived": False}))
    answers.check(await client.post("/api/session/move", json={"session_id": sid}))
    answers.check(await client.post("/api/session/update", json={"session_id": sid, "model": "openai/test-model"}))
    copy = answers.check(await client.post("/api/session/duplicate", json={"session_id": sid}))["session"]
    truncated = answers.check(await client.post("/api/session/truncate", json={"session_id": copy["session_id"],
                                                                               "keep_count": 1}))
    after = truncated["session"]["branches_after"]
    assert after["count"] == 1
    answers.check(await client.post("/api/session/branch", json={"session_id": copy["session_id"],
                                                                 "message_id": after["message_id"]}))
    answers.check(await client.post("/api/session/undo", json={"session_id": copy["session_id"]}))
    answers.check(await client.post("/api/session/retry", json={"session_id": copy["session_id"]}))
    answers.check(await client.post("/api/session/clear", json={"session_id": copy["session_id"]}))
    answers.check(await client.post("/api/session/delete", json={"session_id": copy["session_id"]}))
    answers.check(await client.post("/api/session/import", json={
        "title": "imported", "estimated_cost": None, "hermes_id": "kept in extra",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "parts"}]},
                     {"role": "assistant", "content": "partly", "status": "partial"}]}))
    assert {path for _method, path in DOCUMENTED} | {"/api/chat/start"} == {path for _m, path in answers.checked}


async def test_a_key_the_shapes_do_not_name_is_allowed(served: tuple[httpx.AsyncClient, Answers]) -> None:
    """Fields other work adds (``server_time`` in the list, a new object in a session) validate as
    they are, before they are named in a shape."""
    client, answers = served
    listed = (await client.get("/api/sessions")).json()
    draft = (await client.post("/api/session/new", json={})).json()
    listed["server_time"] = 1.5
    draft["session"]["badge"] = {"name": "a badge"}
    assert not list(answers.validator("get", "/api/sessions").iter_errors(listed))
    assert not list(answers.validator("get", "/api/session").iter_errors(draft))
    draft["session"]["message_count"] = "many"  # a named key of the wrong type is refused
    assert list(answers.validator("get", "/api/session").iter_errors(draft))
