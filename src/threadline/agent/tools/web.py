"""``web_fetch`` and ``web_search``: the agent reads a web page, or searches the web (issue 14 item 7).

Both reach the network, so both ask first (the one approval policy, ``runs/approvals.py``). A standing
approval of ``web_fetch`` covers one host (``example.com``, or ``host:port`` off the default port):
"always" on a page of the docs' site lets the agent read the rest of that site, not the whole web.
One of ``web_search`` covers its backend (``searxng``, ``brave``, ``tavily``): switching to another
backend, which sends the queries elsewhere, asks again. The machinery is ``agent/web``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult, error
from threadline.agent.web.errors import WebError
from threadline.agent.web.fetching import FetchLimits, Page, fetch
from threadline.agent.web.markdown import to_markdown
from threadline.agent.web.reach import Reach, Resolver
from threadline.agent.web.search import Backend, format_hits, search

MAX_RESULTS = 10
DEFAULT_RESULTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_pattern(url: Any) -> str | None:
    """What a standing approval of fetching ``url`` covers: its host in lower case (IDNA), with the
    port when it is not the scheme's default; None for a URL that is not http(s)."""
    if not isinstance(url, str):
        return None
    import httpx  # on first use (the provider SDKs' warm-up has usually loaded it): not at start-up

    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
        return None
    host = parsed.raw_host.decode("ascii").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parsed.port
    return host if port in (None, DEFAULT_PORTS[parsed.scheme]) else f"{host}:{port}"


class WebFetch(Tool):
    name = "web_fetch"
    description = (
        "Fetch a web page (http or https) and return its readable content as Markdown (HTML) or as text "
        "(plain text, JSON, XML...). Redirects are followed. Large pages are cut; binary content (images, "
        "PDF...) is refused. Private and local network addresses are refused unless the user allowed them."
    )
    parameters = {
        "type": "object",
        "properties": {"url": {"type": "string", "description": "The absolute http:// or https:// URL."}},
        "required": ["url"],
        "additionalProperties": False,
    }
    dangerous = True

    def __init__(self, reach: Reach, limits: FetchLimits, *, resolver: Resolver | None = None) -> None:
        self.reach = reach
        self.limits = limits
        self.resolver = resolver  # tests: a resolver of their own

    def describe(self, args: dict[str, Any]) -> str:
        return f"Fetch {str(args.get('url', ''))[:1000]}"

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        host = host_pattern(args.get("url"))
        if host is None:
            return ApprovalScope(None, "it is not an http or https URL")
        return ApprovalScope((host,), covers=f"“Always” allows fetching any page of {host}, in every chat; "
                                             "“For this chat” only here.")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        url = args["url"].strip()
        try:
            page = await fetch(url, reach=self.reach, limits=self.limits, resolver=self.resolver)
        except WebError as exc:
            return error(f"web_fetch: {exc.message}")
        return ToolResult(await asyncio.to_thread(render, page))


def render(page: Page) -> str:
    """What the model reads of a page: a header (URL, title), the content, a note of any cut."""
    title = ""
    text = page.text
    if page.is_html:
        converted = to_markdown(page.text, page.url)
        title, text = converted.title, converted.markdown
    head = [f"URL: {page.url}"] + ([f"Title: {title}"] if title else []) + [f"Content-Type: {page.content_type}"]
    note = f"\n\n[{page.cut}]" if page.cut else ""
    return "\n".join(head) + "\n\n" + (text.strip() or "(the page has no readable text)") + note


class WebSearch(Tool):
    name = "web_search"
    description = (
        "Search the web. Returns a numbered list of results, each with its title, URL and a snippet; "
        "read a result with web_fetch."
    )
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to search for."},
            "count": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": DEFAULT_RESULTS,
                      "description": f"How many results (1 to {MAX_RESULTS})."},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    dangerous = True

    def __init__(self, backend: Backend, *, timeout: float) -> None:
        self.backend = backend
        self.timeout = timeout

    def describe(self, args: dict[str, Any]) -> str:
        return f"Search the web ({self.backend.kind}) for: {str(args.get('query', ''))[:500]}"

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        kind = self.backend.kind
        return ApprovalScope((kind,), covers=f"“Always” allows every web search through {kind}, in every chat; "
                                             "“For this chat” only here.")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        query = args["query"].strip()
        if not query:
            return error("web_search: the query is empty")
        count = args.get("count")
        count = DEFAULT_RESULTS if count is None else min(MAX_RESULTS, max(1, int(count)))
        try:
            hits = await search(self.backend, query, count, timeout=self.timeout)
        except WebError as exc:
            return error(f"web_search: {exc.message}")
        return ToolResult(format_hits(query, hits))
