"""Exposed tool names within provider limits, and MCP results as text (no server needed)."""

from __future__ import annotations

import base64
import re

from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from threadline.agent.mcp.config import NAME_MAX
from threadline.agent.mcp.content import render_result
from threadline.agent.mcp.names import expose_all, exposed_name

PROVIDER_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's rule; Anthropic's is the same


def test_plain_names_are_kept() -> None:
    assert exposed_name("github", "create_issue") == "github__create_issue"
    assert exposed_name("my-notes", "read-file") == "my-notes__read-file"


def test_unfit_names_are_cleaned_deterministically_and_fit_providers() -> None:
    server = "s" * NAME_MAX
    for tool in ["dots.in.name", "spaces in name", "ünïcödé", "x" * 300, "", "a/b:c", "emoji🙂"]:
        name = exposed_name(server, tool)
        assert PROVIDER_NAME.match(name), name
        assert name.startswith(f"{server}__")
        assert name == exposed_name(server, tool)  # the same tool always gets the same name
    assert exposed_name("db", "list.tables") != exposed_name("db", "list_tables")
    assert exposed_name("db", "list.tables").startswith("db__list_tables_")


def test_clashes_inside_a_server_are_settled_whatever_the_listing_order() -> None:
    clean = exposed_name("db", "a.b")  # "db__a_b_<hash>"
    literal = clean.split("__", 1)[1]  # a tool that is literally named like the cleaned form
    tools = ["a.b", literal, "a b", "x" * 80, "x" * 81]
    first = expose_all("db", tools)
    second = expose_all("db", list(reversed(tools)))
    assert first == second
    assert len(set(first.values())) == len(tools)
    assert all(PROVIDER_NAME.match(name) for name in first.values())


def test_results_render_as_text() -> None:
    png = base64.b64encode(bytes(3000)).decode()
    result = CallToolResult(content=[
        TextContent(text="hello"),
        ImageContent(data=png, mime_type="image/png"),
        EmbeddedResource(resource=TextResourceContents(uri="memo://a", text="memo body")),
        EmbeddedResource(resource=BlobResourceContents(uri="file:///x.bin", blob=png, mime_type="application/zip")),
        ResourceLink(uri="file:///notes.md", name="notes.md", mime_type="text/markdown"),
    ])
    assert render_result(result).splitlines() == [
        "hello",
        "[image: image/png, 2.9 KB; not shown to the model]",
        "[resource <memo://a>]",
        "memo body",
        "[resource <file:///x.bin>: application/zip, 2.9 KB; not shown to the model]",
        "[resource link: notes.md <file:///notes.md>, text/markdown]",
    ]
    assert render_result(CallToolResult(content=[], structured_content={"n": 1})) == '{\n  "n": 1\n}'
    assert render_result(CallToolResult(content=[])) == "(no output)"
