"""Workspace file tools: list, read, write, edit and search, every path through the jail.

The blocking file work runs in a worker thread so a big directory never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
from pathlib import Path
from typing import Any

from threadline.agent.tools.base import Tool, ToolContext, ToolResult, error
from threadline.workspaces import Jail

READ_CAP = 256 * 1024
SEARCH_FILE_CAP = 2 * 1024 * 1024
MAX_LIST_ENTRIES = 1000
MAX_SEARCH_MATCHES = 200
MAX_LINE_CHARS = 300
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)


def _is_binary(sample: bytes) -> bool:
    return b"\x00" in sample


def _walk(top: Path) -> list[tuple[Path, list[str], list[str]]]:
    """``os.walk`` without symlinked directories nor the usual heavy folders, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        found.append((Path(dirpath), dirnames, sorted(filenames)))
    return found


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
        folder = ctx.jail.resolve(args.get("path") or ".", must_exist=True)
        if not folder.is_dir():
            return error(f"not a folder: {ctx.jail.relative(folder)}")
        return await asyncio.to_thread(self._list, folder, bool(args.get("recursive")), ctx.jail)

    @staticmethod
    def _list(folder: Path, recursive: bool, jail: Jail) -> ToolResult:
        entries: list[str] = []
        total = 0
        if recursive:
            for dirpath, dirnames, filenames in _walk(folder):
                for name in dirnames:
                    total += 1
                    entries.append(jail.relative(dirpath / name) + "/")
                for name in filenames:
                    total += 1
                    entries.append(jail.relative(dirpath / name))
            entries.sort()
        else:
            with os.scandir(folder) as it:
                for entry in sorted(it, key=lambda e: e.name):
                    total += 1
                    suffix = "/" if entry.is_dir() else ""
                    entries.append(jail.relative(folder / entry.name) + suffix)
        if not entries:
            return ToolResult(f"{jail.relative(folder)} is empty")
        shown = entries[:MAX_LIST_ENTRIES]
        if total > len(shown):
            shown.append(f"[{total - len(shown)} more entries not shown]")
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
        path = ctx.jail.resolve(args["path"], must_exist=True)
        if path.is_dir():
            return error(f"{ctx.jail.relative(path)} is a folder; use list_files")
        start = int(args.get("start_line") or 1)
        end = int(args["end_line"]) if args.get("end_line") else None
        if start < 1 or (end is not None and end < start):
            return error("start_line must be >= 1 and end_line >= start_line")
        return await asyncio.to_thread(self._read, path, start, end, ctx.jail.relative(path))

    @staticmethod
    def _read(path: Path, start: int, end: int | None, shown_name: str) -> ToolResult:
        with path.open("rb") as handle:
            if _is_binary(handle.read(8192)):
                return error(f"{shown_name} looks like a binary file; not read")
            handle.seek(0)
            out = bytearray()
            line_no, truncated = 0, False
            for line_no, line in enumerate(handle, start=1):
                if line_no < start:
                    continue
                if end is not None and line_no > end:
                    break
                if len(out) + len(line) > READ_CAP:
                    truncated = True
                    break
                out += line
        text = out.decode("utf-8", "replace")
        if truncated:
            text += f"\n[stopped at line {line_no} after {READ_CAP} bytes; use start_line to read further]"
        elif start > 1 and not out:
            text = f"[{shown_name} has fewer than {start} lines]"
        return ToolResult(text)


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
        path = ctx.jail.resolve(args["path"])
        if path == ctx.jail.root or path.is_dir():
            return error(f"{ctx.jail.relative(path)} is a folder")
        data = args["content"].encode("utf-8")

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        return ToolResult(f"Wrote {len(data)} bytes to {ctx.jail.relative(path)}")


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
        path = ctx.jail.resolve(args["path"], must_exist=True)
        shown = ctx.jail.relative(path)
        old, new = args["old"], args["new"]
        if not old:
            return error("'old' must not be empty; use write_file to create a file")
        if not path.is_file():
            return error(f"{shown} is not a file")
        text = await asyncio.to_thread(path.read_text, "utf-8")
        count = text.count(old)
        if count == 0:
            return error(f"the text to replace was not found in {shown}; read the file and copy it exactly")
        if count > 1 and not args.get("replace_all"):
            return error(f"the text to replace occurs {count} times in {shown}; add context or set replace_all")
        updated = text.replace(old, new) if args.get("replace_all") else text.replace(old, new, 1)
        await asyncio.to_thread(path.write_text, updated, "utf-8")
        done = count if args.get("replace_all") else 1
        return ToolResult(f"Replaced {done} occurrence{'s' if done > 1 else ''} in {shown}")


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
        try:
            regex = re.compile(args["pattern"])
        except re.error as exc:
            return error(f"invalid regular expression: {exc}")
        top = ctx.jail.resolve(args.get("path") or ".", must_exist=True)
        return await asyncio.to_thread(self._search, regex, top, args.get("glob"), ctx.jail)

    @staticmethod
    def _search(regex: re.Pattern[str], top: Path, glob: str | None, jail: Jail) -> ToolResult:
        if top.is_file():
            files = [top]
        else:
            files = [d / name for d, _, names in _walk(top) for name in names]
        matches: list[str] = []
        more = False
        for file in files:
            rel = jail.relative(file)
            if glob and not (fnmatch.fnmatch(file.name, glob) or fnmatch.fnmatch(rel, glob)):
                continue
            try:
                if file.is_symlink() or file.stat().st_size > SEARCH_FILE_CAP:
                    continue
                data = file.read_bytes()
            except OSError:
                continue
            if _is_binary(data[:8192]):
                continue
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
                if regex.search(line):
                    if len(matches) >= MAX_SEARCH_MATCHES:
                        more = True
                        break
                    matches.append(f"{rel}:{number}: {line[:MAX_LINE_CHARS]}")
            if more:
                break
        if not matches:
            return ToolResult("no matches")
        if more:
            matches.append(f"[stopped after {MAX_SEARCH_MATCHES} matches; narrow the pattern or the path]")
        return ToolResult("\n".join(matches))


FILE_TOOLS: tuple[type[Tool], ...] = (ListFiles, ReadFile, WriteFile, EditFile, SearchFiles)
