"""CSRF: unsafe methods need the same origin and, from a browser, the page's token; the DNS-rebinding
guard on a loopback server without a password."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.security.conftest import BASE, PASSWORD, client_for, login, page_csrf
from threadline.web.app import create_app

NEW = "/api/session/new"


async def test_scripts_without_browser_headers_pass(client: httpx.AsyncClient) -> None:
    assert (await client.post(NEW, json={})).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://127.0.0.1:9999"},  # another port is another origin
    {"Origin": "https://127.0.0.1"},  # another scheme and so, by default, another port
    {"Origin": "null"},
    {"Origin": "not a url"},
    {"Referer": "http://evil.example/page"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": BASE, "Sec-Fetch-Site": "cross-site"},
])
async def test_cross_origin_requests_are_refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    token = await page_csrf(client)
    response = await client.post(NEW, json={}, headers=headers | {"X-CSRF-Token": token})
    assert response.status_code == 403, headers
    assert "error" in response.json()


async def test_browser_requests_need_the_page_token(client: httpx.AsyncClient) -> None:
    token = await page_csrf(client)
    browser = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    for headers in (browser, browser | {"X-CSRF-Token": "wrong"}, browser | {"X-CSRF-Token": token[:-1]},
                    {"Sec-Fetch-Site": "same-origin"}, {"Origin": BASE}):
        response = await client.post(NEW, json={}, headers=headers)
        assert response.status_code == 403 and "CSRF" in response.json()["error"], headers
    for headers in (browser, {"Sec-Fetch-Site": "none"}, {"Referer": f"{BASE}/s/abc"}):
        response = await client.post(NEW, json={}, headers=headers | {"X-CSRF-Token": token})
        assert response.status_code == 200, headers


async def test_the_get_cancel_gets_the_same_checks(client: httpx.AsyncClient) -> None:
    token = await page_csrf(client)
    params = {"stream_id": "abc"}
    cross = await client.get("/api/chat/cancel", params=params, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    no_token = await client.get("/api/chat/cancel", params=params, headers={"Origin": BASE})
    assert no_token.status_code == 403
    ok = await client.get("/api/chat/cancel", params=params, headers={"Origin": BASE, "X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json()["cancelled"] is False
    # Other GETs change nothing and need no token.
    assert (await client.get("/api/sessions", headers={"Sec-Fetch-Site": "cross-site"})).status_code == 200


async def test_allowed_origins_may_call_cross_origin(home: Path) -> None:
    app = create_app(make_settings(home, allowed_origins=["https://ui.example.com"]))
    async with app.router.lifespan_context(app), client_for(app) as c:
        token = await page_csrf(c)
        headers = {"Origin": "https://ui.example.com", "Sec-Fetch-Site": "cross-site", "X-CSRF-Token": token}
        assert (await c.post(NEW, json={}, headers=headers)).status_code == 200
        headers["Origin"] = "https://ui.example.com:8443"
        assert (await c.post(NEW, json={}, headers=headers)).status_code == 403


async def test_origin_matching_is_scheme_and_port_aware(home: Path) -> None:
    app = create_app(make_settings(home, password=PASSWORD))
    async with app.router.lifespan_context(app):
        cases = [
            ("https://threadline.example", "https://threadline.example", 200),  # default port 443 both sides
            ("https://threadline.example", "https://threadline.example:443", 200),
            ("http://threadline.example:8080", "http://threadline.example:8080", 200),
            ("https://threadline.example", "http://threadline.example", 403),
            ("http://threadline.example", "https://threadline.example", 403),
            ("http://[::1]:8787", "http://[::1]:8787", 200),
            ("http://[::1]:8787", "http://[::2]:8787", 403),
        ]
        async with client_for(app, base_url="http://threadline.example") as proxied:  # TLS ended by a proxy
            assert (await login(proxied)).status_code == 200
            headers = {"Origin": "https://threadline.example", "X-CSRF-Token": await page_csrf(proxied)}
            assert (await proxied.post(NEW, json={}, headers=headers)).status_code == 403
            headers["X-Forwarded-Proto"] = "https"
            assert (await proxied.post(NEW, json={}, headers=headers)).status_code == 200
        for base, origin, status in cases:
            async with client_for(app, base_url=base) as c:
                assert (await login(c)).status_code == 200
                token = await page_csrf(c)
                response = await c.post(NEW, json={}, headers={"Origin": origin, "X-CSRF-Token": token})
                assert response.status_code == status, (base, origin, response.text)


async def test_the_token_is_bound_to_the_login(auth_app: FastAPI) -> None:
    async with client_for(auth_app) as alice, client_for(auth_app) as bob:
        anonymous = await page_csrf(alice, "/login")
        await login(alice)
        await login(bob)
        alice_token, bob_token = await page_csrf(alice), await page_csrf(bob)
        assert len({anonymous, alice_token, bob_token}) == 3
        browser = {"Origin": BASE}
        for token in (anonymous, bob_token):
            response = await alice.post(NEW, json={}, headers=browser | {"X-CSRF-Token": token})
            assert response.status_code == 403
        assert (await alice.post(NEW, json={}, headers=browser | {"X-CSRF-Token": alice_token})).status_code == 200
        # A script with the cookie and no browser headers passes; without the cookie it does not.
        assert (await alice.post(NEW, json={})).status_code == 200
    async with client_for(auth_app) as script:
        assert (await script.post(NEW, json={})).status_code == 401


async def test_dns_rebinding_is_refused_without_a_password(app: FastAPI) -> None:
    for host in ("evil.example:8787", "rebind.attacker.test", "192.168.1.20:8787"):
        async with client_for(app, base_url=f"http://{host}") as c:
            response = await c.get("/api/sessions")
            assert response.status_code == 403 and "DNS" in response.json()["error"], host
    for host in ("localhost:8787", "127.0.0.1", "[::1]:8787", "app.localhost:8787", "127.0.0.2:8787"):
        async with client_for(app, base_url=f"http://{host}") as c:
            assert (await c.get("/api/sessions")).status_code == 200, host


async def test_dns_rebinding_guard_allows_configured_names_and_password_servers(home: Path) -> None:
    named = create_app(make_settings(home, allowed_origins=["https://threadline.example"]))
    async with named.router.lifespan_context(named), client_for(named, base_url="https://threadline.example") as c:
        assert (await c.get("/api/sessions")).status_code == 200
    protected = create_app(make_settings(home, password=PASSWORD))
    async with protected.router.lifespan_context(protected), client_for(protected, base_url="http://nas.lan") as c:
        assert (await c.get("/api/sessions")).status_code == 401  # the password is the guard
        assert (await login(c)).status_code == 200
        assert (await c.get("/api/sessions")).status_code == 200
