"""A real web site on loopback for the web tools' tests: pages, charsets, redirects, huge and slow
bodies, binary content, and search backends shaped like SearXNG's JSON API, Brave's and Tavily's.

    async with web_site() as site:     # site.url == "http://127.0.0.1:P"
        site.hits                      # the paths requested, in order
        site.sent["/huge"]             # bytes the huge body had sent when the client stopped reading
        site.requests                  # (path, headers, query, body) of every request
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.runs.conftest import serve

PAGE = """<!doctype html><html><head><title>Threadline  test page</title>
<script>document.write("not text")</script><style>p { color: red }</style></head>
<body><nav><a href="/">Home</a></nav>
<main><h1>Hello, web</h1><p>A paragraph with a <a href="/docs/next.html">relative link</a> and <b>bold</b> text.</p>
<ul><li>first</li><li>second</li></ul><pre>code  block
  indented</pre></main><footer>footer text</footer></body></html>"""
HUGE_BYTES = 64 * 1024 * 1024
CHUNK = b"<p>" + b"x" * 65_000 + b"</p>\n"
SEARCH_RESULTS = [
    {"title": "Threadline <strong>docs</strong>", "url": "https://example.com/docs", "content": "The &amp; manual"},
    {"title": "Second", "url": "https://example.org/2", "content": "x " * 400},
    {"title": "No URL", "content": "dropped"},
    {"title": "Third", "url": "https://example.net/3", "content": ""},
]
BRAVE_KEY = "brave-test-key-123456"
TAVILY_KEY = "tvly-test-key-123456"


@dataclass
class Site:
    url: str = ""
    hits: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict[str, str], bytes]] = field(default_factory=list)
    searxng_json: bool = True  # False: /search answers 403 to format=json, as a default SearXNG does


def make_app(site: Site) -> Starlette:
    async def record(request: Request) -> None:
        site.hits.append(request.url.path)
        site.requests.append((request.url.path, dict(request.headers), dict(request.query_params),
                              await request.body()))

    async def page(request: Request) -> Response:
        await record(request)
        return Response(PAGE, media_type="text/html")

    async def echo_host(request: Request) -> Response:
        await record(request)
        return PlainTextResponse(f"host={request.headers.get('host')}")

    async def latin1(request: Request) -> Response:
        await record(request)
        return Response("<p>café crème</p>".encode("latin-1"),
                        headers={"content-type": "text/html; charset=ISO-8859-1"})

    async def meta_charset(request: Request) -> Response:
        await record(request)
        body = '<html><head><meta charset="windows-1251"></head><body><p>Привет</p></body></html>'
        return Response(body.encode("cp1251"), headers={"content-type": "text/html"})

    async def undeclared(request: Request) -> Response:
        await record(request)
        return Response("naïve “quotes”".encode("cp1252"), headers={"content-type": "text/plain"})

    async def utf16(request: Request) -> Response:
        await record(request)
        return Response("Grüße aus UTF-16".encode("utf-16"), headers={"content-type": "text/plain"})

    async def redirect(request: Request) -> Response:
        await record(request)
        return RedirectResponse(request.query_params["to"], status_code=int(request.query_params.get("code", "302")))

    async def loop(request: Request) -> Response:
        await record(request)
        return RedirectResponse("/loop", status_code=301)

    async def huge(request: Request) -> Response:
        await record(request)

        async def body() -> AsyncIterator[bytes]:
            site.sent["/huge"] = 0
            while site.sent["/huge"] < HUGE_BYTES:
                site.sent["/huge"] += len(CHUNK)
                yield CHUNK
                await asyncio.sleep(0)

        return StreamingResponse(body(), media_type="text/html")

    async def slow(request: Request) -> Response:
        await record(request)

        async def body() -> AsyncIterator[bytes]:
            yield b"first part arrived. "
            while True:
                await asyncio.sleep(0.2)
                yield b"drip "

        return StreamingResponse(body(), media_type="text/plain")

    async def slow_headers(request: Request) -> Response:
        await record(request)
        await asyncio.sleep(30)
        return PlainTextResponse("too late")

    async def binary(request: Request) -> Response:
        await record(request)
        kind = request.query_params.get("type")
        return Response(b"\x89PNG\r\n\x1a\n\x00\x00\x00", headers={"content-type": kind} if kind else {})

    async def data(request: Request) -> Response:
        await record(request)
        return JSONResponse({"answer": 42})

    async def missing(request: Request) -> Response:
        await record(request)
        return PlainTextResponse("nothing here", status_code=404)

    async def searxng(request: Request) -> Response:
        await record(request)
        if request.query_params.get("format") != "json" or not site.searxng_json:
            return PlainTextResponse("Forbidden", status_code=403)
        return JSONResponse({"query": request.query_params.get("q"), "results": SEARCH_RESULTS})

    async def brave(request: Request) -> Response:
        await record(request)
        if request.headers.get("x-subscription-token") != BRAVE_KEY:
            return JSONResponse({"error": "bad token"}, status_code=401)
        results = [{"title": r.get("title"), "url": r.get("url"), "description": r.get("content")}
                   for r in SEARCH_RESULTS]
        return JSONResponse({"type": "search", "web": {"results": results}})

    async def tavily(request: Request) -> Response:
        await record(request)
        if request.headers.get("authorization") != f"Bearer {TAVILY_KEY}":
            return JSONResponse({"detail": {"error": "Unauthorized"}}, status_code=401)
        body: dict[str, Any] = await request.json()
        return JSONResponse({"query": body["query"], "results": SEARCH_RESULTS[: body.get("max_results", 5)]})

    async def not_json(request: Request) -> Response:
        await record(request)
        return PlainTextResponse("<html>oops</html>")

    return Starlette(routes=[
        Route("/page.html", page), Route("/host", echo_host), Route("/latin1", latin1),
        Route("/meta-charset", meta_charset), Route("/undeclared", undeclared), Route("/utf16", utf16),
        Route("/redirect", redirect), Route("/loop", loop), Route("/huge", huge), Route("/slow", slow),
        Route("/slow-headers", slow_headers), Route("/binary", binary), Route("/data.json", data),
        Route("/missing", missing), Route("/search", searxng), Route("/brave", brave),
        Route("/tavily", tavily, methods=["POST"]), Route("/not-json/search", not_json),
    ])


@contextlib.asynccontextmanager
async def web_site() -> AsyncIterator[Site]:
    site = Site()
    async with serve(make_app(site)) as url:  # type: ignore[arg-type]
        site.url = url
        yield site
