"""Shared fixtures: a real app on a temporary SQLite database, called in-process over httpx."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from threadline.settings import Settings
from threadline.web.app import create_app


def make_settings(home: Path, **overrides: object) -> Settings:
    workspace = home / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "home": home,
        "default_workspace": workspace,
        "workspace_roots": [home],
        "detect_ollama": False,
    }
    if os.environ.get("THREADLINE_TEST_DATABASE_URL"):
        values["database_url"] = os.environ["THREADLINE_TEST_DATABASE_URL"]
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return make_settings(home)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
        yield c
