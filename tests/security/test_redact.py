"""Secrets are redacted from what the API returns (messages, titles, search, exports, stream events),
while the store keeps the raw text; provider keys are only ever shown masked."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from tests.support import chat_session, new_draft
from threadline.redact import MASK, redact_obj, redact_text
from threadline.store import tables as t
from threadline.web.app import create_app

SECRETS = {
    "openai": "sk-proj-Abc123def456GHI789jkl012MNO345",
    "anthropic": "sk-ant-api03-Zyx987Wvu654Tsr321Qpo000-_AbCd",
    "github": "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "github_pat": "github_pat_11AAAAAAA0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKl",
    "google": "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "stripe": "sk_live_51H8abcdefghijklmnop",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}
ASSIGNMENTS = {
    "OPENAI_API_KEY=hunter2hunter2": "hunter2hunter2",
    "export GITHUB_TOKEN='tok_abcdef123'": "tok_abcdef123",
    "DB_PASSWORD: \"s3cr3t-pw\"": "s3cr3t-pw",
    "PASSWORD=letmein": "letmein",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "wJalrXUtnFEMI",
    '{"api_key": "abcd-efgh-ijkl"}': "abcd-efgh-ijkl",
    "password: correct-horse": "correct-horse",
    "curl -H 'Authorization: Bearer abc.def.ghi_jkl-123'": "abc.def.ghi_jkl-123",
    "Authorization: Basic dXNlcjpwYXNz": "dXNlcjpwYXNz",
}
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9\nQWERTYuiop==\n-----END RSA PRIVATE KEY-----"
HARMLESS = [
    "The task-management-system-design doc", "max tokens: 4096 per request", "skip-navigation-links-here",
    "Use the key of the dict", "ask-anything-you-like-today", "Bearer of bad news", "def password_hash(x): ...",
    "The path is /home/user/project", "sk-learn is a library", "keyboard", "tokenizer.encode(text)",
]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_tokens_are_redacted(name: str) -> None:
    secret = SECRETS[name]
    text = f"before {secret} after"
    out = redact_text(text)
    assert secret not in out and MASK in out and out.startswith("before ") and out.endswith(" after")
    assert redact_text(out) == out


@pytest.mark.parametrize("text", sorted(ASSIGNMENTS))
def test_assignments_and_headers_are_redacted(text: str) -> None:
    out = redact_text(text)
    assert ASSIGNMENTS[text] not in out and MASK in out, out


def test_private_keys_are_redacted_whole() -> None:
    out = redact_text(f"key:\n{PEM}\nafter")
    assert "MIIEow" not in out and "QWERTY" not in out and out.endswith("after")
    assert "BEGIN RSA PRIVATE KEY" in out and "END RSA PRIVATE KEY" in out
    unterminated = redact_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk")
    assert "b3BlbnNz" not in unterminated


EDGE_CASES = {
    # a key that starts inside a digit-free ``sk-`` run (which is no key) is still found
    "sk-aaaaaaaaaaaaaaaaaaaa-ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZab": "ABCDEFGHIJKLMNOPQRSTUVWXYZab",
    # case-insensitive pairs, also where str.lower() would change the text's length (U+0130)
    "\u0130stanbul: Client-Secret: s3cr3t-value": "s3cr3t-value",
    '{"API_KEY": "plain-value-123"}': "plain-value-123",
    "authorization: Bearer abcdefghijklmnop1234": "abcdefghijklmnop1234",
    "x=1;PASSWORD=hunter22": "hunter22",
    "see -----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PUBLIC KEY-----": "MIIsecret",
}


@pytest.mark.parametrize("text", sorted(EDGE_CASES))
def test_edge_cases_are_redacted(text: str) -> None:
    out = redact_text(text)
    assert EDGE_CASES[text] not in out and MASK in out, out


@pytest.mark.parametrize("text", sorted([*ASSIGNMENTS, *EDGE_CASES, f"a {PEM} b"]))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_redact_obj_walks_json_and_keeps_keys() -> None:
    value = {"api_key": SECRETS["openai"], "list": [SECRETS["aws"], 1, None, True], "nested": {"x": (PEM,)}}
    out = redact_obj(value)
    assert json.dumps(out).count(MASK) == 3 and "api_key" in out and out["list"][1:] == [1, None, True]
    assert value["api_key"] == SECRETS["openai"]  # the input is not changed


async def test_api_responses_are_redacted_and_the_store_keeps_the_raw_text(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    secret = SECRETS["anthropic"]
    sid = await chat_session(client, app, first=f"my key is {secret} please keep it", messages=1)
    renamed = await client.post("/api/session/rename", json={"session_id": sid, "title": f"key {SECRETS['github']}"})
    assert SECRETS["github"] not in renamed.text
    checks = {
        "session": await client.get("/api/session", params={"session_id": sid}),
        "list": await client.get("/api/sessions"),
        "search title": await client.get("/api/sessions/search", params={"q": "key"}),
        "search content": await client.get("/api/sessions/search", params={"q": "please"}),
        "export json": await client.get("/api/session/export", params={"session_id": sid}),
        "export md": await client.get("/api/session/export", params={"session_id": sid, "format": "md"}),
        "retry": await client.post("/api/session/retry", json={"session_id": sid}),
    }
    for name, response in checks.items():
        assert response.status_code == 200, (name, response.text)
        assert secret not in response.text and SECRETS["github"] not in response.text, name
        assert MASK in response.text, name
    async with app.state.services.store.read() as conn:
        title = (await conn.execute(select(t.sessions.c.title).where(t.sessions.c.id == sid))).scalar_one()
    assert SECRETS["github"] in title  # the store keeps what was written


async def test_import_then_read_back_is_redacted(client: httpx.AsyncClient) -> None:
    imported = await client.post("/api/session/import", json={
        "title": "creds", "messages": [{"role": "user", "content": f"export AWS={SECRETS['aws']}\n{PEM}"},
                                       {"role": "assistant", "content": "noted"}]})
    assert imported.status_code == 200
    assert SECRETS["aws"] not in imported.text and "QWERTY" not in imported.text


async def test_provider_keys_are_never_returned(client: httpx.AsyncClient) -> None:
    key = "sk-live-0123456789abcdefghijklmnop"
    saved = await client.post("/api/providers", json={"id": "mine", "kind": "openai", "api_key": key,
                                                      "base_url": "http://127.0.0.1:9/v1"})
    assert saved.status_code == 200 and key not in saved.text
    for path in ("/api/providers", "/api/models", "/api/settings"):
        response = await client.get(path)
        assert key not in response.text and key[4:20] not in response.text, path
    shown = next(p for p in (await client.get("/api/providers")).json()["providers"] if p["id"] == "mine")
    assert shown["has_key"] is True and shown["api_key"].endswith(key[-4:]) and len(shown["api_key"]) < 12


@pytest.fixture
def llm_server(llm: ScriptedLLM) -> ScriptedLLM:
    """The shared scripted LLM server (tests/conftest.py)."""
    return llm


async def test_stream_events_are_redacted(home: Path, llm_server: ScriptedLLM) -> None:
    llm_server.reset()
    secret = SECRETS["openai"]
    settings = make_settings(home, default_model="openai/test-model")
    (settings.resolved_default_workspace / ".env").write_text(f"OPENAI_API_KEY={secret}\nTOKEN={SECRETS['slack']}\n")
    llm_server.script(Turn(tool_calls=[("read_file", {"path": ".env"})]),
                      Turn(text=f"Your key is {secret} and your token is {SECRETS['slack']}.", chunk=500))
    app = create_app(settings, env=llm_env(llm_server))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid = await new_draft(client)
        started = await client.post("/api/chat/start", json={"session_id": sid, "message": "read .env"})
        stream_id = started.json()["stream_id"]
        frames = await read_events(client, stream_id)
        await wait_idle(client, sid)
        replay = await read_events(client, stream_id, after=f"{stream_id}:0")
        session = await client.get("/api/session", params={"session_id": sid})
        async with app.state.services.store.read() as conn:  # the model needs the raw text next turn
            stored = [r[0] for r in await conn.execute(select(t.messages.c.content).where(
                t.messages.c.session_id == sid))]
    assert any(secret in (text or "") for text in stored)
    tool = [f[2] for f in frames if f[1] == "tool_complete"]
    assert tool and MASK in json.dumps(tool)
    for payload in (json.dumps(frames), json.dumps(replay), session.text):
        assert secret not in payload and SECRETS["slack"] not in payload
