"""``web_search``'s backends, each turned into one list of ``Hit(title, url, snippet)``:

- SearXNG (self-hosted): ``GET <url>/search?q=...&format=json``; the instance must allow the ``json``
  format (``search: formats: [html, json]`` in its settings.yml), else it answers 403.
- Brave Search API: ``GET <url>?q=...&count=N`` with the ``X-Subscription-Token`` header.
- Tavily: ``POST <url> {"query", "max_results"}`` with ``Authorization: Bearer <key>``.

The backends' URLs are the administrator's (Settings), so they are not held to ``web_fetch``'s reach:
a SearXNG on the same machine is the usual case.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
from threadline.agent.web.errors import WebError

SNIPPET_CHARS = 300
MAX_ANSWER_BYTES = 2 * 1024 * 1024
_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Hit:
    title: str
    url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class Backend:
    kind: str  # searxng, brave, tavily
    url: str
    api_key: str | None = None


async def search(backend: Backend, query: str, count: int, *, timeout: float) -> list[Hit]:
    """Up to ``count`` results for ``query``; ``WebError`` with a message for the model otherwise."""
    import httpx  # on first use: the server's start-up does not load it
    async with httpx.AsyncClient(timeout=timeout, trust_env=True, follow_redirects=True) as client:
        try:
            if backend.kind == "searxng":
                answer = await _get_json(client, "GET", backend.url.rstrip("/") + "/search",
                                         params={"q": query, "format": "json"}, backend=backend)
                items, keys = answer.get("results"), ("title", "url", "content")
            elif backend.kind == "brave":
                answer = await _get_json(client, "GET", backend.url, backend=backend,
                                         params={"q": query, "count": str(count)},
                                         headers={"X-Subscription-Token": backend.api_key or "",
                                                  "Accept": "application/json"})
                web = answer.get("web")
                items, keys = (web.get("results") if isinstance(web, dict) else []), ("title", "url", "description")
            elif backend.kind == "tavily":
                answer = await _get_json(client, "POST", backend.url, backend=backend,
                                         json={"query": query, "max_results": count},
                                         headers={"Authorization": f"Bearer {backend.api_key or ''}"})
                items, keys = answer.get("results"), ("title", "url", "content")
            else:
                raise WebError(f"unknown search backend {backend.kind!r}")
        except httpx.TimeoutException:
            raise WebError(f"the search backend ({backend.kind}) did not answer within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise WebError(f"the search backend ({backend.kind}) could not be reached: "
                           f"{exc or type(exc).__name__}") from None
    return _hits(items, keys, count)


async def _get_json(client: httpx.AsyncClient, method: str, url: str, *, backend: Backend,
                    **kwargs: Any) -> dict[str, Any]:
    import httpx  # on first use: the server's start-up does not load it
    async with client.stream(method, url, **kwargs) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise WebError(f"the search backend ({backend.kind}) sent more than {MAX_ANSWER_BYTES:,} bytes")
    status = response.status_code
    if status in (401, 403):
        hint = ("check that the instance allows the json format (search: formats: [html, json])"
                if backend.kind == "searxng" else "check the API key in Settings → Web tools")
        raise WebError(f"the search backend ({backend.kind}) refused the request (HTTP {status}): {hint}")
    if status == 429:
        raise WebError(f"the search backend ({backend.kind}) is rate limited (HTTP 429); try again later")
    if status >= 400:
        raise WebError(f"the search backend ({backend.kind}) answered HTTP {status}")
    try:
        answer = httpx.Response(200, content=bytes(body)).json()
    except ValueError:
        raise WebError(f"the search backend ({backend.kind}) did not answer JSON") from None
    if not isinstance(answer, dict):
        raise WebError(f"the search backend ({backend.kind}) answered JSON of an unexpected shape")
    return answer


def _hits(items: Any, keys: tuple[str, str, str], count: int) -> list[Hit]:
    hits: list[Hit] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        title, url, snippet = (item.get(key) for key in keys)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue
        hits.append(Hit(_clean(title, 200) or url, url, _clean(snippet, SNIPPET_CHARS)))
        if len(hits) >= count:
            break
    return hits


def _clean(value: Any, limit: int) -> str:
    """Text without markup (Brave marks matches with ``<strong>``), on one line, at most ``limit``."""
    if not isinstance(value, str):
        return ""
    text = _SPACE.sub(" ", html.unescape(_TAGS.sub("", value))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_hits(query: str, hits: list[Hit]) -> str:
    """The compact list the model reads: number, title, URL, snippet."""
    if not hits:
        return f"No results for {query!r}."
    lines = []
    for number, hit in enumerate(hits, 1):
        lines.append(f"{number}. {hit.title}\n   {hit.url}" + (f"\n   {hit.snippet}" if hit.snippet else ""))
    return "\n".join(lines)
