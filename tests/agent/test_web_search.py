"""``web_search`` against local servers shaped like SearXNG's JSON API, Brave's and Tavily's (the
backends' URLs pointed at them, as the settings allow), and its failures (issue 14 item 7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web_site import BRAVE_KEY, TAVILY_KEY, Site, web_site
from threadline.agent.tools.base import ToolContext, ToolResult
from threadline.agent.tools.web import WebSearch
from threadline.agent.web.search import Backend
from threadline.workspace.jail import Jail

EXPECTED = (
    "1. Threadline docs\n   https://example.com/docs\n   The & manual\n"
    "2. Second\n   https://example.org/2\n   " + ("x " * 150).strip()[:299] + "…\n"
    "3. Third\n   https://example.net/3"
)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with web_site() as running:
        yield running


async def search(backend: Backend, query: str = "threadline", **args: object) -> ToolResult:
    tool = WebSearch(backend, timeout=5)
    return await tool.run({"query": query, **args}, ToolContext(jail=Jail(Path("/tmp"))))


async def test_searxng_json(site: Site) -> None:
    result = await search(Backend("searxng", site.url + "/"), "what is  threadline")
    assert not result.is_error and result.text == EXPECTED
    path, _headers, query, _body = site.requests[-1]
    assert path == "/search" and query == {"q": "what is  threadline", "format": "json"}
    site.searxng_json = False
    refused = await search(Backend("searxng", site.url))
    assert refused.is_error and "formats: [html, json]" in refused.text


async def test_brave_and_tavily_shapes(site: Site) -> None:
    brave = await search(Backend("brave", site.url + "/brave", BRAVE_KEY), count=2)
    assert not brave.is_error and brave.text == EXPECTED.split("\n3.")[0]
    assert site.requests[-1][2] == {"q": "threadline", "count": "2"}
    tavily = await search(Backend("tavily", site.url + "/tavily", TAVILY_KEY))
    assert not tavily.is_error and tavily.text == EXPECTED
    assert site.requests[-1][3] == b'{"query":"threadline","max_results":5}'
    for backend in (Backend("brave", site.url + "/brave", "wrong"), Backend("tavily", site.url + "/tavily", "x")):
        bad = await search(backend)
        assert bad.is_error and "HTTP 401" in bad.text and "check the API key" in bad.text


async def test_search_failures_are_clear(site: Site) -> None:
    not_json = await search(Backend("searxng", site.url + "/not-json"))
    assert not_json.is_error and "did not answer JSON" in not_json.text
    down = await search(Backend("searxng", "http://127.0.0.1:9"))
    assert down.is_error and "could not be reached" in down.text
    empty = await search(Backend("searxng", site.url), "   ")
    assert empty.is_error and "query is empty" in empty.text
    assert (await search(Backend("tavily", site.url + "/tavily", TAVILY_KEY), count=1)).text.count("\n1.") == 0
