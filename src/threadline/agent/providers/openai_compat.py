"""Adapter for any OpenAI-compatible chat completions server (OpenAI, OpenRouter, Ollama, vLLM...)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai

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
from threadline.agent.providers.base import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    ToolSpec,
    connection_error,
    error_from_status,
    guard_stream,
    parse_arguments,
    repair_tool_pairs,
    stream_cut,
)

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
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            # Local servers (Ollama, llama.cpp) take no key, but the SDK insists on one.
            api_key=api_key or "not-needed",
            timeout=openai.Timeout(timeout, connect=min(connect_timeout, timeout)),
            max_retries=max_retries,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def list_models(self) -> list[str]:
        try:
            ids: list[str] = []
            async for model in self._client.models.list():
                ids.append(model.id)
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
    ) -> AsyncIterator[ProviderEvent]:
        params: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(messages, system),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            params["tools"] = [to_openai_tool(t) for t in tools]
        if self.max_tokens:
            params["max_tokens"] = self.max_tokens
        try:
            stream = await self._client.chat.completions.create(**params)
        except openai.APIError as exc:
            raise self._map_error(exc, model) from exc

        calls: dict[int, _PendingCall] = {}
        finish: str | None = None
        usage: Usage | None = None
        try:
            async for chunk in self._chunks(stream):
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta is not None:
                        reasoning = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
                        if isinstance(reasoning, str) and reasoning:
                            yield ReasoningDelta(reasoning)
                        if delta.content:
                            yield TextDelta(delta.content)
                        for piece in delta.tool_calls or []:
                            index = piece.index
                            if index is None:  # some servers omit it: a new id starts a new call
                                index = len(calls) if piece.id or not calls else max(calls)
                            pending = calls.setdefault(index, _PendingCall())
                            if piece.id:
                                pending.id = piece.id
                            if piece.function is not None:
                                pending.name += piece.function.name or ""
                                pending.arguments += piece.function.arguments or ""
                    if choice.finish_reason:
                        finish = choice.finish_reason
        finally:
            await stream.close()

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

    def _chunks(self, stream: Any) -> AsyncIterator[Any]:
        """The SDK stream's items, with mid-stream failures turned into ``ProviderError``."""
        return guard_stream(
            stream, provider=self.name, connection_error_type=openai.APIConnectionError,
            api_error_type=openai.APIError, map_error=lambda exc: self._map_error(exc, None),
        )

    def _map_error(self, exc: openai.APIError, model: str | None) -> ProviderError:
        if isinstance(exc, openai.APIConnectionError):
            return connection_error(self.name, self.base_url, exc, timeout=isinstance(exc, openai.APITimeoutError))
        if isinstance(exc, openai.APIStatusError):
            return error_from_status(exc.status_code, _error_text(exc), provider=self.name, model=model)
        # An error object sent inside the stream, without an HTTP status.
        return error_from_status(500, _error_text(exc), provider=self.name, model=model)


def _error_text(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        code = body.get("code") or body.get("type")
        message = body.get("message") or exc.message
        return f"{message} ({code})" if code else str(message)
    return exc.message


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
        else:
            out.append({"role": role, "content": message.get("content", "")})
    return out
