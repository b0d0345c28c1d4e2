"""One GET of a web page for ``web_fetch``: redirects followed by hand (each hop's URL checked, each
new connection checked by ``reach.GuardedBackend``), a time limit on the whole (redirects included),
a size limit on the body (read as a stream and stopped there), text content types only, and the body
decoded by its charset (the header, a byte order mark, an HTML ``<meta>``; else UTF-8, else
windows-1252, HTML's fallback).
"""

from __future__ import annotations

import asyncio
import codecs
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx
from threadline.agent.web.errors import Refused, WebError
from threadline.agent.web.reach import Reach, Resolver, guarded_transport

USER_AGENT = "Mozilla/5.0 (compatible; Threadline web_fetch)"
TEXT_TYPES = frozenset({
    "application/json", "application/xml", "application/xhtml+xml", "application/javascript",
    "application/x-javascript", "application/ecmascript", "application/x-sh", "application/x-yaml",
    "application/yaml", "application/toml", "application/x-ndjson", "application/sql", "application/graphql",
})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 20.0  # seconds for the whole fetch, redirects included
    max_bytes: int = 2 * 1024 * 1024  # of the body; the rest is not read
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str  # the media type alone, lower case
    text: str
    size: int  # bytes read
    cut: str | None = None  # why the body was not read to its end, or None

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES


def check_url(url: str) -> httpx.URL:
    """``url`` parsed, when it is an absolute http(s) URL; else ``Refused``/``WebError``."""
    import httpx  # on first use: the server's start-up does not load it
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise WebError(f"not a valid URL: {url[:300]!r} ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise Refused(f"refused {url[:300]}: only http and https URLs can be fetched, not "
                      f"{parsed.scheme + ':' if parsed.scheme else 'a relative URL'}")
    if not parsed.host:
        raise WebError(f"the URL has no host: {url[:300]}")
    return parsed


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def is_text(kind: str) -> bool:
    return kind.startswith("text/") or kind in TEXT_TYPES or kind.endswith(("+xml", "+json"))


async def fetch(url: str, *, reach: Reach, limits: FetchLimits, resolver: Resolver | None = None) -> Page:
    """The page at ``url`` (see the module's docstring); ``WebError`` when there is none to give."""
    import httpx  # on first use: the server's start-up does not load it
    current = check_url(url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.timeout
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
               "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"}
    transport = await guarded_transport(reach, resolver)
    async with httpx.AsyncClient(transport=transport, headers=headers, timeout=limits.timeout,
                                 follow_redirects=False, trust_env=False) as client:
        for _hop in range(limits.max_redirects + 1):
            try:
                async with asyncio.timeout_at(deadline):
                    response = await client.send(client.build_request("GET", current), stream=True)
            except TimeoutError:
                raise WebError(f"{current} did not answer within {limits.timeout:g} s") from None
            except httpx.TransportError as exc:
                raise WebError(f"{current} could not be reached: {exc or type(exc).__name__}") from None
            try:
                if response.is_redirect:
                    current = _next_hop(current, response.headers["location"])
                    continue
                return await _read(response, deadline, limits)
            finally:
                await response.aclose()
    raise WebError(f"stopped after {limits.max_redirects} redirects (the last to {current})")


def _next_hop(current: httpx.URL, location: str) -> httpx.URL:
    import httpx  # on first use: the server's start-up does not load it
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise WebError(f"{current} redirected to an invalid URL: {location[:300]!r}") from None
    return check_url(str(target))


async def _read(response: httpx.Response, deadline: float, limits: FetchLimits) -> Page:
    import httpx  # on first use: the server's start-up does not load it
    url = str(response.url)
    if response.status_code >= 400:
        raise WebError(f"{url} answered HTTP {response.status_code} {response.reason_phrase}".rstrip())
    kind = media_type(response.headers.get("content-type"))
    if kind and not is_text(kind):
        raise WebError(f"{url} is {kind}, not text: web_fetch reads HTML and other text pages only")
    body = bytearray()
    cut = None
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limits.max_bytes:
                    cut = f"the page is larger than {limits.max_bytes:,} bytes; only the first ones were read"
                    del body[limits.max_bytes:]
                    break
    except TimeoutError:
        if not body:
            raise WebError(f"{url} sent nothing within {limits.timeout:g} s") from None
        cut = f"the page was still arriving after {limits.timeout:g} s; only the first {len(body):,} bytes were read"
    except httpx.TransportError as exc:
        if not body:
            raise WebError(f"{url} could not be read: {exc or type(exc).__name__}") from None
        cut = f"the connection failed after {len(body):,} bytes ({exc or type(exc).__name__})"
    data = bytes(body)
    if not kind:
        kind = _sniff(data)
    return Page(url, response.status_code, kind, decode(data, response.headers.get("content-type"), kind in HTML_TYPES),
                len(data), cut)


def _sniff(data: bytes) -> str:
    """The media type of a body sent without one: HTML, plain text, or refused as binary."""
    head = data[:1024]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise WebError("the page has no content type and looks binary: web_fetch reads text pages only")
    return "text/html" if re.search(rb"<(!doctype html|html|head|body)\b", head, re.IGNORECASE) else "text/plain"


def decode(data: bytes, content_type: str | None, html: bool) -> str:
    """``data`` as text: the charset of ``content_type``, else a byte order mark, else (HTML) a
    ``<meta charset>`` near the start, else UTF-8 when it is, else windows-1252. Undecodable bytes
    become U+FFFD; a character cut at the end by the size limit is dropped."""
    charset = _charset_param(content_type)
    for bom, name in _BOMS:
        if data.startswith(bom):
            charset = name
    if charset is None and html:
        found = _META_CHARSET.search(data[:4096])
        charset = found.group(1).decode("ascii") if found else None
    if charset is not None:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            codec = None
        if codec is not None:
            if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
                codec = "utf-8-sig"
            return codecs.getincrementaldecoder(codec)(errors="replace").decode(data, final=False)
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _charset_param(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            return value.strip().strip("\"'")
    return None
