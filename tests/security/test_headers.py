"""Security headers on every kind of response, the /docs exception, and content-hashed static assets."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.security.conftest import client_for
from threadline.web.app import create_app
from threadline.web.middleware.headers import CSP
from threadline.web.pages import IMMUTABLE, STATIC_DIR

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
CSP_PARTS = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
             "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
             "object-src 'none'"]


def assert_secure_headers(response: httpx.Response, *, csp: str | None = CSP) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "camera=()" in response.headers["permissions-policy"]
    if csp is not None:
        assert response.headers["content-security-policy"] == csp, response.request.url
    assert "unsafe-inline" not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]


async def test_the_csp_is_strict() -> None:
    for part in CSP_PARTS:
        assert part in CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP and "*" not in CSP


async def test_every_kind_of_response_carries_the_headers(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    prefix = re.search(r'src="(/static/[0-9a-f]+)/js/app\.js"', index.text)
    assert prefix
    responses = [
        index, await client.get("/s/abcdef"), await client.get("/api/sessions"), await client.get("/health"),
        await client.get("/api/nope"), await client.post("/api/session/rename", json={}),
        await client.post("/api/session/new", json={}, headers={"Origin": "http://evil.example"}),
        await client.get(f"{prefix.group(1)}/js/app.js"), await client.get("/static/0/nope.js"),
        await client.get("/openapi.json"), await client.get("/favicon.ico"),
        await client.post("/api/session/new", content=b"x" * (21 * 1024 * 1024)),
    ]
    for response in responses:
        assert_secure_headers(response)
    assert [r.status_code for r in responses[4:7]] == [404, 400, 403]
    assert responses[-1].status_code == 413


async def test_redirects_and_401_carry_the_headers(anon: httpx.AsyncClient) -> None:
    for response in (await anon.get("/"), await anon.get("/api/sessions"), await anon.get("/login")):
        assert_secure_headers(response)


async def test_the_event_stream_carries_the_headers(client: httpx.AsyncClient, app: FastAPI) -> None:
    # An unknown stream answers JSON 404; the header wrapper covers streamed bodies the same way.
    response = await client.get("/api/chat/stream", params={"stream_id": "nope"})
    assert response.status_code == 404
    assert_secure_headers(response)


async def test_docs_has_its_own_csp_with_the_inline_script_hash(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    csp = docs.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "unsafe-inline" not in script_src and "https://cdn.jsdelivr.net" in script_src
    assert "frame-ancestors 'none'" in csp
    assert_secure_headers(docs, csp=None)
    schema = await client.get("/openapi.json")
    assert schema.status_code == 200 and "/api/list" in schema.json()["paths"]


async def test_static_assets_are_content_hashed_and_cached_for_a_year(app: FastAPI, client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    assert index.headers["cache-control"] == "no-store"
    digest = app.state.assets.hash
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', index.text)
    assert urls and all(u.startswith(f"/static/{digest}/") for u in urls)
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == IMMUTABLE
    stale = await client.get(urls[0].replace(digest, "0" * len(digest)))
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert (await client.get(f"/static/{digest}/js/app.js")).headers["content-type"].startswith("text/javascript")
    for path in (f"/static/{digest}/../pyproject.toml", f"/static/{digest}/%2e%2e/app.py", f"/static/{digest}/"):
        response = await client.get(path, follow_redirects=True)
        assert response.status_code == 404 and "threadline" not in response.text, path


def test_pages_have_no_inline_script_or_style() -> None:
    for page in STATIC_DIR.glob("*.html"):
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.name
        assert "<style" not in html and not re.search(r"\sstyle=", html), page.name
        assert not re.search(r"\son[a-z]+=", html), page.name  # no inline event handlers
        assert 'data-csrf="{{csrf}}"' in html, page.name


async def test_the_login_page_links_only_hashed_assets(anon: httpx.AsyncClient, auth_app: FastAPI) -> None:
    page = await anon.get("/login")
    digest = auth_app.state.assets.hash
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert f"/static/{digest}/js/login.js" in urls
    for url in urls:
        assert (await anon.get(url)).status_code == 200, url  # static assets are public


async def test_https_clients_get_the_same_headers(app: FastAPI) -> None:
    async with client_for(app, base_url="https://127.0.0.1:8787") as c:
        assert_secure_headers(await c.get("/api/sessions"))


async def test_a_bug_answers_500_with_the_headers(home: Path) -> None:
    """Starlette answers unhandled errors outside every middleware; the answer still has the headers."""
    app = create_app(make_settings(home))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/broken-for-test", broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            response = await client.get("/api/broken-for-test")
    assert response.status_code == 500 and response.json() == {"error": "internal server error"}
    assert response.headers["cache-control"] == "no-store"
    assert_secure_headers(response)
