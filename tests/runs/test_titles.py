"""Titles of new chats: the first line of the first message at once, then one a model writes, by
default, with the title model when one is chosen."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle
from tests.sse import Frame
from threadline.runs.titles import provisional_title
from threadline.settings import Settings


@pytest.fixture
def chat_settings(home: Path) -> Settings:
    # The suite turns model-written titles off (tests/conftest.py); here they are as shipped.
    shipped = Settings.model_fields["llm_titles"].default
    return make_settings(home, default_model="openai/test-model", llm_titles=shipped)


def test_model_written_titles_are_on_by_default() -> None:
    assert Settings.model_fields["llm_titles"].default is True
    assert Settings.model_fields["title_model"].default is None


@pytest.mark.parametrize(("message", "title"), [
    ("Plan a trip to Lisbon\nWe have three days and a small budget.", "Plan a trip to Lisbon"),
    ("\n\n  # Fix the **login** bug  \n\nIt fails on Safari.", "Fix the login bug"),
    ("```python\nprint('hi')\n```\nWhy does this print twice?\nAnd how do I stop it?", "Why does this print twice?"),
    ("```\nonly code here\n```", "only code here"),
    ("word " * 40, "word word word word word word word word word word word word…"),
    ("   \n\t", None),
])
def test_the_provisional_title_is_the_first_line(message: str, title: str | None) -> None:
    assert provisional_title(message) == title


async def start(chat: httpx.AsyncClient, message: str) -> tuple[str, list[Frame]]:
    sid = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
    started = await chat.post("/api/chat/start", json={"session_id": sid, "message": message})
    return sid, await read_events(chat, started.json()["stream_id"])


async def test_a_new_chat_gets_the_first_line_then_a_model_title(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    llm.reset()
    llm.script(Turn(text="Here is a plan."), Turn(text='"Three Days in Lisbon."'))
    sid, frames = await start(chat, "Plan a trip to Lisbon\nWe have three days and a small budget.")
    titles = [(f[2]["title"], f[2].get("source")) for f in frames if f[1] == "title"]
    assert titles == [("Plan a trip to Lisbon", None), ("Three Days in Lisbon", "llm")]
    assert frames[-1][1] == "stream_end"
    assert (await wait_idle(chat, sid))["title"] == "Three Days in Lisbon"
    # Without a title model, the chat's own model wrote it.
    assert [r["model"] for r in llm.requests] == ["test-model", "test-model"]


async def test_the_title_model_writes_titles_when_one_is_set(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    response = await chat.post("/api/settings", json={"title_model": "openai/test-model-2"})
    assert response.status_code == 200 and response.json()["title_model"] == "openai/test-model-2"
    llm.reset()
    llm.script(Turn(text="Sure."), Turn(text="Cheap Title"))
    sid, frames = await start(chat, "Summarize the README")
    assert [f[2]["title"] for f in frames if f[1] == "title"] == ["Summarize the README", "Cheap Title"]
    assert [r["model"] for r in llm.requests] == ["test-model", "test-model-2"]
    # Turned off by the preference: the first line stays, and the model is asked nothing more.
    assert (await chat.post("/api/settings", json={"llm_titles": False})).status_code == 200
    llm.reset()
    llm.script(Turn(text="Fine."))
    sid, frames = await start(chat, "No model title please\nthanks")
    assert [f[2]["title"] for f in frames if f[1] == "title"] == ["No model title please"]
    assert len(llm.requests) == 1
    assert (await wait_idle(chat, sid))["title"] == "No model title please"
