"""A scripted LLM server on loopback that speaks OpenAI's and Anthropic's HTTP APIs.

In-process (tests)::

    with ScriptedLLM() as llm:                     # or the ``llm_server`` fixture
        llm.script(Turn(text="Hello"), Turn(tool_calls=[("read_file", {"path": "a.txt"})]))
        OpenAIProvider(base_url=llm.openai_url, api_key="k")        # http://127.0.0.1:P/v1
        AnthropicProvider(base_url=llm.anthropic_url, api_key="k")  # http://127.0.0.1:P
        llm.requests  # every POST body received, plus "_path"
        llm.models_delay = 1.0                                   # a slow model list (GET /v1/models)
        llm.model_facts = {"test-model": {"context_length": 4096}}  # more fields in the model list

Standalone (benchmarks, manual UI testing): ``python -m tests.llm_server --port 8900``.

Each POST answers with the next scripted ``Turn``; with none queued, the last real user message
decides, through directives in its text (usable from another process)::

    [[tokens=500 delay=0.01 chunk=1 reasoning=20 stamp fail=cut]]
    [[tool=run_shell {"command": "echo hi"}]]   (one tool call per model call, in order; then the answer)
    [[call_id=call_1]]                           (every tool call gets that id, as some providers do)

and without directives the answer is ``Echo: <user text>`` (``Tool result: <output>`` after tools).
``tokens=N`` streams ``t0 t1 ... t<N-1>``; ``stamp`` appends ``@<time.time_ns()>`` to each token.
The api key ``bad-key`` gets 401, the model ``no-such-model`` 404, both in the provider's format.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

BAD_KEY = "bad-key"
MISSING_MODEL = "no-such-model"
DEFAULT_MODELS = ("test-model", "test-model-2")
STATUS_FAILS = {"auth": 401, "model_not_found": 404, "rate_limit": 429, "quota": 429, "http500": 500, "overloaded": 529}
STREAM_FAILS = {"cut", "hang", "error_event"}


@dataclass
class Turn:
    """One scripted model answer. ``text`` may be a list of pre-split pieces. ``delay`` is seconds per
    piece; ``fail`` is one of auth, rate_limit, quota, model_not_found, http500, overloaded (an HTTP
    error) or cut (connection closed mid-stream), hang (stalls mid-stream), error_event (an error
    object sent as an event mid-stream, as both APIs do when they fail after the answer began).
    ``call_ids`` fixes the ids of the tool calls (random ``call_…`` ids otherwise)."""

    text: str | list[str] = ""
    reasoning: str | list[str] = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)  # str: raw arguments
    delay: float = 0.0
    chunk: int = 4
    fail: str | None = None
    usage: tuple[int, int] | None = None
    stamp: bool = False
    call_ids: list[str] | None = None

    def __post_init__(self) -> None:
        if self.fail is not None and self.fail not in STATUS_FAILS and self.fail not in STREAM_FAILS:
            raise ValueError(f"unknown fail mode {self.fail!r}")

    def call_id(self, index: int) -> str:
        return self.call_ids[index] if self.call_ids and index < len(self.call_ids) else f"call_{uuid.uuid4().hex[:16]}"

    def pieces(self, value: str | list[str]) -> list[str]:
        if isinstance(value, list):
            return value
        size = max(1, self.chunk)
        return [value[i : i + size] for i in range(0, len(value), size)]

    @property
    def full_text(self) -> str:
        return "".join(self.text) if isinstance(self.text, list) else self.text


class _ScriptedCut(Exception):
    """Raised inside a streaming response to drop the connection mid-stream."""


class _HideScriptedCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, _ScriptedCut):
                return False
            inner = getattr(exc, "exceptions", None)
            exc = inner[0] if inner else exc.__cause__ or exc.__context__
        return True


# -- reading a request ---------------------------------------------------------------------------

_DIRECTIVE = re.compile(r"\[\[(.+?)\]\]", re.S)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _tool_output(content: Any) -> str:
    return content if isinstance(content, str) else _text_of(content)


def _conversation(messages: list[dict[str, Any]]) -> tuple[str, int, str | None]:
    """(last real user text, assistant turns since it, last tool output since it), in either format."""
    user_text, rounds, tool_out = "", 0, None
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role == "assistant":
            rounds += 1
        elif role == "tool":
            tool_out = _tool_output(content)
        elif role == "user":
            blocks = content if isinstance(content, list) else []
            results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
            if results:
                tool_out = _tool_output(results[-1].get("content"))
            text = _text_of(content)
            if text or not results:
                user_text, rounds, tool_out = text, 0, None
    return user_text, rounds, tool_out


def turn_from_directives(messages: list[dict[str, Any]]) -> Turn:
    """The answer a conversation asks for through ``[[...]]`` directives (see the module docstring)."""
    user_text, rounds, tool_out = _conversation(messages)
    tools: list[tuple[str, dict[str, Any] | str]] = []
    opts: dict[str, str] = {}
    for match in _DIRECTIVE.finditer(user_text):
        body = match.group(1).strip()
        if body.startswith("tool="):
            name, _, args = body[5:].partition(" ")
            tools.append((name.strip(), json.loads(args) if args.strip() else {}))
            continue
        for item in body.split():
            key, _, value = item.partition("=")
            opts[key] = value or "1"
    delay = float(opts.get("delay", 0))
    chunk = int(opts.get("chunk", 4))
    fail = opts.get("fail") if rounds == 0 else None
    if rounds < len(tools):
        call_ids = [opts["call_id"]] if "call_id" in opts else None
        return Turn(tool_calls=[tools[rounds]], delay=delay, chunk=chunk, fail=fail, call_ids=call_ids)
    reasoning: str | list[str] = [f"r{i} " for i in range(int(opts.get("reasoning", 0)))]
    text: str | list[str]
    if "tokens" in opts:
        text = [f"t{i} " for i in range(int(opts["tokens"]))]
    elif tool_out is not None:
        text = f"Tool result: {tool_out[:2000]}"
    else:
        text = f"Echo: {_DIRECTIVE.sub('', user_text).strip()}"
    return Turn(text=text, reasoning=reasoning, delay=delay, chunk=chunk, fail=fail, stamp="stamp" in opts)


# -- the script, as abstract steps ----------------------------------------------------------------


@dataclass
class _Step:
    kind: str  # reasoning | text | tool
    piece: str = ""
    call_index: int = 0
    call_id: str = ""
    name: str = ""


def _steps(turn: Turn) -> list[_Step]:
    steps = [_Step("reasoning", p) for p in turn.pieces(turn.reasoning)]
    steps += [_Step("text", p) for p in turn.pieces(turn.text)]
    for i, (name, args) in enumerate(turn.tool_calls):
        call_id = turn.call_id(i)
        raw = args if isinstance(args, str) else json.dumps(args)
        third = max(1, len(raw) // 3)
        for j, start in enumerate(range(0, len(raw), third)):
            steps.append(_Step("tool", raw[start : start + third], i, call_id, name if j == 0 else ""))
    return steps


async def _paced(turn: Turn) -> AsyncIterator[_Step]:
    """The turn's steps with its delay, its stamps, and its scripted cut or stall."""
    steps = _steps(turn)
    stop_at = len(steps) // 2 if turn.fail in STREAM_FAILS else None
    for i, step in enumerate(steps):
        if i == stop_at:
            break
        if turn.stamp and step.kind == "text":
            step.piece = f"{step.piece.rstrip()}@{time.time_ns()} "
        yield step
        if turn.delay:
            await asyncio.sleep(turn.delay)
    if turn.fail == "hang":
        await asyncio.sleep(3600)
    if turn.fail == "cut":
        raise _ScriptedCut("scripted cut")


