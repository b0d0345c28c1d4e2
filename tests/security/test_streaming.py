"""The security middleware is pure ASGI: with a password set, the event stream still arrives token by
token (nothing buffers it), and it needs the cookie like everything else."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM
from tests.runs.conftest import llm_env, serve
from tests.security.conftest import PASSWORD
from threadline.web.app import create_app


async def test_the_stream_is_not_buffered_behind_auth(home: Path) -> None:
    with ScriptedLLM() as llm:
        settings = make_settings(home, password=PASSWORD, default_model="openai/test-model", llm_titles=False)
        app = create_app(settings, env=llm_env(llm))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.post("/api/auth/login", json={"password": PASSWORD})).status_code == 200
            sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
            started = await client.post("/api/chat/start", json={
                "session_id": sid, "message": "go [[tokens=40 delay=0.05 chunk=1]]"})
            stream_id = started.json()["stream_id"]
            async with httpx.AsyncClient(base_url=url, timeout=30) as stranger:
                refused = await stranger.get("/api/chat/stream", params={"stream_id": stream_id})
                assert refused.status_code == 401
            began = time.monotonic()
            first_token_at = None
            async with client.stream("GET", "/api/chat/stream", params={"stream_id": stream_id}) as response:
                assert response.status_code == 200
                assert "text/event-stream" in response.headers["content-type"]
                assert response.headers["x-content-type-options"] == "nosniff"
                async for line in response.aiter_lines():
                    if line == "event: token" and first_token_at is None:
                        first_token_at = time.monotonic() - began
                        status = (await client.get("/api/chat/stream/status", params={"stream_id": stream_id})).json()
                        assert status["active"] is True  # the run is still going: the token was not held back
                    if line == "event: stream_end":
                        break
            total = time.monotonic() - began
    assert first_token_at is not None and first_token_at < total / 2, (first_token_at, total)
