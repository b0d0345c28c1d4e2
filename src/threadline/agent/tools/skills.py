"""The skill tools: ``skill`` loads an enabled skill's instructions (or one of its files, jailed to
the skill's folder) when the model needs it; ``skill_save`` writes a skill the user asked for, under the
approval policy of every tool that writes (it asks; "always" covers that one skill's name)."""

from __future__ import annotations

from typing import Any

from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult, error
from threadline.errors import ThreadlineError
from threadline.skills import SkillLibrary
from threadline.skills.documents import check_name


class SkillTool(Tool):
    name = "skill"
    description = (
        "Load a skill listed in your instructions: its full instructions and the list of its files; with "
        "file, one of those files. Load a skill before a task it covers, and follow it."
    )
    parameters = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "The skill's name, as listed."},
            "file": {"type": "string", "description": "A file of the skill, e.g. references/api.md."},
        },
        "required": ["name"],
        "additionalProperties": False,
    }

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            skill = await self.library.get(args["name"])
            if not skill.enabled:
                return error(f"the skill {skill.name!r} is disabled")
            content = await self.library.content(skill.name, args.get("file"))
        except ThreadlineError as exc:
            return error(exc.message)
        if args.get("file"):
            return ToolResult(f"{skill.name}/{content['file']}:\n\n{content['content']}")
        files = "\n".join(f"- {f}" for f in content["linked_files"]) or "(none)"
        return ToolResult(f"# Skill: {skill.name}\n{skill.description}\n\n{content['body']}\n\n"
                          f"## Files of this skill (load one with file=...)\n{files}")


class SkillSaveTool(Tool):
    name = "skill_save"
    description = (
        "Write a skill when the user asks you to make or change one: content is the whole SKILL.md, starting "
        "with front matter ('---', 'name: <name>', 'description: <what it does and when to use it>', '---') "
        "followed by the instructions. With file, writes that file of an existing skill instead (e.g. "
        "references/notes.md). category files a new skill under a category. The user approves each write."
    )
    parameters = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Lowercase letters, digits and '-'."},
            "content": {"type": "string"},
            "category": {"type": "string"},
            "file": {"type": "string"},
        },
        "required": ["name", "content"],
        "additionalProperties": False,
    }
    dangerous = True

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library

    def describe(self, args: dict[str, Any]) -> str:
        target = f"{args.get('name')}/{args['file']}" if args.get("file") else f"{args.get('name')} (SKILL.md)"
        return f"write the skill {target}: {str(args.get('content', ''))[:300]}"

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        try:
            return ApprovalScope((check_name(args.get("name")),))
        except ThreadlineError as exc:
            return ApprovalScope(None, exc.message)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            skill = await self.library.save(args["name"], args["content"], args.get("category"), args.get("file"))
        except ThreadlineError as exc:
            return error(exc.message)
        what = f"{skill.name}/{args['file']}" if args.get("file") else f"the skill {skill.name}"
        state = "" if skill.enabled else " It is disabled; the user can enable it on the Skills page."
        return ToolResult(f"Saved {what}.{state}")
