"""Password authentication: login, cookie, logout, expiry, rate limiting, setting the password, and
every route of the app refused without the cookie."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.security.conftest import BASE, PASSWORD, client_for, login, page_csrf
from tests.support import concrete_path, route_table
from threadline.web.app import create_app
from threadline.web.auth import COOKIE, PASSWORD_HASH
from threadline.web.login_limit import client_key
from threadline.web.middleware.authentication import PUBLIC_PATHS
from threadline.web.passwords import hash_password, verify_password

EXPECTED_PUBLIC = {"/api/auth/login", "/api/auth/status", "/health", "/health/ready", "/login", "/favicon.ico",
                   "/static/{digest}/{path:path}"}


async def test_auth_is_off_without_a_password(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/auth/status")).json() == {"auth_enabled": False, "logged_in": True}
    assert (await client.get("/api/sessions")).status_code == 200
    login_page = await client.get("/login")
    assert login_page.status_code == 303 and login_page.headers["location"] == "/"


async def test_login_sets_a_safe_cookie_and_opens_the_api(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/api/auth/status")).json() == {"auth_enabled": True, "logged_in": False}
    refused = await anon.get("/api/sessions")
    assert refused.status_code == 401 and refused.json() == {"error": "authentication required"}
    page = await anon.get("/s/abc123")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/s/abc123"
    assert (await anon.get("/")).headers["location"] == "/login"
    login_page = await anon.get("/login")
    assert login_page.status_code == 200 and 'id="login-form"' in login_page.text

    wrong = await login(anon, "nope")
    assert wrong.status_code == 401 and wrong.json() == {"error": "wrong password"}
    assert COOKIE not in wrong.cookies
    response = await login(anon)
    assert response.status_code == 200 and response.json()["logged_in"] is True
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/", "Max-Age=2592000"):
        assert attribute.lower() in header.lower(), attribute
    assert "secure" not in header.lower()  # plain http on loopback
    assert (await anon.get("/api/sessions")).status_code == 200
    assert (await anon.get("/api/auth/status")).json() == {"auth_enabled": True, "logged_in": True}
    assert (await anon.get("/login")).status_code == 303  # already signed in


async def test_cookie_is_secure_over_https(auth_app: FastAPI) -> None:
    async with client_for(auth_app, base_url="https://127.0.0.1:8787") as https:
        assert "secure" in (await login(https)).headers["set-cookie"].lower()
    async with client_for(auth_app) as proxied:
        response = await proxied.post("/api/auth/login", json={"password": PASSWORD},
                                      headers={"X-Forwarded-Proto": "https"})
        assert "secure" in response.headers["set-cookie"].lower()


async def test_logout_revokes_the_token_on_the_server(auth_app: FastAPI, user: httpx.AsyncClient) -> None:
    cookie = user.cookies[COOKIE]
    other = await login(user)  # a second login (another browser) stays valid
    second_cookie = other.cookies[COOKIE]
    user.cookies.set(COOKIE, cookie)
    response = await user.post("/api/auth/logout")
    assert response.status_code == 200 and response.json()["logged_in"] is False
    assert 'threadline_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    async with client_for(auth_app) as thief:  # a copy of the cookie no longer works
        thief.cookies.set(COOKIE, cookie)
        assert (await thief.get("/api/sessions")).status_code == 401
        thief.cookies.set(COOKIE, second_cookie)
        assert (await thief.get("/api/sessions")).status_code == 200


async def test_revocation_and_logins_survive_a_restart(home: Path) -> None:
    settings = make_settings(home, password=PASSWORD)
    first = create_app(settings)
    async with first.router.lifespan_context(first), client_for(first) as c:
        kept = (await login(c)).cookies[COOKIE]
        revoked = (await login(c)).cookies[COOKIE]
        c.cookies.set(COOKIE, revoked)
        assert (await c.post("/api/auth/logout")).status_code == 200
    second = create_app(settings)
    async with second.router.lifespan_context(second), client_for(second) as c:
        c.cookies.set(COOKIE, kept)
        assert (await c.get("/api/sessions")).status_code == 200
        c.cookies.set(COOKIE, revoked)
        assert (await c.get("/api/sessions")).status_code == 401


async def test_tampered_and_expired_cookies_are_refused(auth_app: FastAPI, user: httpx.AsyncClient) -> None:
    good = user.cookies[COOKIE]
    token_id, expires, signature = good.split(".")
    auth = auth_app.state.auth
    forged = [
        f"{token_id}.{int(expires) + 1000}.{signature}",  # extended expiry, old signature
        f"{'0' * 32}.{expires}.{signature}",
        f"{token_id}.{expires}.{'0' * 64}",
        "garbage", "", "a.b.c", "a.b", "." * 5, "x" * 500,
    ]
    async with client_for(auth_app) as c:
        for value in forged:
            c.cookies.set(COOKIE, value)
            assert (await c.get("/api/sessions")).status_code == 401, value
    real_clock = auth.clock
    auth.clock = lambda: real_clock() + auth.settings.auth_cookie_ttl_seconds + 1
    try:
        assert (await user.get("/api/sessions")).status_code == 401
    finally:
        auth.clock = real_clock
    assert (await user.get("/api/sessions")).status_code == 200


async def test_failed_logins_are_rate_limited_per_client(auth_app: FastAPI) -> None:
    limit = auth_app.state.auth.settings.login_rate_limit
    async with client_for(auth_app, ip="203.0.113.7") as attacker, client_for(auth_app, ip="198.51.100.2") as other:
        for _ in range(limit):
            assert (await login(attacker, "guess")).status_code == 401
        blocked = await login(attacker)  # even the right password, until the window passes
        assert blocked.status_code == 429 and "error" in blocked.json()
        assert int(blocked.json()["retry_after"]) >= 1
        assert (await login(other)).status_code == 200
        spoofed = await attacker.post("/api/auth/login", json={"password": "guess"},
                                      headers={"X-Forwarded-For": "10.9.9.9"})
        assert spoofed.status_code == 429  # X-Forwarded-For is not trusted


def test_clients_are_counted_by_address_and_ipv6_by_its_64_block() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("unknown") == "unknown"


def test_scrypt_hashes_are_salted_and_verified() -> None:
    first, second = hash_password("pw-123456"), hash_password("pw-123456")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password("pw-123456", first) and verify_password("pw-123456", second)
    assert not verify_password("pw-1234567", first)
    for broken in ("", "scrypt$", "md5$1$2$3$4$5", "scrypt$x$8$1$AA==$AA=="):
        assert not verify_password("pw", broken)


async def test_setting_the_password_in_settings(app: FastAPI, client: httpx.AsyncClient) -> None:
    short = await client.post("/api/settings", json={"_set_password": "short"})
    assert short.status_code == 400 and "8" in short.json()["error"]
    mixed = await client.post("/api/settings", json={"_set_password": "long enough pw", "theme": "neon"})
    assert mixed.status_code == 400  # a bad preference: nothing changes, auth stays off
    assert (await client.get("/api/auth/status")).json()["auth_enabled"] is False

    response = await client.post("/api/settings", json={"_set_password": "long enough pw", "theme": "dark"})
    assert response.status_code == 200
    body = response.json()
    assert body["auth_enabled"] and body["auth_just_enabled"] and body["logged_in"] and body["theme"] == "dark"
    assert body["password_source"] == "settings"
    assert COOKIE in response.cookies  # whoever set it stays signed in
    stored = await app.state.services.preferences.get_secret(PASSWORD_HASH)
    assert stored.startswith("scrypt$") and "long enough pw" not in stored
    settings_json = (await client.get("/api/settings")).text
    assert "scrypt" not in settings_json and "long enough pw" not in settings_json
    assert (await client.get("/api/sessions")).status_code == 200

    async with client_for(app) as stranger:
        assert (await stranger.get("/api/sessions")).status_code == 401
        assert (await login(stranger, "long enough pw")).status_code == 200
        old_cookie = stranger.cookies[COOKIE]
        # Changing the password ends every other login; the one who changed it gets a new cookie.
        changed = await client.post("/api/settings", json={"_set_password": "another password"})
        assert changed.status_code == 200 and not changed.json()["auth_just_enabled"]
        stranger.cookies.set(COOKIE, old_cookie)
        assert (await stranger.get("/api/sessions")).status_code == 401
        assert (await client.get("/api/sessions")).status_code == 200
        cleared = await client.post("/api/settings", json={"_clear_password": True})
        assert cleared.status_code == 200 and cleared.json()["auth_enabled"] is False
        assert (await stranger.get("/api/sessions")).status_code == 200
        assert await app.state.services.preferences.get_secret(PASSWORD_HASH) is None
    for bad in ({"_clear_password": "yes"}, {"_set_password": 12345678}, {"_set_password": "x" * 2000},
                {"_set_password": "long enough pw", "_clear_password": True}):
        assert (await client.post("/api/settings", json=bad)).status_code == 400, bad


async def test_the_environment_password_cannot_be_changed_from_settings(user: httpx.AsyncClient) -> None:
    for body in ({"_set_password": "a new password"}, {"_clear_password": True}):
        response = await user.post("/api/settings", json=body)
        assert response.status_code == 400 and "THREADLINE_PASSWORD" in response.json()["error"]
    assert (await user.get("/api/settings")).json()["password_source"] == "env"


async def test_every_route_requires_the_cookie(auth_app: FastAPI, anon: httpx.AsyncClient) -> None:
    """Walks the route table, so a route added later is covered without editing this test."""
    checked, public = 0, set()
    for route_path, methods in route_table(auth_app):
        path = concrete_path(route_path)
        for method in sorted(methods):
            checked += 1
            response = await anon.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
            refused = response.status_code == 401 or (
                response.status_code == 303 and response.headers["location"].startswith("/login"))
            if route_path in EXPECTED_PUBLIC or path in PUBLIC_PATHS:
                public.add(route_path)
                assert not refused, (method, route_path)
                continue
            assert refused, (method, route_path, response.status_code, response.text[:200])
            if path.startswith("/api/") or method not in ("GET", "HEAD"):
                assert response.status_code == 401 and response.json() == {"error": "authentication required"}
    assert public == EXPECTED_PUBLIC
    assert checked > 50
    # Paths that match no route are refused too, so they cannot reveal what exists.
    for path in ("/api/nope", "/nope", "/api/auth/loginx", "/static", "/docs", "/openapi.json"):
        assert (await anon.get(path)).status_code in (401, 303), path


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_unsafe_methods_on_pages_get_401_not_a_redirect(anon: httpx.AsyncClient, method: str) -> None:
    response = await anon.request(method, "/")
    assert response.status_code == 401


async def test_the_login_form_is_csrf_protected_and_works_from_the_page(anon: httpx.AsyncClient) -> None:
    token = await page_csrf(anon, "/login")
    browser = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    refused = await anon.post("/api/auth/login", json={"password": PASSWORD}, headers=browser)
    assert refused.status_code == 403
    ok = await anon.post("/api/auth/login", json={"password": PASSWORD}, headers=browser | {"X-CSRF-Token": token})
    assert ok.status_code == 200
