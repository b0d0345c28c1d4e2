"""``GET /api/sessions/search``: titles and full text, ranked, with a snippet of the match."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support import add_messages, chat_session, new_draft


async def search(client: httpx.AsyncClient, q: str, **params: object) -> dict:
    response = await client.get("/api/sessions/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_title_and_content_matches(client: httpx.AsyncClient, app: FastAPI) -> None:
    titled = await chat_session(client, app, title="Kubernetes upgrade plan")
    content = await chat_session(client, app, title="Infra notes", first="how do I drain a kubernetes node safely?")
    await chat_session(client, app, title="Unrelated", first="bake bread")
    body = await search(client, "kubernetes")
    assert body["query"] == "kubernetes" and body["count"] == 2
    by_id = {s["session_id"]: s for s in body["sessions"]}
    assert by_id[titled]["match_type"] == "title"
    assert by_id[titled]["snippet"] == "«Kubernetes» upgrade plan"
    assert by_id[content]["match_type"] == "content"
    assert "«kubernetes»" in by_id[content]["snippet"]
    assert [s["session_id"] for s in body["sessions"]] == [titled, content]  # title matches first


async def test_content_search_covers_every_message_and_ranks(client: httpx.AsyncClient, app: FastAPI) -> None:
    weak = await chat_session(client, app, title="weak", first="a zebra appeared once among many other words here")
    strong = await chat_session(client, app, title="strong", first="zebra zebra zebra")
    deep = await chat_session(client, app, title="deep", messages=1)
    await add_messages(app, deep, 60, text="filler")
    await add_messages(app, deep, 1, text="the okapi is deep in the transcript")
    body = await search(client, "zebra")
    assert [s["session_id"] for s in body["sessions"]] == [strong, weak]
    assert [s["session_id"] for s in (await search(client, "okapi"))["sessions"]] == [deep]


async def test_prefix_and_multiword_queries(client: httpx.AsyncClient, app: FastAPI) -> None:
    target = await chat_session(client, app, title="one", first="configure the reverse proxy for websockets")
    await chat_session(client, app, title="two", first="configure the printer")
    assert [s["session_id"] for s in (await search(client, "revers"))["sessions"]] == [target]
    assert [s["session_id"] for s in (await search(client, "configure websockets"))["sessions"]] == [target]


async def test_content_zero_searches_titles_only(client: httpx.AsyncClient, app: FastAPI) -> None:
    await chat_session(client, app, title="alpha", first="contains beta")
    assert (await search(client, "beta", content=0))["sessions"] == []
    assert len((await search(client, "alpha", content=0))["sessions"]) == 1


async def test_empty_query_lists_sessions(client: httpx.AsyncClient, app: FastAPI) -> None:
    first = await chat_session(client, app, title="a")
    second = await chat_session(client, app, title="b")
    body = await search(client, "")
    assert body["query"] == "" and {s["session_id"] for s in body["sessions"]} == {first, second}


async def test_search_hides_drafts_and_empty_untitled(client: httpx.AsyncClient, app: FastAPI) -> None:
    await new_draft(client)
    cleared = await chat_session(client, app, first="secret words")
    await client.post("/api/session/clear", json={"session_id": cleared})
    assert (await search(client, "Untitled"))["sessions"] == []
    assert (await search(client, "secret"))["sessions"] == []


async def test_search_archived_filter(client: httpx.AsyncClient, app: FastAPI) -> None:
    kept = await chat_session(client, app, title="walrus live")
    old = await chat_session(client, app, title="walrus archived")
    await client.post("/api/session/archive", json={"session_id": old})
    assert {s["session_id"] for s in (await search(client, "walrus"))["sessions"]} == {kept, old}
    assert [s["session_id"] for s in (await search(client, "walrus", archived="0"))["sessions"]] == [kept]
    assert [s["session_id"] for s in (await search(client, "walrus", archived="1"))["sessions"]] == [old]


async def test_search_is_safe_with_odd_input(client: httpx.AsyncClient, app: FastAPI) -> None:
    await chat_session(client, app, title="100% done_ok", first='say "hi" AND NOT (x OR y*) NEAR/2')
    for q in ('"', "*", "AND", "OR NOT", "NEAR(", "a:b", "'; DROP TABLE sessions; --", "%", "_", "\\", "«»",
              "日本語", "x" * 500, "-", "^", "{}"):
        response = await client.get("/api/sessions/search", params={"q": q})
        assert response.status_code == 200, q
    assert len((await search(client, "100%"))["sessions"]) == 1
    assert len((await search(client, "done_"))["sessions"]) == 1
    assert (await search(client, "%"))["count"] == 1
    assert (await search(client, "1_0"))["count"] == 0


async def test_search_parameters(client: httpx.AsyncClient, app: FastAPI) -> None:
    for index in range(5):
        await chat_session(client, app, title=f"gopher {index}")
    assert (await search(client, "gopher", limit=2))["count"] == 2
    assert (await search(client, "gopher", depth=5))["count"] == 5  # accepted, ignored
    for params in ({"limit": 0}, {"limit": 201}, {"content": 3}, {"depth": "deep"}, {"archived": "x"},
                   {"q": "x" * 501}):
        response = await client.get("/api/sessions/search", params={"q": "gopher", **params})
        assert response.status_code == 400, params
        assert "error" in response.json()
