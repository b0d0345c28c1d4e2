"""Fixtures for the security tests: the real app with a password, and helpers for cookies and CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from threadline.settings import Settings
from threadline.web.app import create_app

PASSWORD = "correct horse battery staple"
BASE = "http://127.0.0.1:8787"
ORIGIN = {"Origin": BASE}


@pytest.fixture
def auth_settings(home: Path) -> Settings:
    return make_settings(home, password=PASSWORD)


@pytest.fixture
async def auth_app(auth_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(auth_settings)
    async with application.router.lifespan_context(application):
        yield application


def client_for(app: FastAPI, *, ip: str = "127.0.0.1", base_url: str = BASE) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def anon(auth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the password-protected app, not logged in."""
    async with client_for(auth_app) as c:
        yield c


async def login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    response = await client.post("/api/auth/login", json={"password": password})
    return response


@pytest.fixture
async def user(auth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the password-protected app, logged in (the cookie is in its jar)."""
    async with client_for(auth_app) as c:
        response = await login(c)
        assert response.status_code == 200, response.text
        yield c


async def page_csrf(client: httpx.AsyncClient, path: str = "/") -> str:
    """The token the server put in ``<body data-csrf>`` for this client."""
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    match = re.search(r'data-csrf="([^"]*)"', response.text)
    assert match and match.group(1), "no data-csrf on the page"
    return match.group(1)
