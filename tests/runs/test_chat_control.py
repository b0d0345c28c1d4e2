"""Cancel, approvals, failures, replay, subscribers, the queue, and history rewrites during a run."""

from __future__ import annotations

import asyncio

import pytest

from tests.llm_server import Turn
from tests.runs.conftest import read_events, wait_idle


async def new_session(client) -> str:
    return (await client.post("/api/session/new", json={})).json()["session"]["session_id"]


async def start(client, sid: str, message: str, **extra) -> dict:
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message, **extra})
    assert r.status_code == 200, r.text
    return r.json()


async def test_cancel_mid_stream_keeps_partial_and_frees_session(chat, llm):
    llm.script(Turn(text=[f"w{i} " for i in range(200)], delay=0.02))
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "long answer"))["stream_id"]
    frames = await read_events(chat, stream_id, limit=10)
    assert all(f[1] in ("token", "context_status") for f in frames)  # context_status: the gauge
    r = await chat.post("/api/chat/cancel", json={"stream_id": stream_id})
    assert r.json()["cancelled"] is True
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert session["active_stream_id"] is None
    partial, marker = session["messages"][-2:]
    assert partial["status"] == "partial" and partial["_partial"] and partial["content"].startswith("w0 w1")
    assert marker["status"] == "cancelled" and marker["_error"] and marker["in_context"] is False
    rest = await read_events(chat, stream_id, after=frames[-1][0])
    assert rest[-1][1] == "cancel"
    # The session is free at once, and the cancel marker never reaches the model.
    llm.script(Turn(text="ok"))
    await start(chat, sid, "next")
    await wait_idle(chat, sid)
    sent = llm.requests[-1]["messages"]
    assert not any("Task cancelled" in str(m.get("content")) for m in sent)
    assert any(str(m.get("content", "")).startswith("w0 w1") for m in sent)


async def test_cancel_unknown_stream_is_false_and_get_form_works(chat):
    r = await chat.get("/api/chat/cancel", params={"stream_id": "nope"})
    assert r.status_code == 200 and r.json()["cancelled"] is False
    assert (await chat.get("/api/chat/stream", params={"stream_id": "nope"})).status_code == 404


@pytest.mark.parametrize("choice", ["once", "session", "always", "deny"])
async def test_approval_choices(chat, llm, choice):
    llm.script(
        Turn(tool_calls=[("run_shell", {"command": "echo approved-output"})]),
        Turn(text="done"),
    )
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "run it"))["stream_id"]
    frames = await read_events(chat, stream_id, until={"approval"})
    approval = frames[-1][2]
    assert approval["command"] == "echo approved-output"
    pending = (await chat.get("/api/approval/pending", params={"session_id": sid})).json()
    assert pending["pending"]["approval_id"] == approval["approval_id"] and pending["pending_count"] == 1
    r = await chat.post("/api/approval/respond",
                        json={"session_id": sid, "choice": choice, "approval_id": approval["approval_id"]})
    assert r.json()["matched"] is True
    rest = await read_events(chat, stream_id, after=frames[-1][0])
    result = next(f[2] for f in rest if f[1] == "tool_complete")
    if choice == "deny":
        assert result["is_error"] and "denied" in result["result"] and result["approval"] == "denied"
    else:
        assert "approved-output" in result["result"]
    await wait_idle(chat, sid)
    if choice in ("session", "always"):
        # A second command with the same program runs without asking.
        llm.script(Turn(tool_calls=[("run_shell", {"command": "echo again"})]), Turn(text="done"))
        stream_id = (await start(chat, sid, "again"))["stream_id"]
        names = [f[1] for f in await read_events(chat, stream_id)]
        assert "approval" not in names and "tool_complete" in names


async def test_approval_timeout_is_recorded_as_timed_out(chat_app, chat, llm):
    chat_app.state.services.runs.approvals.timeout = 0.3
    llm.script(Turn(tool_calls=[("run_shell", {"command": "echo hi"})]), Turn(text="done"))
    sid = await new_session(chat)
    frames = await read_events(chat, (await start(chat, sid, "x"))["stream_id"])
    result = next(f[2] for f in frames if f[1] == "tool_complete")
    assert result["is_error"] and result["approval"] == "timed_out"
    assert "timed out" in result["result"] and "denied" not in result["result"]
    tool_row = next(m for m in (await wait_idle(chat, sid))["messages"] if m["role"] == "tool")
    assert tool_row["approval"] == "timed_out" and "timed out" in tool_row["content"]
    assert "timed out" in llm.requests[-1]["messages"][-1]["content"]  # the model is told, too


@pytest.mark.parametrize("fail,kind", [("auth", "auth"), ("rate_limit", "rate_limit"), ("cut", "stream_cut"),
                                       ("model_not_found", "model_not_found")])
