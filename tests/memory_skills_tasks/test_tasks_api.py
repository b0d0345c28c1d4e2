"""The scheduled tasks API (Hermes WebUI's ``/api/crons`` paths and job JSON), without firing anything:
create, update, pause, resume, delete; bad input refused with nothing changed."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.support import listed_ids, new_draft


async def create(client: httpx.AsyncClient, **body: object) -> dict:
    r = await client.post("/api/crons/create", json={"prompt": "Summarize the news", "schedule": "0 9 * * *",
                                                      "timezone": "Europe/Paris", **body})
    assert r.status_code == 200, r.text
    return dict(r.json()["job"])


async def test_create_list_update_pause_resume_delete(client: httpx.AsyncClient) -> None:
    job = await create(client, name="Morning news")
    assert job["name"] == "Morning news" and job["state"] == "scheduled" and job["enabled"] is True
    assert job["schedule"] == {"kind": "cron", "expr": "0 9 * * *", "display": "0 9 * * *",
                               "timezone": "Europe/Paris"}
    assert job["repeat"] == {"times": None, "completed": 0} and job["last_status"] is None
    assert datetime.fromisoformat(job["next_run_at"]).strftime("%H:%M %z") in ("09:00 +0100", "09:00 +0200")
    session = (await client.get("/api/session", params={"session_id": job["session_id"]})).json()["session"]
    assert session["title"] == "Task: Morning news"
    assert job["session_id"] not in await listed_ids(client, archived="all")  # a task's own session is hidden
    assert [j["job_id"] for j in (await client.get("/api/crons")).json()["jobs"]] == [job["job_id"]]

    r = await client.post("/api/crons/update", json={"job_id": job["job_id"], "schedule": "every 2h",
                                                      "prompt": "Summarize tech news"})
    updated = r.json()["job"]
    assert updated["schedule"]["kind"] == "interval" and updated["schedule"]["minutes"] == 120
    assert updated["prompt"] == "Summarize tech news" and updated["name"] == "Morning news"
    paused = (await client.post("/api/crons/pause", json={"job_id": job["job_id"]})).json()["job"]
    assert (paused["state"], paused["enabled"], paused["next_run_at"]) == ("paused", False, None)
    resumed = (await client.post("/api/crons/resume", json={"job_id": job["job_id"]})).json()["job"]
    assert resumed["state"] == "scheduled" and resumed["next_run_at"] is not None
    assert (await client.get("/api/crons/output", params={"job_id": job["job_id"]})).json() == {
        "job_id": job["job_id"], "outputs": []}
    r = await client.post("/api/crons/delete", json={"job_id": job["job_id"]})
    assert r.json() == {"ok": True, "job_id": job["job_id"]}
    assert (await client.get("/api/crons")).json()["jobs"] == []
    assert (await client.get("/api/session", params={"session_id": job["session_id"]})).status_code == 404


async def test_one_shots_and_target_sessions(client: httpx.AsyncClient) -> None:
    draft = await new_draft(client)
    job = await create(client, schedule="in 1h", session_id=draft)
    assert job["schedule"]["kind"] == "once" and job["repeat"]["times"] == 1
    assert (job["session_id"], job["own_session"]) == (draft, False)
    assert "once at" in job["schedule_display"]
    # Deleting the task keeps the user's session.
    await client.post("/api/crons/delete", json={"id": job["id"]})
    assert (await client.get("/api/session", params={"session_id": draft})).status_code == 200


async def test_bad_input_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    job = await create(client)
    before = (await client.get("/api/crons")).json()
    created = [
        ({"schedule": "0 9 * * *"}, 400, "prompt is required"),
        ({"prompt": "x"}, 400, "schedule is required"),
        ({"prompt": "x", "schedule": "whenever"}, 400, "cannot read the schedule"),
        ({"prompt": "x", "schedule": "2001-01-01T00:00"}, 400, "has already passed"),
        ({"prompt": "x", "schedule": "@daily", "timezone": "Mars/Base"}, 400, "unknown time zone"),
        ({"prompt": "x", "schedule": "@daily", "skills": ["nope"]}, 400, "unknown skill: nope"),
        ({"prompt": "x", "schedule": "@daily", "skills": ["../x"]}, 400, "skill name must be"),
        ({"prompt": "x", "schedule": "@daily", "session_id": "abcdef123456"}, 404, "session not found"),
        ({"prompt": "x", "schedule": "@daily", "repeat": -2}, 400, "repeat must be"),
        ({"prompt": "x", "schedule": "@daily", "model": "nope/none"}, 400, ""),
        ({"prompt": 5, "schedule": "@daily"}, 400, "prompt"),
        ({"prompt": "x" * 100_001, "schedule": "@daily"}, 400, "prompt"),
    ]
    for body, status, message in created:
        r = await client.post("/api/crons/create", json=body)
        assert r.status_code == status, (body, r.text)
        assert message in r.json()["error"], (body, r.json())
    job_id = job["job_id"]
    refs = [
        ("/api/crons/update", {"job_id": job_id}, 400, "nothing to update"),
        ("/api/crons/update", {"job_id": job_id, "session_id": "x"}, 400, "cannot be changed"),
        ("/api/crons/update", {"job_id": job_id, "schedule": "never"}, 400, "cannot read"),
        ("/api/crons/update", {"job_id": job_id, "timezone": "Nowhere"}, 400, "unknown time zone"),
        ("/api/crons/update", {"job_id": "missing", "prompt": "x"}, 404, "task not found"),
        ("/api/crons/resume", {"job_id": job_id}, 400, "not paused"),
        ("/api/crons/pause", {"job_id": "../../x"}, 404, "task not found"),
        ("/api/crons/run", {"job_id": "missing"}, 404, "task not found"),
        ("/api/crons/delete", {}, 400, "job_id is required"),
    ]
    for path, body, status, message in refs:
        r = await client.post(path, json=body)
        assert r.status_code == status, (path, body, r.text)
        assert message in r.json()["error"], (path, body, r.json())
    assert (await client.get("/api/crons/output", params={"job_id": "missing"})).status_code == 404
    assert (await client.get("/api/crons/output", params={"job_id": job_id, "limit": 0})).status_code == 400
    assert (await client.get("/api/crons")).json() == before
