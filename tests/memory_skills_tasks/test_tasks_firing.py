"""Scheduled tasks firing for real: the app served by uvicorn, the scheduler on, the scripted LLM over
HTTP. A one-shot fires once into its session with one notice; ``/run`` fires it again once; a task due
while the server was down runs once after the restart, or is recorded as missed past the grace period."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.memory_skills_tasks.helpers import new_session, system_of, turn
from tests.runs.conftest import llm_env, serve, wait_idle
from threadline.settings import Settings
from threadline.web.app import create_app


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def outputs(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    r = await client.get("/api/crons/output", params={"job_id": job_id, "limit": 100})
    assert r.status_code == 200, r.text
    return list(r.json()["outputs"])


async def wait_for(client: httpx.AsyncClient, job_id: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """The task's firings once ``count`` of them have ended."""
    deadline = time.monotonic() + timeout
    while True:
        found = await outputs(client, job_id)
        if len([o for o in found if o["finished_at"]]) >= count:
            return found
        assert time.monotonic() < deadline, f"{count} firing(s) expected, found {found}"
        await asyncio.sleep(0.1)


async def test_a_one_shot_fires_once_into_its_session_then_run_fires_it_again(
    chat: httpx.AsyncClient, llm: ScriptedLLM,
) -> None:
    llm.script(Turn(text="Report: all green."))
    r = await chat.post("/api/crons/create", json={"prompt": "Write the status report", "schedule": soon(2),
                                                    "name": "Status"})
    job = r.json()["job"]
    assert job["next_run_at"] is not None
    fired = await wait_for(chat, job["job_id"], 1)
    assert [(o["status"], o["trigger"], o["answer"]) for o in fired] == [
        ("succeeded", "schedule", "Report: all green.")]
    sid = job["session_id"]
    await wait_idle(chat, sid)
    messages = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Write the status report"), ("assistant", "Report: all green.")]
    notices = (await chat.get("/api/notices")).json()
    assert notices["unread"] == 1
    assert notices["notices"][0] | {"notice_id": 0, "created_at": 0} == {
        "notice_id": 0, "kind": "task_succeeded", "title": "“Status” finished", "body": "Report: all green.",
        "session_id": sid, "job_id": job["job_id"], "created_at": 0, "read": False}
    done = (await chat.get("/api/crons")).json()["jobs"][0]
    assert (done["state"], done["next_run_at"], done["last_status"]) == ("completed", None, "succeeded")
    assert done["last_result"]["preview"] == "Report: all green."
    await asyncio.sleep(1.5)  # it does not fire again by itself
    assert len(await outputs(chat, job["job_id"])) == 1 and len(llm.requests) == 1

    llm.script(Turn(text="Report: one warning."))
    run = (await chat.post("/api/crons/run", json={"job_id": job["job_id"]})).json()
    assert run["status"] == "started" and run["session_id"] == sid
    fired = await wait_for(chat, job["job_id"], 2)
    assert [(o["trigger"], o["answer"]) for o in fired] == [("manual", "Report: one warning."),
                                                            ("schedule", "Report: all green.")]
    assert fired[0]["run_id"] == run["stream_id"] and len(llm.requests) == 2
    # Each firing of a task's own session starts afresh: the model sees the prompt, not earlier firings.
    assert [m["role"] for m in llm.requests[-1]["messages"]] == ["system", "user"]
    assert (await chat.get("/api/notices")).json()["unread"] == 2
    read = (await chat.post("/api/notices/read", json={"session_id": sid})).json()
    assert read["marked"] == 2 and read["unread"] == 0


async def test_a_firing_waits_for_a_busy_session_and_uses_the_tasks_skills(
    chat: httpx.AsyncClient, llm: ScriptedLLM,
) -> None:
    body = "---\nname: tidy\ndescription: Tidy a list\n---\nSort it and drop duplicates."
    await chat.post("/api/skills/save", json={"name": "tidy", "content": body})
    sid = await new_session(chat)
    llm.script(Turn(text="hello"))
    await turn(chat, sid, "hi")
    slow = await chat.post("/api/chat/start", json={"session_id": sid, "message": "slow [[tokens=30 delay=0.1]]"})
    assert slow.status_code == 200
    r = await chat.post("/api/crons/create", json={"prompt": "Tidy my list", "schedule": soon(0.5), "session_id": sid,
                                                    "skills": ["tidy"]})
    job = r.json()["job"]
    fired = await wait_for(chat, job["job_id"], 1, timeout=30)
    assert fired[0]["status"] == "succeeded" and fired[0]["session_id"] == sid
    messages = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["hi", "slow [[tokens=30 delay=0.1]]",
                                                                       "Tidy my list"]
    request = llm.requests[-1]
    assert "Sort it and drop duplicates." in system_of(request)  # the task's skill, loaded for it
    assert "hello" in str(request["messages"])  # a task in a chat session sees the chat


