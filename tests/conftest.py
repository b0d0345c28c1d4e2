"""Shared fixtures: a real app on a temporary SQLite database, called in-process over httpx."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.checkout import ARTIFACTS_ENV
from tests.llm_server import ScriptedLLM
from tests.pg import PgDatabases, is_postgres, unreachable
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
        # A model-written title is the default; it would take the next scripted answer after a session's
        # first turn, so tests opt in (tests/runs/test_titles.py covers the default).
        "llm_titles": False,
    }
    if os.environ.get("THREADLINE_TEST_DATABASE_URL"):
        values["database_url"] = os.environ["THREADLINE_TEST_DATABASE_URL"]
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests leave files worth a look after the run (screenshots, summaries):
    ``THREADLINE_TEST_ARTIFACTS`` when set (CI keeps it), else this run's pytest temp directory."""
    chosen = os.environ.get(ARTIFACTS_ENV)
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("artifacts", numbered=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


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


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[PgDatabases | None]:
    """With THREADLINE_TEST_DATABASE_URL on PostgreSQL: the factory of per-test databases (tests/pg.py)."""
    url = os.environ.get("THREADLINE_TEST_DATABASE_URL")
    if not is_postgres(url):
        yield None
        return
    assert url is not None
    problem = unreachable(url)
    if problem:
        pytest.exit(f"THREADLINE_TEST_DATABASE_URL: PostgreSQL is unreachable ({problem})", returncode=3)
    databases = PgDatabases(url)
    databases.drop_stale()
    yield databases
    databases.close()


@pytest.fixture(autouse=True)
def _isolated_database(_pg_databases: PgDatabases | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test on PostgreSQL sees a fresh, migrated database of its own; on SQLite, its tmp_path.
    With THREADLINE_REDIS_URL set, each test also gets its own Redis key prefix."""
    if os.environ.get("THREADLINE_REDIS_URL"):  # the suite in cluster mode: Redis keys of its own
        monkeypatch.setenv("THREADLINE_REDIS_PREFIX", f"tl-test-{uuid.uuid4().hex[:10]}")
    if _pg_databases is None:
        yield
        return
    name = _pg_databases.create()
    monkeypatch.setenv("THREADLINE_TEST_DATABASE_URL", _pg_databases.url_for(name))
    yield
    _pg_databases.drop(name)


@pytest.fixture(scope="session")
def llm_session() -> Iterator[ScriptedLLM]:
    """One scripted LLM server (OpenAI and Anthropic APIs on loopback) for the whole test run."""
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def llm(llm_session: ScriptedLLM) -> Iterator[ScriptedLLM]:
    """The shared scripted LLM server, with an empty script and request log."""
    llm_session.reset()
    yield llm_session
    llm_session.reset()
