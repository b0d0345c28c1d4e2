"""Adapter for Anthropic's Messages API (streamed raw events: text, thinking, tool_use, usage)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

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
from threadline.agent.params import ANTHROPIC_MAX_TOKENS, ModelParams, anthropic_fields
from threadline.agent.providers import base
from threadline.agent.providers.limits import ModelFacts, from_listing

DEFAULT_BASE_URL = "https://api.anthropic.com"
_STOP_REASONS: dict[str, StopReason] = {"tool_use": "tool_calls", "max_tokens": "length"}
_MODEL_LIST_CAP = 1000


class AnthropicProvider:
    kind = "anthropic"

    def __init__(
        self,
        *,
        name: str = "anthropic",
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = base.DEFAULT_TIMEOUT,
        connect_timeout: float = base.CONNECT_TIMEOUT,
        max_retries: int = 1,
        max_tokens: int = ANTHROPIC_MAX_TOKENS,
        thinking_budget: int | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url or DEFAULT_BASE_URL
        self.max_tokens = max_tokens
        self.thinking_budget = thinking_budget
        self.facts: dict[str, ModelFacts] = {}  # what the last model listing said of each model
        # Everything explicit, so the SDK reads no environment variable nor profile file.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key or "not-set",
            base_url=self.base_url,
            timeout=anthropic.Timeout(timeout, connect=min(connect_timeout, timeout)),
            max_retries=max_retries,
            http_client=anthropic.DefaultAioHttpClient(),  # aiohttp's C parser reads the stream (issue 18)
        )
        # Resource modules load at first use: here, in the worker thread that builds adapters.
        self._models = self._client.models
        self._messages = self._client.messages

    async def aclose(self) -> None:
        await self._client.close()

    async def list_models(self) -> list[str]:
        try:
            ids: list[str] = []
            async for model in self._models.list(limit=100):
                ids.append(model.id)
                self.facts[model.id] = from_listing(model.to_dict())
                if len(ids) >= _MODEL_LIST_CAP:
                    break
        except anthropic.APIError as exc:
            raise self._map_error(exc, None) from exc
        return ids

    def _body(
        self, model: str, messages: list[dict[str, Any]], tools: list[base.ToolSpec], chosen: ModelParams,
    ) -> dict[str, Any]:
        """The request's parameters, a persona's over the provider's (``params.anthropic_fields``)."""
        fields = anthropic_fields(model, chosen, self.max_tokens, self.thinking_budget)
        temperature = fields.pop("temperature", None)
        body: dict[str, Any] = {"model": model, "messages": messages, **fields}
        if temperature is not None:  # the Messages API's field; this SDK has no keyword for it
            body["extra_body"] = {"temperature": temperature}
        if tools:
            body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                             for t in tools]
        return body

    async def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[base.ToolSpec],
        system: str | None = None,
        params: ModelParams | None = None,
    ) -> AsyncIterator[ProviderEvent]:
        system_text, converted = to_anthropic_messages(messages, system)
        body = self._body(model, converted, tools, params or ModelParams())
        if system_text:
            body["system"] = system_text
        try:
            stream = await self._messages.create(stream=True, **body)
        except anthropic.APIError as exc:
            raise self._map_error(exc, model) from exc

        blocks: dict[int, dict[str, Any]] = {}
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        finished = False
        try:
            async for event in self._events(stream, model):
                if event.type == "message_start":
                    usage = event.message.usage
                    input_tokens = (
                        (usage.input_tokens or 0)
                        + (getattr(usage, "cache_creation_input_tokens", None) or 0)
                        + (getattr(usage, "cache_read_input_tokens", None) or 0)
                    )
                    output_tokens = usage.output_tokens or 0
                elif event.type == "content_block_start":
                    block = event.content_block
                    blocks[event.index] = {
                        "type": block.type,
                        "id": getattr(block, "id", ""),
                        "name": getattr(block, "name", ""),
                        "json": "",
                    }
                    if block.type == "text" and block.text:
                        yield TextDelta(block.text)
                elif event.type == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        yield TextDelta(delta.text)
                    elif delta.type == "thinking_delta":
                        yield ReasoningDelta(delta.thinking)
                    elif delta.type == "signature_delta":
                        yield ReasoningDelta("", signature=delta.signature)
                    elif delta.type == "input_json_delta" and event.index in blocks:
                        blocks[event.index]["json"] += delta.partial_json
                elif event.type == "content_block_stop":
                    block_state = blocks.get(event.index)
                    if block_state and block_state["type"] == "tool_use":
                        raw = block_state["json"]
                        yield ToolCallRequest(
                            id=block_state["id"],
                            name=block_state["name"],
                            arguments=base.parse_arguments(raw),
                            raw_arguments=raw,
                        )
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    if event.usage is not None and event.usage.output_tokens is not None:
                        output_tokens = event.usage.output_tokens
                elif event.type == "message_stop":
                    finished = True
        finally:
            await stream.close()

        if not finished:
            raise base.stream_cut(self.name, None)
        yield Usage(input_tokens, output_tokens)
        used_tools = any(b["type"] == "tool_use" for b in blocks.values())
        yield TurnEnd("tool_calls" if used_tools else _STOP_REASONS.get(stop_reason or "", "stop"))

    def _events(self, stream: Any, model: str) -> AsyncIterator[Any]:
        """The SDK stream's items, with mid-stream failures turned into ``ProviderError``."""
        return base.guard_stream(
            stream, provider=self.name, connection_error_type=anthropic.APIConnectionError,
            api_error_type=anthropic.APIError, map_error=lambda exc: self._map_error(exc, model),
        )

    def _map_error(self, exc: anthropic.APIError, model: str | None) -> ProviderError:
        if isinstance(exc, anthropic.APIConnectionError):
            timed_out = isinstance(exc, anthropic.APITimeoutError)
            return base.connection_error(self.name, self.base_url, exc, timeout=timed_out)
        if isinstance(exc, anthropic.APIStatusError):
            return base.error_from_status(exc.status_code, _error_text(exc), provider=self.name, model=model)
        return base.error_from_status(500, _error_text(exc), provider=self.name, model=model)