def _usage(turn: Turn, body: dict[str, Any]) -> tuple[int, int]:
    if turn.usage:
        return turn.usage
    size = len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("system", "")))
    steps = len(turn.pieces(turn.reasoning)) + len(turn.pieces(turn.text)) + 10 * len(turn.tool_calls)
    return max(1, size // 4), steps


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


# -- OpenAI ---------------------------------------------------------------------------------------


def _openai_error(status: int, fail: str, model: str) -> JSONResponse:
    errors = {
        "auth": ("Incorrect API key provided: bad-key.", "invalid_request_error", "invalid_api_key"),
        "model_not_found": (f"The model `{model}` does not exist.", "invalid_request_error", "model_not_found"),
        "rate_limit": ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
        "quota": ("You exceeded your current quota.", "insufficient_quota", "insufficient_quota"),
        "overloaded": ("The server is overloaded.", "server_error", None),
        "http500": ("The server had an error while processing your request.", "server_error", None),
    }
    message, kind, code = errors[fail]
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers={"x-should-retry": "false"})


def _openai_chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _sse(
        {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model, "choices": [choice]}
    )


async def _openai_stream(turn: Turn, body: dict[str, Any]) -> AsyncIterator[bytes]:
    cid, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", body.get("model", "")
    yield _openai_chunk(cid, model, {"role": "assistant", "content": ""})
    async for step in _paced(turn):
        if step.kind == "reasoning":
            yield _openai_chunk(cid, model, {"reasoning_content": step.piece})
        elif step.kind == "text":
            yield _openai_chunk(cid, model, {"content": step.piece})
        else:
            call: dict[str, Any] = {"index": step.call_index, "function": {"arguments": step.piece}}
            if step.name:
                call.update(id=step.call_id, type="function")
                call["function"]["name"] = step.name
            yield _openai_chunk(cid, model, {"tool_calls": [call]})
    if turn.fail == "error_event":
        error = {"message": "The server had an error while processing your request.", "type": "server_error",
                 "param": None, "code": None}
        yield _sse({"error": error})
        return
    yield _openai_chunk(cid, model, {}, "tool_calls" if turn.tool_calls else "stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        prompt, completion = _usage(turn, body)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        yield _sse(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    yield b"data: [DONE]\n\n"


def _openai_complete(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.full_text or None}
    if turn.reasoning:
        message["reasoning_content"] = "".join(turn.pieces(turn.reasoning))
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": turn.call_id(i),
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
            for i, (name, args) in enumerate(turn.tool_calls)
        ]
    prompt, completion = _usage(turn, body)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if turn.tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


