"""``GET /api/session``'s answer is shaped message by message (``web/responses.py``): the same JSON as
every other answer (secrets redacted, stored data encoded without failing), with each message's
redacted encoding remembered by its exact encoding, so a changed message is never answered stale."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from threadline.web.responses import ENCODED_MESSAGES, render_redacted, render_session

pytestmark = pytest.mark.backend_independent

SECRET = "sk-proj-" + "a1B2" * 10


def message(seq: int, content: Any, **extra: Any) -> dict[str, Any]:
    return {"id": seq + 1, "parent_id": seq or None, "seq": seq, "role": "assistant", "content": content,
            "status": "complete", "timestamp": 1796000000.25 + seq, **extra}


def session(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"session": {"session_id": "abc123", "title": f"key {SECRET}", "messages": messages,
                        "_messages_offset": 0, "_messages_truncated": False, "cost": 1e-05}}


def test_the_same_json_as_any_answer_secrets_redacted() -> None:
    content = session([
        message(0, "hello"),
        message(1, f"the key is {SECRET}", tool_calls=[{"id": "c1", "name": "run", "arguments": {"env": SECRET}}]),
        message(2, [{"type": "text", "text": f"Bearer {SECRET}"}], reasoning="lone \ud800 surrogate", ratio=math.inf),
    ])
    shaped = render_session(content)
    assert orjson.loads(shaped) == orjson.loads(render_redacted(content))
    assert render_session(content) == shaped  # again, from the memo
    assert SECRET not in shaped.decode("utf-8", "surrogatepass") and b"[REDACTED]" in shaped
    assert content["session"]["messages"][1]["content"] == f"the key is {SECRET}"  # the input is not changed


def test_a_changed_message_is_shaped_again() -> None:
    first = message(0, "partial text")
    assert orjson.loads(render_session(session([first])))["session"]["messages"][0]["content"] == "partial text"
    changed = dict(first, content=f"partial text and {SECRET}", status="complete")
    answer = orjson.loads(render_session(session([changed])))
    assert answer["session"]["messages"][0]["content"].startswith("partial text and sk-proj-")
    assert SECRET not in answer["session"]["messages"][0]["content"]
    assert ENCODED_MESSAGES.get(orjson.dumps(changed)) is not None


@pytest.mark.parametrize("content", [
    {"session": {"messages": []}}, {"session": {"messages": [message(0, "x")]}}, {"session": None},
    {"session": {"messages": "not a list"}}, {"other": 1}, None,
])
def test_any_shape_encodes_as_any_answer(content: Any) -> None:
    assert orjson.loads(render_session(content)) == orjson.loads(render_redacted(content))


def test_a_page_row_is_converted_once_and_answered_as_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sessions/branches.py``: a SQLite page row's public form is remembered by the row itself; a
    changed row (a checkpoint's longer text) is converted anew, and what a caller adds to its copy
    (the sibling fields) never reaches the next answer."""
    from threadline.redact import Memo
    from threadline.sessions import branches
    from threadline.sessions.branches import _PAGE_NAMES

    memo: Memo[tuple[Any, ...], Any] = Memo(limit=10_000, size=branches._text_size)
    monkeypatch.setattr(branches, "PUBLIC_ROWS", memo)
    values = {name: None for name in _PAGE_NAMES} | {
        "id": 7, "session_id": "abc", "seq": 0, "position": 0, "active_at": 1.0, "role": "assistant",
        "content": "partial", "status": "partial", "in_context": 1, "created_at": 1.0,
        "tool_calls": '[{"id": "c1", "name": "run", "arguments": {}}]'}
    row = tuple(values[name] for name in _PAGE_NAMES)
    first = branches._public(row)
    assert first["content"] == "partial" and first["tool_calls"] == [{"id": "c1", "name": "run", "arguments": {}}]
    first["sibling_ids"] = [7, 8]
    again = branches._public(row)
    assert again == {k: v for k, v in first.items() if k != "sibling_ids"} and again is not first
    grown = tuple({**values, "content": "partial text, complete", "status": "complete"}[name] for name in _PAGE_NAMES)
    assert branches._public(grown)["content"] == "partial text, complete" and "_partial" not in branches._public(grown)
    for index in range(1000):  # bounded: the oldest rows go first
        branches._public(tuple({**values, "id": 100 + index, "content": "x" * 100}[name] for name in _PAGE_NAMES))
    assert memo._size <= memo.limit and len(memo._items) < 1000
