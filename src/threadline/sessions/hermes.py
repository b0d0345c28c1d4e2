"""Import a Hermes WebUI state directory (``threadline import hermes DIR``).

``DIR`` is Hermes' ``sessions/`` directory: one ``<id>.json`` per session (reference §1.1, §1.3, §1.4).
``_index.json``, leftover ``*.json.tmp.*`` files and ``.bak`` copies are ignored; ``projects.json`` beside
the directory supplies the projects. Every session with messages is imported with its title, timestamps,
pin and archive flags, token totals and project. Ids are kept when free; the Hermes id is always recorded
in ``extra.hermes_id``, which is how a second run recognizes what it already imported. A file that cannot
be read is reported and skipped; it never stops the import.

Exit codes: 0 when nothing failed, 1 when at least one file failed (the others are imported), 2 when the
directory itself cannot be used.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from threadline.errors import ThreadlineError
from threadline.services import Services
from threadline.sessions.service import VALID_ROLES, check_session_id
from threadline.sessions.transfer import import_session
from threadline.sessions.views import UNTITLED
from threadline.settings import Settings
from threadline.store import tables as t

PLACEHOLDER_TITLES = ("", UNTITLED, "New Chat")
AUTO_TITLE_CHARS = 64


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    dropped_messages: int = 0
    projects_created: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def session_files(directory: Path) -> list[Path]:
    """Session files only: ``<id>.json``, not ``_index.json`` nor ``<id>.json.tmp.<pid>.<tid>``."""
    return sorted(
        p for p in directory.glob("*.json") if p.is_file() and not p.name.startswith(("_", "."))
    )


def _epoch(value: Any) -> float | None:
    """Seconds since the epoch from a number, a numeric string or an ISO date; milliseconds are scaled."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return None
    if not isinstance(value, int | float) or value <= 0:
        return None
    return float(value) / 1000 if value > 1e11 else float(value)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text") or "") for p in content if isinstance(p, dict)).strip()
    return ""


def _messages(raw: Any) -> tuple[list[dict[str, Any]], int]:
    """Messages fit for ``import_session``, and how many were dropped (not an object, unknown role)."""
    if not isinstance(raw, list):
        return [], 0
    kept: list[dict[str, Any]] = []
    previous: float | None = None
    for item in raw:
        if not isinstance(item, dict) or item.get("role") not in VALID_ROLES:
            continue
        message = dict(item)
        # Hermes stamps most rows; tool rows often have none: they happened right after the row before.
        stamp = _epoch(item.get("timestamp")) or _epoch(item.get("_ts")) or previous
        previous = stamp
        message.pop("_ts", None)
        message["timestamp"] = stamp
        if message.get("content") is None:
            message["content"] = ""
        kept.append(message)
    return kept, len(raw) - len(kept)