# -- Anthropic ------------------------------------------------------------------------------------


def _anthropic_error(status: int, fail: str, model: str) -> JSONResponse:
    errors = {
        "auth": ("authentication_error", "invalid x-api-key"),
        "model_not_found": ("not_found_error", f"model: {model}"),
        "rate_limit": ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
        "quota": ("invalid_request_error", "Your credit balance is too low to access the Anthropic API."),
        "overloaded": ("overloaded_error", "Overloaded"),
        "http500": ("api_error", "Internal server error"),
    }
    kind, message = errors[fail]
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers={"x-should-retry": "false"})


async def _anthropic_stream(turn: Turn, body: dict[str, Any]) -> AsyncIterator[bytes]:
    model = body.get("model", "")
    prompt, completion = _usage(turn, body)
    message = {
        "id": f"msg_{uuid.uuid4().hex[:16]}",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": 1},
    }
    yield _sse({"type": "message_start", "message": message}, "message_start")
    index, open_kind, open_call = -1, None, -1

    def close() -> Iterator[bytes]:
        if open_kind == "reasoning":
            delta = {"type": "signature_delta", "signature": "scripted-signature"}
            yield _sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
        if open_kind is not None:
            yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")

    async for step in _paced(turn):
        if step.kind != open_kind or (step.kind == "tool" and step.call_index != open_call):
            for frame in close():
                yield frame
            index, open_kind, open_call = index + 1, step.kind, step.call_index
            block: dict[str, Any] = {
                "reasoning": {"type": "thinking", "thinking": "", "signature": ""},
                "text": {"type": "text", "text": ""},
                "tool": {
                    "type": "tool_use",
                    "id": step.call_id.replace("call_", "toolu_"),
                    "name": step.name,
                    "input": {},
                },
            }[step.kind]
            yield _sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")
        delta = {
            "reasoning": {"type": "thinking_delta", "thinking": step.piece},
            "text": {"type": "text_delta", "text": step.piece},
            "tool": {"type": "input_json_delta", "partial_json": step.piece},
        }[step.kind]
        yield _sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
    if turn.fail == "error_event":
        yield _sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")
        return
    for frame in close():
        yield frame
    stop = "tool_use" if turn.tool_calls else "end_turn"
    yield _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": completion},
        },
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")


