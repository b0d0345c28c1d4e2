"""The ``memory`` tool: the agent adds, replaces and removes entries of its memory documents.

Each call is a tool call like any other (shown in the chat, with its result), and each change is a
revision the user can undo. The ``memory_tool`` preference decides the policy: ``ask`` (the call waits
for the user's approval; "always" covers the document it writes), ``allow`` (no question), ``off``
(the tool is not offered; ``memory_tools`` leaves it out).
"""

from __future__ import annotations

from typing import Any

from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult, error
from threadline.memory import EntryError, MemoryScope, MemoryService
from threadline.memory import entries as memory_entries

POLICIES = ("ask", "allow", "off")


class MemoryTool(Tool):
    name = "memory"
    description = (
        "Keep notes that persist across sessions; they are shown in your instructions at the start of every "
        "session. target 'memory': what you learned (environment, conventions, lessons); target 'user': the "
        "user's preferences and circumstances. action 'add' appends an entry (content); 'replace' swaps the "
        "one entry containing old_text for content; 'remove' deletes the one entry containing old_text. "
        "scope 'project' writes the memory of the session's project instead of the shared one. Keep entries "
        "short and durable; never store secrets."
    )
    parameters = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(memory_entries.ACTIONS)},
            "target": {"type": "string", "enum": list(memory_entries.SECTIONS), "default": "memory"},
            "content": {"type": "string", "description": "The entry's text (add, replace)."},
            "old_text": {"type": "string", "description": "A short piece of the entry to change (replace, remove)."},
            "scope": {"type": "string", "enum": ["global", "project"], "default": "global"},
        },
        "required": ["action"],
        "additionalProperties": False,
    }

    def __init__(self, memory: MemoryService, *, asks: bool) -> None:
        self.memory = memory
        self.dangerous = asks

    def describe(self, args: dict[str, Any]) -> str:
        action, target = str(args.get("action", "")), str(args.get("target") or "memory")
        text = str(args.get("content") or args.get("old_text") or "")
        return f"memory {action} ({target}): {text[:300]}"

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        """"Always" and "for this chat" cover writes to one document (``memory`` or ``user``)."""
        target = args.get("target") or "memory"
        return ApprovalScope((str(target),)) if target in memory_entries.SECTIONS else ApprovalScope(None, "bad target")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        action = args["action"]
        target = args.get("target") or "memory"
        if target not in memory_entries.SECTIONS:
            return error(f"target must be one of {', '.join(memory_entries.SECTIONS)}")
        scope = MemoryScope()
        if args.get("scope") == "project":
            if target != "memory":
                return error("only target 'memory' is kept per project")
            project_id = await self.memory.session_project(ctx.session_id)
            if not project_id:
                return error("this session is in no project; use scope 'global'")
            scope = MemoryScope(project_id=project_id)
        limit = self.memory.limits[target]
        summary = ""

        def change(current: str) -> tuple[str, str]:
            nonlocal summary
            edit = memory_entries.apply(current, action, text=str(args.get("content") or ""),
                                        old_text=str(args.get("old_text") or ""), limit=limit)
            summary = edit.summary
            return edit.content, edit.note

        try:
            doc = await self.memory.edit(scope, target, change, source="agent", session_id=ctx.session_id)
        except EntryError as exc:
            return error(exc.message)
        count = len(memory_entries.split(doc.content))
        where = f"{target} (project)" if scope.project_id else target
        return ToolResult(f"{summary} {where}: {count} entr{'y' if count == 1 else 'ies'}, "
                          f"{len(doc.content):,}/{limit:,} characters (revision {doc.revision}).")