def restartable(home: Any, **overrides: Any) -> Settings:
    return make_settings(home, default_model="openai/test-model", checkpoint_interval_seconds=0.2, **overrides)


def scheduler_off(settings: Settings) -> Settings:
    """The same server with its scheduler off: a task created there cannot fire before the restart,
    however slowly a loaded machine gets through the requests and the shutdown."""
    return settings.model_copy(update={"scheduler": False})


async def test_a_task_due_while_the_server_was_down_runs_once_after_the_restart(home: Any, llm: ScriptedLLM) -> None:
    settings = restartable(home)
    async with serve(create_app(scheduler_off(settings), env=llm_env(llm))) as url, \
            httpx.AsyncClient(base_url=url) as client:
        job = (await client.post("/api/crons/create", json={"prompt": "Back up", "schedule": soon(4)})).json()["job"]
        due = time.monotonic() + 4
    await asyncio.sleep(max(0.0, due - time.monotonic()) + 1)  # it came due while nothing ran
    assert llm.requests == []
    llm.script(Turn(text="Backed up."))
    async with serve(create_app(settings, env=llm_env(llm))) as url, httpx.AsyncClient(base_url=url) as client:
        fired = await wait_for(client, job["job_id"], 1)
        assert [(o["status"], o["answer"]) for o in fired] == [("succeeded", "Backed up.")]
        await asyncio.sleep(1)
        assert len(await outputs(client, job["job_id"])) == 1
    async with serve(create_app(settings, env=llm_env(llm))) as url, httpx.AsyncClient(base_url=url) as client:
        await asyncio.sleep(1)  # a second restart does not run it again
        assert len(await outputs(client, job["job_id"])) == 1 and len(llm.requests) == 1


async def test_past_the_grace_period_a_firing_is_recorded_as_missed(home: Any, llm: ScriptedLLM) -> None:
    settings = restartable(home, schedule_grace_seconds=1.0)
    async with serve(create_app(scheduler_off(settings), env=llm_env(llm))) as url, \
            httpx.AsyncClient(base_url=url) as client:
        once = (await client.post("/api/crons/create", json={"prompt": "Once", "schedule": soon(1)})).json()["job"]
        every = (await client.post("/api/crons/create", json={"prompt": "Often", "schedule": "every 1s"})).json()["job"]
        await client.post("/api/crons/pause", json={"job_id": every["job_id"]})
        await client.post("/api/crons/resume", json={"job_id": every["job_id"]})
    await asyncio.sleep(4.5)
    async with serve(create_app(settings, env=llm_env(llm))) as url, httpx.AsyncClient(base_url=url) as client:
        missed = await wait_for(client, once["job_id"], 1)
        assert [(o["status"], o["trigger"]) for o in missed] == [("missed", "schedule")]
        assert "missed 1 firing" in missed[0]["error"]
        often = (await wait_for(client, every["job_id"], 1))[-1]
        assert often["status"] == "missed" and "firings from" in often["error"]
        jobs = {j["job_id"]: j for j in (await client.get("/api/crons")).json()["jobs"]}
        assert jobs[once["job_id"]]["state"] == "completed" and jobs[once["job_id"]]["last_status"] == "missed"
        await client.post("/api/crons/pause", json={"job_id": every["job_id"]})
        kinds = [n["kind"] for n in (await client.get("/api/notices")).json()["notices"]]
        assert kinds.count("task_missed") == 2
    assert all("Once" not in str(r) for r in llm.requests)


async def test_deleting_a_task_stops_what_runs_in_its_chat(chat: httpx.AsyncClient, llm: ScriptedLLM) -> None:
    job = (await chat.post("/api/crons/create", json={"prompt": "Later", "schedule": "@daily"})).json()["job"]
    slow = await chat.post("/api/chat/start", json={"session_id": job["session_id"],
                                                     "message": "talk [[tokens=200 delay=0.05]]"})
    assert slow.status_code == 200
    r = await chat.post("/api/crons/delete", json={"job_id": job["job_id"]})
    assert r.status_code == 200, r.text
    assert (await chat.get("/api/session", params={"session_id": job["session_id"]})).status_code == 404
    status = (await chat.get("/api/chat/stream/status", params={"stream_id": slow.json()["stream_id"]})).json()
    assert status["active"] is False
