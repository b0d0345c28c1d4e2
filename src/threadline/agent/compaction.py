"""Keep a model call inside the model's context window (issue 14 item 3).

Before each model call the built-in loop asks ``Compactor.fit`` for the messages to send:

1. a tool result larger than half of what the messages may take is cut to that (head and tail kept)
   with a note saying so; the stored result keeps its full text;
2. if the request (instructions + tool definitions + messages, ``agent/tokens.py``'s estimate) is
   still over the budget (``Limits.budget``: the window minus room for the answer), the oldest
   messages are summarised by the same model, in chunks that each fit its window, into one summary
   message of at most a quarter of the room, sent instead of them; the newest messages, up to half of
   the room, stay as they are (so a quarter is left to grow before the next summary).

The summary is a user message whose ``summary`` says what it covers: ``count`` messages, up to the
stored row ``through_seq``. The caller stores it (``on_summary``) as a row of the session, and from
then on the context of the session is that summary and the rows after ``through_seq``
(``runs/context.py``); the summarised rows stay stored and shown. ``/compress`` runs the same with
``force``: it summarises even when everything fits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from threadline.agent.budget import Limits
from threadline.agent.events import ProviderError, TextDelta
from threadline.agent.providers.base import Provider, ToolSpec
from threadline.agent.tokens import BYTES_PER_TOKEN, message_tokens, messages_tokens, request_tokens, text_tokens
from threadline.agent.tools.base import truncate

log = logging.getLogger("threadline.agent")

SUMMARY_HEAD = "[Summary of the {count} earlier messages of this conversation, written to fit the context window]"
SUMMARY_SYSTEM = (
    "You compress conversations between a user and an AI assistant that uses tools in a workspace. "
    "Write a faithful, dense summary in the conversation's language: the user's goals and requests, "
    "decisions made, facts and names learned, files read or changed, commands run and their outcomes, "
    "open questions and what was about to happen next. Plain text or short bullet points; no preamble."
)
TOOL_NOTE = "this tool result is larger than the model's context window allows"
MIN_ROOM = 256  # tokens: never cut a tool result or a summary below this
OnSummary = Callable[[dict[str, Any]], Awaitable[None]]
OnEvent = Callable[[str, dict[str, Any]], Awaitable[None]]


def summary_message(text: str, count: int, through_seq: int | None) -> dict[str, Any]:
    return {"role": "user", "content": f"{SUMMARY_HEAD.format(count=count)}\n\n{text}",
            "summary": {"count": count, "through_seq": through_seq}}


def cut_to_tokens(text: str, tokens: int, hint: str) -> str:
    return truncate(text, max(1, tokens) * BYTES_PER_TOKEN, hint=hint)


def _transcript_line(message: dict[str, Any], limit: int) -> str:
    role = message.get("role")
    content = message.get("content")
    text = content if isinstance(content, str) else " ".join(
        p.get("text", "") for p in content or () if isinstance(p, dict))
    if role == "assistant":
        calls = [f"{c.get('name')}({json.dumps(c.get('arguments') or {}, ensure_ascii=False)})"
                 for c in message.get("tool_calls") or ()]
        line = f"Assistant: {text}" + (f"\nAssistant called: {'; '.join(calls)}" if calls else "")
    elif role == "tool":
        line = f"Tool result: {text}"
    else:
        line = f"User: {text}"
    return cut_to_tokens(line, limit, "cut for the summary")


class Compactor:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def room(self, system: str | None, specs: Sequence[ToolSpec]) -> int:
        """Tokens the messages may take once the instructions and the tool definitions are counted."""
        return max(MIN_ROOM, self.limits.budget - request_tokens(system, [], specs))

    def cut_tool_results(self, messages: list[dict[str, Any]], room: int) -> list[dict[str, Any]]:
        cap = max(MIN_ROOM, room // 2)
        out = []
        for message in messages:
            if message.get("role") == "tool" and message_tokens(message) > cap:
                message = {**message, "content": cut_to_tokens(str(message.get("content") or ""), cap, TOOL_NOTE)}
            out.append(message)
        return out

    async def fit(
        self,
        provider: Provider,
        model: str,
        messages: list[dict[str, Any]],
        *,
        system: str | None,
        specs: Sequence[ToolSpec],
        on_summary: OnSummary | None = None,
        on_event: OnEvent | None = None,
        force: bool = False,
        focus: str | None = None,
    ) -> list[dict[str, Any]]:
        """``messages`` as they fit the budget (see the module docstring); summarises at most once."""
        room = self.room(system, specs)
        messages = self.cut_tool_results(messages, room)
        if not force and messages_tokens(messages) <= room:
            return messages
        cut = self._cut(messages, 0 if force else room // 2)
        head, tail = messages[:cut], messages[cut:]
        if not head or (len(head) == 1 and head[0].get("summary") and not force):
            return messages  # nothing left to summarise: the newest messages alone are too large
        previous = head[0] if head[0].get("summary") else None
        earlier = head[1:] if previous is not None else head
        if not earlier:
            return messages
        count = len(earlier) + (int(previous["summary"].get("count") or 0) if previous else 0)
        through = next((m["seq"] for m in reversed(head) if isinstance(m.get("seq"), int)), None)
        if on_event is not None:
            await on_event("compressing", {"messages": len(earlier), "model": self.limits.model})
        try:
            text = await self._summarise(provider, model, previous, earlier, focus, length=max(MIN_ROOM, room // 4))
        except ProviderError as exc:
            if force:
                raise
            # This call goes without the oldest messages rather than not at all; nothing is stored, so
            # the next call tries to summarise them again.
            log.warning("summarising %d messages failed (%s); leaving them out of this call", len(earlier), exc)
            if on_event is not None:
                await on_event("warning", {"type": "compaction", "message": f"Summarising the older messages failed "
                                           f"({exc.message}); the model was sent only the newest ones."})
            return [summary_message(f"(the summary could not be written: {exc.message})", count, None), *tail]
        summary = summary_message(text, count, through)
        if on_summary is not None:
            await on_summary(summary)
        return [summary, *tail]

    def _cut(self, messages: list[dict[str, Any]], keep: int) -> int:
        """Where the kept tail starts: the newest messages within ``keep`` tokens (at least the last
        one), never starting on a tool result (its call goes with it)."""
        cut, used = len(messages), 0
        while cut > 0:
            size = message_tokens(messages[cut - 1])
            if cut < len(messages) and used + size > keep:
                break
            cut, used = cut - 1, used + size
        while 0 < cut < len(messages) and messages[cut].get("role") == "tool":
            cut -= 1
        return cut

    async def _summarise(
        self, provider: Provider, model: str, previous: dict[str, Any] | None, earlier: list[dict[str, Any]],
        focus: str | None, *, length: int,
    ) -> str:
        """The summary of ``earlier`` (after the ``previous`` summary), at most ``length`` tokens, built
        chunk by chunk so that every summarising call fits the model's window."""
        chunk_room = max(MIN_ROOM, self.limits.budget - length - text_tokens(SUMMARY_SYSTEM) - 200)
        summary = ""
        if previous is not None:
            summary = str(previous.get("content") or "").split("\n\n", 1)[-1]
        lines = [_transcript_line(m, chunk_room // 2) for m in earlier]
        chunk: list[str] = []
        size = 0
        for line in [*lines, None]:
            tokens = text_tokens(line) if line is not None else 0
            if chunk and (line is None or size + tokens > chunk_room):
                summary = await self._ask(provider, model, summary, "\n\n".join(chunk), length, focus)
                chunk, size = [], 0
            if line is not None:
                chunk.append(line)
                size += tokens
        return summary

    async def _ask(self, provider: Provider, model: str, summary: str, chunk: str, length: int,
                   focus: str | None) -> str:
        words = max(50, length * 3 // 4)
        prompt = (f"Summary so far:\n{summary}\n\n" if summary else "") + f"Conversation to add:\n{chunk}\n\n"
        prompt += f"Write the updated summary of the whole conversation in at most {words} words."
        if focus:
            prompt += f" Give most room to: {focus}"
        parts: list[str] = []
        events = provider.stream(model=model, messages=[{"role": "user", "content": prompt}], tools=[],
                                 system=SUMMARY_SYSTEM)
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        text = "".join(parts).strip() or summary
        return cut_to_tokens(text, length, "the summary was cut to fit")
