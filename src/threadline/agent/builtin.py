"""The built-in runtime: the provider loop of ``agent/loop.py`` with the workspace tools and the
tools of the enabled MCP servers (``extra_tools``, asked for at the start of each run). Chat runs
also get ``clarify`` (a question to the user); it steers (``steerable``): text the user sends while a
run is live joins the turn before the next model call. A persona narrows the tools
(``RunContext.tool_names``) and sets the model parameters (``RunContext.params``). Given ``limits``, the
history is fitted to the model's context window before each model call (``agent/compaction.py``), and
the user's attachments go to the model as image parts or text (``agent/attachments.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from threadline.agent.attachments import expand
from threadline.agent.budget import ModelLimits
from threadline.agent.compaction import Compactor
from threadline.agent.events import ProviderError
from threadline.agent.loop import run_agent
from threadline.agent.providers.registry import ProviderRegistry
from threadline.agent.runtime import BUILTIN, RunContext, RunSink, RuntimeResult
from threadline.agent.tools.base import Tool, ToolContext
from threadline.agent.tools.registry import ToolRegistry, default_tools
from threadline.errors import BadRequest
from threadline.workspace.jail import Jail

DefaultModel = Callable[[], Awaitable[str | None]]
MaxSteps = Callable[[], Awaitable[int]]
ExtraTools = Callable[[], Awaitable[Sequence[Tool]]]


class BuiltinRuntime:
    name = BUILTIN
    kind = "builtin"
    steerable = True

    def __init__(
        self,
        providers: ProviderRegistry,
        *,
        default_model: DefaultModel,
        max_steps: MaxSteps,
        output_cap: int,
        shell_timeout: float,
        extra_tools: ExtraTools | None = None,
        limits: ModelLimits | None = None,
    ) -> None:
        self.providers = providers
        self.limits = limits
        self._extra_tools = extra_tools
        self._default_model = default_model
        self._max_steps = max_steps
        self.output_cap = output_cap
        self.shell_timeout = shell_timeout

    async def check(self, model: str | None) -> str | None:
        """The model reference a run will use: the one asked for, else the configured default, else
        the first model of the first provider that lists one."""
        ref = model or await self._default_model()
        if not ref and not self.providers.default_model_ref():
            catalog = await self.providers.model_catalog()
            ref = next((f"{g.provider_id}/{g.models[0]}" for g in catalog if g.models), None)
        try:  # the provider's configuration only: chat/start never waits for an SDK to load
            _config, name = self.providers.resolve_config(ref)
        except ProviderError as exc:
            raise BadRequest(exc.message, type=exc.kind, hint=exc.hint) from None
        return ref or name

    async def run(self, ctx: RunContext, sink: RunSink) -> RuntimeResult:
        await self.providers.load_sdks()
        provider, model = self.providers.resolve(ctx.model)
        asks = ctx.kind == "chat"  # someone watches a chat run; nobody answers a background one
        tools = ctx.tools if ctx.tools is not None else await self.default_tools(clarify=asks)
        jail = Jail(ctx.workspace)
        history, compactor = ctx.history, None
        if self.limits is not None:
            limits = await self.limits.of(ctx.model)
            compactor = Compactor(limits)
            expanded = await asyncio.to_thread(expand, ctx.history, jail, vision=limits.vision, model=model,
                                               text_room=limits.budget // 4)
            history = expanded.messages
            for warning in expanded.warnings:
                await sink.on_event("warning", {"message": warning, "type": "attachment"})
        result = await run_agent(
            provider=provider,
            model=model,
            history=history,
            tools=only(tools, ctx.tool_names),
            ctx=ToolContext(jail=jail, output_cap=self.output_cap, shell_timeout=self.shell_timeout,
                            ask_user=sink.ask_user if asks else None, session_id=ctx.session_id),
            sink=sink,
            max_steps=await self._max_steps(),
            system=ctx.system,
            inbox=ctx.inbox,
            params=ctx.params,
            compactor=compactor,
        )
        return RuntimeResult(result.stopped_reason, result.note, result.final_text)

    async def default_tools(self, *, clarify: bool = False) -> ToolRegistry:
        """The tools of a run that names none: the workspace tools (with ``clarify`` when asked), then
        the extra ones (MCP)."""
        extra = await self._extra_tools() if self._extra_tools is not None else ()
        return ToolRegistry([*default_tools(clarify=clarify), *extra])

    async def close(self) -> None:
        return None


def only(tools: ToolRegistry, names: frozenset[str] | None) -> ToolRegistry:
    """The tools of ``tools`` named in ``names`` (all of them when ``names`` is ``None``)."""
    return tools if names is None else ToolRegistry(tool for tool in tools if tool.name in names)
