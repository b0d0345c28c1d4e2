"""The security middleware is pure ASGI: with a password set, the event stream still arrives token by
token (nothing buffers it), and it needs the cookie like everything else."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM
from tests.runs.conftest import llm_env, read_until_stall, serve
from tests.security.conftest import PASSWORD
from threadline.web.app import create_app


async def test_the_stream_is_not_buffered_behind_auth(home: Path) -> None:
    """The model sends half of its answer, then stalls until the run is cancelled: the client can
    only receive that half through a stream that passes tokens on as they come."""
    sent_before_the_stall = "".join(f"t{i} " for i in range(10))
    with ScriptedLLM() as llm:
        settings = make_settings(home, password=PASSWORD, default_model="openai/test-model", llm_titles=False)
        app = create_app(settings, env=llm_env(llm))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.post("/api/auth/login", json={"password": PASSWORD})).status_code == 200
            sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
            started = await client.post("/api/chat/start", json={
                "session_id": sid, "message": "go [[tokens=20 chunk=1 fail=hang]]"})
            stream_id = started.json()["stream_id"]
            async with httpx.AsyncClient(base_url=url, timeout=30) as stranger:
                refused = await stranger.get("/api/chat/stream", params={"stream_id": stream_id})
                assert refused.status_code == 401
            headers = await read_until_stall(client, stream_id, sent_before_the_stall)
            assert "text/event-stream" in headers["content-type"]
            assert headers["x-content-type-options"] == "nosniff"
            cancelled = await client.post("/api/chat/cancel", json={"stream_id": stream_id})
            assert cancelled.json()["cancelled"] is True
