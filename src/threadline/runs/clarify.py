"""Questions the agent asks the user (the ``clarify`` tool, ``RunSink.ask_user``), waiting like
approvals: a queue per session, a timeout, a mark in the session (``pending_clarify``: "needs input"),
answers from any instance (reference §2.3).

A question repeated while the same one (same text, same choices) still waits in the session joins it:
one card, one answer for both. No answer within the timeout (120 s by default) is ``None``: the
runtime tells the agent to use its best judgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from threadline.errors import BadRequest
from threadline.runs.waiting import Announce, Waiting, WaitingBroker
from threadline.sessions.views import PENDING_CLARIFY
from threadline.store.engine import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from threadline.runs.relay import OwnerRelay

MAX_RESPONSE = 20_000


@dataclass(kw_only=True)
class PendingClarify(Waiting):
    question: str
    choices: tuple[str, ...]

    def public(self) -> dict[str, Any]:
        """Hermes WebUI's pending shape, with the question's id and run."""
        return {
            "clarify_id": self.id,
            "session_id": self.session_id,
            "stream_id": self.run_id,
            "question": self.question,
            "choices_offered": list(self.choices),
            "kind": "clarify",
            "requested_at": self.created_at,
        }


class ClarifyBroker(WaitingBroker[PendingClarify]):
    PENDING_OP = "clarify.pending"
    RESPOND_OP = "clarify.respond"

    def __init__(self, store: Store, timeout: float, *, relay: OwnerRelay | None = None,
                 on_mark: Callable[[str], object] | None = None) -> None:
        super().__init__(store, PENDING_CLARIFY, relay, on_mark)
        self.timeout = timeout

    async def ask(self, *, session_id: str, run_id: str, question: str, choices: Sequence[str],
                  announce: Announce) -> str | None:
        """Wait for the user's answer to ``question``; ``None`` when nobody answered in time."""
        offered = tuple(choices)
        same = next((p for p in self.room.queue(session_id)
                     if p.question == question and p.choices == offered), None)
        if same is not None:
            return await self.room.join(same, self.timeout)
        pending = PendingClarify(session_id=session_id, run_id=run_id, question=question, choices=offered)
        return await self.room.wait(pending, announce, self.timeout)

    async def respond(self, session_id: str, response: str, clarify_id: str | None = None, *,
                      relay: bool = True) -> dict[str, Any]:
        """Answer the question ``clarify_id`` (else the oldest) of the session, here or, with ``relay``,
        on the instance that runs the session. 200 with ``matched: false`` when nothing waits."""
        if not response.strip():
            raise BadRequest("the response is empty")
        if len(response) > MAX_RESPONSE:
            raise BadRequest(f"the response is longer than {MAX_RESPONSE} characters")
        target = self.room.find(session_id, clarify_id)
        if target is None:
            args = {"session_id": session_id, "response": response, "clarify_id": clarify_id}
            relayed = await self.relay_answer(session_id, args) if relay else None
            return relayed or {"ok": True, "response": response, "matched": False}
        self.room.answer(target, response)
        return {"ok": True, "response": response, "matched": True, "clarify_id": target.id}

    async def answer_relayed(self, args: dict[str, Any]) -> dict[str, Any]:
        clarify_id = args.get("clarify_id")
        return await self.respond(str(args["session_id"]), str(args["response"]),
                                  str(clarify_id) if clarify_id else None, relay=False)

    def cancel_run(self, run_id: str) -> None:
        """A cancelled run stops waiting for its questions."""
        self.room.cancel_run(run_id, None)
