"""The Markdown export writes a tool call's arguments as JSON in a fenced block, whatever shape the
call was stored in, and a fence that the arguments cannot close early."""

from __future__ import annotations

import json
import re

import httpx

FENCED = re.compile(r"\*\*Tool call\*\* `([^`]+)`:\n\n(`{3,})(json)?\n(.*?)\n\2(?:\n|$)", re.S)


async def export_markdown(client: httpx.AsyncClient, messages: list[dict[str, object]]) -> str:
    imported = await client.post("/api/session/import", json={"title": "Tools", "messages": messages})
    assert imported.status_code == 200, imported.text
    session_id = imported.json()["session"]["session_id"]
    response = await client.get("/api/session/export", params={"session_id": session_id, "format": "md"})
    assert response.status_code == 200
    return response.text


async def test_tool_arguments_are_exported_as_json_in_a_fenced_block(client: httpx.AsyncClient) -> None:
    stored = {"path": "notes/a.txt", "limit": 20, "deep": {"flag": True, "none": None}, "text": "café ```x```"}
    markdown = await export_markdown(client, [
        {"role": "user", "content": "Read it"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"id": "call_1", "name": "read_file", "arguments": stored}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "alpha"},
        # OpenAI's shape, arguments as a JSON string.
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_2", "type": "function",
             "function": {"name": "run_shell", "arguments": '{"command": "ls -l"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_2", "content": "total 0"},
        # Arguments that are not JSON are shown as they are.
        {"role": "assistant", "content": "",
         "tool_calls": [{"id": "call_3", "name": "odd", "arguments": "not json {"}]},
    ])
    blocks = FENCED.findall(markdown)
    assert [(name, lang) for name, _fence, lang, _body in blocks] == [
        ("read_file", "json"), ("run_shell", "json"), ("odd", "")
    ]
    assert json.loads(blocks[0][3]) == stored
    assert json.loads(blocks[1][3]) == {"command": "ls -l"}
    assert blocks[2][3] == "not json {"
    # The fence is longer than any run of backticks inside, so the block ends where it should.
    assert len(blocks[0][1]) > 3
    assert "{'path'" not in markdown and "True" not in markdown and "None" not in markdown
