"""``web_fetch`` against a real web site on loopback (tests/web_site.py): loopback refused by default,
reached only when allowed; redirects re-checked hop by hop; size and time limits; content types;
charsets; every resolved address checked and the connection pinned to the checked one (issue 14 item 7)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.web_site import HUGE_BYTES, Site, web_site
from threadline.agent.tools.base import ToolContext, ToolResult
from threadline.agent.tools.web import WebFetch, host_pattern
from threadline.agent.web.errors import WebError
from threadline.agent.web.fetching import FetchLimits, _next_hop
from threadline.agent.web.reach import Reach, Resolver, not_public
from threadline.workspace.jail import Jail

OPEN = Reach(allow_private=True)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with web_site() as running:
        yield running


def port_of(site: Site) -> int:
    return int(site.url.rsplit(":", 1)[1])


async def fetch(url: str, reach: Reach = OPEN, tmp: Path | None = None, resolver: Resolver | None = None,
                **limits: float) -> ToolResult:
    tool = WebFetch(reach, FetchLimits(**limits), resolver=resolver)  # type: ignore[arg-type]
    return await tool.run({"url": url}, ToolContext(jail=Jail(tmp or Path("/tmp"))))


async def test_loopback_is_refused_by_default_and_nothing_is_sent(site: Site) -> None:
    port = port_of(site)
    for url in (f"{site.url}/page.html", f"http://localhost:{port}/page.html", f"http://[::1]:{port}/",
                f"http://0.0.0.0:{port}/", f"http://[::ffff:127.0.0.1]:{port}/"):
        result = await fetch(url, Reach())
        assert result.is_error, url
        assert "refused" in result.text and "Settings → Web tools" in result.text, result.text
    assert site.hits == []
    assert "loopback" in (await fetch(f"http://localhost:{port}/", Reach())).text


async def test_an_allowed_page_comes_back_as_markdown(site: Site) -> None:
    result = await fetch(f"{site.url}/page.html")
    assert not result.is_error, result.text
    text = result.text
    assert text.startswith(f"URL: {site.url}/page.html\nTitle: Threadline test page\nContent-Type: text/html\n\n")
    assert "# Hello, web" in text
    assert f"[relative link]({site.url}/docs/next.html)" in text and "**bold**" in text
    assert "- first\n- second" in text and "```\ncode  block\n  indented\n```" in text
    for hidden in ("not text", "color: red", "footer text", "Home"):
        assert hidden not in text
    assert site.requests[-1][1]["user-agent"].startswith("Mozilla/5.0 (compatible; Threadline")


async def test_one_private_host_may_be_allowed_alone(site: Site) -> None:
    port = port_of(site)
    reach = Reach(private_hosts=frozenset({f"127.0.0.1:{port}"}))
    assert not (await fetch(f"{site.url}/page.html", reach)).is_error
    refused = await fetch(f"http://localhost:{port}/page.html", reach)  # the same server by another name
    assert refused.is_error and "localhost (which resolves to 127.0.0.1)" in refused.text
    assert site.hits == ["/page.html"]


async def test_each_redirect_hop_is_checked(site: Site) -> None:
    port = port_of(site)
    reach = Reach(private_hosts=frozenset({f"127.0.0.1:{port}"}))
    followed = await fetch(f"{site.url}/redirect?to=/page.html", reach)
    assert not followed.is_error and followed.text.startswith(f"URL: {site.url}/page.html\n")
    for target in (f"http://localhost:{port}/page.html", "http://169.254.169.254/latest/meta-data/",
                   f"http://[::1]:{port}/page.html", "http://10.0.0.1/", "http://192.168.1.1:8080/",
                   "http://224.0.0.1/", "file:///etc/passwd", "ftp://example.com/"):
        site.hits.clear()
        result = await fetch(f"{site.url}/redirect?to={target}&code=307", reach)
        assert result.is_error and "refused" in result.text, (target, result.text)
        assert site.hits == ["/redirect"], target  # the refused hop was never requested
    with pytest.raises(WebError, match="redirected to an invalid URL"):
        _next_hop(httpx.URL(site.url), "http://bad\x00/")
    looping = await fetch(f"{site.url}/loop", OPEN, max_redirects=3)
    assert looping.is_error and "stopped after 3 redirects" in looping.text


async def test_a_huge_body_is_cut_at_the_limit_and_not_read_further(site: Site) -> None:
    started = time.monotonic()
    result = await fetch(f"{site.url}/huge", max_bytes=200_000)
    assert not result.is_error
    assert "[the page is larger than 200,000 bytes; only the first ones were read]" in result.text
    assert len(result.text) < 210_000
    assert site.sent["/huge"] < HUGE_BYTES // 4  # the server was not read to its end
    assert time.monotonic() - started < 10


async def test_slow_pages_stop_at_the_time_limit(site: Site) -> None:
    started = time.monotonic()
    partial = await fetch(f"{site.url}/slow", timeout=1.0)
    assert not partial.is_error and "first part arrived." in partial.text
    assert "still arriving after 1 s" in partial.text
    silent = await fetch(f"{site.url}/slow-headers", timeout=1.0)
    assert silent.is_error and "did not answer within 1 s" in silent.text
    assert time.monotonic() - started < 5


async def test_content_types(site: Site) -> None:
    for kind in ("image/png", "application/pdf", "application/octet-stream"):
        result = await fetch(f"{site.url}/binary?type={kind}")
        assert result.is_error and f"is {kind}, not text" in result.text
    untyped = await fetch(f"{site.url}/binary")
    assert untyped.is_error and "looks binary" in untyped.text
    data = await fetch(f"{site.url}/data.json")
    assert not data.is_error and data.text.endswith('{"answer":42}')
    missing = await fetch(f"{site.url}/missing")
    assert missing.is_error and "HTTP 404 Not Found" in missing.text


async def test_charsets(site: Site) -> None:
    assert "café crème" in (await fetch(f"{site.url}/latin1")).text
    assert "Привет" in (await fetch(f"{site.url}/meta-charset")).text
    assert "naïve “quotes”" in (await fetch(f"{site.url}/undeclared")).text
    assert "Grüße aus UTF-16" in (await fetch(f"{site.url}/utf16")).text


async def test_bad_urls_are_errors_not_crashes() -> None:
    for url in ("not a url", "/relative/path", "javascript:alert(1)", "http://", "http://exa mple.com/"):
        result = await fetch(url, Reach())
        assert result.is_error, url


async def test_every_resolved_address_is_checked_and_the_connection_pinned(site: Site) -> None:
    port = port_of(site)

    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]  # a public answer cannot hide a private one

    result = await fetch(f"http://mixed.test:{port}/", Reach(), resolver=mixed)
    assert result.is_error and "mixed.test (which resolves to 127.0.0.1)" in result.text

    lookups: list[str] = []

    async def pinned(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    # The system resolver does not know pinned.test: the connection goes to the checked address.
    allowed = Reach(private_hosts=frozenset({"pinned.test"}))
    result = await fetch(f"http://pinned.test:{port}/host", allowed, resolver=pinned)
    assert not result.is_error, result.text
    assert result.text.endswith(f"host=pinned.test:{port}") and lookups == ["pinned.test"]


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "a loopback"), ("::1", "a loopback"), ("10.1.2.3", "a private"), ("172.16.0.1", "a private"),
    ("192.168.0.1", "a private"), ("169.254.169.254", "a link-local"), ("fe80::1", "a link-local"),
    ("224.0.0.251", "a multicast"), ("ff02::1", "a multicast"), ("0.0.0.0", "an unspecified"),
    ("::", "an unspecified"), ("100.64.0.1", "a reserved"), ("fc00::1", "a private"),
    ("::ffff:10.0.0.1", "a private"), ("64:ff9b::7f00:1", "a loopback"), ("2002:7f00:1::", "a loopback"),
    ("93.184.215.14", None), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None), ("8.8.8.8", None),
])
def test_which_addresses_are_public(address: str, kind: str | None) -> None:
    found = not_public(ipaddress.ip_address(address))
    assert found == (f"{kind} address" if kind else None), (address, found)


def test_what_always_covers_is_the_host() -> None:
    assert host_pattern("https://Docs.Example.com/a?b=1") == "docs.example.com"
    assert host_pattern("http://example.com:80/") == "example.com"
    assert host_pattern("https://example.com:8443/x") == "example.com:8443"
    assert host_pattern("http://[::1]:8080/") == "[::1]:8080"
    assert host_pattern("https://bücher.example/") == "xn--bcher-kva.example"
    for bad in ("file:///etc/passwd", "nonsense", 3, None, ""):
        assert host_pattern(bad) is None
    tool = WebFetch(Reach(), FetchLimits())
    scope = tool.approval_scope({"url": "https://example.com/page"}, ToolContext(jail=Jail(Path("/tmp"))))
    assert scope.patterns == ("example.com",) and "fetching any page of example.com" in scope.covers
    assert tool.approval_scope({"url": "ftp://x"}, ToolContext(jail=Jail(Path("/tmp")))).patterns is None
