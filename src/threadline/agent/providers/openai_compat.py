"""Adapter for any OpenAI-compatible chat completions server (OpenAI, OpenRouter, Ollama, vLLM...).

The request goes through the official SDK (auth, retries, timeouts, error statuses); the streamed
answer is read from its raw response and each server-sent event decoded with ``orjson`` into plain
dicts, not one SDK object per chunk (issue 18 item 5: building those took most of the event loop's
time with 200 streams)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai
import orjson

from threadline.agent.events import (
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    StopReason,
    TextDelta,
    ToolCallRequest,
    TurnEnd,
    Usage,
)
from threadline.agent.params import ModelParams, openai_fields
from threadline.agent.providers.base import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    ToolSpec,
    connection_error,
    error_from_status,
    guard_stream,
    parse_arguments,
    repair_tool_pairs,
    response_lines,
    sse_data,
    stream_cut,
)
from threadline.agent.providers.limits import ModelFacts, from_listing

_STOP_REASONS: dict[str, StopReason] = {"tool_calls": "tool_calls", "function_call": "tool_calls", "length": "length"}
_MODEL_LIST_CAP = 2000


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


class OpenAIProvider:
    kind = "openai"

    def __init__(
        self,
        *,
        name: str = "openai",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        max_retries: int = 1,
        max_tokens: int | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.facts: dict[str, ModelFacts] = {}  # what the last model listing said of each model
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            # Local servers (Ollama, llama.cpp) take no key, but the SDK insists on one.
            api_key=api_key or "not-needed",
            timeout=openai.Timeout(timeout, connect=min(connect_timeout, timeout)),
            max_retries=max_retries,
            # aiohttp's C parser reads the stream: httpx's pure-Python HTTP/1.1 (h11) spent a quarter of
            # a busy server's event loop on the chunks of 200 streams (issue 18).
            http_client=openai.DefaultAioHttpClient(),
        )
        # The SDK imports its resource modules at first use: here, where the adapter is built (a worker
        # thread, ``ProviderRegistry.load_sdks``), not in the first run on the event loop.
        self._models = self._client.models
        self._completions = self._client.chat.completions.with_streaming_response

    async def aclose(self) -> None:
        await self._client.close()

    async def list_models(self) -> list[str]:
        try:
            ids: list[str] = []
            async for model in self._models.list():
                ids.append(model.id)
                self.facts[model.id] = from_listing(model.to_dict())
                if len(ids) >= _MODEL_LIST_CAP:
                    break
        except openai.APIError as exc:
            raise self._map_error(exc, None) from exc
        return sorted(ids)

    async def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        system: str | None = None,
        params: ModelParams | None = None,
    ) -> AsyncIterator[ProviderEvent]:
        body: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(messages, system),
            "stream": True,
            "stream_options": {"include_usage": True},
            **openai_fields(model, params or ModelParams(), self.max_tokens),
        }
        if tools:
            body["tools"] = [to_openai_tool(t) for t in tools]
        calls: dict[int, _PendingCall] = {}
        finish: str | None = None
        usage: Usage | None = None
        try:
            # The body goes as ``extra_body``, which the SDK sends as it is: given as parameters, it is
            # first walked against the SDK's parameter types, 20 ms of the event loop's time for a
            # conversation of 150 messages with a dozen tools, at every step of every run. The body is
            # already in the wire format, which that walk would leave as it is.
            async with self._completions.create(model=model, messages=[], stream=True, extra_body=body) as response:
                async for data in self._data(response):
                    if data.startswith("[DONE]"):
                        continue  # read on to the end of the body, so the connection can be reused
                    chunk = _decode(data, self.name)
                    if chunk.get("error"):  # an error object sent inside the stream, without an HTTP status
                        raise error_from_status(500, _error_text(chunk["error"], "An error occurred during streaming"),
                                                provider=self.name, model=model)
                    counted = chunk.get("usage")
                    if isinstance(counted, dict):
                        usage = Usage(counted.get("prompt_tokens") or 0, counted.get("completion_tokens") or 0)
                    choices = chunk.get("choices")
                    choice = choices[0] if isinstance(choices, list) and choices else None
                    if isinstance(choice, dict):
                        delta = choice.get("delta")
                        if isinstance(delta, dict):
                            for event in _deltas(delta, calls):
                                yield event
                        if choice.get("finish_reason"):
                            finish = str(choice["finish_reason"])
        except openai.APIError as exc:
            raise self._map_error(exc, model) from exc

        if finish is None:
            raise stream_cut(self.name, None)
        for index in sorted(calls):
            pending = calls[index]
            yield ToolCallRequest(
                id=pending.id or f"call_{uuid.uuid4().hex[:24]}",
                name=pending.name,
                arguments=parse_arguments(pending.arguments),
                raw_arguments=pending.arguments,
            )
        if usage is not None:
            yield usage
        yield TurnEnd("tool_calls" if calls else _STOP_REASONS.get(finish, "stop"))

    def _data(self, response: Any) -> AsyncIterator[str]:
        """The ``data`` of each server-sent event of the raw response, with mid-stream failures
        turned into ``ProviderError``."""
        return guard_stream(
            sse_data(response_lines(response)), provider=self.name, connection_error_type=openai.APIConnectionError,
            api_error_type=openai.APIError, map_error=lambda exc: self._map_error(exc, None),
        )

    def _map_error(self, exc: openai.APIError, model: str | None) -> ProviderError:
        if isinstance(exc, openai.APIConnectionError):
            return connection_error(self.name, self.base_url, exc, timeout=isinstance(exc, openai.APITimeoutError))
        if isinstance(exc, openai.APIStatusError):
            return error_from_status(exc.status_code, _error_text(exc.body, exc.message), provider=self.name,
                                     model=model)
        # An error object sent inside the stream, without an HTTP status.
        return error_from_status(500, _error_text(exc.body, exc.message), provider=self.name, model=model)


def _error_text(body: object, fallback: str) -> str:
    if isinstance(body, dict):
        code = body.get("code") or body.get("type")
        message = body.get("message") if isinstance(body.get("message"), str) and body.get("message") else fallback
        return f"{message} ({code})" if code else str(message)
    return fallback


def _decode(data: str, provider: str) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise stream_cut(provider, exc) from exc
    return chunk if isinstance(chunk, dict) else {}


def _deltas(delta: dict[str, Any], calls: dict[int, _PendingCall]) -> list[ProviderEvent]:
    """One chunk's delta as events; tool-call pieces are gathered into ``calls`` (sent at the end)."""
    events: list[ProviderEvent] = []
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        events.append(ReasoningDelta(reasoning))
    content = delta.get("content")
    if isinstance(content, str) and content:
        events.append(TextDelta(content))
    for piece in delta.get("tool_calls") or ():
        if not isinstance(piece, dict):
            continue
        index = piece.get("index")
        if not isinstance(index, int):  # some servers omit it: a new id starts a new call
            index = len(calls) if piece.get("id") or not calls else max(calls)
        pending = calls.setdefault(index, _PendingCall())
        if piece.get("id"):
            pending.id = str(piece["id"])
        function = piece.get("function")
        if isinstance(function, dict):
            pending.name += function.get("name") or ""
            pending.arguments += function.get("arguments") or ""
    return events


def to_openai_tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": spec.parameters},
    }


def to_openai_messages(messages: list[dict[str, Any]], system: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in repair_tool_pairs(messages):
        role = message["role"]
        if role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": message.get("content") or None}
            if message.get("tool_calls"):
                item["tool_calls"] = [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments") or {})},
                    }
                    for call in message["tool_calls"]
                ]
            elif item["content"] is None:
                item["content"] = ""
            out.append(item)
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": message["tool_call_id"], "content": message["content"]})
        elif message.get("images"):  # image parts (``runs/attachments.py``), sent as data URLs
            parts: list[dict[str, Any]] = [{"type": "text", "text": message.get("content") or ""}]
            parts += [{"type": "image_url", "image_url": {"url": f"data:{image['media_type']};base64,{image['data']}"}}
                      for image in message["images"]]
            out.append({"role": role, "content": parts})
        else:
            out.append({"role": role, "content": message.get("content", "")})
    return out