async def test_provider_failure_ends_with_apperror(chat, llm, fail, kind):
    llm.script(Turn(text="partial words here", fail=fail, delay=0.01, chunk=2))
    sid = await new_session(chat)
    frames = await read_events(chat, (await start(chat, sid, "x"))["stream_id"])
    assert frames[-1][1] == "apperror"
    assert frames[-1][2]["type"] == kind and frames[-1][2]["hint"]
    session = await wait_idle(chat, sid)
    assert session["messages"][0]["content"] == "x"  # the user's message is never lost
    assert session["messages"][-1]["_error"] and session["messages"][-1]["error_type"] == kind


async def test_replay_after_every_event_yields_exactly_the_rest(chat, llm):
    llm.script(Turn(text=[f"t{i} " for i in range(30)], reasoning="think", delay=0.005))
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "x"))["stream_id"]
    live = await read_events(chat, stream_id)
    for cut in range(len(live)):
        rest = await read_events(chat, stream_id, after=live[cut][0])
        assert rest == live[cut + 1:]
    by_seq = await chat.get("/api/chat/stream", params={"stream_id": stream_id, "after_seq": len(live) - 2})
    assert by_seq.text.count("event: ") == 2


async def test_reconnect_mid_run_gets_missed_events_once(chat, llm):
    llm.script(Turn(text=[f"t{i} " for i in range(60)], delay=0.01))
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "x"))["stream_id"]
    head = await read_events(chat, stream_id, limit=5)
    tail = await read_events(chat, stream_id, after=head[-1][0])
    seqs = [int(f[0].split(":")[1]) for f in head + tail]
    assert seqs == list(range(1, len(seqs) + 1))
    text = "".join(f[2]["text"] for f in head + tail if f[1] == "token")
    assert text == "".join(f"t{i} " for i in range(60))


async def test_two_subscribers_each_get_every_event(chat, llm):
    llm.script(Turn(text=[f"t{i} " for i in range(40)], delay=0.01))
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "x"))["stream_id"]
    a, b = await asyncio.gather(read_events(chat, stream_id), read_events(chat, stream_id))
    assert a == b and len([f for f in a if f[1] == "token"]) == 40


async def test_busy_session_409_then_queue_runs_next(chat, llm):
    llm.script(Turn(text=[f"a{i} " for i in range(20)], delay=0.02), Turn(text="second answer"))
    sid = await new_session(chat)
    first = (await start(chat, sid, "first"))["stream_id"]
    busy = await chat.post("/api/chat/start", json={"session_id": sid, "message": "second"})
    assert busy.status_code == 409 and busy.json()["active_stream_id"] == first
    queued = await start(chat, sid, "second", queue=True)
    assert queued["queued"] is True
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    assert [q["message"] for q in session["queue"]] == ["second"]
    await read_events(chat, first)
    for _ in range(100):
        session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
        if not session["queue"] and not session["active_stream_id"] and session["message_count"] >= 4:
            break
        await asyncio.sleep(0.05)
    contents = [m["content"] for m in session["messages"]]
    assert contents[2:] == ["second", "second answer"]


@pytest.mark.parametrize("op", ["retry", "undo", "clear", "delete"])
async def test_history_rewrites_409_while_live(chat, llm, op):
    llm.script(Turn(text=[f"a{i} " for i in range(30)], delay=0.02))
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "x"))["stream_id"]
    r = await chat.post(f"/api/session/{op}", json={"session_id": sid})
    assert r.status_code == 409 and r.json()["active_stream_id"] == stream_id
    r = await chat.post("/api/session/truncate", json={"session_id": sid, "keep_count": 0})
    assert r.status_code == 409
    await chat.post("/api/chat/cancel", json={"stream_id": stream_id})
    assert (await chat.post(f"/api/session/{op}", json={"session_id": sid})).status_code == 200


async def test_stale_worker_cannot_write_after_cancel(chat_app, chat, llm):
    """The ownership token: once cancelled, the old run's recorder refuses to write."""
    from threadline.runs.checkpoints import Checkpointer
    from threadline.runs.live import LiveRun
    from threadline.runs.recorder import NotOwner, Recorder

    llm.script(Turn(text=[f"a{i} " for i in range(50)], delay=0.02))
    sid = await new_session(chat)
    stream_id = (await start(chat, sid, "x"))["stream_id"]
    runs = chat_app.state.services.runs
    live = runs.live[stream_id]
    await read_events(chat, stream_id, limit=3)
    await chat.post("/api/chat/cancel", json={"stream_id": stream_id})
    # A worker that never heard of the cancel (its flag unset) still cannot write.
    stale = Recorder(LiveRun(id=live.id, session_id=live.session_id), runs.sessions, runs.approvals,
                     clarify=runs.clarify)
    stale.text = "late text"
    checkpoints = Checkpointer(runs.sessions, interval=1)
    checkpoints.add(stale)
    assert await checkpoints.tick() == 0 and stale.lost  # the batch skips it, and it stops at its next event
    with pytest.raises(NotOwner):
        await stale.on_text("more")
    stale.lost = False
    with pytest.raises(NotOwner):
        await stale.on_assistant_message({"content": "late"})
    session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
    texts = [m["content"] for m in session["messages"]]
    assert "late text" not in texts and "late" not in texts


