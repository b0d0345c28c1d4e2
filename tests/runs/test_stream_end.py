"""Every run's stream ends with exactly one terminal event that every subscriber receives, whatever
happened (issue 10 items 9 and 11): a cancel racing the end of a run, a full disk mid-run, concurrent
starts on a draft."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from tests.sse import TERMINAL
from threadline.web.app import create_app


async def new_session(client: httpx.AsyncClient) -> str:
    return (await client.post("/api/session/new", json={})).json()["session"]["session_id"]


def terminals(frames: list[tuple[str, str, object]]) -> list[str]:
    return [f[1] for f in frames if f[1] in TERMINAL]


async def test_cancel_while_the_title_is_written_still_ends_the_stream(home: Path, llm: ScriptedLLM) -> None:
    """The cancel lands after the answer is stored, while the LLM writes the title: the stream used to
    end with no terminal event at all."""
    settings = make_settings(home, default_model="openai/test-model", llm_titles=True,
                             checkpoint_interval_seconds=0.2)
    app = create_app(settings, env=llm_env(llm))
    llm.script(Turn(text="the answer"), Turn(text="A slow title", delay=1.0))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as chat:
        sid = await new_session(chat)
        stream_id = (await chat.post("/api/chat/start", json={"session_id": sid, "message": "hi"})).json()["stream_id"]
        before = await read_events(chat, stream_id, until={"done"})
        assert before[-1][1] == "done"
        reader = asyncio.create_task(read_events(chat, stream_id, after=before[-1][0]))
        await asyncio.sleep(0.2)
        assert (await chat.post("/api/chat/cancel", json={"stream_id": stream_id})).status_code == 200
        rest = await asyncio.wait_for(reader, 10)
        assert terminals(before + rest) == ["stream_end"], [f[1] for f in before + rest]
        session = await wait_idle(chat, sid)
        assert [m["role"] for m in session["messages"]] == ["user", "assistant"]
        status = (await chat.get("/api/chat/stream/status", params={"stream_id": stream_id})).json()
        assert status["status"] == "succeeded"


async def test_concurrent_starts_on_a_draft_answer_409_never_404(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    """The draft used to be discarded before its row was committed, so a racing start found neither."""
    for _ in range(5):
        sid = await new_session(chat)
        answers = await asyncio.gather(*[  # each answer lasts 2 s: the session stays busy meanwhile
            chat.post("/api/chat/start", json={"session_id": sid, "message": f"[[tokens=40 delay=0.05]] m{i}"})
            for i in range(6)
        ])
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409, 409, 409, 409, 409], [(r.status_code, r.text[:80]) for r in answers]
        await wait_idle(chat, sid)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs root to mount a small tmpfs: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.slow
async def test_disk_full_mid_run_ends_the_stream_and_frees_the_session(tmp_path: Path, llm: ScriptedLLM) -> None:
    if os.environ.get("THREADLINE_TEST_DATABASE_URL"):
        pytest.skip("fills the disk under a SQLite database")
    with small_disk(tmp_path / "disk") as disk:
        settings = make_settings(disk / "home", default_model="openai/test-model", checkpoint_interval_seconds=0.1)
        app = create_app(settings, env=llm_env(llm))
        llm.script(Turn(text=[f"w{i} " for i in range(150)], delay=0.02))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as chat:
            sid = await new_session(chat)
            started = await chat.post("/api/chat/start", json={"session_id": sid, "message": "go"})
            stream_id = started.json()["stream_id"]
            first = await read_events(chat, stream_id, limit=5)
            filler = disk / "filler"
            with open(filler, "wb") as f, contextlib.suppress(OSError):  # fill the disk to the last byte
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            rest = await asyncio.wait_for(read_events(chat, stream_id, after=first[-1][0]), 30)
            ends = terminals(first + rest)
            assert len(ends) == 1, [f[1] for f in rest][-5:]
            filler.unlink()  # room again: the session must come free without a restart
            session = await wait_idle(chat, sid, timeout=20)
            assert session["messages"][0]["content"] == "go"
            llm.script(Turn(text="ok"))
            again = await chat.post("/api/chat/start", json={"session_id": sid, "message": "again"})
            assert again.status_code == 200, again.text
            await wait_idle(chat, sid)
