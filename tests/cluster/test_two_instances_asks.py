"""Clarify and steer across instances (issue 14 item 5): a question asked by a run on B is seen and
answered on A; text steered through A joins B's running turn. Real server processes sharing
PostgreSQL, Redis and the scripted LLM (skipped without PostgreSQL or Redis)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cluster import test_two_instances as two
from tests.cluster.test_two_instances import (
    Deployment,
    Instance,
    new_session,
    read_stream,
    session,
    start,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.slow
deployment = two.deployment  # the same fixtures: two instances on PostgreSQL, Redis and a scripted LLM
pair = two.pair


def test_a_question_asked_on_b_is_answered_on_a(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_a)
        args = json.dumps({"question": "Which region?", "choices": ["eu-west", "us-east"]})
        stream_id = start(on_b, sid, f"[[tool=clarify {args}]] deploy it")
        waiting: dict[str, Any] = {}

        def asked() -> bool:
            waiting.update(on_a.get("/api/clarify/pending", params={"session_id": sid}).json())
            return waiting.get("pending") is not None

        wait_for(asked, 15, "the question to show on A")
        question = waiting["pending"]
        assert question["question"] == "Which region?" and question["choices_offered"] == ["eu-west", "us-east"]
        assert question["stream_id"] == stream_id and question["kind"] == "clarify"
        # A waits for nothing itself, yet says the session needs input, in the list and the session.
        assert session(on_a, sid)["pending_clarify"] is True
        assert next(s for s in on_a.get("/api/sessions").json()["sessions"] if s["session_id"] == sid)[
            "pending_clarify"] is True
        answer = on_a.post("/api/clarify/respond", json={"session_id": sid, "choice": "us-east"})
        assert answer.status_code == 200 and answer.json()["matched"] is True, answer.text
        assert answer.json()["clarify_id"] == question["clarify_id"]
        frames = read_stream(on_a, stream_id)
        assert frames[-1][1] == "stream_end"
        assert text_of(frames) == "Tool result: us-east"
        stored = session(on_b, sid)
        assert stored["pending_clarify"] is False
        assert [m["content"] for m in stored["messages"] if m["role"] == "tool"] == ["us-east"]


def test_text_steered_through_a_joins_the_run_on_b(pair: tuple[Instance, Instance], deployment: Deployment) -> None:
    a, b = pair
    steer = "Stop listing, just say hello."
    with a.client() as on_a, b.client() as on_b:
        sid = new_session(on_a)
        stream_id = start(on_b, sid, '[[tool=list_files {"path": "."}]] [[delay=0.4 tokens=3]] look')
        answer = on_a.post("/api/chat/steer", json={"session_id": sid, "text": steer})
        assert answer.status_code == 200
        assert answer.json() == {"accepted": True, "fallback": None, "stream_id": stream_id}
        frames = read_stream(on_a, stream_id)
        assert frames[-1][1] == "stream_end"
        assert [f[2]["text"] for f in frames if f[1] == "steer"] == [steer]
        assert text_of(frames) == f"Echo: {steer}"  # the model answered the steered text
        assert deployment.llm.requests[-1]["messages"][-1] == {"role": "user", "content": steer}
        stored = session(on_a, sid)
        assert [m["content"] for m in stored["messages"] if m.get("steer")] == [steer]
        idle = on_a.post("/api/chat/steer", json={"session_id": sid, "text": steer}).json()
        assert idle == {"accepted": False, "fallback": "not_running", "stream_id": None}
