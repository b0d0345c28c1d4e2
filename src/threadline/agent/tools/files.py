"""Workspace file tools: list, read, write, edit and search; thin wrappers over ``threadline.workspace``.

The file work runs on the workspace pool (``workspace.pool``), so a big tree never stalls the event
loop, and a cancelled run's search stops within a step. Failures are raised in the shared error
vocabulary; the agent loop hands them to the model as error results.
"""

from __future__ import annotations

from typing import Any

from threadline.agent.tools.base import Tool, ToolContext, ToolResult
from threadline.workspace import pool, reading, writing
from threadline.workspace.listing import SKIPPED_DIRS, tree
from threadline.workspace.reading import READ_CAP
from threadline.workspace.search import MAX_SEARCH_MATCHES, compile_pattern, describe, search

MAX_LIST_ENTRIES = 1000

__all__ = ["FILE_TOOLS", "MAX_LIST_ENTRIES", "MAX_SEARCH_MATCHES", "READ_CAP"]


class ListFiles(Tool):
    name = "list_files"
    description = (
        "List the files and folders in a workspace folder (folders end with '/'). With recursive=true, "
        f"lists the whole tree, skipping {', '.join(sorted(SKIPPED_DIRS)[:4])}... and at most "
        f"{MAX_LIST_ENTRIES} entries. Paths are relative to the workspace root."
    )
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Folder, relative to the workspace root.", "default": "."},
            "recursive": {"type": "boolean", "default": False},
        },
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        found = await pool.run(tree, ctx.jail, args.get("path") or ".", recursive=bool(args.get("recursive")),
                               limit=MAX_LIST_ENTRIES)
        if not found.entries:
            return ToolResult(f"{found.folder} is empty")
        shown = list(found.entries)
        if found.total > len(shown):
            shown.append(f"[{found.total - len(shown)} more entries not shown]")
        return ToolResult("\n".join(shown))


class ReadFile(Tool):
    name = "read_file"
    description = (
        "Read a text file from the workspace. start_line and end_line (1-based, inclusive) select a range; "
        f"at most {READ_CAP // 1024} KB are returned per call. Binary files are refused."
    )
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File, relative to the workspace root."},
            "start_line": {"type": "integer", "minimum": 1},
            "end_line": {"type": "integer", "minimum": 1},
        },
        "required": ["path"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        start = int(args.get("start_line") or 1)
        end = int(args["end_line"]) if args.get("end_line") else None
        lines = await pool.run(reading.read_lines, ctx.jail, args["path"], start, end)
        if lines.truncated:
            return ToolResult(lines.text + f"\n[stopped at line {lines.last_line} after {READ_CAP} bytes; "
                              "use start_line to read further]")
        if start > 1 and not lines.text:
            return ToolResult(f"[{lines.path} has fewer than {start} lines]")
        return ToolResult(lines.text)


class WriteFile(Tool):
    name = "write_file"
    description = "Write a text file in the workspace, replacing it if it exists; missing folders are created."
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File, relative to the workspace root."},
            "content": {"type": "string"},
        },
        "required": ["path", "content"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        written = await pool.run(writing.write, ctx.jail, args["path"], args["content"])
        return ToolResult(f"Wrote {written.size} bytes to {written.path}")


class EditFile(Tool):
    name = "edit_file"
    description = (
        "Replace an exact piece of text in a workspace file. 'old' must occur exactly once (include enough "
        "surrounding lines to make it unique), unless replace_all is true."
    )
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File, relative to the workspace root."},
            "old": {"type": "string", "description": "The exact text to replace."},
            "new": {"type": "string", "description": "The replacement text."},
            "replace_all": {"type": "boolean", "default": False},
        },
        "required": ["path", "old", "new"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        done = await pool.run(writing.edit, ctx.jail, args["path"], args["old"], args["new"],
                              replace_all=bool(args.get("replace_all")))
        return ToolResult(f"Replaced {done.size} occurrence{'s' if done.size > 1 else ''} in {done.path}")


class SearchFiles(Tool):
    name = "search_files"
    description = (
        "Search the workspace's text files for a regular expression (Python syntax). Optional 'glob' filters "
        f"file names (e.g. '*.py'). Returns 'path:line: text', at most {MAX_SEARCH_MATCHES} matches."
    )
    parameters = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "A Python regular expression."},
            "path": {"type": "string", "description": "Folder or file to search.", "default": "."},
            "glob": {"type": "string", "description": "Only files whose name or path matches this."},
        },
        "required": ["pattern"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        regex = compile_pattern(args["pattern"])
        found = await pool.run(search, ctx.jail, args.get("path") or ".", regex, args.get("glob"))
        return ToolResult(describe(found))


FILE_TOOLS: tuple[type[Tool], ...] = (ListFiles, ReadFile, WriteFile, EditFile, SearchFiles)
