"""Preferences are read from the database at most once a second (``PreferenceService``): a run reads
several at its start and end, each a round trip under load. A change made through this instance is
seen at once; one made elsewhere (another instance of a cluster) within ``FRESH_SECONDS``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from threadline import preferences as prefs
from threadline.store import tables as t


def _count_settings_reads(app: FastAPI) -> list[str]:
    seen: list[str] = []

    def on_execute(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM settings" in statement:
            seen.append(statement)

    event.listen(app.state.services.store.engine.sync_engine, "before_cursor_execute", on_execute)
    return seen


async def test_reads_within_a_second_share_one_query(app: FastAPI) -> None:
    preferences = app.state.services.preferences
    await preferences.get("default_model")  # a fresh read
    seen = _count_settings_reads(app)
    for _ in range(5):
        await preferences.get_many("llm_titles", "memory_tool")
        await preferences.get("default_model")
        await preferences.get_all()
    assert seen == []


async def test_readers_that_find_the_last_read_stale_share_one_query(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of run starts after the last read went stale: one query between them, every one
    answered; a reader cancelled meanwhile does not take the read from the others."""
    preferences = app.state.services.preferences
    await preferences.update({"memory_tool": "allow"})
    monkeypatch.setattr(prefs, "FRESH_SECONDS", 0.0)  # every read is stale at once
    seen = _count_settings_reads(app)
    readers = [asyncio.create_task(preferences.get("memory_tool")) for _ in range(20)]
    await asyncio.sleep(0)
    readers[0].cancel()
    answers = await asyncio.gather(*readers[1:])
    assert answers == ["allow"] * 19
    assert len(seen) == 1


async def test_a_change_here_is_seen_at_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    preferences = app.state.services.preferences
    assert await preferences.get("llm_titles") is not False
    answer = await client.post("/api/settings", json={"llm_titles": False})
    assert answer.status_code == 200, answer.text
    assert await preferences.get("llm_titles") is False
    assert (await client.get("/api/settings")).json()["llm_titles"] is False


async def test_a_change_made_elsewhere_is_seen_within_the_freshness(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefs, "FRESH_SECONDS", 0.3)
    preferences = app.state.services.preferences
    store = app.state.services.store
    assert await preferences.get("llm_titles") is not False
    async with store.write() as conn:  # as another instance would
        await conn.execute(store.dialect.upsert(t.settings, {"key": "llm_titles", "value": False}, "key"))
    assert await preferences.get("llm_titles") is not False  # the read of a moment ago still serves
    await asyncio.sleep(0.35)
    assert await preferences.get("llm_titles") is False


async def test_an_answer_is_a_copy(client: httpx.AsyncClient, app: FastAPI) -> None:
    preferences = app.state.services.preferences
    windows = {"openai/test-model": 16384}
    assert (await client.post("/api/settings", json={"context_windows": windows})).status_code == 200
    first = await preferences.get("context_windows")
    first["openai/test-model"] = 1
    (await preferences.get_all())["context_windows"].clear()
    assert await preferences.get("context_windows") == windows


async def test_secrets_are_never_kept(app: FastAPI) -> None:
    preferences = app.state.services.preferences
    await preferences.set_secret("a_secret", "one")
    assert await preferences.get_secret("a_secret") == "one"
    await preferences.set_secret("a_secret", "two")
    assert await preferences.get_secret("a_secret") == "two"
    assert "a_secret" not in await preferences.get_all()
