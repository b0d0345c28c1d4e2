"""A scripted ACP agent for the tests: a real program on the SDK's agent side, spoken to over stdio.

    python tests/acp/scripted_agent.py        (the state directory in SCRIPTED_AGENT_STATE)

What it does is chosen by the first word of the prompt:

    hello [slowly]  thinks, plans, says "Hello from the agent." in pieces, reports usage
    tool            a read tool call (fs/read_text_file of notes.txt) with updates, then an edit with a diff
    late            starts a tool call, talks for a while, and only then reports the call completed
    permission      asks permission for "make deploy" and says which option came back
    write PATH      fs/write_text_file of PATH; says "wrote PATH" or "refused: <the client's error>"
    terminal CMD    runs CMD in a client terminal and says its output and exit code
    slow            says "working", then waits for session/cancel (recorded in the state directory)
    crash           says "about to crash", then exits with code 3 and a message on stderr
    hang            says "thinking", then sends nothing more
    recall          says the prompts this session received before, and whether this prompt carried context
    anything else   "echo: <prompt>"

Sessions are kept in the state directory, so ``session/load`` works after a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    Agent,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PromptResponse,
    RequestError,
    plan_entry,
    run_agent,
    start_tool_call,
    text_block,
    tool_content,
    tool_diff_content,
    tool_terminal_ref,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
)
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    AllowedOutcome,
    Implementation,
    PermissionOption,
    PromptCapabilities,
    TextContentBlock,
    Usage,
)

STATE = Path(os.environ.get("SCRIPTED_AGENT_STATE", "."))


def _sessions() -> dict[str, Any]:
    path = STATE / "sessions.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save(sessions: dict[str, Any]) -> None:
    (STATE / "sessions.json").write_text(json.dumps(sessions))


def _log(line: str) -> None:
    with (STATE / "calls.log").open("a") as handle:
        handle.write(line + "\n")


class ScriptedAgent(Agent):
    def __init__(self) -> None:
        self.conn: Client | None = None
        self.cancelled: dict[str, asyncio.Event] = {}

    def on_connect(self, conn: Client) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, client_capabilities: Any = None, client_info: Any = None,
                         **kwargs: Any) -> InitializeResponse:
        _log(f"initialize fs={client_capabilities.fs.read_text_file and client_capabilities.fs.write_text_file} "
             f"terminal={client_capabilities.terminal} client={client_info.name if client_info else None}")
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(load_session=True, prompt_capabilities=PromptCapabilities(
                image=True, embedded_context=True)),
            agent_info=Implementation(name="scripted-agent", title="Scripted agent", version="1.0"),
        )

    async def new_session(self, cwd: str, mcp_servers: Any = None, **kwargs: Any) -> NewSessionResponse:
        session_id = uuid.uuid4().hex
        sessions = _sessions()
        sessions[session_id] = {"cwd": cwd, "prompts": []}
        _save(sessions)
        _log(f"new {session_id} cwd={cwd}")
        return NewSessionResponse(session_id=session_id)

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **kwargs: Any) -> LoadSessionResponse | None:
        sessions = _sessions()
        if session_id not in sessions:
            raise RequestError.resource_not_found(session_id)
        _log(f"load {session_id}")
        assert self.conn is not None
        for prompt in sessions[session_id]["prompts"]:  # the replay a client must not show again
            await self.conn.session_update(session_id, update_agent_message_text(f"(replayed) {prompt}"))
        return LoadSessionResponse()

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        _log(f"cancel {session_id}")
        self.cancelled.setdefault(session_id, asyncio.Event()).set()

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        texts = [b.text for b in prompt if isinstance(b, TextContentBlock)]
        text = texts[-1].strip() if texts else ""
        kinds = [b.type for b in prompt]
        sessions = _sessions()
        session = sessions[session_id]
        before = list(session["prompts"])
        session["prompts"].append(text)
        _save(sessions)
        _log(f"prompt {session_id} blocks={','.join(kinds)} text={text[:60]!r}")
        self.cancelled[session_id] = asyncio.Event()
        word, _, rest = text.partition(" ")
        handler = getattr(self, f"_{word}", None)
        if handler is None:
            await self.say(session_id, f"echo: {text}")
            return PromptResponse(stop_reason="end_turn")
        return await handler(session_id, rest.strip(), before=before, context=len(texts) > 1)

    async def say(self, session_id: str, *pieces: str) -> None:
        assert self.conn is not None
        for piece in pieces:
            await self.conn.session_update(session_id, update_agent_message_text(piece))

    # -- the scripts -----------------------------------------------------------------------------

    async def _hello(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        assert self.conn is not None
        await self.conn.session_update(session_id, update_agent_thought_text("The user greets me."))
        await self.conn.session_update(session_id, update_plan([
            plan_entry("Greet the user", priority="high", status="in_progress"),
            plan_entry("Offer help", priority="low", status="pending")]))
        if rest == "slowly":  # time for a browser to see the turn live
            await asyncio.sleep(2)
        await self.say(session_id, "Hello ", "from ", "the agent.")
        return PromptResponse(stop_reason="end_turn", usage=Usage(total_tokens=30, input_tokens=21, output_tokens=9))

    async def _tool(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        assert self.conn is not None
        await self.say(session_id, "Let me look.")
        await self.conn.session_update(session_id, start_tool_call(
            "call-read", "Read notes.txt", kind="read", status="pending", raw_input={"path": "notes.txt"}))
        await self.conn.session_update(session_id, update_tool_call("call-read", status="in_progress"))
        read = await self.conn.read_text_file(session_id=session_id, path=str(Path.cwd() / "notes.txt"))
        await self.conn.session_update(session_id, update_tool_call(
            "call-read", status="completed", content=[tool_content(text_block(read.content))]))
        await self.conn.session_update(session_id, start_tool_call(
            "call-edit", "Edit notes.txt", kind="edit", status="in_progress",
            raw_input={"path": "notes.txt"}))
        await self.conn.session_update(session_id, update_tool_call("call-edit", status="completed", content=[
            tool_diff_content(str(Path.cwd() / "notes.txt"), read.content.upper(), read.content)]))
        await self.say(session_id, "Done.")
        return PromptResponse(stop_reason="end_turn")

    async def _late(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        """As Hermes Agent may: the text after a tool call streams before the call's end is reported
        (long enough for the client to checkpoint it)."""
        assert self.conn is not None
        await self.conn.session_update(session_id, start_tool_call(
            "call-late", "Check the weather", kind="fetch", status="in_progress", raw_input={"city": "Oslo"}))
        await self.say(session_id, "It is ")
        await asyncio.sleep(0.8)
        await self.conn.session_update(session_id, update_tool_call(
            "call-late", status="completed", content=[tool_content(text_block("rain"))]))
        await self.say(session_id, "raining.")
        return PromptResponse(stop_reason="end_turn")

    async def _permission(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        assert self.conn is not None
        await self.conn.session_update(session_id, start_tool_call(
            "call-deploy", "Run make deploy", kind="execute", status="pending", raw_input={"command": "make deploy"}))
        options = [PermissionOption(option_id="yes", name="Allow once", kind="allow_once"),
                   PermissionOption(option_id="yes-always", name="Always allow", kind="allow_always"),
                   PermissionOption(option_id="no", name="Reject", kind="reject_once"),
                   PermissionOption(option_id="no-always", name="Always reject", kind="reject_always")]
        answer = await self.conn.request_permission(
            session_id=session_id, options=options,
            tool_call=update_tool_call("call-deploy", title="Run make deploy", kind="execute",
                                       raw_input={"command": "make deploy"}))
        chosen = answer.outcome.option_id if isinstance(answer.outcome, AllowedOutcome) else "cancelled"
        ran = chosen.startswith("yes")
        await self.conn.session_update(session_id, update_tool_call(
            "call-deploy", status="completed" if ran else "failed",
            content=[tool_content(text_block("deployed" if ran else "not allowed"))]))
        await self.say(session_id, f"permission: {chosen}")
        return PromptResponse(stop_reason="end_turn")

    async def _write(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        assert self.conn is not None
        try:
            await self.conn.write_text_file(session_id=session_id, path=rest, content="written by the agent\n")
        except RequestError as exc:
            await self.say(session_id, f"refused: {exc}")
        else:
            await self.say(session_id, f"wrote {rest}")
        return PromptResponse(stop_reason="end_turn")

    async def _terminal(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        assert self.conn is not None
        try:
            terminal = await self.conn.create_terminal(session_id=session_id, command=rest)
        except RequestError as exc:
            await self.say(session_id, f"terminal refused: {exc}")
            return PromptResponse(stop_reason="end_turn")
        await self.conn.session_update(session_id, start_tool_call(
            "call-term", f"Run {rest}", kind="execute", status="in_progress",
            content=[tool_terminal_ref(terminal.terminal_id)], raw_input={"command": rest}))
        status = await self.conn.wait_for_terminal_exit(session_id=session_id, terminal_id=terminal.terminal_id)
        output = await self.conn.terminal_output(session_id=session_id, terminal_id=terminal.terminal_id)
        await self.conn.session_update(session_id, update_tool_call("call-term", status="completed"))
        await self.conn.release_terminal(session_id=session_id, terminal_id=terminal.terminal_id)
        await self.say(session_id, f"output: {output.output.strip()} (exit {status.exit_code})")
        return PromptResponse(stop_reason="end_turn")

    async def _slow(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        await self.say(session_id, "working")
        try:
            await asyncio.wait_for(self.cancelled[session_id].wait(), 30)
        except TimeoutError:
            await self.say(session_id, " and never cancelled")
            return PromptResponse(stop_reason="end_turn")
        return PromptResponse(stop_reason="cancelled")

    async def _crash(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        await self.say(session_id, "about to crash")
        await asyncio.sleep(0.3)
        sys.stderr.write("boom: the scripted agent crashed on purpose\n")
        sys.stderr.flush()
        os._exit(3)

    async def _hang(self, session_id: str, rest: str, **_: Any) -> PromptResponse:
        await self.say(session_id, "thinking")
        await asyncio.sleep(3600)
        return PromptResponse(stop_reason="end_turn")

    async def _recall(self, session_id: str, rest: str, *, before: list[str], context: bool) -> PromptResponse:
        await self.say(session_id, f"before: {' | '.join(before) or '(nothing)'}; context: {context}")
        return PromptResponse(stop_reason="end_turn")


if __name__ == "__main__":
    asyncio.run(run_agent(ScriptedAgent()))