def hermes_payload(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Translate one Hermes session into the payload ``import_session`` takes (plus dropped messages)."""
    messages, dropped = _messages(data.get("messages"))
    pending = data.get("pending_user_message")
    if isinstance(pending, str) and pending.strip():
        # The turn was submitted but never finished: in Hermes the prompt lived only here (§7 item 8).
        last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
        if last_user is None or _text(last_user.get("content")) != pending:
            messages.append({
                "role": "user",
                "content": pending,
                "timestamp": _epoch(data.get("pending_started_at")),
                "attachments": data.get("pending_attachments") or None,
            })
    created = _epoch(data.get("created_at"))
    updated = _epoch(data.get("updated_at"))
    stamps = [m["timestamp"] for m in messages if m.get("timestamp")]
    created = created or (min(stamps) if stamps else None) or updated or time.time()
    updated = updated or (max(stamps) if stamps else None) or created
    raw_title = data.get("title")
    title = raw_title if isinstance(raw_title, str) else ""
    if title.strip() in PLACEHOLDER_TITLES:
        first_user = next((m for m in messages if m["role"] == "user"), None)
        title = _text(first_user.get("content")).strip()[:AUTO_TITLE_CHARS] if first_user else ""
    extra: dict[str, Any] = {"hermes_id": str(data.get("session_id") or "")}
    for key in ("profile", "personality", "llm_title_generated"):
        if data.get(key) not in (None, ""):
            extra[key] = data[key]
    workspace = data.get("workspace")
    model = data.get("model")
    payload = {
        "messages": messages,
        "title": title or UNTITLED,
        "workspace": workspace if isinstance(workspace, str) and workspace else None,
        "model": model if isinstance(model, str) and model else None,
        "pinned": data.get("pinned") is True,
        "archived": data.get("archived") is True,
        "created_at": created,
        "updated_at": updated,
        "input_tokens": data.get("input_tokens"),
        "output_tokens": data.get("output_tokens"),
        "estimated_cost": data.get("estimated_cost"),
        "extra": extra,
    }
    return payload, dropped


def _valid_id(value: str) -> bool:
    try:
        check_session_id(value)
    except ThreadlineError:
        return False
    return True


class HermesImporter:
    """Imports into an open ``Services``; the CLI wraps it with a progress bar and a summary."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ids: set[str] = set()
        self.hermes_ids: set[str] = set()
        self.project_map: dict[str, str] = {}

    async def load_existing(self) -> None:
        s = t.sessions
        async with self.services.store.read() as conn:
            self.ids = set((await conn.scalars(select(s.c.id))).all())
            hermes = s.c.extra["hermes_id"].as_string()
            found = await conn.scalars(select(hermes).where(hermes.is_not(None)))
            self.hermes_ids = {h for h in found.all() if h}

    async def import_projects(self, path: Path, report: ImportReport) -> None:
        """Map each Hermes project id to a project here: reuse one with the same id and name, else the
        same name and creation time, else create it (under its own id when free)."""
        if not path.is_file():
            return
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            report.failed.append((path.name, f"unreadable projects file: {exc}"))
            return
        if isinstance(raw, dict):
            raw = raw.get("projects", [])
        if not isinstance(raw, list):
            report.failed.append((path.name, "projects file is not a list"))
            return
        existing = {p["project_id"]: p for p in await self.services.projects.list()}
        for entry in raw:
            if not isinstance(entry, dict) or not isinstance(entry.get("project_id"), str):
                continue
            hermes_id = entry["project_id"]
            name = entry.get("name") if isinstance(entry.get("name"), str) and entry["name"].strip() else hermes_id
            created_at = _epoch(entry.get("created_at"))
            same = existing.get(hermes_id)
            if same is not None and same["name"] == name:
                self.project_map[hermes_id] = hermes_id
                continue
            twin = next(
                (p for p in existing.values() if p["name"] == name and created_at and p["created_at"] == created_at),
                None,
            )
            if twin is not None:
                self.project_map[hermes_id] = twin["project_id"]
                continue
            own_id = hermes_id if same is None and _valid_id(hermes_id) else None
            color = entry.get("color")
            try:
                project = await self.services.projects.create(name, color, project_id=own_id)
            except ThreadlineError:  # an unusable colour: keep the project, drop the colour
                project = await self.services.projects.create(name, None, project_id=own_id)
            if created_at:
                await self._set_project_created(project["project_id"], created_at)
            existing[project["project_id"]] = project | {"created_at": created_at or project["created_at"]}
            self.project_map[hermes_id] = project["project_id"]
            report.projects_created += 1

    async def _set_project_created(self, project_id: str, created_at: float) -> None:
        async with self.services.store.write() as conn:
            await conn.execute(
                t.projects.update().where(t.projects.c.id == project_id).values(created_at=created_at)
            )

    async def import_file(self, path: Path, report: ImportReport) -> None:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            report.failed.append((path.name, f"not valid JSON: {exc}"))
            return
        if not isinstance(data, dict):
            report.failed.append((path.name, "not a session object"))
            return
        hermes_id = data.get("session_id")
        if not isinstance(hermes_id, str) or not hermes_id:
            hermes_id = path.stem
        data["session_id"] = hermes_id
        if hermes_id in self.hermes_ids:
            report.present.append(path.name)
            return
        payload, dropped = hermes_payload(data)
        if not payload["messages"]:
            report.empty.append(path.name)
            return
        keep = _valid_id(hermes_id) and hermes_id not in self.ids
        project_id = data.get("project_id")
        try:
            session = await import_session(
                self.services.sessions,
                payload,
                session_id=hermes_id if keep else None,
                project_id=self.project_map.get(project_id) if isinstance(project_id, str) else None,
                trust_workspace=True,
            )
        except ThreadlineError as exc:
            report.failed.append((path.name, exc.message))
            return
        new_id = session["session_id"]
        self.ids.add(new_id)
        self.hermes_ids.add(hermes_id)
        report.imported.append(new_id)
        report.dropped_messages += dropped
        if new_id != hermes_id:
            report.renamed.append((hermes_id, new_id))


async def import_directory(
    services: Services, directory: Path, *, progress: Progress | None = None
) -> ImportReport:
    report = ImportReport()
    started = time.perf_counter()
    importer = HermesImporter(services)
    await importer.load_existing()
    await importer.import_projects(directory.parent / "projects.json", report)
    files = session_files(directory)
    task = progress.add_task("Importing", total=len(files)) if progress is not None else None
    for path in files:
        await importer.import_file(path, report)
        if progress is not None and task is not None:
            progress.advance(task)
    report.seconds = time.perf_counter() - started
    return report


def print_report(report: ImportReport, console: Console) -> None:
    console.print(f"[bold]Imported {len(report.imported)} session(s)[/bold] in {report.seconds:.1f} s")
    console.print(f"  skipped, already present: {len(report.present)}")
    console.print(f"  skipped, no messages:     {len(report.empty)}")
    console.print(f"  failed:                   {len(report.failed)}")
    if report.projects_created:
        console.print(f"  projects created:         {report.projects_created}")
    if report.renamed:
        console.print(f"  kept under a new id (id taken or invalid): {len(report.renamed)}")
    if report.dropped_messages:
        console.print(f"  messages dropped (not an object or unknown role): {report.dropped_messages}")
    for name, reason in report.failed:
        console.print(f"  [red]failed[/red] {name}: {reason}", markup=True, highlight=False)


def run_hermes_import(settings: Settings, directory: Path) -> int:
    """The CLI entry point: import ``directory``, show progress, print a summary, return the exit code."""
    console = Console(stderr=False, highlight=False)
    directory = directory.expanduser()
    if not directory.is_dir():
        console.print(f"[red]not a directory:[/red] {directory}")
        return 2

    async def run() -> ImportReport:
        services = await Services.open(settings)
        try:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
                return await import_directory(services, directory, progress=progress)
        finally:
            await services.close()

    report = asyncio.run(run())
    print_report(report, console)
    return report.exit_code
