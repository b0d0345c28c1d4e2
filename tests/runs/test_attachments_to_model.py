"""Images and files to the model (issue 14 item 4): image parts in OpenAI's and Anthropic's formats, text
files as text, a clear note for a model without vision; and the window a provider's listing states."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM
from tests.runs.conftest import llm_env, read_events, serve
from threadline.web.app import create_app

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def upload(client: httpx.AsyncClient, sid: str, name: str, data: bytes) -> str:
    r = await client.post("/api/upload", data={"session_id": sid}, files={"file": (name, data)})
    assert r.status_code == 200, r.text
    return str(r.json()["workspace_path"])  # what chat attachments name: the file in the workspace


async def send(client: httpx.AsyncClient, message: str, files: dict[str, bytes],
               settings: dict[str, Any] | None = None) -> list[Any]:
    if settings:
        assert (await client.post("/api/settings", json=settings)).status_code == 200
    sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    names = [await upload(client, sid, name, data) for name, data in files.items()]
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message, "attachments": names})
    assert r.status_code == 200, r.text
    return await read_events(client, r.json()["stream_id"])


def last_user(llm: ScriptedLLM) -> Any:
    return [m for m in llm.requests[-1]["messages"] if m["role"] == "user"][-1]["content"]


async def test_an_image_goes_to_a_vision_model_as_an_openai_image_part(chat, llm):
    await send(chat, "What is in the picture?", {"dot.png": PNG, "notes.txt": b"remember the milk"},
               {"vision_models": {"test-model": True}})
    content = last_user(llm)
    assert isinstance(content, list)
    text = next(p for p in content if p["type"] == "text")["text"]
    assert text.startswith("What is in the picture?")
    assert '<file name="notes.txt">\nremember the milk\n</file>' in text
    image = next(p for p in content if p["type"] == "image_url")
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


async def test_an_image_goes_to_a_vision_model_as_an_anthropic_image_block(home: Path, llm):
    app = create_app(make_settings(home, default_model="anthropic/test-model"), env=llm_env(llm, "anthropic"))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        await send(client, "Describe it", {"dot.png": PNG}, {"vision_models": {"anthropic/test-model": True}})
    assert llm.requests[-1]["_path"].endswith("/v1/messages")
    blocks = last_user(llm)
    assert blocks[0]["type"] == "text" and blocks[0]["text"].startswith("Describe it")
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                     "data": base64.b64encode(PNG).decode()}}


async def test_a_model_without_vision_gets_a_note_and_the_user_a_warning(chat, llm):
    frames = await send(chat, "Look at this", {"dot.png": PNG})
    content = last_user(llm)
    assert isinstance(content, str)  # no image part was sent
    assert "The image dot.png is attached, but the model test-model cannot see images" in content
    warnings = [f[2] for f in frames if f[1] == "warning"]
    assert warnings and "cannot see images" in warnings[0]["message"]


async def test_the_window_and_vision_a_provider_lists_are_used(chat, llm):
    llm.model_facts = {"test-model": {"context_length": 6000, "architecture": {"input_modalities": ["text", "image"]}}}
    assert (await chat.get("/api/models")).status_code == 200  # the listing is read
    frames = await send(chat, "Look", {"dot.png": PNG})
    status = [f[2] for f in frames if f[1] == "context_status"][-1]
    assert status["limit"] == 6000 and status["source"] == "provider" and status["vision"] is True
    assert any(p["type"] == "image_url" for p in last_user(llm))


async def test_an_unknown_model_gets_the_default_window_until_a_setting_names_one(chat, llm):
    frames = await send(chat, "hi", {})
    status = [f[2] for f in frames if f[1] == "context_status"][-1]
    assert status["source"] == "default" and status["limit"] == 32_768
    assert (await chat.post("/api/settings", json={"context_windows": {"test-model": 9000}})).status_code == 200
    frames = await send(chat, "hi", {})
    assert [f[2] for f in frames if f[1] == "context_status"][-1]["limit"] == 9000
