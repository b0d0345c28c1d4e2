"""Steering: text the user sends while a run is live (``POST /api/chat/steer``, reference §2.2) joins
the running turn at its next step instead of waiting for the turn to end.

Each live run of a runtime that steers (``Runtime.steerable``) has an inbox (``SteerInbox``) that the
runtime reads before its next model call; the text is stored there as a user message marked
``steer``. A run on another instance is steered through that instance (``OwnerRelay``). When the run
stops taking text (it is finishing), what is left comes back as ``pending_steer_leftover`` for the
client to queue. Every answer is ``{accepted, fallback, stream_id}``; ``fallback`` says why not:

    not_running         the session has no live run (send the text as a new message)
    agent_lacks_steer   its runtime cannot steer (an ACP agent): queue the text
    stream_dead         the run is finishing, or its instance is gone: queue the text
    session_not_found   no such session
    steer_error         the instance that runs it could not be asked
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from threadline.agent.runtime import SteerInbox
from threadline.errors import NotFound
from threadline.runs.live import LiveRun
from threadline.runs.views import SteerAnswer
from threadline.sessions.service import SessionService

if TYPE_CHECKING:
    from threadline.runs.relay import OwnerRelay, RelayHandler

log = logging.getLogger("threadline.runs")

LEFTOVER = "pending_steer_leftover"


def answer(accepted: bool, fallback: str | None, stream_id: str | None) -> SteerAnswer:
    return {"accepted": accepted, "fallback": fallback, "stream_id": stream_id}


class Steering:
    def __init__(self, sessions: SessionService, *, relay: OwnerRelay | None = None) -> None:
        self.sessions = sessions
        self.relay = relay
        self._live: dict[str, tuple[LiveRun, SteerInbox | None]] = {}  # by session: its live run here

    def open(self, live: LiveRun, *, steerable: bool) -> SteerInbox | None:
        """A run starts here: its inbox, or ``None`` when its runtime cannot steer."""
        inbox = SteerInbox() if steerable else None
        self._live[live.session_id] = (live, inbox)
        return inbox

    def close(self, live: LiveRun) -> None:
        """The run takes no more text: what it never took goes back to the user, each text as sent (a
        tab queues only what it sent itself, so two tabs on the run never queue it twice)."""
        entry = self._live.get(live.session_id)
        if entry is None or entry[0] is not live:
            return
        del self._live[live.session_id]
        for text in entry[1].close() if entry[1] is not None else ():
            if not live.ended:
                live.emit(LEFTOVER, {"session_id": live.session_id, "text": text})

    async def steer(self, session_id: str, text: str) -> SteerAnswer:
        here = self._steer_here(session_id, text)
        if here is not None:
            return here
        try:
            session = await self.sessions.get(session_id, messages=False)
        except NotFound:
            return answer(False, "session_not_found", None)
        active = session["active_stream_id"]
        if not active:
            return answer(False, "not_running", None)
        if self.relay is not None:
            try:
                relayed = await self.relay.call_owner(session_id, "steer", {"session_id": session_id, "text": text})
            except Exception as exc:  # noqa: BLE001 - Redis down: the client queues the text instead
                log.warning("could not relay steer text of session %s: %s", session_id, exc)
                return answer(False, "steer_error", active)
            if relayed:
                return cast(SteerAnswer, dict(relayed))  # the owner's answer, as it built it
        return answer(False, "stream_dead", active)

    def _steer_here(self, session_id: str, text: str) -> SteerAnswer | None:
        """The answer when the session's run is live in this process, else ``None``."""
        entry = self._live.get(session_id)
        if entry is None:
            return None
        live, inbox = entry
        if inbox is None:
            return answer(False, "agent_lacks_steer", live.id)
        if not inbox.put(text):
            return answer(False, "stream_dead", live.id)
        return answer(True, None, live.id)

    def relay_handlers(self) -> dict[str, RelayHandler]:
        """Steer text another instance received for a run that is live here."""

        async def steer(args: dict[str, Any]) -> dict[str, Any]:
            here = self._steer_here(str(args["session_id"]), str(args["text"]))
            return {**(here or answer(False, "stream_dead", None))}

        return {"steer": steer}
