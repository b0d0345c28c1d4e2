"""What every provider adapter offers, and the status-code half of the error mapping they share.

Context messages handed to ``Provider.stream`` are plain dicts in one OpenAI-like format::

    {"role": "system" | "user" | "assistant" | "tool", "content": str,
     "tool_calls": [{"id", "name", "arguments": dict}],     # assistant, optional
     "tool_call_id": str, "is_error": bool,                  # tool
     "reasoning": str, "reasoning_signature": str,           # assistant, optional
     "images": [{"media_type", "data": base64 str}]}         # user, optional: image parts
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from threadline.agent.events import ErrorKind, ProviderError, ProviderEvent
from threadline.agent.params import ModelParams

DEFAULT_TIMEOUT = 120.0
CONNECT_TIMEOUT = 10.0
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@runtime_checkable
class Provider(Protocol):
    name: str
    kind: str

    def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        system: str | None = None,
        params: ModelParams | None = None,
    ) -> AsyncIterator[ProviderEvent]:
        """One model turn. Implementations are async generators (``async def`` with ``yield``).
        ``params`` (a persona's) override the provider's defaults where the model takes them."""
        ...

    async def list_models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments as a dict; ``{}`` when ``raw`` is empty or not a JSON object."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def arguments_of(value: Any) -> dict[str, Any]:
    """Stored tool-call arguments (a dict, or the JSON text of one) as a dict; ``{}`` otherwise."""
    if isinstance(value, dict):
        return value
    return parse_arguments(value) if isinstance(value, str) else {}


INTERRUPTED_RESULT = "[no result: the run stopped before this tool call finished]"


def repair_tool_pairs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` where every assistant tool call is answered by a tool message right after it
    (a placeholder where a cancelled or crashed run left none) and no tool message is an orphan.
    Both APIs reject a history that breaks these rules."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []

    def close_pending() -> None:
        for call_id in pending:
            out.append({"role": "tool", "tool_call_id": call_id, "content": INTERRUPTED_RESULT, "is_error": True})
        pending.clear()

    for message in messages:
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if call_id in pending:
                pending.remove(call_id)
                out.append(message)
            continue
        close_pending()
        out.append(message)
        if message.get("role") == "assistant":
            pending.extend(call["id"] for call in message.get("tool_calls") or [])
    close_pending()
    return out


_QUOTA_WORDS = ("insufficient_quota", "quota", "credit balance", "billing", "exceeded your current")


def error_from_status(status: int, message: str, *, provider: str, model: str | None) -> ProviderError:
    """Map an HTTP error answer from any provider to a ``ProviderError``."""
    lowered = message.lower()
    kind: ErrorKind
    hint: str | None = None
    if status == 402 or (status in (400, 403, 429) and any(w in lowered for w in _QUOTA_WORDS)):
        kind = "quota_exhausted"
    elif status in (401, 403):
        kind = "auth"
        hint = f"The API key for provider '{provider}' was refused; check it in Settings > Providers."
    elif status == 404:
        kind = "model_not_found"
        if model:
            hint = f"Provider '{provider}' does not serve the model '{model}'; pick another model."
    elif status in (429, 529):
        kind = "rate_limit"
        if status == 529:
            hint = "The provider is overloaded; wait a moment and send the message again."
    elif status in (400, 413, 422):
        kind = "bad_request"
    else:
        kind = "error"
    return ProviderError(kind, f"{provider}: {message}", hint=hint, status=status)


def connection_error(provider: str, base_url: str, exc: BaseException, *, timeout: bool) -> ProviderError:
    """``exc`` is the SDK's connection error; ``timeout``, whether the SDK calls it a timeout. The SDKs'
    aiohttp transport calls a refused connection a connect timeout: the cause it wraps decides."""
    cause = _socket_cause(exc)
    if cause is not None:
        exc, timeout = cause, isinstance(cause, TimeoutError)
    if timeout:
        hint = f"The provider at {base_url} did not answer in time; check that it is up, then retry."
    else:
        hint = f"Could not reach {base_url}; check that the provider is running and the base URL is right."
    return ProviderError("connection", f"{provider}: {type(exc).__name__}: {exc}", hint=hint)


def _socket_cause(exc: BaseException) -> OSError | None:
    """The first socket error (a timeout is one) in ``exc``'s chain of causes, if any."""
    seen = 0
    cause = exc.__cause__ or exc.__context__
    while cause is not None and seen < 10:
        if isinstance(cause, OSError):
            return cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def stream_cut(provider: str, exc: BaseException | None) -> ProviderError:
    detail = f"{type(exc).__name__}: {exc}" if exc else "the stream ended before the turn finished"
    return ProviderError("stream_cut", f"{provider}: {detail}")


def response_lines(response: Any) -> AsyncIterator[str]:
    """The lines of an SDK's raw streamed response, without line ends. When the SDK's transport is
    aiohttp (as Threadline makes it), straight from aiohttp's reader, which splits lines in C: httpx's
    raw, byte, text and line decoders, an async generator each, took a tenth of the event loop
    relaying 200 streams. Otherwise, or should the SDK's internals change, its own ``iter_lines``."""
    content = _aiohttp_content(response)
    return response.iter_lines() if content is None else _aiohttp_lines(content)


def _aiohttp_content(response: Any) -> Any:
    stream = getattr(getattr(response, "http_response", None), "stream", None)
    aiohttp_response = getattr(getattr(stream, "_stream", None), "_aiohttp_response", None)
    content = getattr(aiohttp_response, "content", None)
    return content if content is not None and hasattr(content, "iter_any") else None


async def _aiohttp_lines(content: Any) -> AsyncIterator[str]:
    """Split at LF, CRLF or CR (each ends an SSE line) whatever the chunks: a line may span many
    chunks (with no length limit, as with httpx), a chunk hold many lines, a CRLF be cut in two."""
    held: list[bytes] = []  # the start of a line not ended yet
    after_cr = False  # the last chunk ended with a CR: an LF first in this one is the rest of a CRLF
    async for chunk in content.iter_any():
        if after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                held.append(chunk)
            after_cr = False
            continue
        if held:
            held.append(chunk)
            chunk, held = b"".join(held), []
        after_cr = chunk.endswith(b"\r")
        lines = _LINE_END.split(chunk[:-1] if after_cr else chunk)
        if not after_cr:
            rest = lines.pop()
            if rest:
                held.append(rest)
        for line in lines:
            yield line.decode("utf-8", "replace")
    if held:
        yield b"".join(held).decode("utf-8", "replace")


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event in ``lines`` (a line buffer's output, without line ends):
    ``data:`` lines joined by newlines, dispatched at a blank line; comments and other fields skipped."""
    parts: list[str] = []
    async for line in lines:
        if not line:
            if parts:
                yield parts[0] if len(parts) == 1 else "\n".join(parts)
                parts = []
        elif line.startswith("data:"):
            parts.append(line[6:] if line.startswith("data: ") else line[5:])
    if parts:  # a last event without its blank line
        yield "\n".join(parts)


async def guard_stream(
    stream: Any,
    *,
    provider: str,
    connection_error_type: type[BaseException],
    api_error_type: type[BaseException],
    map_error: Callable[[Any], ProviderError],
) -> AsyncIterator[Any]:
    """An SDK stream's items, with mid-stream failures turned into ``ProviderError``: the SDK's
    connection error (it wraps a broken body read that way) and httpx's read and protocol errors are a
    cut stream; any other SDK error is mapped by ``map_error``."""
    iterator = stream.__aiter__()
    while True:
        try:
            item = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except connection_error_type as exc:
            raise stream_cut(provider, exc.__cause__ or exc) from exc
        except api_error_type as exc:
            raise map_error(exc) from exc
        except Exception as exc:
            raise stream_cut(provider, exc) from exc
        yield item