def _anthropic_complete(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if turn.reasoning:
        content.append(
            {"type": "thinking", "thinking": "".join(turn.pieces(turn.reasoning)), "signature": "scripted-signature"}
        )
    if turn.full_text:
        content.append({"type": "text", "text": turn.full_text})
    for i, (name, args) in enumerate(turn.tool_calls):
        content.append(
            {
                "type": "tool_use",
                "id": turn.call_id(i).replace("call_", "toolu_"),
                "name": name,
                "input": args if isinstance(args, dict) else {},
            }
        )
    prompt, completion = _usage(turn, body)
    return {
        "id": f"msg_{uuid.uuid4().hex[:16]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


# -- the server -----------------------------------------------------------------------------------


class ScriptedLLM:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, models: tuple[str, ...] = DEFAULT_MODELS) -> None:
        self.host, self.port, self.models = host, port, list(models)
        self.models_delay = 0.0  # seconds before the model list answers: a slow provider
        self.model_facts: dict[str, dict[str, Any]] = {}  # extra fields of a model's entry in the list
        self._lock = threading.Lock()
        self._turns: deque[Turn] = deque()
        self._requests: list[dict[str, Any]] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # scripting

    def script(self, *turns: Turn) -> None:
        with self._lock:
            self._turns.extend(turns)

    def reset(self) -> None:
        with self._lock:
            self._turns.clear()
            self._requests.clear()
        self.model_facts = {}

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._turns)

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def _next_turn(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            if self._turns:
                return self._turns.popleft()
        return turn_from_directives(body.get("messages") or [])

    # lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def start(self) -> ScriptedLLM:
        uvicorn_error = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _HideScriptedCuts) for f in uvicorn_error.filters):
            uvicorn_error.addFilter(_HideScriptedCuts())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_config=None, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, backlog=2048
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"scripted-llm-{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # handlers

    async def _read(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        with self._lock:
            self._requests.append({**body, "_path": request.url.path})
        return body

    @staticmethod
    def _key(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return request.headers.get("x-api-key") or auth.removeprefix("Bearer ").strip()

    def _failure(self, request: Request, body: dict[str, Any], turn: Turn | None) -> tuple[int, str] | None:
        if self._key(request) == BAD_KEY:
            return 401, "auth"
        if body.get("model") == MISSING_MODEL:
            return 404, "model_not_found"
        if turn is not None and turn.fail in STATUS_FAILS:
            return STATUS_FAILS[turn.fail], turn.fail
        return None

    async def _chat_completions(self, request: Request) -> Response:
        body = await self._read(request)
        turn = None if self._failure(request, body, None) else self._next_turn(body)
        if failure := self._failure(request, body, turn):
            return _openai_error(*failure, body.get("model", ""))
        assert turn is not None
        if body.get("stream"):
            return StreamingResponse(_openai_stream(turn, body), media_type="text/event-stream")
        return JSONResponse(_openai_complete(turn, body))

    async def _messages(self, request: Request) -> Response:
        body = await self._read(request)
        turn = None if self._failure(request, body, None) else self._next_turn(body)
        if failure := self._failure(request, body, turn):
            return _anthropic_error(*failure, body.get("model", ""))
        assert turn is not None
        if body.get("stream"):
            return StreamingResponse(_anthropic_stream(turn, body), media_type="text/event-stream")
        return JSONResponse(_anthropic_complete(turn, body))

    async def _models(self, request: Request) -> Response:
        if self.models_delay:
            await asyncio.sleep(self.models_delay)
        if self._key(request) == BAD_KEY:
            if "anthropic-version" in request.headers:
                return _anthropic_error(401, "auth", "")
            return _openai_error(401, "auth", "")
        if "anthropic-version" in request.headers:
            data = [
                {
                    "type": "model",
                    "id": m,
                    "display_name": m,
                    "created_at": "2025-01-01T00:00:00Z",
                    "lifecycle": "active",
                    **self.model_facts.get(m, {}),
                }
                for m in self.models
            ]
            return JSONResponse(
                {
                    "data": data,
                    "has_more": False,
                    "first_id": self.models[0] if self.models else None,
                    "last_id": self.models[-1] if self.models else None,
                }
            )
        data = [{"id": m, "object": "model", "created": 1735689600, "owned_by": "scripted",
                 **self.model_facts.get(m, {})} for m in self.models]
        return JSONResponse({"object": "list", "data": data})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the scripted LLM server (OpenAI + Anthropic APIs).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    server = ScriptedLLM(host=args.host, port=args.port).start()
    print(
        f"ScriptedLLM listening on {server.url} (OpenAI: {server.openai_url}, Anthropic: {server.anthropic_url})",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