def _error_text(exc: anthropic.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error")
        error: dict[str, Any] = inner if isinstance(inner, dict) else body
        message = error.get("message") or exc.message
        kind = error.get("type")
        return f"{message} ({kind})" if kind else str(message)
    return exc.message


def to_anthropic_messages(messages: list[dict[str, Any]], system: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(system text, Anthropic messages): tool results become user ``tool_result`` blocks and
    consecutive messages of the same role are merged, as the API requires."""
    systems = [system] if system else []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in base.repair_tool_pairs(messages):
        role = message["role"]
        content = message.get("content") or ""
        if role == "system":
            if content:
                systems.append(content)
        elif role == "tool":
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": content or "(empty)",
            }
            if message.get("is_error"):
                block["is_error"] = True
            add("user", [block])
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            if message.get("reasoning") and message.get("reasoning_signature"):
                blocks.append(
                    {
                        "type": "thinking",
                        "thinking": message["reasoning"],
                        "signature": message["reasoning_signature"],
                    }
                )
            if content:
                blocks.append({"type": "text", "text": content})
            for call in message.get("tool_calls") or []:
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call["id"],
                        "name": call["name"],
                        "input": call.get("arguments") or {},
                    }
                )
            add("assistant", blocks)
        else:
            images = [{"type": "image", "source": {"type": "base64", "media_type": image["media_type"],
                                                   "data": image["data"]}} for image in message.get("images") or ()]
            add("user", _user_blocks(content) + images)
    return "\n\n".join(systems), out


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):  # already content parts
        return content
    return [{"type": "text", "text": content}] if content else []