async def test_anthropic_provider_runs_a_turn(home, llm):
    import httpx

    from tests.conftest import make_settings
    from tests.runs.conftest import llm_env, serve
    from threadline.web.app import create_app

    app = create_app(make_settings(home, default_model="anthropic/test-model"), env=llm_env(llm, "anthropic"))
    llm.script(Turn(reasoning="hmm", text="Bonjour"))
    async with serve(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            sid = await new_session(client)
            frames = await read_events(client, (await start(client, sid, "hi"))["stream_id"])
            assert "".join(f[2]["text"] for f in frames if f[1] == "token") == "Bonjour"
            assert "".join(f[2]["text"] for f in frames if f[1] == "reasoning") == "hmm"
            session = await wait_idle(client, sid)
            assert session["messages"][-1]["reasoning"] == "hmm"
    assert llm.requests[-1]["_path"].endswith("/v1/messages")


async def test_chat_start_errors(chat):
    assert (await chat.post("/api/chat/start", json={"session_id": "abc123", "message": "x"})).status_code == 404
    sid = await new_session(chat)
    assert (await chat.post("/api/chat/start", json={"session_id": sid, "message": ""})).status_code == 400
    assert (await chat.post("/api/chat/start", json={"session_id": sid})).status_code == 400
    r = await chat.post("/api/chat/start", json={"session_id": sid, "message": "x", "attachments": ["a"] * 21})
    assert r.status_code == 400
    # Nothing was written for the failed calls: the draft is still a draft.
    assert (await chat.get("/api/session", params={"session_id": sid})).json()["session"]["is_draft"]


async def test_session_approval_survives_a_restart_and_stays_in_its_session(chat_settings, llm):
    import httpx

    from tests.runs.conftest import llm_env, serve
    from threadline.web.app import create_app

    async def shell_turn(client, sid: str) -> list[str]:
        llm.script(Turn(tool_calls=[("run_shell", {"command": "echo again"})]), Turn(text="done"))
        r = await client.post("/api/chat/start", json={"session_id": sid, "message": "run"})
        frames = await read_events(client, r.json()["stream_id"], until={"approval", "stream_end"})
        if frames[-1][1] == "approval":
            await client.post("/api/approval/respond", json={"session_id": sid, "choice": "deny"})
            await read_events(client, r.json()["stream_id"], after=frames[-1][0])
        await wait_idle(client, sid)
        return [f[1] for f in frames]

    app = create_app(chat_settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid = await new_session(client)
        llm.script(Turn(tool_calls=[("run_shell", {"command": "echo first"})]), Turn(text="done"))
        r = await client.post("/api/chat/start", json={"session_id": sid, "message": "run"})
        frames = await read_events(client, r.json()["stream_id"], until={"approval"})
        await client.post("/api/approval/respond", json={"session_id": sid, "choice": "session"})
        await read_events(client, r.json()["stream_id"], after=frames[-1][0])
        await wait_idle(client, sid)
    app = create_app(chat_settings, env=llm_env(llm))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert "approval" not in await shell_turn(client, sid)
        other = await new_session(client)
        assert "approval" in await shell_turn(client, other)


async def test_a_queued_message_is_checked_before_its_claim_takes_the_writer(chat_app, chat, llm):
    """Starting a queued message checks its model first (which may ask the provider, slowly), outside
    the write transaction that claims it: a rename meanwhile does not wait for the provider (on
    SQLite every write would)."""
    starter = chat_app.state.services.runs.starter
    checking, release = asyncio.Event(), asyncio.Event()
    real_check = starter.check_model

    async def slow_check(*args):
        if checking.is_set() or not starter_ready.is_set():
            return await real_check(*args)
        checking.set()
        await release.wait()  # the provider answers when the test says so
        return await real_check(*args)

    starter_ready = asyncio.Event()
    starter.check_model = slow_check
    llm.script(Turn(text=[f"a{i} " for i in range(10)], delay=0.02), Turn(text="second answer"))
    sid = await new_session(chat)
    first = (await start(chat, sid, "first"))["stream_id"]
    await start(chat, sid, "second", queue=True)
    starter_ready.set()  # from here on, the next check is the queued message's
    await read_events(chat, first)
    await asyncio.wait_for(checking.wait(), 10)
    renamed = await asyncio.wait_for(
        chat.post("/api/session/rename", json={"session_id": sid, "title": "renamed meanwhile"}), 5)
    assert renamed.status_code == 200 and not release.is_set()
    release.set()
    for _ in range(200):
        session = (await chat.get("/api/session", params={"session_id": sid})).json()["session"]
        if not session["queue"] and not session["active_stream_id"] and session["message_count"] >= 4:
            break
        await asyncio.sleep(0.05)
    assert [m["content"] for m in session["messages"]][2:] == ["second", "second answer"]
    assert session["title"] == "renamed meanwhile"
